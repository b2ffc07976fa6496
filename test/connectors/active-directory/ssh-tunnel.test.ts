import assert from 'node:assert/strict';
import { createActiveDirectoryActions } from '../../../src/connectors/active-directory/actions';
import { generateCa } from '../../../src/sandbox/samba/tls-material';
import { sambaUnavailableReason, startTestDc, tryBind, type SambaDc } from '../../support/samba-dc';
import { startSshd, type TestSshd } from '../../support/sshd';
import { adConfig, adContext } from './context';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The jump-host path: the bot reaches the DC only through the MSP's SSH host (a real OpenSSH sshd,
 * ssh2 forwardOut), TLS and the certificate pin end to end through the tunnel.
 */
describe('Active Directory through an SSH jump host (real sshd, real Samba DC)', function () {
  this.timeout(180_000);
  let dc: SambaDc & { cleanup(): Promise<void> };
  let sshd: TestSshd;

  before(async function () {
    if (sambaUnavailableReason()) this.skip();
    sshd = await startSshd();
  });
  after(async () => { await sshd?.stop(); });
  beforeEach(async () => { dc = await startTestDc(); });
  afterEach(async () => { await dc?.cleanup(); });

  const viaSsh = (overrides: Parameters<typeof adConfig>[1] = {}) => adConfig(dc, {
    ssh: { host: sshd.host, port: sshd.port, username: sshd.username, privateKeyRef: 'env:AD_SSH_KEY', hostKeySha256: sshd.hostKeySha256 },
    ...overrides,
  });

  it('disables adm-avance through the tunnel', async () => {
    const acc = dc.template.accounts['adm-avance'];
    const [, disable] = createActiveDirectoryActions();
    // With ssh configured the DC is reached only through it: a jump host that is down stops the run.
    const down = adContext(dc, { ad: viaSsh({ ssh: { host: '127.0.0.1', port: 1, username: 'root', privateKeyRef: 'env:AD_SSH_KEY', hostKeySha256: sshd.hostKeySha256 } }), extraSecrets: { AD_SSH_KEY: sshd.privateKey } });
    await assert.rejects(disable.run(disable.input.parse({ sid: acc.sid }), down), /SSH to 127\.0\.0\.1:1 failed/);
    assert.equal(await tryBind(dc, acc.upn, acc.password), undefined, 'nothing changed');
    const ctx = adContext(dc, { ad: viaSsh(), extraSecrets: { AD_SSH_KEY: sshd.privateKey } });
    const r = await disable.run(disable.input.parse({ sid: acc.sid }), ctx);
    assert.match(r.summary, /disabled on DC1\.contoso\.local .*512 → 514/);
    assert.match((await tryBind(dc, acc.upn, acc.password))?.message ?? '', /data 533/);
    assert.match(sshd.log(), /Accepted publickey for root/);
  });

  it('pins the DC certificate through the tunnel too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'other-ca-'));
    try {
      const other = await generateCa(dir, 'Not Contoso CA');
      const [lookup] = createActiveDirectoryActions();
      const ctx = adContext(dc, { ad: viaSsh(), extraSecrets: { AD_SSH_KEY: sshd.privateKey, AD_CA_PEM: other.caPem } });
      await assert.rejects(lookup.run(lookup.input.parse({ samAccountName: 'adm-avance' }), ctx), /presented a certificate that is not the pinned one/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a jump host that cannot reach the DC is a clear, retryable line', async () => {
    const [lookup] = createActiveDirectoryActions();
    const ctx = adContext(dc, { ad: viaSsh({ dcs: [{ host: '127.0.9.254', servername: dc.servername, port: 636 }] }), extraSecrets: { AD_SSH_KEY: sshd.privateKey } });
    await assert.rejects(lookup.run(lookup.input.parse({ samAccountName: 'adm-avance' }), ctx), (e: Error & { retryable?: boolean }) => {
      assert.match(e.message, /no domain controller answered: .*127\.0\.9\.254/);
      assert.equal(e.retryable, true);
      return true;
    });
  });
});
