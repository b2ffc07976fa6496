import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IntakeService } from '../../src/intake/intake-service';
import { newIncidentId } from '../../src/domain/incident-id';
import { contosoCustomer } from '../support/contoso-customer';
import { uniqueId, withTestStores } from '../support/store-factory';

/**
 * A new incident's id is the day and four random characters (about a million a day): a busy day
 * meets an id already taken now and then. The storm bench's helper saw it stop a run with a 500;
 * intake now draws another id, and the alert is stored once, in the incident it answers with.
 */
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;
const ALL = { kind: 'all' } as never;

function alertFor(run: string, user: string): Record<string, unknown> {
  const a = JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<{ userAccount: Record<string, unknown> }> };
  a.id = `${run}-${user}`;
  a.detectorId = `collision-${run}-${user}`;
  a.evidence[0].userAccount = { ...a.evidence[0].userAccount, accountName: user, userPrincipalName: `${user}.${run}@contoso.com`, azureAdUserId: null, userSid: null };
  return a;
}

withTestStores((_name, make) => {
  describe('incident id collisions at intake', () => {
    it('an id already taken is drawn again: the alert opens its own incident under a new id, stored once', async () => {
      const store = await make();
      const customer = contosoCustomer({});
      const run = uniqueId('idc').replace(/-/g, '');
      const drawn: string[] = [];
      // the first draw repeats the id the first incident got; the second is fresh
      let taken = '';
      const ids = (now: Date) => {
        const id = drawn.length === 1 ? taken : newIncidentId(now);
        drawn.push(id);
        return id;
      };
      const intake = new IntakeService({ store, customerByTenant: (t) => (t === customer.tenantId ? customer : undefined), newIncidentId: ids, log: quiet });
      const [first] = await intake.receive(alertFor(run, 'anna'), 'webhook', ALL);
      taken = first.incidentId;
      const [second] = await intake.receive(alertFor(run, 'ben'), 'webhook', ALL);
      assert.equal(drawn.length, 3, 'a third id was drawn after the taken one');
      assert.equal(drawn[1], taken);
      assert.equal(second.created, true);
      assert.notEqual(second.incidentId, taken);
      assert.equal(second.incidentId, drawn[2]);
      const anna = await store.getIncident(taken);
      const ben = await store.getIncident(second.incidentId);
      assert.match(anna!.subjectUpn, /^anna\./);
      assert.match(ben!.subjectUpn, /^ben\./);
      assert.deepEqual((await store.listAlerts(taken)).map((a) => a.id), [`${run}-anna`], 'the first incident got no stranger');
      assert.deepEqual((await store.listAlerts(second.incidentId)).map((a) => a.id), [`${run}-ben`]);
    });

    it('gives up after five taken ids with the store\'s error, storing nothing', async () => {
      const store = await make();
      const customer = contosoCustomer({});
      const run = uniqueId('idc').replace(/-/g, '');
      const plain = new IntakeService({ store, customerByTenant: (t) => (t === customer.tenantId ? customer : undefined), log: quiet });
      const [first] = await plain.receive(alertFor(run, 'cara'), 'webhook', ALL);
      const always = new IntakeService({ store, customerByTenant: (t) => (t === customer.tenantId ? customer : undefined), newIncidentId: () => first.incidentId, log: quiet });
      await assert.rejects(always.receive(alertFor(run, 'dan'), 'webhook', ALL), /already taken/);
      assert.equal((await store.listAlerts(first.incidentId)).length, 1);
    });
  });
});
