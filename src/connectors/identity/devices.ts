import { z } from 'zod';
import { isGuid } from '../../domain/identity';
import type { ActionContext, ActionDef, ActionResult, RawPayload } from '../types';
import { GraphSession, segment } from '../graph/graph-session';

/**
 * The account's devices, from the three places the first scope step can see them (issue 11 part 5):
 * the alert's device evidence (Defender names the host), the sign-in logs' deviceDetail (what Entra
 * saw signing in) and the devices the user registered or owns in Entra (Graph v1.0
 * GET /users/{id}/registeredDevices and /ownedDevices, cast to microsoft.graph.device). One device
 * seen in several places is one row that says where it was seen.
 */

export type DeviceSeenIn = 'alert' | 'sign-in' | 'registered' | 'owned';

export interface AccountDevice {
  name: string;
  /** Entra's deviceId (Device Registration Service) when known */
  deviceId: string | null;
  os: string | null;
  /** Workplace / AzureAd / ServerAd (device object), or as the sign-in log spells it */
  trustType: string | null;
  compliant: boolean | null;
  managed: boolean | null;
  /** latest time the device was seen: sign-in time or approximateLastSignInDateTime */
  lastSeen: string | null;
  seenIn: DeviceSeenIn[];
  /** sign-ins of the account from this device in the window read */
  signIns: number;
}

// Only the fields read below; everything else the sources send is ignored, not trusted.
const alertDevice = z.object({
  name: z.string().max(255).nullish(), mdeDeviceId: z.string().max(100).nullish(),
  azureAdDeviceId: z.string().max(64).nullish(), osPlatform: z.string().max(100).nullish(),
}).passthrough();

const devicesInput = z.object({
  /** the Entra object id from the lookup; null for an on-premises-only account */
  objectId: z.string().nullish(),
  /** the sign-ins the sign-in step read (their deviceDetail) */
  signIns: z.array(z.record(z.unknown())).max(100_000).nullish(),
  alertDevices: z.array(alertDevice).max(500).nullish(),
}).strict();

const DEVICE_SELECT = 'id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,isCompliant,isManaged,accountEnabled,approximateLastSignInDateTime';

const str = (v: unknown, max = 255): string | null => (typeof v === 'string' && v.trim() ? v.trim().slice(0, max) : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const later = (a: string | null, b: string | null): string | null => (!a ? b : !b ? a : a > b ? a : b);

/** 'ws-0412.contoso.local' and 'WS-0412' are one host: the first DNS label, case-folded. */
function hostKey(name: string): string {
  return name.split('.')[0].toLowerCase();
}

/**
 * Merges devices by Entra deviceId, else by host name; sign-ins from no known device are grouped by
 * OS and browser. Where sources disagree, the Entra device object wins over the sign-in log, and the
 * sign-in log over the alert (Defender's name is the DNS name, its OS a platform label).
 */
const RANK: Record<DeviceSeenIn, number> = { alert: 1, 'sign-in': 2, registered: 3, owned: 3 };
const FIELDS = ['name', 'deviceId', 'os', 'trustType', 'compliant', 'managed'] as const;

export class DeviceMerger {
  private readonly byKey = new Map<string, AccountDevice>();
  /** per row and field: the rank of the source its value came from */
  private readonly ranks = new Map<AccountDevice, Record<string, number>>();

  add(d: Omit<AccountDevice, 'seenIn' | 'signIns'> & { seenIn: DeviceSeenIn; signIns?: number }, unregisteredKey?: string): void {
    const idKey = d.deviceId && isGuid(d.deviceId) ? `id:${d.deviceId.toLowerCase()}` : undefined;
    const nameKey = unregisteredKey ?? `name:${hostKey(d.name)}`;
    const rank = RANK[d.seenIn];
    const existing = (idKey && this.byKey.get(idKey)) || this.byKey.get(nameKey);
    if (!existing) {
      const row: AccountDevice = { ...d, seenIn: [d.seenIn], signIns: d.signIns ?? 0 };
      this.ranks.set(row, Object.fromEntries(FIELDS.map((f) => [f, row[f] === null ? 0 : rank])));
      this.byKey.set(nameKey, row);
      if (idKey) this.byKey.set(idKey, row);
      return;
    }
    if (!existing.seenIn.includes(d.seenIn)) existing.seenIn.push(d.seenIn);
    existing.signIns += d.signIns ?? 0;
    const ranks = this.ranks.get(existing)!;
    for (const f of FIELDS) {
      if (d[f] === null || d[f] === undefined || rank <= ranks[f]) continue;
      (existing as unknown as Record<string, unknown>)[f] = d[f];
      ranks[f] = rank;
    }
    existing.lastSeen = later(existing.lastSeen, d.lastSeen);
    if (idKey) this.byKey.set(idKey, existing);
    if (!unregisteredKey) this.byKey.set(`name:${hostKey(existing.name)}`, existing);
  }

  list(): AccountDevice[] {
    return [...new Set(this.byKey.values())].sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '') || a.name.localeCompare(b.name));
  }
}

export function devicesFromSignIns(m: DeviceMerger, signIns: readonly Record<string, unknown>[]): void {
  for (const s of signIns) {
    const d = (s.deviceDetail ?? {}) as Record<string, unknown>;
    const at = str(s.createdDateTime, 40);
    const name = str(d.displayName);
    const deviceId = str(d.deviceId, 64);
    const os = str(d.operatingSystem, 100);
    if (name || deviceId) {
      m.add({ name: name ?? deviceId!, deviceId, os, trustType: str(d.trustType, 60), compliant: bool(d.isCompliant), managed: bool(d.isManaged), lastSeen: at, seenIn: 'sign-in', signIns: 1 });
    } else {
      const browser = str(d.browser, 100);
      const label = `unregistered device (${[os, browser].filter(Boolean).join(', ') || 'no device detail'})`;
      m.add({ name: label, deviceId: null, os, trustType: null, compliant: bool(d.isCompliant), managed: bool(d.isManaged), lastSeen: at, seenIn: 'sign-in', signIns: 1 },
        `unregistered:${(os ?? '').toLowerCase()}|${(browser ?? '').toLowerCase()}`);
    }
  }
}

export function devicesFromAlert(m: DeviceMerger, devices: readonly z.infer<typeof alertDevice>[]): void {
  for (const d of devices) {
    const name = str(d.name) ?? str(d.mdeDeviceId, 100);
    if (!name) continue;
    m.add({ name, deviceId: str(d.azureAdDeviceId, 64), os: str(d.osPlatform, 100), trustType: null, compliant: null, managed: null, lastSeen: null, seenIn: 'alert' });
  }
}

export function devicesFromEntra(m: DeviceMerger, items: readonly Record<string, unknown>[], seenIn: 'registered' | 'owned'): void {
  for (const d of items) {
    // a directoryObject collection: only devices are devices (the cast asks for them; be sure anyway)
    if (d['@odata.type'] !== undefined && d['@odata.type'] !== '#microsoft.graph.device') continue;
    const name = str(d.displayName) ?? str(d.deviceId, 64);
    if (!name) continue;
    const os = [str(d.operatingSystem, 100), str(d.operatingSystemVersion, 60)].filter(Boolean).join(' ') || null;
    m.add({
      name, deviceId: str(d.deviceId, 64), os, trustType: str(d.trustType, 60), compliant: bool(d.isCompliant), managed: bool(d.isManaged),
      lastSeen: str(d.approximateLastSignInDateTime, 40), seenIn,
    });
  }
}

export interface DevicesOutput {
  devices: AccountDevice[];
  /** what could not be read, in a sentence each (the rest is still shown) */
  notes: string[];
}

export const identityDevices: ActionDef<z.infer<typeof devicesInput>, DevicesOutput> = {
  name: 'identity.devices', risk: 'read',
  description: "The account's devices: the alert's device evidence, the sign-ins' deviceDetail and its registered and owned Entra devices",
  input: devicesInput,
  async run({ objectId, signIns, alertDevices }, ctx: ActionContext): Promise<ActionResult<DevicesOutput>> {
    const m = new DeviceMerger();
    const notes: string[] = [];
    const raw: RawPayload[] = [];
    devicesFromAlert(m, alertDevices ?? []);
    devicesFromSignIns(m, signIns ?? []);
    if (!objectId || !isGuid(objectId)) {
      notes.push('no Entra user (an on-premises-only account): no registered or owned Entra devices to read');
    } else {
      const s = new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now, tenants: ctx.ports?.graph });
      for (const [rel, seenIn] of [['registeredDevices', 'registered'], ['ownedDevices', 'owned']] as const) {
        const r = await s.getAllPages<Record<string, unknown>>(`/v1.0/users/${segment(objectId)}/${rel}/microsoft.graph.device`, {
          source: `graph.${rel}`, op: { does: `read the user's ${seenIn} devices`, permissions: ['Directory.Read.All', 'Device.Read.All'], object: `user ${objectId}` },
          query: { $select: DEVICE_SELECT }, maxPages: 5,
        });
        raw.push(...r.raw);
        devicesFromEntra(m, r.items, seenIn);
        if (r.truncated) notes.push(`more ${seenIn} devices than the ${r.pages} pages read`);
      }
    }
    const devices = m.list();
    return {
      output: { devices, notes }, raw,
      summary: `${devices.length} device${devices.length === 1 ? '' : 's'}${devices.length ? `: ${devices.slice(0, 5).map((d) => `${d.name} (${d.seenIn.join(', ')})`).join('; ')}${devices.length > 5 ? '; …' : ''}` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`,
    };
  },
};
