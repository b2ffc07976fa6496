/**
 * How long appending 1,000 timeline events takes on each Store adapter.
 *   npx tsx bench/store-timeline.ts            (PostgreSQL at 127.0.0.1:5432 or IRBOT_TEST_PG_ADMIN_URL)
 * Figures: median of RUNS runs; the ratio is against 1,000 single-row state upserts measured in
 * the same run on the same adapter (a one-statement transaction: the floor for one commit).
 */
import { randomBytes } from 'node:crypto';
import { verifyChain } from '../src/domain/timeline-hash';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { createTestDatabase, type StoreDialectName } from '../test/support/store-factory';

const EVENTS = 1000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function newIncident(store: Store): Promise<string> {
  const id = `IR-bench-${randomBytes(4).toString('hex')}`;
  await store.createIncident({
    id, customerId: 'bench', tenantId: 't', subjectUpn: `${id}@contoso.com`, subjectObjectId: null, severity: 'high',
    title: 'bench', status: 'open', procedure: null, createdAt: new Date().toISOString(), data: {},
  }, []);
  return id;
}

const event = (i: number) => ({ source: 'engine', kind: 'bench.event', summary: `event ${i}`, data: { i, ip: '203.0.113.7', ok: true } });

async function bench(name: StoreDialectName) {
  const db = await createTestDatabase(name);
  const store = await openStore(db.url);
  try {
    const baseline: number[] = [];
    const oneByOne: number[] = [];
    const batched: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      baseline.push(await time(async () => {
        for (let i = 0; i < EVENTS; i++) await store.setState(`bench.${run}`, String(i));
      }));
      const a = await newIncident(store);
      oneByOne.push(await time(async () => {
        for (let i = 0; i < EVENTS; i++) await store.appendTimeline(a, [event(i)]);
      }));
      const b = await newIncident(store);
      batched.push(await time(async () => { await store.appendTimeline(b, Array.from({ length: EVENTS }, (_, i) => event(i))); }));
      const verdict = verifyChain(await store.listTimeline(a));
      if (!verdict.ok) throw new Error(`chain broken at ${verdict.seq}`);
    }
    const base = median(baseline);
    const one = median(oneByOne);
    const batch = median(batched);
    console.log(`${name.padEnd(8)} 1,000 appends one call each: ${one.toFixed(0)} ms (${(one / EVENTS).toFixed(2)} ms/event, ${(one / base).toFixed(2)}x baseline)`);
    console.log(`${name.padEnd(8)} 1,000 events in one call:     ${batch.toFixed(0)} ms`);
    console.log(`${name.padEnd(8)} baseline 1,000 setState:      ${base.toFixed(0)} ms`);
  } finally {
    await store.close();
    await db.dispose();
  }
}

(async () => {
  console.log(`store timeline bench: median of ${RUNS} runs, ${EVENTS} events`);
  for (const name of ['sqlite', 'postgres'] as const) await bench(name);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
