import { InvalidInputError, ipFamily, parseIp, quoteForError, type IpAddress } from '../../domain/net';
import type { PolicyQuery } from './driver';

/**
 * The only values that reach a firewall CLI line. Our own values (object names, incident ids, IPs)
 * are checked against a strict shape. Values that are not ours (computer names, user names and
 * session labels a device reports) are QUOTED per the vendor's rules, never rejected for their
 * shape: `Adele's MacBook Pro` is a Mac's default name. Only a value no quoting makes safe (a
 * control character, a line break) is refused, and the caller skips that one row.
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

/**
 * A value that no quoting makes safe on one vendor's CLI line. The row it belongs to is skipped
 * with this message as the reason; the rest of the action goes on.
 */
export class UnquotableValueError extends InvalidInputError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'UnquotableValueError';
  }
}

// C0, DEL, C1 and the Unicode line/paragraph separators: a terminal or a CLI parser may end or
// rewrite a line at any of them, so no quoting makes them safe.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// A lone UTF-16 surrogate cannot be sent as UTF-8 at all.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_FOREIGN = 255;

/** Why a foreign value cannot go into any CLI line, or undefined when quoting can carry it. */
function foreignProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `not text: ${quoteForError(value)}`;
  if (!value.length) return 'empty';
  if (value.length > MAX_FOREIGN) return `longer than ${MAX_FOREIGN} characters: ${quoteForError(value)}`;
  if (CONTROL.test(value)) return `contains a control character or line break: ${quoteForError(value)}`;
  if (LONE_SURROGATE.test(value)) return `contains a lone UTF-16 surrogate: ${quoteForError(value)}`;
  return undefined;
}

/**
 * FortiOS: a double-quoted token, inside which `\` escapes the next character; so `\` and `"` are
 * escaped and everything else printable (spaces, `'`, `’`, `;`, non-ASCII letters) is literal.
 */
export function fortiOsQuoted(value: unknown, field: string): string {
  const problem = foreignProblem(value);
  if (problem) throw new UnquotableValueError(field, problem);
  return `"${(value as string).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * PAN-OS: a double-quoted token groups spaces and every other printable character. The CLI has
 * no documented escape inside quotes, so a value containing `"` (or `\`, which some releases treat
 * as an escape) cannot be carried: refused, and the caller skips the row or drops the optional
 * argument.
 */
export function panOsQuoted(value: unknown, field: string): string {
  const problem = foreignProblem(value) ?? (/["\\]/.test(value as string) ? `contains a double quote or a backslash, which the PAN-OS CLI cannot quote: ${quoteForError(value)}` : undefined);
  if (problem) throw new UnquotableValueError(field, problem);
  return `"${value as string}"`;
}

/**
 * A user name as the bot looks for it on a device (a UPN, `DOMAIN\user`, `o'brien@contoso.com`,
 * `josé`): it is only compared with what the device lists, never placed on a CLI line as given, so
 * any text is fine except what no line could carry (control characters, lone surrogates) or
 * absurd lengths.
 */
export function parseVpnUser(value: unknown, field = 'user'): string {
  const problem = typeof value === 'string' && !value.trim() ? 'empty' : foreignProblem(value);
  if (problem) throw new InvalidInputError(field, `not a usable user name (${problem})`);
  return value as string;
}

// Incident ids as the bot makes them (IR-20261127-7K3Q) and any similar plain token.
const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$/;

export function parseIncidentId(value: unknown, field = 'incidentId'): string {
  if (typeof value !== 'string' || !INCIDENT_ID.test(value)) {
    throw new InvalidInputError(field, `not an incident id: ${quoteForError(value)}`);
  }
  return value;
}

// Our own configured names that go on a line bare (the SSH login in `commit partial admin`).
const DEVICE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}$/;

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

/** Re-validates a flow right before it goes on a line. */
export function checkedQuery(q: PolicyQuery): PolicyQuery {
  if (!Number.isInteger(q.dstPort) || q.dstPort < 1 || q.dstPort > 65535) throw new InvalidInputError('dstPort', `not a port: ${JSON.stringify(q.dstPort)}`);
  if (q.protocol !== 'tcp' && q.protocol !== 'udp') throw new InvalidInputError('protocol', `not tcp or udp: ${JSON.stringify(q.protocol)}`);
  return { src: checkedIp(q.src), dst: checkedIp(q.dst), dstPort: q.dstPort, protocol: q.protocol };
}

