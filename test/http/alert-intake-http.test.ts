import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { withTestStores } from '../support/store-factory';
import { twoCustomers } from '../support/customers-fixture';
import { createServer } from '../../src/server';
import { IntakeService } from '../../src/intake/intake-service';
import { log } from '../../src/log';
import { FABRIKAM } from '../../src/sandbox/contoso';
import type { Store } from '../../src/store/store';
import { verifyIncident } from '../../src/evidence/verify';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { IntakeCredentials, signIntakeBody } from '../../src/intake/intake-credentials';

/** Contoso's own webhook token; the fixture alert is Contoso's */
const ALERT_TOKEN = 'alert-token-0123456789';
const FABRIKAM_TOKEN = 'fabrikam-token-0123456789';
const MSP_TOKEN = 'msp-wide-token-0123456789';
const CONTOSO_HMAC = 'contoso-hmac-key-0123456789';
const FABRIKAM_TENANT = FABRIKAM.tenantId;
const API_TOKEN = 'api-token-0123456789ab';
const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8'));
let seq = 0;
const freshAlert = () => ({ ...fixture(), id: `da-test-${Date.now()}-${seq++}` });

withTestStores((dialect, make) => {
  describe('POST /api/alerts and the operator API', () => {
    let store: Store;
    let server: Server;
    let base: string;
    const created: string[] = [];

    before(async () => {
      store = await make();
      const customers = twoCustomers({
        contoso: { intake: { webhookTokenRef: 'env:CONTOSO_WEBHOOK_TOKEN', hmacSecretRef: 'env:CONTOSO_HMAC' } },
        fabrikam: { intake: { webhookTokenRef: 'env:FABRIKAM_WEBHOOK_TOKEN' } },
      });
      const secrets = new EnvFileSecretStore({ CONTOSO_WEBHOOK_TOKEN: ALERT_TOKEN, CONTOSO_HMAC, FABRIKAM_WEBHOOK_TOKEN: FABRIKAM_TOKEN });
      const intake = new IntakeService({
        store,
        customerByTenant: (t) => customers.customers.find((c) => c.tenantId === t),
        onIncidentCreated: (id) => created.push(id),
        log,
      });
      const intakeCredentials = new IntakeCredentials({ customers: customers.customers, secrets, store, mspWideToken: MSP_TOKEN });
      server = createServer({ store, intake, log, intakeCredentials, apiToken: API_TOKEN });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const post = (body: unknown, opts: { token?: string | null; type?: string; raw?: string; headers?: Record<string, string> } = {}) =>
      fetch(`${base}/api/alerts`, {
        method: 'POST',
        headers: {
          'content-type': opts.type ?? 'application/json',
          ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? ALERT_TOKEN}` }),
          ...opts.headers,
        },
        body: opts.raw ?? JSON.stringify(body),
      });
    const api = (path: string, token = API_TOKEN) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const incidentCount = async () => (await store.listIncidents({ limit: 500 })).length;

    it('accepts an alerts_v2 alert with 202 {incidentId, created: true} and opens an incident', async () => {
      const res = await post(freshAlert());
      assert.equal(res.status, 202);
      const body = await res.json() as { incidentId: string; created: boolean };
      assert.equal(body.created, true);
      assert.match(body.incidentId, /^IR-\d{8}-[0-9A-Z]{4}$/);
      assert.ok(created.includes(body.incidentId));
      const inc = await store.getIncident(body.incidentId);
      assert.equal(inc?.subjectUpn, 'adele.vance@contoso.com');
      assert.equal(inc?.customerId, 'contoso');
      assert.equal(inc?.status, 'open');
    });

    it('is idempotent on the alert id, and joins a second alert for the same user to the open incident', async () => {
      const a = freshAlert();
      const first = await (await post(a)).json() as { incidentId: string };
      const again = await post(a);
      assert.equal(again.status, 202);
      assert.deepEqual(await again.json(), { incidentId: first.incidentId, created: false, alertId: a.id });
      const second = await (await post({ ...a, id: `${a.id}-b`, title: 'Unfamiliar sign-in properties' })).json() as { incidentId: string; created: boolean };
      assert.equal(second.incidentId, first.incidentId);
      assert.equal(second.created, false);
      const detail = await (await api(`/api/incidents/${first.incidentId}`)).json() as { alerts: Array<{ id: string }>; timeline: Array<{ kind: string; summary: string }> };
      const ids = detail.alerts.map((x) => x.id);
      assert.ok(ids.includes(a.id) && ids.includes(`${a.id}-b`), 'both alerts are on the incident');
      assert.equal(ids.filter((x) => x === a.id).length, 1, 'the repeated alert is stored once');
      assert.ok(detail.timeline.some((e) => e.kind === 'alert.joined' && /Unfamiliar sign-in/.test(e.summary)));
    });

    it('refuses without a token (401), with a wrong one (401), and stores nothing', async () => {
      const before = await incidentCount();
      assert.equal((await post(freshAlert(), { token: null })).status, 401);
      assert.equal((await post(freshAlert(), { token: 'wrong-token-wrong-token' })).status, 401);
      assert.equal(await incidentCount(), before);
    });

    it('answers 400 naming the invalid field, 413 over 1 MB, 415 for non-JSON, 422 for an unknown tenant: nothing stored', async () => {
      const before = await incidentCount();
      const r400 = await post({ ...freshAlert(), tenantId: 'not-a-guid' });
      assert.equal(r400.status, 400);
      assert.equal(((await r400.json()) as { error: { field: string } }).error.field, 'tenantId');
      const noUser = freshAlert();
      noUser.evidence = noUser.evidence.filter((e: { '@odata.type': string }) => !e['@odata.type'].endsWith('userEvidence'));
      const r400b = await post(noUser);
      assert.equal(r400b.status, 400);
      assert.match(((await r400b.json()) as { error: { message: string } }).error.message, /no userEvidence/);
      assert.equal((await post(null, { raw: '{"id": ' })).status, 400);
      const big = { ...freshAlert(), description: 'x'.repeat(1024 * 1024 + 10) };
      assert.equal((await post(big)).status, 413);
      assert.equal((await post(null, { raw: 'id=1', type: 'application/x-www-form-urlencoded' })).status, 415);
      // the MSP-wide token learns that a tenant is no customer; a customer's token only that it is not its own
      const r422 = await post({ ...freshAlert(), tenantId: '11111111-2222-4333-8444-555555555555' }, { token: MSP_TOKEN });
      assert.equal(r422.status, 422);
      assert.equal((await post({ ...freshAlert(), tenantId: '11111111-2222-4333-8444-555555555555' })).status, 403);
      // a batch with one unknown tenant stores none of the batch
      const r422b = await post({ value: [freshAlert(), { ...freshAlert(), tenantId: '11111111-2222-4333-8444-555555555555' }] }, { token: MSP_TOKEN });
      assert.equal(r422b.status, 422);
      assert.equal(await incidentCount(), before);
    });

    it('a customer\'s token posts only that customer\'s alerts: another tenant is 403 and stores nothing', async () => {
      const before = await incidentCount();
      const asFabrikam = await post(freshAlert(), { token: FABRIKAM_TOKEN });
      assert.equal(asFabrikam.status, 403);
      assert.equal(((await asFabrikam.json()) as { error: { code: string } }).error.code, 'forbidden_tenant');
      // a batch mixing its own tenant with another's is refused whole
      const mixed = await post({ value: [{ ...freshAlert(), tenantId: FABRIKAM_TENANT }, freshAlert()] }, { token: FABRIKAM_TOKEN });
      assert.equal(mixed.status, 403);
      assert.equal(await incidentCount(), before);
      // the API token is not an intake credential
      assert.equal((await post(freshAlert(), { token: API_TOKEN })).status, 401);
    });

    it('accepts a body signed with the customer\'s HMAC key once, within 5 minutes; replays and tampering are 401', async () => {
      const alert = freshAlert();
      const raw = JSON.stringify(alert);
      const headers = signIntakeBody('contoso', CONTOSO_HMAC, raw);
      const ok = await post(null, { token: null, raw, headers });
      assert.equal(ok.status, 202, await ok.clone().text());
      const accepted = await ok.json() as { alertId: string; incidentId: string };
      assert.equal(accepted.alertId, alert.id);
      assert.ok((await store.listAlerts(accepted.incidentId)).some((a) => a.id === alert.id && a.raw === raw), 'stored as signed, byte for byte');
      const replay = await post(null, { token: null, raw, headers });
      assert.equal(replay.status, 401);
      assert.match(((await replay.json()) as { error: { message: string } }).error.message, /replay/);

      const before = await incidentCount();
      const other = JSON.stringify(freshAlert());
      const signed = signIntakeBody('contoso', CONTOSO_HMAC, other);
      assert.equal((await post(null, { token: null, raw: other.replace('Impossible', 'Possible'), headers: signed })).status, 401, 'a changed body');
      assert.equal((await post(null, { token: null, raw: other, headers: { ...signed, 'x-ir-customer': 'fabrikam' } })).status, 401, 'another customer');
      assert.equal((await post(null, { token: null, raw: other, headers: signIntakeBody('contoso', CONTOSO_HMAC, other, new Date(Date.now() - 6 * 60_000)) })).status, 401, 'stale');
      assert.equal((await post(null, { token: null, raw: other, headers: signIntakeBody('contoso', 'not-the-key', other) })).status, 401, 'wrong key');
      assert.equal((await post(null, { token: null, raw: other, headers: { 'x-ir-signature': 'sha256=zz' } })).status, 401, 'malformed');
      // a signature of Contoso's key is good for Contoso's tenant only
      const foreign = JSON.stringify({ ...freshAlert(), tenantId: FABRIKAM_TENANT });
      assert.equal((await post(null, { token: null, raw: foreign, headers: signIntakeBody('contoso', CONTOSO_HMAC, foreign) })).status, 403);
      assert.equal(await incidentCount(), before);
    });

    it('serves incidents to the operator API with its token only', async () => {
      const { incidentId } = await (await post(freshAlert())).json() as { incidentId: string };
      assert.equal((await api('/api/incidents', 'nope-nope-nope-nope')).status, 401);
      const list = await (await api('/api/incidents')).json() as { value: Array<{ id: string }> };
      assert.ok(list.value.some((i) => i.id === incidentId));
      const one = await (await api(`/api/incidents/${incidentId}`)).json() as Record<string, unknown> & { user: { upn: string }; timeline: Array<Record<string, string>>; actions: unknown[] };
      assert.equal(one.id, incidentId);
      assert.equal(one.status, 'open');
      assert.equal(one.customer, 'contoso');
      assert.equal(one.tenantId, '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d');
      assert.equal(one.user.upn, 'adele.vance@contoso.com');
      assert.equal(one.severity, 'high');
      assert.ok(Array.isArray(one.actions));
      assert.equal(one.timeline[0].kind, 'alert.received');
      for (const k of ['at', 'source', 'kind', 'summary']) assert.equal(typeof one.timeline[0][k], 'string');
      assert.equal((await api('/api/incidents/IR-20200101-ZZZZ')).status, 404);
      assert.equal((await api('/api/incidents/..%2F..%2Fetc')).status, 404);
    });

    it('keeps alert text with lone surrogates and NUL verifiable: stored and hashed as U+FFFD, verify finds no tampering', async () => {
      const a = { ...freshAlert(), title: 'Impossible travel \ud800 from \u0000 Lisbon \udc00', description: 'half a pair: \udbff end' };
      const body = JSON.stringify(a);
      assert.ok(body.includes('\\ud800') && body.includes('\\u0000'), 'sent as JSON escapes, as a real client would');
      const res = await post(null, { raw: body });
      assert.equal(res.status, 202);
      const { incidentId } = await res.json() as { incidentId: string };
      const verdict = await verifyIncident(store, incidentId);
      assert.deepEqual(verdict.problems, []);
      assert.equal(verdict.ok, true);
      const timeline = await store.listTimeline(incidentId);
      const event = timeline.find((e) => e.data.alertId === a.id);
      assert.ok(event, 'the alert is on the timeline');
      // (intake drops control characters such as NUL from display text; the store test covers NUL itself)
      assert.ok(event.summary.includes('Impossible travel \ufffd from  Lisbon \ufffd'), event.summary);
      assert.equal(event.summary.isWellFormed(), true);
      const alert = (await store.listAlerts(incidentId)).find((x) => x.id === a.id);
      assert.equal(alert?.alert.title, 'Impossible travel \ufffd from  Lisbon \ufffd');
      assert.equal(alert?.alert.description, 'half a pair: \ufffd end');
      assert.equal((await store.getIncident(incidentId))?.title.isWellFormed(), true);
      assert.equal(alert?.raw, body, 'the raw body is kept as received: its escapes are plain ASCII');
    });

    it('answers the health probes', async () => {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { store: string }).store, dialect);
    });
  });
});
