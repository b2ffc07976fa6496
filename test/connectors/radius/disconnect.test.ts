import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import type { RadiusConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { accountingInput, disconnectInput } from '../../../src/connectors/radius/actions';
import { sendDisconnectRequests } from '../../../src/connectors/radius/coa/disconnect-client';
import { disconnectSessions, disconnectAttributes, radclientLines, type SessionRef } from '../../../src/connectors/radius/coa/disconnect-sessions';
import { decodePacket, encodeRequest, encodeResponse, integerAttr, RadiusAttr, RadiusCode, verifyRequest } from '../../../src/connectors/radius/coa/radius-packet';
import { startFreeRadius, type FreeRadiusInstance } from '../../support/freeradius';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const npmRadius = require('radius');

const SECRET = 'nas-secret';
const secrets = new EnvFileSecretStore({ NAS_SECRET: SECRET, WRONG_SECRET: 'not-the-secret' });
const adele = 'adele.vance@contoso.com';

function config(nas: Array<{ id: string; ip?: string; coaHost?: string; port: number; secret?: string }>, timeoutMs = 1000, retries = 1): RadiusConfig {
  return {
    accounting: { kind: 'sql', urlRef: 'env:UNUSED', table: 'radacct' },
    disconnect: { mode: 'direct', timeoutMs, retries },
    nas: nas.map((n) => ({ id: n.id, ip: n.ip ?? '127.0.0.1', coaHost: n.coaHost, coaPort: n.port, secretRef: n.secret ?? 'env:NAS_SECRET' })),
  };
}

function udp(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/**
 * The stored evidence holds nothing that lets its reader test a guess of the shared secret: no
 * packet octets, no request or response authenticator, no Message-Authenticator, no digest of the
 * raw octets (all of which can be recomputed from a guess and the decoded attributes).
 */
function assertNoOfflineGuess(text: string, evidence: any, sessions: SessionRef[], secret: string): void {
  assert.ok(!/"hex"|Hex"/.test(text), 'no hex fields');
  for (const ex of evidence.exchanges) {
    const session = sessions.find((x) => x.acctSessionId === ex.session.acctSessionId)!;
    // Disconnect-Request octets are fixed by content and secret: rebuild exactly what went out.
    const sent = encodeRequest(RadiusCode.DisconnectRequest, ex.identifier, disconnectAttributes(session), secret);
    const auth = sent.subarray(4, 20);
    for (const needle of [sent.toString('hex'), auth.toString('hex'), auth.toString('base64'), createHash('sha256').update(sent).digest('hex'), createHash('md5').update(sent).digest('hex')]) {
      assert.ok(!text.toLowerCase().includes(needle.toLowerCase()), `evidence contains ${needle}`);
    }
    const masked = Buffer.from(sent);
    masked.fill(0, 4, 20);
    assert.equal(ex.request.sha256Masked, createHash('sha256').update(masked).digest('hex'), 'the digest identifies the packet with its authenticator zeroed');
    assert.equal(ex.request.length, sent.length);
  }
  // no 32-hex-digit run (an MD5 value) anywhere, other than the SHA-256 digests
  const withoutDigests = text.replace(/"sha256Masked": "[0-9a-f]{64}"/g, '');
  assert.ok(!/[0-9a-f]{32}/i.test(withoutDigests), 'no MD5-sized hex run in the evidence');
}

describe('radius Disconnect-Request codec', () => {
  it('encodes what the npm radius package decodes and signs as RFC 5176 says', () => {
    const attrs = disconnectAttributes({ userName: adele, acctSessionId: 'S-1001', nasIp: '10.20.0.2', framedIp: '10.99.0.77' });
    const pkt = encodeRequest(RadiusCode.DisconnectRequest, 42, attrs, SECRET);
    assert.ok(verifyRequest(pkt, SECRET));
    assert.ok(!verifyRequest(pkt, 'other'));
    const d = npmRadius.decode({ packet: pkt, secret: SECRET });
    assert.equal(d.code, 'Disconnect-Request');
    assert.equal(d.identifier, 42);
    assert.equal(d.attributes['User-Name'], adele);
    assert.equal(d.attributes['Acct-Session-Id'], 'S-1001');
    assert.equal(d.attributes['NAS-IP-Address'], '10.20.0.2');
    assert.equal(d.attributes['Framed-IP-Address'], '10.99.0.77');
    // a NAK built by the npm package verifies with our check; one signed with another secret does not
    const nak = npmRadius.encode_response({ packet: d, code: 'Disconnect-NAK', secret: SECRET, attributes: [['Error-Cause', 503]] });
    assert.ok(npmRadius.verify_response({ request: pkt, response: nak, secret: SECRET }));
    assert.equal(decodePacket(nak).attributes.find((a) => a.type === RadiusAttr.ErrorCause)?.value.readUInt32BE(0), 503);
  });

  it('any user name or session id either encodes to exactly one attribute / one radclient line, or is refused up front', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }), (user, sid) => {
      const s: SessionRef = { userName: user, acctSessionId: sid };
      let attrs;
      try {
        attrs = disconnectAttributes(s);
      } catch (e) {
        assert.match((e as Error).message, /^(User-Name|Acct-Session-Id): /);
        assert.throws(() => radclientLines(s));
        return;
      }
      assert.equal(attrs.length, 2);
      assert.equal(attrs[0].value.toString('utf8'), user);
      assert.equal(attrs[1].value.toString('utf8'), sid);
      const decoded = decodePacket(encodeRequest(40, 1, attrs, SECRET)).attributes;
      assert.deepEqual(decoded.map((a) => a.type), [RadiusAttr.UserName, RadiusAttr.AcctSessionId]);
      const lines = radclientLines(s);
      assert.equal(lines.length, 2);
      for (const l of lines) {
        assert.ok(!/[\r\n\u2028\u2029\u0085]/.test(l));
        assert.match(l, /^(User-Name|Acct-Session-Id) = "(?:[^"\\]|\\\\)*"$/);
      }
    }), { numRuns: 2000 });
    assert.throws(() => radclientLines({ userName: 'a"\nAcct-Session-Id = "x', acctSessionId: 'S' }), /User-Name: contains a control character or a double quote/);
  });

  it('the actions refuse such values at input validation, with a message that says why', () => {
    const bad = disconnectInput.safeParse({ user: adele, sessions: [{ userName: adele, acctSessionId: 'S-1\nUser-Name = "mallory"' }] });
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0].message, /acctSessionId must be 1-253 bytes without control characters or double quotes/);
    assert.equal(accountingInput.safeParse({ user: 'x'.repeat(254) }).success, false);
    assert.equal(disconnectInput.safeParse({ user: adele, sessions: [{ userName: adele, acctSessionId: 'S-1', nasIp: '10.0.0.1; reboot' }] }).success, false);
    assert.deepEqual(accountingInput.parse({ user: adele }), { user: adele, hours: 24 });
  });
});

describe('radius Disconnect against FreeRADIUS NASes', function () {
  this.timeout(30000);
  let fr: FreeRadiusInstance;
  before(async () => {
    fr = await startFreeRadius({ nasCount: 2, secret: SECRET, knownSessions: [{ userName: adele, acctSessionId: 'S-1001' }, { userName: adele, acctSessionId: 'S-1002' }] });
  });
  after(async () => {
    await fr?.stop();
  });

  it('gets an ACK for a known session and a NAK 503 with its Error-Cause for an unknown one, across two NAS in parallel', async () => {
    const cfg = config([{ id: 'nas-a', ip: '10.20.0.1', coaHost: '127.0.0.1', port: fr.coaPorts[0] }, { id: 'nas-b', ip: '10.20.0.2', coaHost: '127.0.0.1', port: fr.coaPorts[1] }]);
    const sessions: SessionRef[] = [
      { userName: adele, acctSessionId: 'S-1001', nasIp: '10.20.0.1', framedIp: '10.99.0.77' },
      { userName: adele, acctSessionId: 'S-1002', nasIp: '10.20.0.2' },
      { userName: adele, acctSessionId: 'S-9999', nasIp: '10.20.0.2' },
      { userName: adele, acctSessionId: 'S-7777', nasIp: '10.30.0.9' },
    ];
    const { results, raw } = await disconnectSessions(sessions, cfg, { secrets });
    assert.deepEqual(results.map((r) => [r.session.acctSessionId, r.nasId, r.status]), [
      ['S-1001', 'nas-a', 'disconnected'], ['S-1002', 'nas-b', 'disconnected'], ['S-9999', 'nas-b', 'not-found'], ['S-7777', undefined, 'no-nas'],
    ]);
    assert.deepEqual(results[2].errorCause, { code: 503, text: 'Session Context Not Found' });
    assert.equal(results[0].transmissions, 1);
    const evidence = JSON.parse(raw[0].body.toString());
    assert.equal(evidence.exchanges.length, 3);
    assert.equal(evidence.exchanges[0].reply.code, 'Disconnect-ACK');
    assert.equal(evidence.exchanges[2].reply.errorCause.code, 503);
    assert.ok(!raw[0].body.toString().includes(SECRET));
    assertNoOfflineGuess(raw[0].body.toString(), evidence, sessions, SECRET);
    assert.deepEqual(evidence.exchanges[0].request.attributes.map((a: any) => [a.name, a.value]), [
      ['User-Name', adele], ['Acct-Session-Id', 'S-1001'], ['NAS-IP-Address', '10.20.0.1'], ['Framed-IP-Address', '10.99.0.77'],
    ]);
    assert.equal(evidence.exchanges[0].request.code, 'Disconnect-Request');
    assert.deepEqual(evidence.exchanges[2].reply.attributes.filter((a: any) => a.name === 'Error-Cause').map((a: any) => a.value), ['503 Session Context Not Found']);
    // the same NAK on a retry of the action means our earlier attempt already ended it
    const retry = await disconnectSessions([sessions[2]], cfg, { secrets, isRetry: true });
    assert.equal(retry.results[0].status, 'already-gone');
  });

  it('with a wrong secret gets no valid answer', async () => {
    const cfg = config([{ id: 'nas-a', port: fr.coaPorts[0], secret: 'env:WRONG_SECRET' }], 300, 1);
    const { results } = await disconnectSessions([{ userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1' }], cfg, { secrets });
    assert.equal(results[0].status, 'no-answer');
    assert.equal(results[0].transmissions, 2);
  });

  it('pipelines 600 requests to one NAS over more than one socket (256 Identifiers each)', async () => {
    const target = { nasId: 'nas-a', host: '127.0.0.1', port: fr.coaPorts[0], secret: SECRET };
    const requests = Array.from({ length: 600 }, (_, i) => ({
      key: String(i), target, attributes: disconnectAttributes({ userName: adele, acctSessionId: i % 2 ? 'S-1001' : `S-X${i}` }),
    }));
    const { exchanges, nas } = await sendDisconnectRequests(requests, { timeoutMs: 2000, retries: 3, maxInFlightPerNas: 400, socketsPerNas: 2 });
    assert.equal(nas[0].sockets, 2);
    assert.deepEqual(exchanges.map((e) => e.key), requests.map((r) => r.key));
    exchanges.forEach((e, i) => assert.equal(e.outcome, i % 2 ? 'ack' : 'nak', `request ${i}`));
  });
});

describe('radius Disconnect against a misbehaving NAS', () => {
  const sockets: Socket[] = [];
  after(() => sockets.forEach((s) => s.close()));

  it('retransmits the same bytes (same Identifier and authenticator) on timeout, then reports no answer', async () => {
    const nas = await udp();
    sockets.push(nas);
    const seen: Buffer[] = [];
    nas.on('message', (m) => seen.push(m));
    const cfg = config([{ id: 'silent', port: nas.address().port }], 150, 2);
    const { results, raw } = await disconnectSessions([{ userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1' }], cfg, { secrets });
    assert.equal(results[0].status, 'no-answer');
    assert.equal(results[0].transmissions, 3);
    assert.equal(seen.length, 3);
    assert.ok(seen.every((p) => p.equals(seen[0])), 'every retransmission is byte-identical');
    const evidence = JSON.parse(raw[0].body.toString());
    assert.equal(evidence.exchanges[0].request.sentAt.length, 3);
    // what the NAS saw is identified by the masked digest, and its octets are nowhere in the evidence
    const masked = Buffer.from(seen[0]);
    masked.fill(0, 4, 20);
    assert.equal(evidence.exchanges[0].request.sha256Masked, createHash('sha256').update(masked).digest('hex'));
    assert.ok(!raw[0].body.toString().includes(seen[0].subarray(4, 20).toString('hex')));
  });

  it('ignores and records forged replies (bad authenticator, wrong source port, unknown Identifier) and accepts the genuine one', async () => {
    const nas = await udp();
    const impostor = await udp();
    sockets.push(nas, impostor);
    nas.on('message', (req, rinfo) => {
      const send = (s: Socket, b: Buffer) => s.send(b, rinfo.port, rinfo.address);
      send(nas, encodeResponse(RadiusCode.DisconnectAck, req, [], 'guessed-secret'));
      send(impostor, encodeResponse(RadiusCode.DisconnectAck, req, [], SECRET));
      const otherId = Buffer.from(req);
      otherId[1] = (req[1] + 1) & 0xff;
      send(nas, encodeResponse(RadiusCode.DisconnectAck, otherId, [], SECRET));
      setTimeout(() => send(nas, encodeResponse(RadiusCode.DisconnectNak, req, [integerAttr(RadiusAttr.ErrorCause, 504)], SECRET)), 30);
    });
    const cfg = config([{ id: 'noisy', port: nas.address().port }], 1000, 0);
    const { results, raw } = await disconnectSessions([{ userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1' }], cfg, { secrets });
    assert.equal(results[0].status, 'refused');
    assert.deepEqual(results[0].errorCause, { code: 504, text: 'Session Context Not Removable' });
    assert.equal(results[0].invalidReplies, 2);
    const evidence = JSON.parse(raw[0].body.toString());
    const reasons = evidence.exchanges[0].ignoredReplies.map((r: { reason: string }) => r.reason).join('\n');
    assert.match(reasons, /Response Authenticator does not verify/);
    assert.match(reasons, /not from the NAS/);
    assert.match(evidence.strayReplies[0].replies[0].reason, /no request outstanding with Identifier/);
    // refused replies are kept decoded too: a genuine NAS reply's authenticator would allow a guess as well
    assert.deepEqual(evidence.exchanges[0].ignoredReplies.map((r: any) => [r.packet.code, r.packet.attributes.length, /^[0-9a-f]{64}$/.test(r.packet.sha256Masked)]), [['Disconnect-ACK', 0, true], ['Disconnect-ACK', 0, true]]);
    assertNoOfflineGuess(raw[0].body.toString(), evidence, [{ userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1' }], SECRET);
    assert.ok(!/[0-9a-f]{32}/.test(raw[0].body.toString().replace(/"sha256Masked": "[0-9a-f]{64}"/g, '')));
  });

  it('stops waiting when the run is aborted', async () => {
    const nas = await udp();
    sockets.push(nas);
    const cfg = config([{ id: 'silent', port: nas.address().port }], 5000, 3);
    const started = Date.now();
    const { results } = await disconnectSessions(
      Array.from({ length: 20 }, (_, i) => ({ userName: adele, acctSessionId: `S-${i}`, nasIp: '127.0.0.1' })),
      cfg, { secrets, signal: AbortSignal.timeout(100) },
    );
    assert.ok(Date.now() - started < 2000);
    assert.ok(results.every((r) => r.status === 'no-answer' && r.transmissions === 1));
  });

  it('only forged replies: no answer, never a false ACK', async () => {
    const nas = await udp();
    sockets.push(nas);
    nas.on('message', (req, rinfo) => nas.send(encodeResponse(RadiusCode.DisconnectAck, req, [], 'guessed-secret'), rinfo.port, rinfo.address));
    const cfg = config([{ id: 'forger', port: nas.address().port }], 150, 1);
    const { results } = await disconnectSessions([{ userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1' }], cfg, { secrets });
    assert.equal(results[0].status, 'no-answer');
    assert.equal(results[0].invalidReplies, 2);
  });
});
