import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IntakeService } from '../../src/intake/intake-service';
import { isStormSubject, stormAccounts } from '../../src/intake/storm';
import { renderTimelineCard } from '../../src/bot/render-cards';
import { loadSnapshot } from '../../src/bot/incident-snapshot';
import { readFindings } from '../../src/domain/incident-findings';
import { cardText } from '../support/adaptive-card-check';
import { contosoCustomer } from '../support/contoso-customer';
import { uniqueId, withTestStores } from '../support/store-factory';
import type { Store } from '../../src/store/store';
import { incidentView } from '../../src/http/incident-view';

/**
 * Storm incidents (issue 13 part 4), small: the suite's version of a password spray. Two intake
 * services on two Store instances of one database stand for two replicas; the posts run
 * concurrently. Big storms are in bench/, not here.
 */
const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** The Defender alert of the fixture, for another account and with its own id. */
function alertFor(user: number, run: string, detector = 'ImpossibleTravel'): Record<string, unknown> {
  const a = fixture();
  a.id = `${run}-u${user}-${detector}`;
  // each test its own detector: the tests of one dialect share a database (and its storms)
  a.detectorId = `${detector}-${run}`;
  const ev = a.evidence[0] as { userAccount: Record<string, unknown> };
  ev.userAccount = { ...ev.userAccount, accountName: `user${user}`, userPrincipalName: `user${user}.${run}@contoso.com`, azureAdUserId: null, userSid: null };
  return a;
}

function intakeOn(store: Store, storm: Record<string, unknown>, created: string[]): IntakeService {
  const customer = contosoCustomer({ storm });
  return new IntakeService({ store, customerByTenant: (t) => (t === customer.tenantId ? customer : undefined), onIncidentCreated: (id) => created.push(id), log: quiet });
}

const ALL = { kind: 'all' } as never;

withTestStores((_name, make) => {
  describe('alert storms', function () {
    this.timeout(60_000);

    it('a burst of one detector across 30 accounts from two replicas: every alert in exactly one incident, one storm incident', async () => {
      const run = uniqueId('spray').replace(/-/g, '');
      const [s1, s2] = [await make(), await make()];
      const created: string[] = [];
      const cfg = { enabled: true, minUsers: 10, windowMinutes: 10 };
      const replicas = [intakeOn(s1, cfg, created), intakeOn(s2, cfg, created)];
      // The first five arrive one by one (their own incidents), then 25 at once on both replicas,
      // each of those posted twice (a retry on the other replica) to prove a duplicate stays one alert.
      const results: Array<{ alertId: string; incidentId: string }> = [];
      for (let u = 0; u < 5; u++) results.push(...(await replicas[u % 2].receive(alertFor(u, run), 'webhook', ALL)));
      const burst = await Promise.all(Array.from({ length: 50 }, (_, k) => replicas[k % 2].receive(alertFor(5 + (k >> 1), run), 'webhook', ALL)));
      results.push(...burst.flat());
      assert.equal(results.length, 55);
      const byAlert = new Map<string, Set<string>>();
      for (const r of results) byAlert.set(r.alertId, (byAlert.get(r.alertId) ?? new Set()).add(r.incidentId));
      assert.equal(byAlert.size, 30, 'thirty distinct alerts');
      for (const [id, incs] of byAlert) assert.equal(incs.size, 1, `${id} answered with one incident`);

      const incidents = (await s1.listIncidents({ customerId: 'contoso', limit: 1000 })).filter((i) => i.subjectUpn.includes(run) || (isStormSubject(i.subjectUpn) && results.some((r) => r.incidentId === i.id)));
      const storms = incidents.filter((i) => isStormSubject(i.subjectUpn));
      assert.equal(storms.length, 1, 'one storm incident');
      const storm = storms[0];
      // every alert is stored exactly once, in the incident it was answered with
      let stored = 0;
      for (const inc of incidents) {
        const alerts = await s1.listAlerts(inc.id);
        stored += alerts.length;
        for (const a of alerts) assert.deepEqual([...byAlert.get(a.id)!], [inc.id]);
        if (inc.id !== storm.id) assert.equal(alerts.length, 1, 'a single incident has its one account');
      }
      assert.equal(stored, 30);
      const singles = incidents.filter((i) => i.id !== storm.id);
      // The threshold is counted from the store: minUsers-1 accounts keep their own incident, and
      // each replica racing at the threshold at most one more.
      assert.ok(singles.length >= 9 && singles.length <= 9 + replicas.length, `${singles.length} single incidents`);
      const stormAlerts = await s1.listAlerts(storm.id);
      assert.equal(stormAlerts.length + singles.length, 30);
      assert.equal(new Set(stormAccounts(stormAlerts)).size, stormAlerts.length, 'one account per storm alert');
      // the storm incident is started once (the storm procedure), like each single incident
      assert.equal(created.filter((id) => id === storm.id).length, 1);
      assert.equal(created.length, singles.length + 1);

      // the storm card lists the accounts; the earlier incidents say they are part of the storm
      const snap = await loadSnapshot(s1, storm.id, () => 'Contoso');
      const text = cardText(renderTimelineCard(snap!));
      assert.ok(text.includes(`Accounts in this storm: ${stormAlerts.length}`), text);
      for (const acct of stormAccounts(stormAlerts).slice(0, 5)) assert.ok(text.includes(acct), acct);
      const marked = (await Promise.all(singles.map((i) => s1.getIncident(i.id)))).filter((i) => readFindings(i!.data).partOfStorm === storm.id);
      assert.ok(marked.length >= 9, `${marked.length} earlier incidents marked`);
      // the operator API, where the card's "… and K more" points, has every account
      const view = await incidentView(s1, storm, { timeline: false });
      assert.deepEqual([...(view.accounts as string[])].sort(), stormAccounts(stormAlerts).sort());
      // and an action's exact list of changes, which a long approval card only counts
      const single = marked[0]!;
      const actionId = `${single.id}:entra-contain`;
      await s1.ensureActions([{ id: actionId, incidentId: single.id, stepId: 'entra-contain', name: 'entra.contain', status: 'waiting', idempotencyKey: actionId, input: null }]);
      const changes = Array.from({ length: 300 }, (_, i) => `Disable user${i}@contoso.com`);
      await s1.transitionAction(actionId, { from: ['waiting'], to: 'awaiting_approval' }, { preview: { title: 'Contain', changes } });
      const singleView = await incidentView(s1, single, { timeline: false });
      assert.deepEqual((singleView.actions as Array<{ step: string; changes?: string[] }>).find((a) => a.step === 'entra-contain')?.changes, changes);
      const first = await loadSnapshot(s1, marked[0]!.id, () => 'Contoso');
      assert.ok(cardText(renderTimelineCard(first!)).includes(`part of ${storm.id}`));
    });

    it('storms are on by default: 10 accounts in 10 minutes', () => {
      assert.deepEqual(contosoCustomer().storm, { enabled: true, minUsers: 10, windowMinutes: 10 });
    });

    it('alerts of another detector, below the threshold, or with storms off keep an incident per account', async () => {
      const run = uniqueId('calm').replace(/-/g, '');
      const store = await make();
      const created: string[] = [];
      const on = intakeOn(store, { enabled: true, minUsers: 10, windowMinutes: 10 }, created);
      const off = intakeOn(store, { enabled: false }, created);
      // nine accounts of one detector and nine of another: under the threshold each
      for (let u = 0; u < 9; u++) {
        await on.receive(alertFor(u, run, 'ImpossibleTravel'), 'webhook', ALL);
        await on.receive(alertFor(100 + u, run, 'AnonymousIP'), 'webhook', ALL);
      }
      // with storms off (enabled: false), a burst of 12 stays 12 incidents
      for (let u = 200; u < 212; u++) await off.receive(alertFor(u, run, 'PasswordSpray'), 'webhook', ALL);
      const incidents = (await store.listIncidents({ customerId: 'contoso', limit: 1000 })).filter((i) => i.subjectUpn.includes(run));
      assert.equal(incidents.length, 30);
      assert.equal(created.length, 30);
      assert.ok(incidents.every((i) => !isStormSubject(i.subjectUpn)));
    });
  });
});
