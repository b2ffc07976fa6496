import assert from 'node:assert/strict';
import { findImpossibleTravel, formatTravel, haversineKm } from '../../src/domain/travel';

const LISBON = { latitude: 38.7223, longitude: -9.1393 };
const SINGAPORE = { latitude: 1.3521, longitude: 103.8198 };
const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };

function signIn(id: string, at: string, city: string, coords: { latitude: number; longitude: number } | null, errorCode = 0): Record<string, unknown> {
  return { id, createdDateTime: at, ipAddress: '192.0.2.1', status: { errorCode }, location: { city, countryOrRegion: 'XX', geoCoordinates: coords && { altitude: null, ...coords } } };
}

describe('impossible travel (domain/travel)', () => {
  it('measures known city pairs with the haversine formula', () => {
    const ls = haversineKm(LISBON, SINGAPORE);
    assert.ok(ls > 11_850 && ls < 11_950, `Lisbon–Singapore ${ls}`); // 11,879 km; shown rounded as 11,900
    const ln = haversineKm(LONDON, NEW_YORK);
    assert.ok(Math.abs(ln - 5570) < 10, `London–New York ${ln}`);
    assert.equal(haversineKm(LISBON, LISBON), 0);
  });

  it('flags Lisbon → Singapore in 52 minutes and formats it for people (en-US separators)', () => {
    const r = findImpossibleTravel([
      signIn('2', '2026-03-02T09:42:00Z', 'Singapore', SINGAPORE),
      signIn('1', '2026-03-02T08:50:00Z', 'Lisbon', LISBON),
    ]);
    assert.equal(r.findings.length, 1);
    const f = r.findings[0];
    assert.equal(f.from.place, 'Lisbon');
    assert.equal(f.to.place, 'Singapore');
    assert.equal(Math.round(f.minutes), 52);
    assert.match(f.summary, /^Lisbon → Singapore, 11,9\d0 km in 52 min = 13,\d00 km\/h$/);
  });

  it('does not flag plausible travel, failed sign-ins, or the same place', () => {
    const r = findImpossibleTravel([
      signIn('1', '2026-03-02T08:00:00Z', 'London', LONDON),
      signIn('2', '2026-03-02T16:00:00Z', 'New York', NEW_YORK), // 8 h: ~700 km/h
      signIn('3', '2026-03-02T16:10:00Z', 'Singapore', SINGAPORE, 50126), // failed: not presence
      signIn('4', '2026-03-02T16:20:00Z', 'New York', NEW_YORK),
    ]);
    assert.equal(r.findings.length, 0);
    assert.equal(r.skippedFailed, 1);
    assert.equal(r.considered, 3);
  });

  it('skips and counts sign-ins with missing or invalid coordinates, never crashes', () => {
    const r = findImpossibleTravel([
      signIn('1', '2026-03-02T08:00:00Z', 'Lisbon', LISBON),
      signIn('2', '2026-03-02T08:10:00Z', 'Nowhere', null),
      { id: '3', createdDateTime: '2026-03-02T08:20:00Z', status: { errorCode: 0 }, location: { geoCoordinates: { latitude: 'x', longitude: 2 } } },
      { id: '4', createdDateTime: 'not a date', status: { errorCode: 0 }, location: { geoCoordinates: { latitude: 1, longitude: 2 } } },
      { id: '5', createdDateTime: '2026-03-02T08:20:00Z', status: { errorCode: 0 }, location: { geoCoordinates: { latitude: 95, longitude: 2 } } },
      null, 42, {},
    ]);
    assert.equal(r.findings.length, 0);
    assert.equal(r.considered, 1);
    assert.equal(r.skippedNoCoordinates, 7);
    assert.deepEqual(findImpossibleTravel('nope' as unknown as unknown[]).considered, 0);
  });

  it('treats a same-minute hop as one minute instead of dividing by zero', () => {
    const r = findImpossibleTravel([signIn('1', '2026-03-02T08:00:00Z', 'London', LONDON), signIn('2', '2026-03-02T08:00:00Z', 'New York', NEW_YORK)]);
    assert.equal(r.findings.length, 1);
    assert.ok(Number.isFinite(r.findings[0].speedKmh));
  });

  it('formats numbers with thousands separators', () => {
    assert.equal(formatTravel('A', 'B', 11_934.2, 52, 13_770.3), 'A → B, 11,900 km in 52 min = 13,800 km/h');
    assert.equal(formatTravel('A', 'B', 1234, 5, 850), 'A → B, 1,230 km in 5 min = 850 km/h');
  });
});
