import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * A throw-away certificate authority and a server certificate for the Graph emulator.
 *
 * Why: MSAL (inside @azure/identity) refuses an authority that is not https, and the Graph client
 * only attaches the bearer token to https hosts. So the emulator serves https with a certificate
 * minted at start, and the connector trusts that CA for the configured Graph/authority host only
 * (never by turning TLS verification off). Node has no X.509 writer, hence this small DER encoder
 * (ECDSA P-256 / SHA-256), which avoids a dependency for the sandbox.
 */
export interface SandboxTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function generateSandboxTls(hosts: string[] = ['localhost', '127.0.0.1', '::1'], days = 2): SandboxTls {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = new Date(Date.now() - 60 * 60_000);
  const notAfter = new Date(Date.now() + days * 86_400_000);
  const caName = name('teams-ir-bot sandbox CA');
  const caDer = certificate({
    issuer: caName, subject: caName, notBefore, notAfter,
    publicKey: ca.publicKey, signingKey: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true))),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
    ],
  });
  const san = seq(...hosts.map((h) => (isIP(h) ? tagged(0x87, ipBytes(h)) : tagged(0x82, Buffer.from(h, 'ascii')))));
  const leafDer = certificate({
    issuer: caName, subject: name('graph-emulator'), notBefore, notAfter,
    publicKey: leaf.publicKey, signingKey: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, san),
    ],
  });
  return {
    caPem: pem('CERTIFICATE', caDer),
    certPem: pem('CERTIFICATE', leafDer),
    keyPem: createPrivateKey(leaf.privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function certificate(o: {
  issuer: Buffer; subject: Buffer; notBefore: Date; notAfter: Date;
  publicKey: KeyObject; signingKey: KeyObject; extensions: Buffer[];
}): Buffer {
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  // Positive and minimally encoded: a leading zero byte (1 serial in 256) is invalid DER, and
  // OpenSSL then rejects the whole certificate, so every TLS connection to the emulator failed.
  serial[0] = (serial[0] & 0x7f) | 0x40;
  const tbs = seq(
    tagged(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    o.issuer,
    seq(utcTime(o.notBefore), utcTime(o.notAfter)),
    o.subject,
    o.publicKey.export({ type: 'spki', format: 'der' }),
    tagged(0xa3, seq(...o.extensions)),
  );
  const signature = sign('sha256', tbs, { key: o.signingKey, dsaEncoding: 'der' });
  return seq(tbs, algorithm, bitString(signature, 0));
}

function tlv(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let head: Buffer;
  if (len < 0x80) head = Buffer.from([tag, len]);
  else if (len < 0x100) head = Buffer.from([tag, 0x81, len]);
  else head = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, body]);
}
const tagged = tlv;
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const integer = (b: Buffer): Buffer => tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const bitString = (b: Buffer, unused: number): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const name = (cn: string): Buffer => seq(set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octetString(value));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const stack = [p & 0x7f];
    for (let v = p >> 7; v > 0; v >>= 7) stack.unshift((v & 0x7f) | 0x80);
    bytes.push(...stack);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; }));
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
