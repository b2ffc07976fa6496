import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ipToBytes } from '../../../domain/net';

/**
 * The small part of RADIUS (RFC 2865 framing, RFC 5176 codes and authenticators) that a
 * Disconnect-Request needs. Written out rather than taken from the npm `radius` package so that the
 * exact bytes are ours: that package adds Message-Authenticator in an order NASes reject for these
 * codes (protocols.md §8), and the tests cross-check this codec against it and against FreeRADIUS.
 */

export const RadiusCode = {
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const;

export const RadiusAttr = {
  UserName: 1,
  NasIpAddress: 4,
  FramedIpAddress: 8,
  ReplyMessage: 18,
  State: 24,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  EventTimestamp: 55,
  AcctSessionId: 44,
  VendorSpecific: 26,
  MessageAuthenticator: 80,
  NasPortId: 87,
  NasIpv6Address: 95,
  ErrorCause: 101,
} as const;

const CODE_NAMES: Record<number, string> = {
  40: 'Disconnect-Request', 41: 'Disconnect-ACK', 42: 'Disconnect-NAK',
  43: 'CoA-Request', 44: 'CoA-ACK', 45: 'CoA-NAK',
};
export const codeName = (code: number): string => CODE_NAMES[code] ?? `Code-${code}`;

export interface RadiusAttribute {
  type: number;
  value: Buffer;
}

const HEADER = 20;
const MAX_PACKET = 4096;

export function stringAttr(type: number, value: string): RadiusAttribute {
  const b = Buffer.from(value, 'utf8');
  if (b.length < 1 || b.length > 253) throw new RangeError(`attribute ${type}: ${b.length} bytes does not fit one attribute`);
  return { type, value: b };
}

export function ipv4Attr(type: number, ip: string): RadiusAttribute {
  const bytes = ipToBytes(ip);
  if (bytes.length !== 4) throw new RangeError(`attribute ${type}: ${ip} is not IPv4`);
  return { type, value: Buffer.from(bytes) };
}

export function ipv6Attr(type: number, ip: string): RadiusAttribute {
  const bytes = ipToBytes(ip);
  if (bytes.length !== 16) throw new RangeError(`attribute ${type}: ${ip} is not IPv6`);
  return { type, value: Buffer.from(bytes) };
}

export function integerAttr(type: number, n: number): RadiusAttribute {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return { type, value: b };
}

/** Cisco's SMI enterprise number; Cisco-AVPair is its vendor attribute 1 (FreeRADIUS dictionary.cisco). */
export const CISCO_VENDOR_ID = 9;
export const CISCO_AVPAIR = 1;

/** Vendor-Specific (RFC 2865 §5.26) carrying Cisco-AVPair: `26 len | 00 00 00 09 | 01 len | text`. */
export function ciscoAvPairAttr(value: string): RadiusAttribute {
  const text = Buffer.from(value, 'utf8');
  if (text.length < 1 || text.length > 247) throw new RangeError(`Cisco-AVPair: ${text.length} bytes does not fit one attribute`);
  const v = Buffer.alloc(6 + text.length);
  v.writeUInt32BE(CISCO_VENDOR_ID, 0);
  v[4] = CISCO_AVPAIR;
  v[5] = text.length + 2;
  text.copy(v, 6);
  return { type: RadiusAttr.VendorSpecific, value: v };
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

function encodeAttributes(attrs: RadiusAttribute[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    if (a.value.length > 253) throw new RangeError(`attribute ${a.type} is ${a.value.length} bytes; at most 253 fit`);
    parts.push(Buffer.from([a.type, a.value.length + 2]), a.value);
  }
  return Buffer.concat(parts);
}

/**
 * A Disconnect- or CoA-Request. Its authenticator is MD5(Code|Id|Length|16 zero octets|attributes|secret)
 * (RFC 5176 §3, same as Accounting-Request), so it is fixed by the content: a retransmission is the
 * same bytes.
 */
export function encodeRequest(code: number, identifier: number, attrs: RadiusAttribute[], secret: string): Buffer {
  const body = encodeAttributes(attrs);
  const length = HEADER + body.length;
  if (length > MAX_PACKET) throw new RangeError(`packet of ${length} bytes exceeds the RADIUS maximum of ${MAX_PACKET}`);
  const packet = Buffer.alloc(length);
  packet[0] = code;
  packet[1] = identifier & 0xff;
  packet.writeUInt16BE(length, 2);
  body.copy(packet, HEADER);
  md5(packet, Buffer.from(secret, 'utf8')).copy(packet, 4);
  return packet;
}

/** Builds a response the way a NAS does: used by the tests' fake NAS and to forge replies on purpose. */
export function encodeResponse(code: number, request: Buffer, attrs: RadiusAttribute[], secret: string): Buffer {
  const body = encodeAttributes(attrs);
  const length = HEADER + body.length;
  const packet = Buffer.alloc(length);
  packet[0] = code;
  packet[1] = request[1];
  packet.writeUInt16BE(length, 2);
  request.copy(packet, 4, 4, 20);
  body.copy(packet, HEADER);
  md5(packet, Buffer.from(secret, 'utf8')).copy(packet, 4);
  return packet;
}

export interface DecodedPacket {
  code: number;
  identifier: number;
  authenticator: Buffer;
  attributes: RadiusAttribute[];
}

export class MalformedPacketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedPacketError';
  }
}

/** Strict framing per RFC 2865 §3: the Length field is honoured and octets beyond it are padding. */
export function decodePacket(buf: Buffer): DecodedPacket {
  if (buf.length < HEADER) throw new MalformedPacketError(`${buf.length} bytes is shorter than a RADIUS header`);
  const length = buf.readUInt16BE(2);
  if (length < HEADER || length > MAX_PACKET) throw new MalformedPacketError(`Length field ${length} is out of range`);
  if (length > buf.length) throw new MalformedPacketError(`Length field ${length} exceeds the ${buf.length} bytes received`);
  const attributes: RadiusAttribute[] = [];
  let i = HEADER;
  while (i < length) {
    if (i + 2 > length) throw new MalformedPacketError('truncated attribute header');
    const type = buf[i];
    const len = buf[i + 1];
    if (len < 2 || i + len > length) throw new MalformedPacketError(`attribute ${type} has bad length ${len}`);
    attributes.push({ type, value: buf.subarray(i + 2, i + len) });
    i += len;
  }
  return { code: buf[0], identifier: buf[1], authenticator: buf.subarray(4, 20), attributes };
}

/**
 * Checks a response against the request it answers: Response Authenticator =
 * MD5(Code|Id|Length|Request Authenticator|attributes|secret), and, when the NAS added one,
 * Message-Authenticator = HMAC-MD5 over the packet with the request authenticator in place.
 */
export function verifyResponse(response: Buffer, request: Buffer, secret: string): { ok: true } | { ok: false; reason: string } {
  if (response.length < HEADER) return { ok: false, reason: 'shorter than a RADIUS header' };
  const length = response.readUInt16BE(2);
  if (length < HEADER || length > response.length) return { ok: false, reason: `bad Length field ${length}` };
  if (response[1] !== request[1]) return { ok: false, reason: `Identifier ${response[1]} does not match request ${request[1]}` };
  const pkt = Buffer.from(response.subarray(0, length));
  const got = Buffer.from(pkt.subarray(4, 20));
  request.copy(pkt, 4, 4, 20);
  const expected = md5(pkt, Buffer.from(secret, 'utf8'));
  if (!timingSafeEqual(got, expected)) return { ok: false, reason: 'Response Authenticator does not verify (wrong secret or forged reply)' };
  // Message-Authenticator, when present, covers the packet with the request authenticator and itself zeroed.
  let i = HEADER;
  while (i + 2 <= length) {
    const type = pkt[i];
    const len = pkt[i + 1];
    if (len < 2) break;
    if (type === RadiusAttr.MessageAuthenticator && len === 18) {
      const mac = Buffer.from(pkt.subarray(i + 2, i + 18));
      pkt.fill(0, i + 2, i + 18);
      const want = createHmac('md5', secret).update(pkt).digest();
      if (!timingSafeEqual(mac, want)) return { ok: false, reason: 'Message-Authenticator does not verify' };
    }
    i += len;
  }
  return { ok: true };
}

/** Verifies a request's authenticator, as a NAS does (used by the tests' fake NAS). */
export function verifyRequest(request: Buffer, secret: string): boolean {
  const length = request.readUInt16BE(2);
  const pkt = Buffer.from(request.subarray(0, length));
  const got = Buffer.from(pkt.subarray(4, 20));
  pkt.fill(0, 4, 20);
  return timingSafeEqual(got, md5(pkt, Buffer.from(secret, 'utf8')));
}
