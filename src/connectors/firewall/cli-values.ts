import { InvalidInputError, ipFamily, parseIp, quoteForError, type IpAddress } from '../../domain/net';

/**
 * The only values that reach a firewall CLI line, each checked against a strict shape first.
 * Nothing here allows whitespace, quotes, `;`, backslashes or control characters.
 */

/**
 * Address object name for a blocked IP: `IR-<ip>`, with IPv6 colons turned into dashes. PAN-OS
 * names allow only letters, digits, `_`, `-`, `.` and spaces (no `:`); FortiOS accepts `:` but we use
 * one rule for every vendor so an object reads the same everywhere. The mapping is reversible: a
 * canonical IPv6 address never contains `-`, an IPv4 address never contains `-` or `:`.
 */
export function addressObjectName(ip: IpAddress): string {
  return `IR-${checkedIp(ip).replace(/:/g, '-')}`;
}

/** The IP an `IR-<ip>` object name stands for, or undefined for any other name (e.g. `none`). */
export function ipFromObjectName(name: string): IpAddress | undefined {
  if (!name.startsWith('IR-')) return undefined;
  const body = name.slice(3);
  const text = body.includes('.') ? body : body.replace(/-/g, ':');
  try {
    const ip = parseIp(text);
    return addressObjectName(ip) === name ? ip : undefined;
  } catch {
    return undefined;
  }
}

/** Re-parses an IP right before it goes into a line: a branded type can be forged with a cast. */
export function checkedIp(ip: string): IpAddress {
  const parsed = parseIp(ip);
  if (parsed !== ip) throw new InvalidInputError('ip', `not in canonical form: ${quoteForError(ip)}`);
  return parsed;
}

export function hostPrefix(ip: IpAddress): string {
  return `${checkedIp(ip)}/${ipFamily(ip) === 4 ? 32 : 128}`;
}

// Local users, RADIUS/LDAP names and UPNs: letters, digits, `. _ - @`; starts with a letter or digit.
const VPN_USER = /^[A-Za-z0-9][A-Za-z0-9._@\-]{0,127}$/;

/** A user name as it may appear in a VPN command (and how we match device rows). */
export function parseVpnUser(value: unknown, field = 'user'): string {
  if (typeof value !== 'string' || !VPN_USER.test(value)) {
    throw new InvalidInputError(field, `not a plain user name (letters, digits, . _ - @ only): ${quoteForError(value)}`);
  }
  return value;
}

// Incident ids as the bot makes them (IR-20261127-7K3Q) and any similar plain token.
const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$/;

export function parseIncidentId(value: unknown, field = 'incidentId'): string {
  if (typeof value !== 'string' || !INCIDENT_ID.test(value)) {
    throw new InvalidInputError(field, `not an incident id: ${quoteForError(value)}`);
  }
  return value;
}

// Computer names and gateway names reported by the device, before they go back into a command.
const DEVICE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$/;

export function parseDeviceToken(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DEVICE_TOKEN.test(value)) {
    throw new InvalidInputError(field, `not a plain device name: ${quoteForError(value)}`);
  }
  return value;
}

/**
 * Whether a user name shown by the device is the user we look for: equal ignoring case, or the
 * same person seen as `user@domain` on one side and `user` / `DOMAIN\user` on the other (LDAP and
 * RADIUS back-ends report either form).
 */
export function sameVpnUser(deviceUser: string, wanted: string): boolean {
  const norm = (u: string) => u.toLowerCase().replace(/^[^\\]*\\/, '');
  const a = norm(deviceUser);
  const b = norm(wanted);
  if (a === b) return true;
  const local = (u: string) => (u.includes('@') ? u.slice(0, u.indexOf('@')) : u);
  return (a.includes('@') !== b.includes('@')) && local(a) === local(b);
}
