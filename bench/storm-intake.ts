/**
 * A password spray at one customer: N alerts of one detector for N accounts, posted to two intake
 * services on two Store instances of one PostgreSQL database (two replicas), `inflight` at a time.
 * Measured with storms on (threshold 10 accounts in 10 minutes) against the same spray with storms
 * off (a thread per account) in the same run: alerts per second, incidents opened, and the storm
 * incident's timeline card (bytes of the activity, render time) against the 28 KB Teams limit.
 *
 *   npx tsx bench/storm-intake.ts [accounts=300] [inflight=20] [postgres|sqlite]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { IntakeService } from '../src/intake/intake-service';
import { isStormSubject } from '../src/intake/storm';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { loadSnapshot } from '../src/bot/incident-snapshot';
import { renderTimelineCard } from '../src/bot/render-cards';
import { ACTIVITY_BUDGET_BYTES, activityBytes, cardActivity } from '../src/bot/card-budget';
import { contosoCustomer } from '../test/support/contoso-customer';
import { createTestDatabase, type StoreDialectName } from '../test/support/store-factory';

const accounts = Number(process.argv[2] ?? 300);
const inflight = Number(process.argv[3] ?? 20);
const dialect = (process.argv[4] ?? 'postgres') as StoreDialectName;
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;
const fixture = readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8');

function alertFor(i: number, run: string): Record<string, unknown> {
  const a = JSON.parse(fixture) as Record<string, unknown> & { evidence: Array<{ userAccount?: Record<string, unknown> }> };
  a.id = `${run}-${i}`;
  a.detectorId = `PasswordSpray-${run}`;
  a.evidence[0].userAccount = { ...a.evidence[0].userAccount, accountName: `user${i}`, userPrincipalName: `user${i}.${run}@contoso.com`, azureAdUserId: null, userSid: null };
  return a;
}

async function spray(stores: Store[], stormOn: boolean, run: string) {
  const customer = contosoCustomer({ storm: { enabled: stormOn, minUsers: 10, windowMinutes: 10 } });
  const intakes = stores.map((store) => new IntakeService({ store, customerByTenant: () => customer, log: quiet }));
  let next = 0;
  const incidents = new Set<string>();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, async () => {
    for (let i = next++; i < accounts; i = next++) {
      const [r] = await intakes[i % intakes.length].receive(alertFor(i, run), 'webhook', { kind: 'all' } as never);
      incidents.add(r.incidentId);
    }
  }));
  const ms = performance.now() - t0;
  return { ms, perSecond: (accounts / ms) * 1000, incidents };
}

async function main() {
  const db = await createTestDatabase(dialect);
  const stores = [await openStore(db.url), await openStore(db.url)];
  try {
    const off = await spray(stores, false, `off${Date.now()}`);
    const on = await spray(stores, true, `on${Date.now()}`);
    const storm = (await Promise.all([...on.incidents].map((id) => stores[0].getIncident(id)))).find((i) => i && isStormSubject(i.subjectUpn));
    console.log(`${dialect}, ${accounts} accounts, ${inflight} in flight, 2 intake replicas`);
    console.log(`storms off: ${off.ms.toFixed(0)} ms, ${off.perSecond.toFixed(1)} alerts/s, ${off.incidents.size} incidents (a thread each)`);
    console.log(`storms on:  ${on.ms.toFixed(0)} ms, ${on.perSecond.toFixed(1)} alerts/s, ${on.incidents.size} incidents (${on.incidents.size - 1} before the threshold + 1 storm); ratio ${(on.ms / off.ms).toFixed(2)}`);
    if (storm) {
      const snap = (await loadSnapshot(stores[0], storm.id, () => 'Contoso'))!;
      const r0 = performance.now();
      const card = renderTimelineCard(snap);
      const renderMs = performance.now() - r0;
      console.log(`storm card: ${snap.alerts.length} alerts, ${activityBytes(cardActivity(card))} bytes of ${ACTIVITY_BUDGET_BYTES} allowed, rendered in ${renderMs.toFixed(1)} ms`);
    }
  } finally {
    for (const s of stores) await s.close();
    await db.dispose();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
