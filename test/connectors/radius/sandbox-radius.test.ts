import assert from 'node:assert/strict';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { createRadiusActions, type AccountingOutput, type DisconnectOutput } from '../../../src/connectors/radius/actions';
import { localDetailSource } from '../../../src/connectors/radius/accounting/detail-accounting';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { startSandboxRadius, type SandboxRadius } from '../../../src/sandbox/radius';
import { actionContext, contosoWithRadius } from './action-context';

describe('sandbox NAS (npm start)', function () {
  this.timeout(30000);
  let sandbox: SandboxRadius;
  before(async () => {
    sandbox = await startSandboxRadius({ nasPort: 0 });
  });
  after(async () => {
    await sandbox?.close();
  });

  it('tells adele\'s story in accounting and ends S-1001 and S-1002 when asked', async () => {
    const actions = createRadiusActions({ detailSourceFor: () => localDetailSource(sandbox.accountingDir!) });
    const customer = contosoWithRadius({
      accounting: { kind: 'sql', urlRef: 'env:UNUSED' },
      disconnect: { mode: 'direct', timeoutMs: 1000, retries: 1 },
      nas: [{ id: CONTOSO.nas.id, ip: CONTOSO.nas.ip, identifier: CONTOSO.nas.id, coaPort: sandbox.nasPort, secretRef: 'env:NAS_SECRET' }],
    });
    const ctx = actionContext(customer, new EnvFileSecretStore({ NAS_SECRET: CONTOSO.nas.secret }));
    const [accounting, disconnect] = actions;
    const report = (await accounting.run(accounting.input.parse({ user: CONTOSO.adele.upn }), ctx)).output as AccountingOutput;
    assert.deepEqual(report.sessions.map((s) => [s.acctSessionId, s.active, s.callingStationId]), [
      ['S-1001', true, CONTOSO.attackerIp], ['S-1002', true, CONTOSO.accessSwitch.laptopMac], ['S-0990', false, CONTOSO.lisbonIp],
    ]);
    // S-1002 is her laptop on the Lisbon switch: the one session that names a port, for switch.portFacts
    assert.deepEqual(report.ports, [{ nasIp: CONTOSO.nas.ip, nasPortId: 'GigabitEthernet1/0/12', callingStationId: '3C-22-FB-12-34-56', username: CONTOSO.adele.upn, acctSessionId: 'S-1002' }]);
    assert.equal(report.sessions[0].inputOctets, 2 * 2 ** 32 + 1073741824);
    const out = (await disconnect.run(disconnect.input.parse({ user: CONTOSO.adele.upn }), ctx)).output as DisconnectOutput;
    assert.deepEqual(out.results.map((r) => [r.session.acctSessionId, r.status]), [['S-1001', 'disconnected'], ['S-1002', 'disconnected']]);
    const other = (await disconnect.run(disconnect.input.parse({ user: CONTOSO.adele.upn, sessions: [{ userName: CONTOSO.adele.upn, acctSessionId: 'S-0990', nasIp: CONTOSO.nas.ip }] }), ctx)).output as DisconnectOutput;
    assert.equal(other.results[0].status, 'not-found');
  });
});
