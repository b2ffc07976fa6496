import { InvalidInputError, quoteForError } from '../../domain/net';

/**
 * The only port names and MACs that reach a switch CLI line. Values arrive from RADIUS accounting
 * (NAS-Port-Id, Calling-Station-Id), i.e. from a device the attacker's client talked to: each is
 * matched against the vendor's own grammar and rebuilt from its parts, never passed through.
 */

export type SwitchKind = 'cisco-ios' | 'aruba-aoscx';

/** A port as the vendor spells it: `full` goes into commands, `short` into the timeline. */
export interface SwitchPort { kind: SwitchKind; full: string; short: string }

// Cisco IOS / IOS-XE physical Ethernet ports: type name (or its abbreviation) + slot numbers.
// Port-channels, VLAN SVIs and sub-interfaces are not access ports and are refused.
const IOS_TYPES: Array<{ full: string; short: string; aliases: string[] }> = [
  { full: 'FastEthernet', short: 'Fa', aliases: ['fastethernet', 'fa'] },
  { full: 'GigabitEthernet', short: 'Gi', aliases: ['gigabitethernet', 'gig', 'gi'] },
  { full: 'TwoGigabitEthernet', short: 'Tw', aliases: ['twogigabitethernet', 'tw'] },
  { full: 'FiveGigabitEthernet', short: 'Fi', aliases: ['fivegigabitethernet', 'fi'] },
  { full: 'TenGigabitEthernet', short: 'Te', aliases: ['tengigabitethernet', 'ten', 'te'] },
  { full: 'TwentyFiveGigE', short: 'Twe', aliases: ['twentyfivegige', 'twe'] },
  { full: 'FortyGigabitEthernet', short: 'Fo', aliases: ['fortygigabitethernet', 'fo'] },
  { full: 'HundredGigE', short: 'Hu', aliases: ['hundredgige', 'hu'] },
  { full: 'Ethernet', short: 'Et', aliases: ['ethernet', 'eth', 'et'] },
];
const IOS_PORT = /^([A-Za-z]{2,20})(\d{1,2}(?:\/\d{1,3}){0,3})$/;
// AOS-CX: member/slot/port, optionally :lane on a split port (1/1/49:1).
const AOSCX_PORT = /^(\d{1,2})\/(\d{1,2})\/(\d{1,3})(?::(\d))?$/;

export function parseSwitchPort(kind: SwitchKind, value: unknown, field = 'nasPortId'): SwitchPort {
  if (typeof value !== 'string') throw new InvalidInputError(field, `not a port name: ${quoteForError(value)}`);
  if (kind === 'cisco-ios') {
    const m = IOS_PORT.exec(value);
    const type = m && IOS_TYPES.find((t) => t.aliases.includes(m[1].toLowerCase()));
    if (!m || !type) {
      throw new InvalidInputError(field, `not a Cisco IOS Ethernet port name (e.g. GigabitEthernet1/0/12): ${quoteForError(value)}`);
    }
    const numbers = m[2].split('/').map((n) => String(Number(n))).join('/');
    return { kind, full: `${type.full}${numbers}`, short: `${type.short}${numbers}` };
  }
  const m = AOSCX_PORT.exec(value);
  if (!m) throw new InvalidInputError(field, `not an Aruba AOS-CX port name (member/slot/port, e.g. 1/1/12): ${quoteForError(value)}`);
  const name = `${Number(m[1])}/${Number(m[2])}/${Number(m[3])}${m[4] ? `:${m[4]}` : ''}`;
  return { kind, full: name, short: name };
}

/** Twelve lower-case hex digits. */
export type Mac = string & { readonly __brand: 'Mac' };

// The spellings RADIUS servers and NASes use for Calling-Station-Id: 3C-22-FB-12-34-56,
// 3c:22:fb:12:34:56, 3c22.fb12.3456, 3c22fb123456.
const MAC_FORMS = [
  /^([0-9a-f]{2})([-:])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i,
  /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i,
  /^([0-9a-f]{12})$/i,
];

export function parseMac(value: unknown, field = 'callingStationId'): Mac {
  if (typeof value === 'string') {
    for (const form of MAC_FORMS) {
      const m = form.exec(value);
      if (m) return value.replace(/[-:.]/g, '').toLowerCase() as Mac;
    }
  }
  throw new InvalidInputError(field, `not a MAC address: ${quoteForError(value)}`);
}

/** The MAC as the vendor's CLI writes it: Cisco `3c22.fb12.3456`, AOS-CX `3c:22:fb:12:34:56`. */
export function formatMac(kind: SwitchKind, mac: Mac): string {
  const hex = parseMac(mac, 'mac'); // re-checked: a branded string can be forged with a cast
  if (kind === 'cisco-ios') return `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`;
  return hex.match(/../g)!.join(':');
}

/** Whether two port spellings of one vendor name the same port (`Gi1/0/12` = `GigabitEthernet1/0/12`). */
export function samePort(kind: SwitchKind, a: string, b: string): boolean {
  try {
    return parseSwitchPort(kind, a).full === parseSwitchPort(kind, b).full;
  } catch {
    return false;
  }
}

// User names from RADIUS, shown in the summary only (never sent to a device).
const RADIUS_USER = /^[A-Za-z0-9][A-Za-z0-9._@\\\-]{0,127}$/;

export function parseRadiusUser(value: unknown, field = 'username'): string {
  if (typeof value !== 'string' || !RADIUS_USER.test(value)) {
    throw new InvalidInputError(field, `not a plain user name: ${quoteForError(value)}`);
  }
  return value;
}
