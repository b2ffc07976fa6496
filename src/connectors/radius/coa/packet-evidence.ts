import { createHash } from 'node:crypto';
import { describeErrorCause } from './error-cause';
import { CISCO_AVPAIR, CISCO_VENDOR_ID, RadiusAttr, codeName, decodePacket } from './radius-packet';

/**
 * What a RADIUS exchange leaves as evidence: the packet decoded (code, Identifier, attributes by
 * name) and a digest, never the bytes. A Disconnect-Request's authenticator is MD5 over the packet
 * and the shared secret, a reply's is MD5 over the reply, the request authenticator and the secret,
 * and a Message-Authenticator is HMAC-MD5 keyed by the secret: anyone holding one of them with the
 * rest of the packet can test guesses of the secret offline (a weak one falls in a few hundred
 * tries). So those fields are zeroed before the digest and never kept.
 *
 * Why the digest is over the MASKED packet: every other byte of the packet is in the decoded
 * attributes, so SHA-256 of the raw bytes would itself be a guessing oracle (guess, rebuild the
 * packet, hash, compare). SHA-256 of the packet with the authenticators zeroed still identifies the
 * exact packet on the wire (mask the same fields in a capture and compare) and says nothing about
 * the secret.
 */

export interface AttributeEvidence {
  type: number;
  name: string;
  /** the decoded value; absent for opaque or secret-derived attributes */
  value?: string | number;
  /** why the value is not kept, when it is not */
  notKept?: string;
}

export interface PacketEvidence {
  /** 'Disconnect-Request', 'Disconnect-ACK', ... or `Code-N` */
  code?: string;
  identifier?: number;
  /** octets on the wire (the Length field when it is sane) */
  length: number;
  attributes?: AttributeEvidence[];
  /** set when the octets are not a well-formed RADIUS packet */
  malformed?: string;
  /** SHA-256 (hex) of the packet with the authenticator field and any Message-Authenticator zeroed */
  sha256Masked: string;
}

const TEXT = new Map<number, string>([
  [RadiusAttr.UserName, 'User-Name'],
  [RadiusAttr.AcctSessionId, 'Acct-Session-Id'],
  [RadiusAttr.NasIdentifier, 'NAS-Identifier'],
  [RadiusAttr.ReplyMessage, 'Reply-Message'],
  [RadiusAttr.CallingStationId, 'Calling-Station-Id'],
  [RadiusAttr.NasPortId, 'NAS-Port-Id'],
]);
const OPAQUE = new Map<number, string>([
  [RadiusAttr.State, 'State'],
  [RadiusAttr.ProxyState, 'Proxy-State'],
]);

function describeAttribute(type: number, value: Buffer): AttributeEvidence {
  const text = TEXT.get(type);
  if (text) return { type, name: text, value: value.toString('utf8') };
  if ((type === RadiusAttr.NasIpAddress || type === RadiusAttr.FramedIpAddress) && value.length === 4) {
    return { type, name: type === RadiusAttr.NasIpAddress ? 'NAS-IP-Address' : 'Framed-IP-Address', value: [...value].join('.') };
  }
  if (type === RadiusAttr.NasIpv6Address && value.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(value.readUInt16BE(i).toString(16));
    return { type, name: 'NAS-IPv6-Address', value: groups.join(':') };
  }
  if (type === RadiusAttr.EventTimestamp && value.length === 4) {
    return { type, name: 'Event-Timestamp', value: new Date(value.readUInt32BE(0) * 1000).toISOString() };
  }
  if (type === RadiusAttr.ErrorCause && value.length === 4) {
    const c = describeErrorCause(value.readUInt32BE(0));
    return { type, name: 'Error-Cause', value: `${c.code} ${c.text}` };
  }
  // Cisco-AVPair is plain text (never encrypted with the secret): the CoA command it carries is kept.
  if (type === RadiusAttr.VendorSpecific && value.length >= 7 && value.readUInt32BE(0) === CISCO_VENDOR_ID && value[4] === CISCO_AVPAIR && value[5] === value.length - 4) {
    return { type, name: 'Cisco-AVPair', value: value.subarray(6).toString('utf8') };
  }
  if (type === RadiusAttr.MessageAuthenticator) {
    return { type, name: 'Message-Authenticator', notKept: 'keyed by the shared secret' };
  }
  // Anything else may be encrypted with the secret (vendor attributes) or opaque: its size only.
  return { type, name: OPAQUE.get(type) ?? `Attribute-${type}`, notKept: `${value.length} octets, opaque` };
}

/** The packet with the authenticator field and every Message-Authenticator value zeroed. */
function masked(buf: Buffer): Buffer {
  const pkt = Buffer.from(buf);
  pkt.fill(0, Math.min(4, pkt.length), Math.min(20, pkt.length));
  const length = pkt.length >= 4 ? Math.min(pkt.readUInt16BE(2), pkt.length) : pkt.length;
  let i = 20;
  while (i + 2 <= length) {
    const len = pkt[i + 1];
    if (len < 2) break;
    if (pkt[i] === RadiusAttr.MessageAuthenticator) pkt.fill(0, i + 2, Math.min(i + len, length));
    i += len;
  }
  return pkt;
}

export function packetEvidence(buf: Buffer): PacketEvidence {
  const sha256Masked = createHash('sha256').update(masked(buf)).digest('hex');
  try {
    const d = decodePacket(buf);
    const length = buf.readUInt16BE(2);
    return { code: codeName(d.code), identifier: d.identifier, length, attributes: d.attributes.map((a) => describeAttribute(a.type, a.value)), sha256Masked };
  } catch (e) {
    return {
      ...(buf.length >= 2 ? { code: codeName(buf[0]), identifier: buf[1] } : {}),
      length: buf.length, malformed: (e as Error).message, sha256Masked,
    };
  }
}

/**
 * radclient's own output, made safe to keep: radclient -x prints attributes only, but at higher
 * debug levels (or in later releases) it prints authenticators and hex dumps of the packets, which
 * would allow the same offline guess. Such values are replaced by a marker.
 */
export function withoutAuthenticators(text: string): string {
  return text.split('\n').map((line) => {
    if (/authenticator/i.test(line)) return line.replace(/(authenticator[^=:]*[=:]\s*).*$/i, '$1(not kept: derived from the shared secret)');
    // hex dumps: `  0000: 28 6b 00 3b ...` or long runs of hex digits
    if (/^\s*[0-9a-f]{2,4}:?\s+(?:[0-9a-f]{2}\s+){3,}/i.test(line) || /(?:0x)?[0-9a-f]{32,}/i.test(line)) return '(packet octets not kept)';
    return line;
  }).join('\n');
}
