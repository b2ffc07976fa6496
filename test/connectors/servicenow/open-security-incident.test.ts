import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../../../src/domain/net';
import { ConnectorError } from '../../../src/connectors/types';
import { openSecurityIncident, type OpenSecurityIncidentInput } from '../../../src/connectors/servicenow/open-security-incident';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../../src/sandbox/servicenow/emulator';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { contosoWithServiceNow, serviceNowContext } from './context';

const report = readFileSync(join(__dirname, '..', '..', 'fixtures', 'servicenow', 'report.md'));
const ALERT_URL = 'https://security.microsoft.com/alerts/da637551227677560813_-961444813?tid=0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';

function input(over: Partial<OpenSecurityIncidentInput> = {}): OpenSecurityIncidentInput {
  return {
    incidentId: 'IR-20261127-7K3Q',
    shortDescription: 'Compromised account: adele.vance@contoso.com (impossible travel Lisbon → Singapore)',
    description: 'Sign-ins from 198.51.100.23 (Lisbon) and 203.0.113.7 (Singapore) 40 minutes apart.\nAccount disabled, sessions revoked, 203.0.113.7 blocked.',
    alertWebUrl: ALERT_URL,
    reportName: 'IR-20261127-7K3Q-report.md',
    reportBytes: report,
    ...over,
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected the call to fail');
}

describe('servicenow.openSecurityIncident against the emulator', () => {
  let snow: ServiceNowEmulator;

  beforeEach(async () => {
    snow = await startServiceNowEmulator({
      users: [
        { username: CONTOSO.servicenow.username, password: CONTOSO.servicenow.password, roles: ['sn_si.basic', 'sn_si.write'] },
        { username: 'reader', password: 'reader-pw', roles: ['sn_si.basic'] },
      ],
    });
  });
  afterEach(async () => {
    await snow.close();
  });

  const incidents = () => snow.state.records.get('sn_si_incident') ?? [];

  const sysUserId = (email: string) => snow.state.records.get('sys_user')!.find((u) => u.email === email)!.sys_id;

  it('creates exactly one Security Incident with the stock fields (severity, priority, requested_by, caller, affected_user), correlation id and alert link, and attaches the report', async () => {
    const customer = contosoWithServiceNow(snow.url, { severityHigh: '1' });
    const res = await openSecurityIncident(input({ affectedUserEmail: CONTOSO.adele.upn }), serviceNowContext(customer));

    assert.equal(incidents().length, 1);
    const row = incidents()[0];
    assert.equal(row.severity, '1');
    assert.equal(row.priority, '2');
    assert.equal(row.requested_by, sysUserId(CONTOSO.contacts.ciso.email));
    assert.equal(row.caller, sysUserId(CONTOSO.contacts.ciso.email));
    assert.equal(row.affected_user, sysUserId(CONTOSO.adele.upn));
    assert.deepEqual(res.output.warnings, []);
    assert.equal(row.correlation_id, 'IR-20261127-7K3Q');
    assert.equal(row.short_description, 'Compromised account: adele.vance@contoso.com (impossible travel Lisbon → Singapore)');
    assert.match(row.description, /^Sign-ins from 198\.51\.100\.23 \(Lisbon\)/);
    assert.ok(row.description.includes(`Microsoft Defender alert: ${ALERT_URL}`));
    assert.ok(row.description.includes('IR-20261127-7K3Q-report.md'));
    const notes = snow.state.journal.filter((j) => j.sysId === row.sys_id);
    assert.deepEqual(notes.map((n) => [n.field, n.value]), [['work_notes', `Microsoft Defender alert: ${ALERT_URL}`]]);

    assert.equal(snow.state.attachments.length, 1);
    const att = snow.state.attachments[0];
    assert.ok(att.bytes.equals(report), 'the attached bytes are the report');
    assert.equal(att.meta.table_name, 'sn_si_incident');
    assert.equal(att.meta.table_sys_id, row.sys_id);
    assert.equal(att.meta.file_name, 'IR-20261127-7K3Q-report.md');
    assert.equal(att.meta.content_type, 'text/markdown');

    assert.deepEqual(
      { sysId: res.output.sysId, number: res.output.number, attachmentSysId: res.output.attachmentSysId, created: res.output.created, attached: res.output.attached },
      { sysId: row.sys_id, number: 'SIR0010001', attachmentSysId: att.meta.sys_id, created: true, attached: true },
    );
    assert.equal(res.output.link, `${snow.url}/nav_to.do?uri=sn_si_incident.do?sys_id=${row.sys_id}`);
    assert.match(res.summary, /Opened ServiceNow SIR0010001/);
  });

  it('returns raw evidence of every request and response, without the Authorization header or the password', async () => {
    const res = await openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url)));
    // lookup, the sys_user lookup (requested_by and caller share one email), create, read back, list attachments, upload
    assert.deepEqual(res.raw.map((r) => r.note?.replace(/ -> .*/, '').replace(/[0-9a-f]{32}/, '<sys_id>')), [
      'GET /api/now/table/sn_si_incident', 'GET /api/now/table/sys_user', 'POST /api/now/table/sn_si_incident', 'GET /api/now/table/sn_si_incident/<sys_id>',
      'GET /api/now/attachment', 'POST /api/now/attachment/file',
    ]);
    const basic = Buffer.from(`${CONTOSO.servicenow.username}:${CONTOSO.servicenow.password}`).toString('base64');
    for (const r of res.raw) {
      const text = r.body.toString('utf8');
      assert.ok(!/authorization/i.test(text), `no Authorization in ${r.note}`);
      assert.ok(!text.includes(CONTOSO.servicenow.password) && !text.includes(basic), `no secret in ${r.note}`);
      const env = JSON.parse(text) as { request: { method: string; url: string }; response: { status: number; body: string } };
      assert.ok(env.request.url.startsWith(snow.url));
    }
    const create = JSON.parse(res.raw[2].body.toString('utf8')) as { response: { status: number; body: string } };
    assert.equal(create.response.status, 201);
    assert.equal((JSON.parse(create.response.body) as { result: { number: string } }).result.number, 'SIR0010001');
    const upload = JSON.parse(res.raw[5].body.toString('utf8')) as { request: { body: { sizeBytes: number } } };
    assert.equal(upload.request.body.sizeBytes, report.length);
  });

  it('reports a custom contact field a stock instance silently drops, and still opens the ticket', async () => {
    const customer = contosoWithServiceNow(snow.url, { contactField: 'u_customer_contact', contact: 'Nestor Wilke' });
    const res = await openSecurityIncident(input(), serviceNowContext(customer));
    const row = incidents()[0];
    assert.equal(row.u_customer_contact, undefined, 'the stock sn_si_incident has no such column');
    const create = snow.state.requests.find((r) => r.method === 'POST' && r.path === '/api/now/table/sn_si_incident')!;
    assert.equal((JSON.parse(create.body.toString('utf8')) as Record<string, string>).u_customer_contact, 'Nestor Wilke', 'it was sent');
    assert.deepEqual(res.output.warnings, [
      `ServiceNow did not keep u_customer_contact="Nestor Wilke" on SIR0010001: sn_si_incident has no such field on this instance, or a rule changed it (servicenow.contactField)`,
    ]);
    assert.match(res.summary, /warning: ServiceNow did not keep u_customer_contact/);
  });

  it('keeps the custom contact field on an instance that has it: no warning', async () => {
    await snow.close();
    snow = await startServiceNowEmulator({ customFields: { sn_si_incident: ['u_customer_contact'] } });
    const res = await openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url, { contactField: 'u_customer_contact', contact: 'Nestor Wilke' })));
    assert.equal(incidents()[0].u_customer_contact, 'Nestor Wilke');
    assert.deepEqual(res.output.warnings, []);
  });

  it('leaves a reference field empty, with a warning, when sys_user has no such email', async () => {
    const res = await openSecurityIncident(input({ affectedUserEmail: 'nobody@contoso.com' }), serviceNowContext(contosoWithServiceNow(snow.url)));
    assert.equal(incidents()[0].affected_user, undefined);
    assert.deepEqual(res.output.warnings, ['affected_user left empty: no sys_user record(s) with email nobody@contoso.com']);
  });

  it('fails clearly when the correlation field is not kept (a retry could not find the record)', async () => {
    const e = await rejection(openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url, { correlationField: 'u_ir_id' }))));
    assert.match(e.message, /did not store u_ir_id=IR-20261127-7K3Q/);
  });

  it('a second run for the same incident finds the record and the attachment instead of making new ones', async () => {
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    const first = await openSecurityIncident(input(), ctx);
    const second = await openSecurityIncident(input(), { ...ctx, mayHaveRun: true });
    assert.equal(incidents().length, 1);
    assert.equal(snow.state.attachments.length, 1);
    assert.equal(second.output.sysId, first.output.sysId);
    assert.equal(second.output.attachmentSysId, first.output.attachmentSysId);
    assert.equal(second.output.created, false);
    assert.equal(second.output.attached, false);
    assert.match(second.summary, /already open/);
    assert.equal(snow.state.requests.filter((r) => r.method === 'POST').length, 2);
  });

  it('a 503 on the attachment after the create: the retry ends with one incident and one attachment', async () => {
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    snow.injectFault('POST /api/now/attachment/file', { status: 503 });
    const err = await rejection(openSecurityIncident(input(), ctx));
    assert.ok(err instanceof ConnectorError);
    assert.equal(err.retryable, true);
    assert.equal(incidents().length, 1);
    assert.equal(snow.state.attachments.length, 0);

    const res = await openSecurityIncident(input(), { ...ctx, mayHaveRun: true });
    assert.equal(incidents().length, 1);
    assert.equal(snow.state.attachments.length, 1);
    assert.ok(snow.state.attachments[0].bytes.equals(report));
    assert.equal(res.output.created, false);
    assert.equal(res.output.attached, true);
  });

  it('the connection drops after the record is committed: the retry finds it by correlation id', async () => {
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    snow.crashAfter('POST /api/now/table/sn_si_incident');
    const err = await rejection(openSecurityIncident(input(), ctx));
    assert.ok(err instanceof ConnectorError && err.retryable, `retryable ConnectorError, got ${err.message}`);
    assert.equal(incidents().length, 1, 'the create reached the instance');

    await openSecurityIncident(input(), { ...ctx, mayHaveRun: true });
    assert.equal(incidents().length, 1);
    assert.equal(snow.state.attachments.length, 1);
  });

  it('the connection drops after the upload is stored: the retry recognises the same file by size and hash', async () => {
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    snow.crashAfter('POST /api/now/attachment/file');
    await rejection(openSecurityIncident(input(), ctx));
    assert.equal(snow.state.attachments.length, 1);

    const res = await openSecurityIncident(input(), { ...ctx, mayHaveRun: true });
    assert.equal(snow.state.attachments.length, 1);
    assert.equal(res.output.attachmentSysId, snow.state.attachments[0].meta.sys_id);
    assert.equal(res.output.attached, false);
  });

  it('compares the bytes when the instance gives no hash, and attaches a changed report of the same name', async () => {
    const ctx = serviceNowContext(contosoWithServiceNow(snow.url));
    await openSecurityIncident(input(), ctx);
    snow.state.attachments[0].meta.hash = ''; // an instance that does not expose the hash
    const again = await openSecurityIncident(input(), ctx);
    assert.equal(again.output.attached, false);
    assert.ok(snow.state.requests.some((r) => r.method === 'GET' && /\/api\/now\/attachment\/[0-9a-f]{32}\/file$/.test(r.path)), 'downloaded to compare');

    const changed = Buffer.concat([report, Buffer.from('\n## Addendum\nMFA re-registered.\n')]);
    const third = await openSecurityIncident(input({ reportBytes: changed }), ctx);
    assert.equal(third.output.attached, true);
    assert.equal(snow.state.attachments.length, 2);
    assert.ok(snow.state.attachments[1].bytes.equals(changed));
  });

  it('honours 429 Retry-After before retrying', async () => {
    snow.injectFault('POST /api/now/table', { status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const res = await openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url)));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 950, `waited ${elapsed} ms, expected the 1 s Retry-After`);
    assert.equal(incidents().length, 1);
    assert.equal(res.output.number, 'SIR0010001');
    assert.deepEqual(snow.state.requests.filter((r) => r.method === 'POST' && r.path === '/api/now/table/sn_si_incident').map((r) => r.outcome), [429, 201]);
  });

  it('gives up after a bounded number of 429s, and does not sit out a Retry-After longer than the cap', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => { waits.push(ms); };
    snow.injectFault('GET /api/now/table', { status: 429, retryAfterSeconds: 2, times: 100 });
    const err = await rejection(openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url)), { sleep, maxRetries: 3 }));
    assert.ok(err instanceof ConnectorError);
    assert.equal(err.retryable, true);
    assert.equal(err.opts.status, 429);
    assert.match(err.message, /rate-limiting/);
    assert.deepEqual(waits, [2000, 2000, 2000]);
    assert.equal(snow.state.requests.length, 4);

    snow.clearFaults();
    snow.injectFault('GET /api/now/table', { status: 429, retryAfterSeconds: 3600 });
    waits.length = 0;
    const long = await rejection(openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url)), { sleep }));
    assert.match(long.message, /Retry-After 3600 s/);
    assert.deepEqual(waits, []);
    assert.equal(incidents().length, 0);
  });

  it('401: says the instance rejected the credentials and names the secret references, never the password', async () => {
    const err = await rejection(openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url), { password: 'wrong-Pa55!' })));
    assert.ok(err instanceof ConnectorError);
    const host = new URL(snow.url).host;
    assert.ok(err.message.startsWith(`ServiceNow rejected the credentials for ${host}`), err.message);
    assert.match(err.message, /env:SNOW_USER and env:SNOW_PASSWORD/);
    assert.match(err.message, /User Not Authenticated/);
    assert.ok(!err.message.includes('wrong-Pa55!'));
    assert.equal(err.retryable, false);
    assert.equal(incidents().length, 0);
  });

  it('403: names the role the integration user needs', async () => {
    const err = await rejection(openSecurityIncident(input(), serviceNowContext(contosoWithServiceNow(snow.url), { username: 'reader', password: 'reader-pw' })));
    assert.ok(err instanceof ConnectorError);
    assert.equal(err.opts.status, 403);
    assert.match(err.message, /needs the sn_si\.write role/);
    assert.match(err.message, /ACL Exception Insert Failed/);
    assert.equal(incidents().length, 0);
  });

  describe('hostile input', () => {
    for (const id of ['IR-1^NQactive=true', 'IR-1^ORcorrelation_id!=x', 'IR-1\nsys_id=x', 'IR 1', 'x'.repeat(101), '']) {
      it(`refuses incident id ${JSON.stringify(id.slice(0, 30))} before sending anything`, async () => {
        const err = await rejection(openSecurityIncident(input({ incidentId: id }), serviceNowContext(contosoWithServiceNow(snow.url))));
        assert.ok(err instanceof InvalidInputError, err.message);
        assert.equal(err.field, 'incidentId');
        assert.equal(snow.state.requests.length, 0);
      });
    }

    for (const name of ['../../etc/passwd.md', 'report^file_name=x.md', 'report\r\n.md', '/abs/report.md', 'noextension']) {
      it(`refuses report name ${JSON.stringify(name)} before sending anything`, async () => {
        const err = await rejection(openSecurityIncident(input({ reportName: name }), serviceNowContext(contosoWithServiceNow(snow.url))));
        assert.ok(err instanceof InvalidInputError);
        assert.equal(snow.state.requests.length, 0);
      });
    }

    it('a 10,000-character title with line breaks becomes one line of at most 160 characters', async () => {
      const title = `Compromised\r\naccount ${'A'.repeat(10_000)}`;
      await openSecurityIncident(input({ shortDescription: title }), serviceNowContext(contosoWithServiceNow(snow.url)));
      const sd = incidents()[0].short_description;
      assert.equal(Array.from(sd).length, 160);
      assert.ok(sd.startsWith('Compromised account AAAA'));
      assert.ok(sd.endsWith('…'));
      assert.ok(!/[\r\n]/.test(sd));
    });

    it('a javascript: alert link is left out of the description and the work notes, and the summary says so', async () => {
      const res = await openSecurityIncident(input({ alertWebUrl: 'javascript:alert(document.cookie)//https://security.microsoft.com' }), serviceNowContext(contosoWithServiceNow(snow.url)));
      const row = incidents()[0];
      assert.ok(!row.description.includes('javascript:'));
      assert.match(row.description, /alert link left out \(not an https link\)/);
      assert.equal(snow.state.journal.length, 0);
      assert.match(res.summary, /Defender alert link left out/);
    });

    it('carets, quotes and encoded-query syntax in the text stay data in the JSON body', async () => {
      const nasty = 'Title ^NQsys_id!=x ^ORDERBYnumber "quoted" <script>alert(1)</script> & %0d%0a';
      await openSecurityIncident(input({ shortDescription: nasty, description: `${nasty}\nsecond line` }), serviceNowContext(contosoWithServiceNow(snow.url)));
      const row = incidents()[0];
      assert.equal(row.short_description, nasty);
      assert.ok(row.description.startsWith(`${nasty}\nsecond line`));
      for (const r of snow.state.requests) assert.ok(!r.path.includes('Title') && !JSON.stringify(r.query).includes('Title'), 'nothing from the title in a URL');
    });

    it('a description over 4,000 characters is cut with a pointer to the attached report', async () => {
      await openSecurityIncident(input({ description: 'x'.repeat(10_000) }), serviceNowContext(contosoWithServiceNow(snow.url)));
      const d = incidents()[0].description;
      assert.ok(d.length <= 4000, `length ${d.length}`);
      assert.match(d, /\[truncated: the full text is in the attached report\]/);
      assert.match(d, /Forensic report attached: IR-20261127-7K3Q-report\.md/);
    });
  });

  describe('configuration', () => {
    it('refuses to treat an unrelated record as ours when the correlation field does not exist on the table', async () => {
      // Someone else's record; the instance silently drops a condition on an unknown field.
      const ctxOther = serviceNowContext(contosoWithServiceNow(snow.url));
      await openSecurityIncident(input({ incidentId: 'IR-OTHER-1' }), ctxOther);
      const customer = contosoWithServiceNow(snow.url, { correlationField: 'u_ir_reference' });
      const err = await rejection(openSecurityIncident(input(), serviceNowContext(customer)));
      assert.ok(err instanceof ConnectorError);
      assert.match(err.message, /does sn_si_incident have a field u_ir_reference\?/);
      assert.equal(incidents().length, 1);
    });

    it('an unknown table is reported with what ServiceNow said', async () => {
      const customer = contosoWithServiceNow(snow.url, { table: 'sn_si_incidnet' });
      const err = await rejection(openSecurityIncident(input(), serviceNowContext(customer)));
      assert.match(err.message, /answered 400 .*Invalid table sn_si_incidnet/);
    });

    it('refuses plain http to anything but the local emulator (Basic auth would travel in clear)', async () => {
      const customer = contosoWithServiceNow('http://contoso.service-now.com');
      const err = await rejection(openSecurityIncident(input(), serviceNowContext(customer)));
      assert.match(err.message, /must be https:\/\//);
    });

    it('a customer without ServiceNow gets a clear error', async () => {
      const customer = { ...contosoWithServiceNow(snow.url), servicenow: undefined };
      const err = await rejection(openSecurityIncident(input(), serviceNowContext(customer)));
      assert.match(err.message, /customer contoso has no ServiceNow configured/);
    });
  });
});
