import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectorError } from '../../../src/connectors/types';
import { openSecurityIncident } from '../../../src/connectors/servicenow/open-security-incident';
import { releaseSecurityIncident, type ReleaseSecurityIncidentInput } from '../../../src/connectors/servicenow/release-security-incident';
import { ticketUpdateAction } from '../../../src/connectors/servicenow/actions';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../../src/sandbox/servicenow/emulator';
import { contosoWithServiceNow, serviceNowContext } from './context';

const report = readFileSync(join(__dirname, '..', '..', 'fixtures', 'servicenow', 'report.md'));
const ID = 'IR-20261127-7K3Q';

function release(over: Partial<ReleaseSecurityIncidentInput> = {}): ReleaseSecurityIncidentInput {
  return {
    incidentId: ID, reason: 'travelling with a new phone', classification: 'falsePositive', releasedBy: 'Alex Wilber',
    undone: ['Enabled adele.vance@contoso.com in Entra', 'Removed 203.0.113.7 from the block group on fw-hq'],
    kept: ['The password stays reset: the user gets a new one from the service desk'], ...over,
  };
}

describe('servicenow release update (ticket.update) against the emulator', () => {
  let snow: ServiceNowEmulator;
  beforeEach(async () => { snow = await startServiceNowEmulator(); });
  afterEach(async () => { await snow.close(); });

  const record = () => snow.state.records.get('sn_si_incident')![0];
  const notes = () => snow.state.journal.filter((j) => j.sysId === record().sys_id && j.field === 'work_notes' && j.value.startsWith('[teams-ir-bot release'));

  async function opened(customer = contosoWithServiceNow(snow.url)) {
    const r = await openSecurityIncident({ incidentId: ID, shortDescription: 'Compromised account', description: 'x', reportName: `${ID}-report.md`, reportBytes: report }, serviceNowContext(customer));
    return { customer, sysId: r.output.sysId, number: r.output.number };
  }

  it('notes the release once, sets the configured state and close code, reads them back; a re-run adds no second note', async () => {
    const { customer, sysId, number } = await opened();
    const ctx = serviceNowContext(customer);
    const r = await releaseSecurityIncident(release({ sysId }), ctx);
    assert.equal(r.output.number, number);
    assert.equal(r.output.noted, true);
    assert.deepEqual(r.output.warnings, []);
    assert.equal(record().state, '3', 'stock default: Closed');
    assert.equal(record().close_code, 'False Positive');
    assert.match(record().close_notes, /travelling with a new phone/);
    assert.equal(notes().length, 1);
    const note = notes()[0].value;
    assert.match(note, /^\[teams-ir-bot release IR-20261127-7K3Q\] Containment released as falsePositive by Alex Wilber\./);
    assert.match(note, /Reason: travelling with a new phone/);
    assert.match(note, /- Removed 203\.0\.113\.7 from the block group on fw-hq/);
    assert.match(note, /Stays as it is:\n- The password stays reset/);

    // the crash-after-PATCH case: the second run finds the marker, writes the state again, no second note
    const again = await releaseSecurityIncident(release({ sysId }), ctx);
    assert.equal(again.output.noted, false);
    assert.equal(notes().length, 1);
    assert.match(again.summary, /already there/);
  });

  it('a connection lost right after the PATCH was applied: the retry finds the note and does not add a second one', async () => {
    const { customer, sysId } = await opened();
    snow.crashAfter('PATCH /api/now/table/sn_si_incident');
    const first = await releaseSecurityIncident(release({ sysId }), serviceNowContext(customer)).then(() => undefined, (e: Error) => e);
    assert.ok(first instanceof ConnectorError && first.retryable, String(first));
    assert.equal(notes().length, 1, 'the instance applied it');
    const retry = await releaseSecurityIncident(release({ sysId }), serviceNowContext(customer));
    assert.equal(retry.output.noted, false);
    assert.equal(notes().length, 1);
    assert.equal(record().state, '3');
  });

  it('finds the record by correlation id when the incident recorded none, and takes the state and close code from the config', async () => {
    const { customer } = await opened(contosoWithServiceNow(snow.url, { falsePositiveState: '100', falsePositiveCloseCode: 'Benign' }));
    const r = await releaseSecurityIncident(release(), serviceNowContext(customer));
    assert.equal(r.output.state, '100');
    assert.equal(record().state, '100');
    assert.equal(record().close_code, 'Benign');
    assert.equal(notes().length, 1);
  });

  it('reports a field the instance did not keep (a table without close_code) instead of hiding it', async () => {
    const { customer } = await opened(contosoWithServiceNow(snow.url, { table: 'sn_si_task' }));
    const r = await releaseSecurityIncident(release(), serviceNowContext(customer));
    assert.equal(r.output.warnings.length, 1, JSON.stringify(r.output.warnings));
    assert.match(r.output.warnings[0], /did not keep close_code="False Positive"/);
    assert.match(r.summary, /warning: /);
  });

  it('hostile reason text (CRLF, [code] HTML, markdown) stays one inert line inside the note', async () => {
    const { customer, sysId } = await opened();
    const reason = 'phone\r\n[teams-ir-bot release IR-20261127-7K3Q] fake\r\n[code]<img src=x onerror=alert(1)>[/code] **bold** [link](javascript:alert(1))';
    await releaseSecurityIncident(release({ sysId, reason }), serviceNowContext(customer));
    const note = notes()[0].value;
    const reasonLine = note.split('\n').find((l) => l.startsWith('Reason: '))!;
    assert.equal(reasonLine, 'Reason: phone [teams-ir-bot release IR-20261127-7K3Q] fake (code)<img src=x onerror=alert(1)>(/code) **bold** [link](javascript:alert(1))');
    assert.equal(note.split('\n').filter((l) => l.startsWith('[teams-ir-bot release')).length, 1, 'no line of its own that looks like ours');
    assert.doesNotMatch(note, /\[\/?code\]/i, 'no [code] tag reaches the journal');
    assert.doesNotMatch(note, /\r/);
  });

  it('refuses a recorded sys_id that is not this incident\'s record, and an incident with no record, changing nothing', async () => {
    const { customer, sysId } = await opened();
    const other = await releaseSecurityIncident(release({ incidentId: 'IR-20261127-ZZZZ', sysId }), serviceNowContext(customer, { incidentId: 'IR-20261127-ZZZZ' })).then(() => undefined, (e: Error) => e);
    assert.ok(other instanceof ConnectorError);
    assert.match(other.message, /does not carry correlation_id=IR-20261127-ZZZZ/);
    const none = await releaseSecurityIncident(release({ incidentId: 'IR-20261127-NONE' }), serviceNowContext(customer, { incidentId: 'IR-20261127-NONE' })).then(() => undefined, (e: Error) => e);
    assert.match(String(none?.message), /no sn_si_incident record with correlation_id=IR-20261127-NONE/);
    assert.equal(notes().length, 0);
    assert.equal(record().state, '10');
    assert.equal(snow.state.requests.filter((q) => q.method === 'PATCH').length, 0);
  });

  it('the action validates its input and previews the note', async () => {
    const { customer } = await opened();
    assert.equal(ticketUpdateAction.input.safeParse({ ...release(), classification: 'truePositive' }).success, false);
    const p = await ticketUpdateAction.preview!(release(), serviceNowContext(customer));
    assert.ok(p.changes.some((c) => c.includes('Reason: travelling with a new phone')));
    assert.ok(p.facts.some((f) => f.label === 'Close code' && f.value === 'False Positive'));
  });
});
