import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceNowActions } from '../../../src/connectors/servicenow/actions';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../../src/sandbox/servicenow/emulator';
import { contosoWithServiceNow, serviceNowContext } from './context';

const report = readFileSync(join(__dirname, 'fixtures', 'report.md'));

describe('servicenow actions', () => {
  let snow: ServiceNowEmulator;
  before(async () => { snow = await startServiceNowEmulator(); });
  after(async () => { await snow.close(); });

  const action = serviceNowActions.find((a) => a.name === 'servicenow.openIncident');
  const raw = {
    incidentId: 'IR-20261127-7K3Q',
    shortDescription: 'Compromised account: adele.vance@contoso.com',
    description: 'Impossible travel Lisbon → Singapore.',
    alertWebUrl: 'ftp://security.microsoft.com/alerts/1',
    reportName: 'IR-20261127-7K3Q-report.md',
    reportBytes: report,
  };

  it('declares servicenow.openIncident as a change', () => {
    assert.ok(action);
    assert.equal(action.risk, 'change');
  });

  it('validates the input: the report must be bytes', () => {
    assert.ok(action);
    assert.equal(action.input.safeParse({ ...raw, reportBytes: report.toString('utf8') }).success, false);
    assert.equal(action.input.safeParse(raw).success, true);
  });

  it('previews what it will create, offline, with the warnings the run would give', async () => {
    assert.ok(action?.preview);
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    const p = await action.preview(action.input.parse(raw), ctx);
    assert.ok(p.facts.some((f) => f.label === 'Severity' && f.value === 'High (code 1)'));
    assert.ok(p.facts.some((f) => f.label === 'Requested by' && f.value === 'ciso@contoso.com'));
    assert.ok(!p.facts.some((f) => f.label === 'Contact (custom field)'), 'no custom contact field unless configured');
    assert.deepEqual(p.warnings, ['The Defender alert link is left out: not an https link']);
    assert.equal(snow.state.requests.length, 0, 'the preview sends nothing');
  });

  it('runs through the emulator and returns the record link', async () => {
    assert.ok(action);
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    const res = await action.run(action.input.parse(raw), ctx);
    const out = res.output as { number: string; link: string; sysId: string };
    assert.equal(out.number, 'SIR0010001');
    assert.equal(out.link, `${snow.url}/nav_to.do?uri=sn_si_incident.do?sys_id=${out.sysId}`);
    assert.equal(snow.state.records.get('sn_si_incident')?.length, 1);
    assert.equal(snow.state.attachments.length, 1);
  });
});
