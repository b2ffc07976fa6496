import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startProductionApp } from '../support/production-app';
import { CONTOSO, FABRIKAM } from '../../src/sandbox/contoso';
import { signIntakeBody } from '../../src/intake/intake-credentials';

/**
 * Issue 9, item 7: an alert posted under Fabrikam's tenant with Contoso's alert id made Contoso's
 * real alert a duplicate, and Contoso got no incident; one webhook token served every tenant.
 */
describe('HTTP edge: one customer cannot shadow another\'s alert (production mode)', function () {
  this.timeout(30_000);
  let app: Awaited<ReturnType<typeof startProductionApp>>;
  before(async () => { app = await startProductionApp(); });
  after(async () => { await app?.dispose(); });

  const sample = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown>;
  const post = (body: unknown, headers: Record<string, string>) => fetch(`${app.base}/api/alerts`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('Fabrikam posting Contoso\'s alert id under its own tenant does not make Contoso\'s real alert a duplicate', async () => {
    const contosoAlert = { ...sample(), id: `da${Date.now()}_${randomBytes(3).toString('hex')}` };
    // Fabrikam (or whoever holds its credential) gets there first, with the same id
    const forged = { ...contosoAlert, tenantId: FABRIKAM.tenantId };
    const first = await post(forged, bearer(app.secrets.fabrikamToken));
    assert.equal(first.status, 202, await first.clone().text());
    const forgedIncident = (await first.json() as { incidentId: string }).incidentId;
    assert.equal((await app.store.getIncident(forgedIncident))?.customerId, FABRIKAM.customerId);

    const real = await post(contosoAlert, bearer(app.secrets.contosoToken));
    assert.equal(real.status, 202);
    const r = await real.json() as { incidentId: string; created: boolean };
    assert.equal(r.created, true, 'Contoso gets its incident');
    assert.notEqual(r.incidentId, forgedIncident);
    const incident = await app.store.getIncident(r.incidentId);
    assert.equal(incident?.customerId, CONTOSO.customerId);
    assert.deepEqual((await app.store.listAlerts(r.incidentId)).map((a) => a.id), [contosoAlert.id]);
  });

  it('a customer\'s credential is refused for another tenant (403), and the MSP-wide token is not accepted in production', async () => {
    const before = (await app.store.listIncidents({ limit: 1000 })).length;
    const alert = { ...sample(), id: `da${Date.now()}_${randomBytes(3).toString('hex')}` };
    const asFabrikam = await post(alert, bearer(app.secrets.fabrikamToken));
    assert.equal(asFabrikam.status, 403);
    const raw = JSON.stringify(alert);
    assert.equal((await post(raw, signIntakeBody(FABRIKAM.customerId, app.secrets.fabrikamHmac, raw))).status, 403);
    for (const token of ['sandbox-token', app.secrets.apiToken]) assert.equal((await post(alert, bearer(token))).status, 401);
    assert.equal((await app.store.listIncidents({ limit: 1000 })).length, before);
    // Contoso's own signature is accepted once
    const signed = signIntakeBody(CONTOSO.customerId, app.secrets.contosoHmac, raw);
    assert.equal((await post(raw, signed)).status, 202);
    assert.equal((await post(raw, signed)).status, 401);
  });
});
