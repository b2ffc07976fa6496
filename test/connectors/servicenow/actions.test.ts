import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceNowActions } from '../../../src/connectors/servicenow/actions';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../../src/sandbox/servicenow/emulator';
import type { ActionContext } from '../../../src/connectors/types';
import { contosoWithServiceNow, serviceNowContext } from './context';

const report = readFileSync(join(__dirname, '..', '..', 'fixtures', 'servicenow', 'report.md'));

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
  };
  /** the stored report, as the engine's context gives it (the action never takes bytes as input) */
  const withReport = (ctx: ActionContext, stored: Buffer | null = report): ActionContext => ({
    ...ctx,
    ports: { reports: { latest: async (id) => (stored && id === ctx.incidentId ? { name: `${id}-forensic-report.md`, bytes: stored, sha256: 'x', evidenceId: 7 } : undefined) } },
  });

  it('declares servicenow.openIncident as a change', () => {
    assert.ok(action);
    assert.equal(action.risk, 'change');
  });

  it('validates the input: plain values a procedure can give; the report is not an input', () => {
    assert.ok(action);
    assert.equal(action.input.safeParse(raw).success, true);
    assert.equal(action.input.safeParse({ ...raw, reportBytes: report }).success, false);
    assert.equal(action.input.safeParse({ ...raw, reportName: 'x.md' }).success, false);
  });

  it('attaches the stored report it reads through the context, and refuses without one', async () => {
    assert.ok(action);
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url), { incidentId: 'IR-20261127-NORP' });
    await assert.rejects(action.run(action.input.parse({ ...raw, incidentId: undefined }), withReport(ctx, null)), /IR-20261127-NORP has no forensic report yet/);
    await assert.rejects(action.run(action.input.parse({ ...raw, incidentId: undefined }), ctx), /no report source was given/);
    await assert.rejects(action.run(action.input.parse(raw), withReport(ctx)), /is not this action's incident IR-20261127-NORP/);
    assert.equal(snow.state.requests.length, 0, 'nothing was sent');
  });

  it('previews what it will create, offline, with the warnings the run would give', async () => {
    assert.ok(action?.preview);
    const ctx = withReport(serviceNowContext(contosoWithServiceNow(snow.url)));
    const p = await action.preview(action.input.parse(raw), ctx);
    assert.ok(p.changes.includes(`Attach IR-20261127-7K3Q-forensic-report.md (${report.length} bytes)`));
    assert.ok(p.facts.some((f) => f.label === 'Severity' && f.value === 'High (code 1)'));
    assert.ok(p.facts.some((f) => f.label === 'Requested by' && f.value === 'ciso@contoso.com'));
    assert.ok(!p.facts.some((f) => f.label === 'Contact (custom field)'), 'no custom contact field unless configured');
    assert.deepEqual(p.warnings, ['The Defender alert link is left out: not an https link']);
    assert.equal(snow.state.requests.length, 0, 'the preview sends nothing');
  });

  it('runs through the emulator and returns the record link', async () => {
    assert.ok(action);
    const ctx = withReport(serviceNowContext(contosoWithServiceNow(snow.url)));
    const res = await action.run(action.input.parse(raw), ctx);
    const out = res.output as { number: string; link: string; sysId: string };
    assert.equal(out.number, 'SIR0010001');
    assert.equal(out.link, `${snow.url}/nav_to.do?uri=sn_si_incident.do?sys_id=${out.sysId}`);
    assert.equal(snow.state.records.get('sn_si_incident')?.length, 1);
    assert.equal(snow.state.attachments.length, 1);
    assert.equal(snow.state.attachments[0].meta.file_name, 'IR-20261127-7K3Q-forensic-report.md');
    assert.ok(snow.state.attachments[0].bytes.equals(report), 'the stored bytes, unchanged');
  });
});
