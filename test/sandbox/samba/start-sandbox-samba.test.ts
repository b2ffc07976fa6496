import assert from 'node:assert/strict';
import pino from 'pino';
import { activeDirectorySchema } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { createActiveDirectoryActions } from '../../../src/connectors/active-directory/actions';
import { startSandboxSamba, type SandboxSamba } from '../../../src/sandbox/samba';
import { contosoWithAd } from '../../connectors/active-directory/context';
import { sambaDataDir, sambaUnavailableReason } from '../../support/samba-dc';

/** The sandbox's Contoso DC: started from the kept template, its customers-file section usable as it is. */
describe('sandbox Samba DC (startSandboxSamba)', function () {
  this.timeout(180_000);
  let sandbox: SandboxSamba | undefined;

  before(function () {
    if (sambaUnavailableReason()) this.skip();
  });
  after(async () => { await sandbox?.close(); });

  it('runs Contoso\'s DC with adm-avance in Domain Admins, reachable with the section and secrets it returns; stop ends the process', async () => {
    sandbox = await startSandboxSamba({ dataDir: await sambaDataDir(), ip: undefined });
    const ad = activeDirectorySchema.parse(sandbox.activeDirectory);
    const [lookup] = createActiveDirectoryActions();
    const r = await lookup.run(lookup.input.parse({ samAccountName: 'adm-avance', domain: 'CONTOSO' }), {
      customer: contosoWithAd(ad), secrets: new EnvFileSecretStore(sandbox.env), incidentId: 'IR-SANDBOX', idempotencyKey: 'IR-SANDBOX:lookup',
      mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date(),
    });
    assert.match(r.summary, /^CONTOSO\\adm-avance \(S-1-5-21-[\d-]+\) at CN=adm-avance,OU=Tier0,DC=contoso,DC=local is enabled; privileged: Administrators, Domain Admins/);
    const pid = sandbox.dc.pid;
    await sandbox.close();
    sandbox = undefined;
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the DC process is gone');
  });
});
