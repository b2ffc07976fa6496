import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { radiusActions } from '../../../src/connectors/radius/actions';
import type { AccountingReport } from '../../../src/connectors/radius/accounting/accounting-session';
import type { DisconnectOutput } from '../../../src/connectors/radius/actions';
import { startFreeRadius, sendAccounting, type FreeRadiusInstance } from '../../support/freeradius';
import { startSshd, type TestSshd } from '../../support/sshd';
import { actionContext, contosoWithRadius } from './action-context';

const adele = 'adele.vance@contoso.com';
const accountingAction = radiusActions.find((a) => a.name === 'radius.accounting')!;
const disconnectAction = radiusActions.find((a) => a.name === 'radius.disconnect')!;

function eventTs(msAgo: number): string {
  return `Event-Timestamp = ${Math.floor((Date.now() - msAgo) / 1000)}`;
}

describe('radius over SSH: detail-file accounting and radclient disconnect on the RADIUS server', function () {
  this.timeout(60000);
  let fr: FreeRadiusInstance;
  let sshd: TestSshd;
  // A fresh secret per run: afterwards it must not be found in any leftover temporary file.
  const secret = `nas-${randomBytes(8).toString('hex')}`;
  let secrets: EnvFileSecretStore;
  let radius: Record<string, unknown>;

  before(async () => {
    [fr, sshd] = await Promise.all([
      startFreeRadius({
        nasCount: 1, accounting: true, secret,
        knownSessions: [{ userName: adele, acctSessionId: 'S-1001' }, { userName: adele, acctSessionId: 'S-1002' }],
      }),
      startSshd(),
    ]);
    const base = [`User-Name = "${adele}"`, 'NAS-IP-Address = 127.0.0.1', 'NAS-Identifier = "contoso-nas-1"'];
    await sendAccounting(fr.acctPort!, secret, [
      [...base, 'Acct-Status-Type = Start', 'Acct-Session-Id = "S-0990"', 'Framed-IP-Address = 10.99.0.10', eventTs(6 * 3600_000)],
      [...base, 'Acct-Status-Type = Stop', 'Acct-Session-Id = "S-0990"', 'Acct-Session-Time = 7200', 'Acct-Input-Octets = 10', 'Acct-Input-Gigawords = 1', 'Acct-Terminate-Cause = Idle-Timeout', eventTs(4 * 3600_000)],
      [...base, 'Acct-Status-Type = Start', 'Acct-Session-Id = "S-1001"', 'Framed-IP-Address = 10.99.0.77', 'Calling-Station-Id = "203.0.113.7"', eventTs(2 * 3600_000)],
      [...base, 'Acct-Status-Type = Interim-Update', 'Acct-Session-Id = "S-1001"', 'Framed-IP-Address = 10.99.0.77', 'Acct-Session-Time = 3600', 'Acct-Input-Octets = 5000', 'Acct-Output-Octets = 7000', eventTs(3600_000)],
      [...base, 'Acct-Status-Type = Start', 'Acct-Session-Id = "S-1002"', 'Framed-IP-Address = 10.99.0.78', eventTs(600_000)],
      ['User-Name = "megan.bowen@contoso.com"', 'NAS-IP-Address = 127.0.0.1', 'Acct-Status-Type = Start', 'Acct-Session-Id = "S-2001"'],
    ]);
    secrets = new EnvFileSecretStore({ SSH_KEY: sshd.privateKey, NAS_SECRET: secret, GRAPH_SECRET: 'x' });
    const ssh = { host: sshd.host, port: sshd.port, username: 'root', privateKeyRef: 'env:SSH_KEY', hostKeySha256: sshd.hostKeySha256 };
    radius = {
      accounting: { kind: 'detail-ssh', ssh, directory: fr.accountingDir },
      disconnect: { mode: 'direct', timeoutMs: 1000, retries: 1 },
      nas: [{ id: 'contoso-nas-1', ip: '127.0.0.1', identifier: 'contoso-nas-1', coaPort: fr.coaPorts[0], secretRef: 'env:NAS_SECRET' }],
    };
  });
  after(async () => {
    await Promise.all([fr?.stop(), sshd?.stop()]);
  });

  it('reads the user\'s sessions from the detail files over SSH', async () => {
    const ctx = actionContext(contosoWithRadius(radius), secrets);
    const res = await accountingAction.run(accountingAction.input.parse({ user: adele, hours: 24 }), ctx);
    const report = res.output as AccountingReport;
    assert.deepEqual(report.sessions.map((s) => [s.acctSessionId, s.active]), [['S-1002', true], ['S-1001', true], ['S-0990', false]]);
    const s1001 = report.sessions[1];
    assert.equal(s1001.nasIp, '127.0.0.1');
    assert.equal(s1001.nasIdentifier, 'contoso-nas-1');
    assert.equal(s1001.framedIp, '10.99.0.77');
    assert.equal(s1001.callingStationId, '203.0.113.7');
    assert.equal(s1001.inputOctets, 5000);
    assert.equal(report.sessions[2].inputOctets, 2 ** 32 + 10);
    assert.equal(report.sessions[2].terminateCause, 'Idle-Timeout');
    assert.match(res.summary, /^2 active RADIUS sessions of adele\.vance@contoso\.com on contoso-nas-1; 3 in the last 24 h$/);
    assert.equal(res.raw[0].recordCount, 5);
    const text = res.raw[0].body.toString();
    assert.match(text, /\tAcct-Session-Id = "S-1001"\n/);
    assert.doesNotMatch(text, /megan/);
  });

  it('refuses a host whose key does not match the pin', async () => {
    const wrongPin = { ...radius, accounting: { ...(radius.accounting as object), ssh: { ...(radius.accounting as { ssh: object }).ssh, hostKeySha256: `SHA256:${'A'.repeat(43)}` } } };
    const ctx = actionContext(contosoWithRadius(wrongPin), secrets);
    await assert.rejects(accountingAction.run(accountingAction.input.parse({ user: adele }), ctx), /host key/i);
  });

  it('previews and then disconnects the active sessions directly (ACK each)', async () => {
    const ctx = actionContext(contosoWithRadius(radius), secrets);
    const input = disconnectAction.input.parse({ user: adele });
    const preview = await disconnectAction.preview!(input, ctx);
    assert.deepEqual(preview.changes, [
      `End session S-1002 (10.99.0.78) on contoso-nas-1 (127.0.0.1:${fr.coaPorts[0]})`,
      `End session S-1001 (10.99.0.77) on contoso-nas-1 (127.0.0.1:${fr.coaPorts[0]})`,
    ]);
    assert.equal(preview.nothingToDo, false);
    const res = await disconnectAction.run(input, ctx);
    const out = res.output as DisconnectOutput;
    assert.deepEqual(out.results.map((r) => [r.session.acctSessionId, r.status]), [['S-1002', 'disconnected'], ['S-1001', 'disconnected']]);
    assert.equal(out.complete, true);
    const coa = res.raw.find((r) => r.source === 'radius.coa')!.body.toString();
    assert.ok(!/[0-9a-f]{32}/i.test(coa.replace(/"sha256Masked": "[0-9a-f]{64}"/g, '')), 'the stored exchange holds no authenticator and no packet octets');
    assert.ok(res.raw.some((r) => r.source === 'radius.accounting.detail'));
  });

  it('disconnects with radclient on the RADIUS server, the secret never on a command line or left on disk', async () => {
    const cfg = { ...radius, disconnect: { mode: 'radclient-ssh', ssh: (radius.accounting as { ssh: object }).ssh, timeoutMs: 1000, retries: 1 } };
    const ctx = actionContext(contosoWithRadius(cfg), secrets);
    const input = disconnectAction.input.parse({
      user: adele,
      sessions: [
        { userName: adele, acctSessionId: 'S-1001', nasIp: '127.0.0.1', framedIp: '10.99.0.77' },
        { userName: adele, acctSessionId: 'S-9999', nasIp: '127.0.0.1' },
        { userName: 'o\'brien\\x@contoso.com', acctSessionId: 'S-1002', nasIp: '127.0.0.1' },
      ],
    });
    const res = await disconnectAction.run(input, ctx);
    const out = res.output as DisconnectOutput;
    assert.deepEqual(out.results.map((r) => [r.session.acctSessionId, r.status, r.errorCause?.code]), [
      ['S-1001', 'disconnected', undefined], ['S-9999', 'not-found', 503], ['S-1002', 'not-found', 503],
    ]);
    assert.equal(out.results[0].transmissions, 1);
    assert.match(out.results[0].detail, /radclient on 127\.0\.0\.1:\d+/);
    const transcript = JSON.parse(res.raw.find((r) => r.source === 'radius.coa.radclient')!.body.toString());
    assert.match(transcript[0].command, /radclient -F -x -p \d+ -r 2 -t 1\.000 -S "\$f" '127\.0\.0\.1:\d+' disconnect$/);
    assert.match(transcript[0].stdout, /Received Disconnect-ACK/);
    assert.match(transcript[0].packets, /User-Name = "o'brien\\\\x@contoso\.com"/);
    for (const r of res.raw) assert.ok(!r.body.toString().includes(secret), `${r.source} evidence must not hold the secret`);
    // nor anything computed from it: no authenticator, no packet octets (an MD5-sized hex run)
    const coa = res.raw.filter((r) => r.source.startsWith('radius.coa')).map((r) => r.body.toString()).join('\n');
    assert.ok(!/[0-9a-f]{32}/i.test(coa), 'no authenticator or packet octets in the radclient evidence');
    // mktemp's files on the server (here the same host): none may remain holding the secret.
    const leftovers = readdirSync(tmpdir()).filter((f) => f.startsWith('tmp.')).map((f) => join(tmpdir(), f))
      .filter((f) => { try { return statSync(f).isFile() && readFileSync(f, 'utf8').includes(secret); } catch { return false; } });
    assert.deepEqual(leftovers, []);
  });

  it('on a retry re-reads accounting: a stopped session is reported, not sent', async () => {
    const ctx = actionContext(contosoWithRadius(radius), secrets, { mayHaveRun: true });
    const input = disconnectAction.input.parse({ user: adele, sessions: [{ userName: adele, acctSessionId: 'S-0990', nasIp: '127.0.0.1' }, { userName: adele, acctSessionId: 'S-5555', nasIp: '127.0.0.1' }] });
    const out = (await disconnectAction.run(input, ctx)).output as DisconnectOutput;
    assert.deepEqual(out.results.map((r) => [r.session.acctSessionId, r.status]), [['S-5555', 'already-gone'], ['S-0990', 'already-stopped']]);
    assert.equal(out.complete, true);
  });
});
