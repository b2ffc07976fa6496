/**
 * Impossible travel: great-circle distance (haversine, mean Earth radius 6371.0088 km) and the
 * implied speed between consecutive successful sign-ins from different places. Pure; sign-ins are
 * the Graph signIn shape (only the fields used here are read, defensively).
 */
export const EARTH_RADIUS_KM = 6371.0088;
export const DEFAULT_SPEED_THRESHOLD_KMH = 900;

export interface GeoPoint { latitude: number; longitude: number }

export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface TravelSignIn {
  id: string;
  at: Date;
  ip: string | null;
  /** the city, or the coordinates when the sign-in names none: what the summary shows */
  place: string;
  city: string | null;
  /** two-letter country or region code as Entra gives it ('PT') */
  country: string | null;
  point: GeoPoint;
}

export interface TravelFinding {
  from: TravelSignIn;
  to: TravelSignIn;
  distanceKm: number;
  minutes: number;
  speedKmh: number;
  /** 'Lisbon → Singapore, 11,900 km in 52 min = 13,700 km/h' */
  summary: string;
}

export interface TravelAnalysis {
  findings: TravelFinding[];
  /** successful sign-ins used */
  considered: number;
  /** sign-ins skipped for missing/invalid coordinates or time */
  skippedNoCoordinates: number;
  /** failed sign-ins (not evidence of presence) */
  skippedFailed: number;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Rounds for people: to 100 above 10,000, to 10 above 1,000, else to the unit. */
export function roundForPeople(n: number): number {
  if (n >= 10_000) return Math.round(n / 100) * 100;
  if (n >= 1_000) return Math.round(n / 10) * 10;
  return Math.round(n);
}

export function formatTravel(fromPlace: string, toPlace: string, km: number, minutes: number, kmh: number): string {
  return `${fromPlace} → ${toPlace}, ${fmt.format(roundForPeople(km))} km in ${fmt.format(Math.round(minutes))} min = ${fmt.format(roundForPeople(kmh))} km/h`;
}

function toTravelSignIn(raw: unknown): TravelSignIn | 'failed' | 'invalid' {
  const s = raw as {
    id?: unknown; createdDateTime?: unknown; ipAddress?: unknown; status?: { errorCode?: unknown };
    location?: { city?: unknown; countryOrRegion?: unknown; geoCoordinates?: { latitude?: unknown; longitude?: unknown } | null };
  } | null;
  if (!s || typeof s !== 'object') return 'invalid';
  if (s.status && typeof s.status.errorCode === 'number' && s.status.errorCode !== 0) return 'failed';
  const at = typeof s.createdDateTime === 'string' ? new Date(s.createdDateTime) : null;
  const lat = s.location?.geoCoordinates?.latitude;
  const lon = s.location?.geoCoordinates?.longitude;
  if (!at || Number.isNaN(at.getTime()) || typeof lat !== 'number' || typeof lon !== 'number'
    || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return 'invalid';
  const city = typeof s.location?.city === 'string' && s.location.city ? s.location.city : null;
  const country = typeof s.location?.countryOrRegion === 'string' && s.location.countryOrRegion ? s.location.countryOrRegion : null;
  return {
    id: typeof s.id === 'string' ? s.id : '', at, ip: typeof s.ipAddress === 'string' ? s.ipAddress : null,
    place: city ?? `${lat.toFixed(2)},${lon.toFixed(2)}`, city, country, point: { latitude: lat, longitude: lon },
  };
}

/**
 * Consecutive successful sign-ins (in time order) from places more than `minDistanceKm` apart whose
 * implied speed exceeds the threshold. Same-minute hops count as one minute (no division by zero).
 */
export function findImpossibleTravel(signIns: unknown[], opts: { thresholdKmh?: number; minDistanceKm?: number } = {}): TravelAnalysis {
  const threshold = opts.thresholdKmh ?? DEFAULT_SPEED_THRESHOLD_KMH;
  const minDistance = opts.minDistanceKm ?? 100;
  let skippedNoCoordinates = 0;
  let skippedFailed = 0;
  const ok: TravelSignIn[] = [];
  for (const raw of Array.isArray(signIns) ? signIns : []) {
    const t = toTravelSignIn(raw);
    if (t === 'failed') skippedFailed++;
    else if (t === 'invalid') skippedNoCoordinates++;
    else ok.push(t);
  }
  ok.sort((a, b) => a.at.getTime() - b.at.getTime());
  const findings: TravelFinding[] = [];
  for (let i = 1; i < ok.length; i++) {
    const from = ok[i - 1];
    const to = ok[i];
    const km = haversineKm(from.point, to.point);
    if (km < minDistance) continue;
    const minutes = Math.max(1, (to.at.getTime() - from.at.getTime()) / 60_000);
    const kmh = km / (minutes / 60);
    if (kmh > threshold) findings.push({ from, to, distanceKm: km, minutes, speedKmh: kmh, summary: formatTravel(from.place, to.place, km, minutes, kmh) });
  }
  return { findings, considered: ok.length, skippedNoCoordinates, skippedFailed };
}

/**
 * The countries or regions of the successful sign-ins, most frequent first (ties alphabetical):
 * what the CISO reads as "from Portugal and Singapore".
 */
export function signInCountries(signIns: unknown[]): string[] {
  const counts = new Map<string, number>();
  for (const raw of Array.isArray(signIns) ? signIns : []) {
    const s = raw as { status?: { errorCode?: unknown }; location?: { countryOrRegion?: unknown } } | null;
    if (!s || typeof s !== 'object') continue;
    if (s.status && typeof s.status.errorCode === 'number' && s.status.errorCode !== 0) continue;
    const c = s.location?.countryOrRegion;
    if (typeof c === 'string' && /^[A-Za-z]{2}$/.test(c)) counts.set(c.toUpperCase(), (counts.get(c.toUpperCase()) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}
