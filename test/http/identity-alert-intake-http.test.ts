import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { withTestStores } from '../support/store-factory';
import { twoCustomers } from '../support/customers-fixture';
import { createServer } from '../../src/server';
import { IntakeService } from '../../src/intake/intake-service';
import { log } from '../../src/log';
import type { Store } from '../../src/store/store';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { IntakeCredentials } from '../../src/intake/intake-credentials';

/** POST /api/alerts with identity alerts (issue 11): an on-premises account opens an incident, placed or not. */
const TOKEN = 'alert-token-0123456789';
const API_TOKEN = 'api-token-0123456789ab';
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1112';
const AD = {
  domains: [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }],
  dcs: [{ host: '10.0.0.5', servername: 'DC1.contoso.local' }],
  bindUpn: 'svc-irbot@contoso.local', passwordRef: 'env:CONTOSO_AD_PASSWORD', caCertificateRef: 'env:CONTOSO_AD_CA', baseDn: 'DC=contoso,DC=local',
};
let seq = 0;
const mdi = (account?: Record<string, unknown>) => {
  const al = JSON.parse(readFileSync('test/fixtures/graph/alert-mdi-domain-admin.json', 'utf8'));
  al.id = `mdi-test-${Date.now()}-${seq++}`;
  if (account) al.evidence[0].userAccount = account;
  return al;
};

withTestStores((dialect, make) => {
  describe('POST /api/alerts with Defender for Identity alerts', () => {
    let store: Store;
    let server: Server;
    let base: string;

    before(async () => {
      store = await make();
      const customers = twoCustomers({ contoso: { intake: { webhookTokenRef: 'env:CONTOSO_WEBHOOK_TOKEN' }, activeDirectory: AD } });
      const secrets = new EnvFileSecretStore({ CONTOSO_WEBHOOK_TOKEN: TOKEN });
      const intake = new IntakeService({ store, customerByTenant: (t) => customers.customers.find((c) => c.tenantId === t), log });
      const intakeCredentials = new IntakeCredentials({ customers: customers.customers, secrets, store });
      server = createServer({ store, intake, log, intakeCredentials, apiToken: API_TOKEN });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const post = (body: unknown) => fetch(`${base}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    const incident = async (id: string) => (await fetch(`${base}/api/incidents/${id}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json() as Promise<{ user: { upn: string }; timeline: Array<{ kind: string; summary: string }> }>;

    it(`opens an incident on CONTOSO\\adm-avance, placed in the customer's domain, with every identifier kept (${dialect})`, async () => {
      const res = await post(mdi());
      assert.equal(res.status, 202, await res.clone().text());
      const r = await res.json() as { incidentId: string; created: boolean };
      assert.equal(r.created, true);
      const inc = await store.getIncident(r.incidentId);
      assert.equal(inc!.subjectUpn, 'CONTOSO\\adm-avance');
      assert.deepEqual(
        { sid: inc!.subjectIdentity!.sid, sam: inc!.subjectIdentity!.samAccountName, netbios: inc!.subjectIdentity!.netbios, dns: inc!.subjectIdentity!.dnsDomain, placed: inc!.subjectIdentity!.placed, upn: inc!.subjectIdentity!.upn },
        { sid: SID, sam: 'adm-avance', netbios: 'CONTOSO', dns: 'contoso.local', placed: true, upn: null },
      );
      const view = await incident(r.incidentId);
      assert.ok(view.timeline.some((e) => e.kind === 'alert.subjectPlaced' && e.summary.includes(`SID ${SID}`) && e.summary.includes('CONTOSO (contoso.local)')));
    });

    it(`opens an incident that says so for an account in a domain that is not the customer's: never a 400 (${dialect})`, async () => {
      const res = await post(mdi({ accountName: 'svc-backup', domainName: 'FABRIKAM', userSid: 'S-1-5-21-1-2-3-1500', azureAdUserId: null, userPrincipalName: null }));
      assert.equal(res.status, 202, await res.clone().text());
      const r = await res.json() as { incidentId: string };
      const inc = await store.getIncident(r.incidentId);
      assert.equal(inc!.subjectIdentity!.placed, false);
      const view = await incident(r.incidentId);
      assert.ok(view.timeline.some((e) => e.kind === 'alert.subjectNotPlaced' && /cannot place the account .*FABRIKAM is not one of the customer's Active Directory domains/.test(e.summary)));
    });

    it(`refuses an account named with LDAP filter metacharacters, and stores nothing (${dialect})`, async () => {
      const before = (await store.listIncidents({})).length;
      const res = await post(mdi({ accountName: 'adm*)(objectClass=*', domainName: 'CONTOSO', userSid: null, azureAdUserId: null, userPrincipalName: null }));
      assert.equal(res.status, 400);
      assert.match(await res.text(), /not a sAMAccountName/);
      assert.equal((await store.listIncidents({})).length, before);
    });
  });
});
