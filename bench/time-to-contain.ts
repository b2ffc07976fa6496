/**
 * Time to contain: alert → incident `contained`, with every approval granted by a scripted
 * approver the moment it is requested and every action taking a fixed latency. Compared with the
 * critical path's lower bound measured in the same run: the sum of latencies on the longest chain
 * of dependent calls (scope step → containment step). Prints the median of runs and the ratio
 * (goal ≤ 1.15). Store: a temp SQLite file (STORE_URL to use another).
 *   npx tsx bench/time-to-contain.ts [runs=7] [latencyMs=200]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ActionRegistry } from '../src/engine/action-registry';
import { Engine } from '../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../src/engine/procedure';
import { openStore } from '../src/store/open-store';
import { ALEX, createAlertIncident, Recorder, testActions, testCustomer, testSecrets } from '../test/support/engine-fixtures';

const runs = Number(process.argv[2] ?? 7);
const latencyMs = Number(process.argv[3] ?? 200);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(): Promise<{ wall: number; bound: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-ttc-'));
  const store = await openStore(process.env.STORE_URL ?? `sqlite:${path.join(dir, 'b.sqlite')}`);
  const rec = new Recorder();
  for (const name of ['entra.lookupUser', 'entra.signIns', 'entra.directoryAudits', 'm365.auditSearch', 'radius.accounting', 'firewall.vpnSessions', 'entra.contain', 'radius.disconnect', 'firewall.block']) {
    rec.behaviour[name] = { latencyMs };
  }
  const registry = new ActionRegistry(testActions(rec));
  const customer = testCustomer();
  let engine!: Engine;
  let done!: () => void;
  const contained = new Promise<void>((r) => (done = r));
  engine = new Engine({
    store, registry, secrets: testSecrets, log: pino({ level: 'silent' }),
    procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)),
    customers: () => customer,
    tickIntervalMs: 1_000,
    notifier: {
      approvalRequested: (a) => { void engine.decide({ approvalId: a.id, vote: 'approve', clicker: ALEX }); },
      approvalDecided: () => undefined,
      stepEvidence: () => undefined,
      incidentChanged: (id) => { void store.getIncident(id).then((i) => { if (i?.status === 'contained') done(); }); },
    },
  });
  const incidentId = await createAlertIncident(store);
  engine.start();
  const t0 = performance.now();
  await engine.startIncident(incidentId);
  await contained;
  const wall = performance.now() - t0;
  await engine.stop();
  // the lower bound in this run: the longest chain of dependent calls, from the calls' own durations
  const dur = (name: string) => Math.max(...rec.callsOf(name).map((c) => c.end - c.start));
  const bound = Math.max(
    Math.max(dur('entra.lookupUser'), dur('entra.signIns')) + dur('entra.contain'),
    dur('radius.accounting') + dur('radius.disconnect'),
    dur('firewall.vpnSessions') + dur('firewall.block'),
  );
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { wall, bound };
}

(async () => {
  await once(); // warm-up: module loading, first SQLite open
  const results: Array<{ wall: number; bound: number }> = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const wall = median(results.map((r) => r.wall));
  const bound = median(results.map((r) => r.bound));
  const ratio = median(results.map((r) => r.wall / r.bound));
  console.log(`time to contain (${runs} runs, ${latencyMs} ms per call, 9 steps, 3 approvals):`);
  console.log(`  alert → contained, median:       ${wall.toFixed(0)} ms`);
  console.log(`  critical path lower bound:       ${bound.toFixed(0)} ms`);
  console.log(`  ratio (median of per-run ratios): ${ratio.toFixed(3)}  (goal ≤ 1.15)`);
})().catch((e) => { console.error(e); process.exit(1); });
