/**
 * Security identifiers: the S-1-… string form (what alerts carry) and the binary form (what the
 * objectSid attribute holds and what an LDAP equality filter on it must carry).
 */

const SID_TEXT = /^S-1-(\d{1,15})((?:-\d{1,10}){1,15})$/;

export class InvalidSidError extends Error {
  constructor(value: unknown) {
    super(`not a SID: ${JSON.stringify(String(value)).slice(0, 80)} (expected S-1-5-21-…)`);
    this.name = 'InvalidSidError';
  }
}

/** Validates a SID string (revision 1, authority < 2^48, 1–15 sub-authorities each < 2^32); returns it upper-cased S. */
export function parseSid(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidSidError(value);
  const m = SID_TEXT.exec(value.trim().toUpperCase());
  if (!m) throw new InvalidSidError(value);
  const authority = Number(m[1]);
  const subs = m[2].slice(1).split('-').map(Number);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48 || subs.some((s) => s > 0xffffffff)) throw new InvalidSidError(value);
  return `S-1-${authority}-${subs.join('-')}`;
}

/** The binary SID: revision, sub-authority count, 48-bit big-endian authority, little-endian 32-bit sub-authorities. */
export function sidToBuffer(sid: string): Buffer {
  const text = parseSid(sid);
  const parts = text.split('-').slice(2).map(Number);
  const [authority, ...subs] = parts;
  const buf = Buffer.alloc(8 + subs.length * 4);
  buf.writeUInt8(1, 0);
  buf.writeUInt8(subs.length, 1);
  buf.writeUIntBE(authority, 2, 6);
  subs.forEach((s, i) => buf.writeUInt32LE(s, 8 + i * 4));
  return buf;
}

export function sidFromBuffer(buf: Buffer): string {
  if (buf.length < 8 || buf[0] !== 1 || buf.length !== 8 + buf[1] * 4) throw new InvalidSidError(`<${buf.length} bytes>`);
  const authority = buf.readUIntBE(2, 6);
  const subs = Array.from({ length: buf[1] }, (_, i) => buf.readUInt32LE(8 + i * 4));
  return `S-1-${authority}-${subs.join('-')}`;
}

/** The relative identifier (last sub-authority) and the domain part of an account SID. */
export function splitSid(sid: string): { domainSid: string; rid: number } {
  const i = sid.lastIndexOf('-');
  return { domainSid: sid.slice(0, i), rid: Number(sid.slice(i + 1)) };
}
