import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { applyEncodedQuery } from '../../../src/sandbox/servicenow/encoded-query';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../../src/sandbox/servicenow/emulator';
import { CONTOSO } from '../../../src/sandbox/contoso';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const AUTH = basic(CONTOSO.servicenow.username, CONTOSO.servicenow.password);

async function call(snow: ServiceNowEmulator, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${snow.url}${path}`, {
    method,
    headers: { Authorization: AUTH, Accept: 'application/json', ...(body !== undefined && !Buffer.isBuffer(body) ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: any;
  try { json = JSON.parse(bytes.toString('utf8')); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, bytes };
}

describe('ServiceNow emulator', () => {
  let snow: ServiceNowEmulator;
  before(async () => {
    snow = await startServiceNowEmulator({
      users: [
        { username: CONTOSO.servicenow.username, password: CONTOSO.servicenow.password, roles: ['sn_si.basic', 'sn_si.write'] },
        { username: 'analyst', password: 'analyst-pw', roles: ['sn_si.basic'] },
      ],
    });
  });
  after(async () => { await snow.close(); });
  beforeEach(() => snow.clearFaults());

  it('Table API: POST creates a record with sys_id and an SIR number; GET filters with sysparm_query, fields and limit', async () => {
    const a = await call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'A', severity: '1', correlation_id: 'IR-A', work_notes: 'note A' });
    const b = await call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'B', severity: 2, correlation_id: 'IR-B' });
    assert.equal(a.status, 201);
    assert.match(a.json.result.sys_id, /^[0-9a-f]{32}$/);
    assert.equal(a.json.result.number, 'SIR0010001');
    assert.equal(b.json.result.number, 'SIR0010002');
    assert.equal(b.json.result.severity, '2', 'values are stored as strings');
    assert.equal(a.json.result.work_notes, '', 'journal fields read back empty');
    assert.deepEqual(snow.state.journal.map((j) => [j.sysId, j.field, j.value]), [[a.json.result.sys_id, 'work_notes', 'note A']]);

    const q = new URLSearchParams({ sysparm_query: 'correlation_id=IR-B^severity=2', sysparm_fields: 'sys_id,number', sysparm_limit: '5' });
    const found = await call(snow, 'GET', `/api/now/table/sn_si_incident?${q}`);
    assert.deepEqual(found.json.result, [{ sys_id: b.json.result.sys_id, number: 'SIR0010002' }]);
    assert.equal(found.headers.get('x-total-count'), '1');

    const limited = await call(snow, 'GET', `/api/now/table/sn_si_incident?sysparm_query=ORDERBYDESCnumber&sysparm_limit=1&sysparm_fields=number`);
    assert.deepEqual(limited.json.result, [{ number: 'SIR0010002' }]);

    const display = await call(snow, 'GET', `/api/now/table/sn_si_incident?sysparm_query=correlation_id=IR-A&sysparm_fields=severity&sysparm_display_value=all`);
    assert.deepEqual(display.json.result, [{ severity: { display_value: '1 - High', value: '1' } }]);
  });

  it('Table API: PATCH updates fields and counts modifications; GET by sys_id; 404 in ServiceNow shape', async () => {
    const created = await call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'C', correlation_id: 'IR-C' });
    const id = created.json.result.sys_id as string;
    const patched = await call(snow, 'PATCH', `/api/now/table/sn_si_incident/${id}`, { state: '18' });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.result.state, '18');
    assert.equal(patched.json.result.sys_mod_count, '1');
    const got = await call(snow, 'GET', `/api/now/table/sn_si_incident/${id}?sysparm_display_value=true&sysparm_fields=state`);
    assert.deepEqual(got.json.result, { state: 'Contain' });
    const missing = await call(snow, 'GET', `/api/now/table/sn_si_incident/${'0'.repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.status, 'failure');
    assert.equal(missing.json.error.message, 'No Record found');
  });

  it('Attachment API: upload raw bytes, list with sysparm_query, read metadata and download the same bytes', async () => {
    const rec = await call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'D', correlation_id: 'IR-D' });
    const id = rec.json.result.sys_id as string;
    const bytes = Buffer.from('# report\n\nü\n');
    const q = new URLSearchParams({ table_name: 'sn_si_incident', table_sys_id: id, file_name: 'IR-D-report.md' });
    const up = await call(snow, 'POST', `/api/now/attachment/file?${q}`, bytes, { 'Content-Type': 'text/markdown' });
    assert.equal(up.status, 201);
    const meta = up.json.result;
    assert.equal(meta.file_name, 'IR-D-report.md');
    assert.equal(meta.table_sys_id, id);
    assert.equal(meta.size_bytes, String(bytes.length));
    assert.equal(meta.content_type, 'text/markdown');
    assert.equal(meta.hash, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(meta.download_link, `${snow.url}/api/now/attachment/${meta.sys_id}/file`);

    const list = await call(snow, 'GET', `/api/now/attachment?${new URLSearchParams({ sysparm_query: `table_sys_id=${id}^file_name=IR-D-report.md` })}`);
    assert.deepEqual(list.json.result.map((m: { sys_id: string }) => m.sys_id), [meta.sys_id]);
    const none = await call(snow, 'GET', `/api/now/attachment?${new URLSearchParams({ sysparm_query: `table_sys_id=${id}^file_name=other.md` })}`);
    assert.deepEqual(none.json.result, []);

    const file = await call(snow, 'GET', `/api/now/attachment/${meta.sys_id}/file`);
    assert.ok(file.bytes.equals(bytes));
    assert.equal(file.headers.get('content-type'), 'text/markdown');

    const orphan = await call(snow, 'POST', `/api/now/attachment/file?${new URLSearchParams({ table_name: 'sn_si_incident', table_sys_id: 'f'.repeat(32), file_name: 'x.md' })}`, bytes);
    assert.equal(orphan.status, 400);
  });

  it('401 and 403 answer in ServiceNow error shape', async () => {
    const anon = await call(snow, 'GET', '/api/now/table/sn_si_incident', undefined, { Authorization: '' });
    assert.equal(anon.status, 401);
    assert.deepEqual(anon.json, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    const wrong = await call(snow, 'GET', '/api/now/table/sn_si_incident', undefined, { Authorization: basic(CONTOSO.servicenow.username, 'nope') });
    assert.equal(wrong.status, 401);

    const before = snow.state.records.get('sn_si_incident')?.length ?? 0;
    const denied = await call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'E' }, { Authorization: basic('analyst', 'analyst-pw') });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json, { error: { message: 'Operation Failed', detail: 'ACL Exception Insert Failed due to security constraints' }, status: 'failure' });
    assert.equal(snow.state.records.get('sn_si_incident')?.length ?? 0, before);
    const read = await call(snow, 'GET', '/api/now/table/sn_si_incident?sysparm_limit=1', undefined, { Authorization: basic('analyst', 'analyst-pw') });
    assert.equal(read.status, 200, 'sn_si.basic may read');
  });

  it('injected faults: 429 with Retry-After for the given number of times, then normal answers', async () => {
    snow.injectFault('GET /api/now/table', { status: 429, retryAfterSeconds: 7, times: 2 });
    const r1 = await call(snow, 'GET', '/api/now/table/sn_si_incident');
    const r2 = await call(snow, 'GET', '/api/now/table/sn_si_incident');
    const r3 = await call(snow, 'GET', '/api/now/table/sn_si_incident');
    assert.deepEqual([r1.status, r2.status, r3.status], [429, 429, 200]);
    assert.equal(r1.headers.get('retry-after'), '7');
    snow.injectFault(/^POST \/api\/now\/attachment/, { status: 503 });
    const r4 = await call(snow, 'POST', '/api/now/attachment/file?table_name=sn_si_incident&table_sys_id=x&file_name=y.md', Buffer.from('x'));
    assert.equal(r4.status, 503);
  });

  it('crashAfter commits the change, then drops the connection without an answer', async () => {
    const before = snow.state.records.get('sn_si_incident')?.length ?? 0;
    snow.crashAfter('POST /api/now/table/sn_si_incident');
    await assert.rejects(call(snow, 'POST', '/api/now/table/sn_si_incident', { short_description: 'F', correlation_id: 'IR-F' }));
    assert.equal(snow.state.records.get('sn_si_incident')?.length, before + 1);
    assert.equal(snow.state.requests.at(-1)?.outcome, 'dropped');
  });

  it('keeps every request, with the Authorization header redacted to the user name', async () => {
    const last = snow.state.requests.at(-1)!;
    assert.equal(last.authUser, CONTOSO.servicenow.username);
    assert.equal(last.headers.authorization, `Basic ${CONTOSO.servicenow.username}:[redacted]`);
    assert.ok(last.body.toString('utf8').includes('IR-F'));
    assert.ok(!JSON.stringify(snow.state.requests.map((r) => r.headers)).includes(CONTOSO.servicenow.password));
  });

  it('an unknown table answers 400 Invalid table', async () => {
    const r = await call(snow, 'GET', '/api/now/table/sn_si_incidnet');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.message, 'Invalid table sn_si_incidnet');
  });
});

describe('emulated encoded queries', () => {
  const rows = [
    { sys_id: '1', number: 'SIR1', severity: '1', correlation_id: 'IR-1', short_description: 'Impossible travel' },
    { sys_id: '2', number: 'SIR2', severity: '2', correlation_id: 'IR-2', short_description: 'Password spray' },
    { sys_id: '3', number: 'SIR3', severity: '1', correlation_id: '', short_description: 'Travel again' },
  ];
  const known = new Set(['sys_id', 'number', 'severity', 'correlation_id', 'short_description']);
  const ids = (q: string) => applyEncodedQuery(rows, q, known).map((r) => r.sys_id);

  it('^ is AND, ^OR is OR, ^NQ starts a new OR\'ed query', () => {
    assert.deepEqual(ids('severity=1^correlation_id=IR-1'), ['1']);
    assert.deepEqual(ids('correlation_id=IR-1^ORcorrelation_id=IR-2'), ['1', '2']);
    assert.deepEqual(ids('correlation_id=IR-1^NQseverity=2'), ['1', '2']);
  });
  it('operators: !=, LIKE, STARTSWITH, IN, ISEMPTY', () => {
    assert.deepEqual(ids('severity!=1'), ['2']);
    assert.deepEqual(ids('short_descriptionLIKEtravel'), ['1', '3']);
    assert.deepEqual(ids('numberSTARTSWITHSIR2'), ['2']);
    assert.deepEqual(ids('correlation_idINIR-1,IR-2'), ['1', '2']);
    assert.deepEqual(ids('correlation_idISEMPTY'), ['3']);
  });
  it('ORDERBY / ORDERBYDESC', () => {
    assert.deepEqual(ids('severity=1^ORDERBYDESCnumber'), ['3', '1']);
  });
  it('drops a condition on an unknown field, as a stock instance does (the query widens)', () => {
    assert.deepEqual(ids('u_missing=IR-1'), ['1', '2', '3']);
    assert.deepEqual(ids('u_missing=IR-1^severity=2'), ['2']);
  });
});
