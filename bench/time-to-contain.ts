/**
 * Time to contain: alert → incident `contained`, with every approval granted by a scripted
 * approver the moment it is requested and every action taking a fixed latency. Compared with the
 * critical path's lower bound measured in the same run: the sum of latencies on the longest chain
 * of dependent calls (scope step → containment step). Prints the median of runs and the ratio
 * (goal ≤ 1.15). Store: a temp SQLite file (STORE_URL to use another).
 * The bound comes from the calls' own measured durations, which a busy event loop stretches too
 * (SQLite commits are synchronous), so it is also shown against the nominal 2 × latency.
 * The engine is running before the alert is recorded, as in the app; the clock starts when intake
 * has created the incident and calls startIncident. Steps of the default procedure whose action the
 * test fixtures lack run as read-only stand-ins with the same latency (none today: the fixtures
 * have the follow-ups too); the follow-ups come after `contained` and are not on the measured path.
 *   npx tsx bench/time-to-contain.ts [runs=7] [latencyMs=200]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ActionDef } from '../src/connectors/types';
import { ActionRegistry } from '../src/engine/action-registry';
import { Engine } from '../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../src/engine/procedure';
import { openStore } from '../src/store/open-store';
import { ALEX, createAlertIncident, Recorder, testActions, testCustomer, testSecrets } from '../test/support/engine-fixtures';

const runs = Number(process.argv[2] ?? 7);
const latencyMs = Number(process.argv[3] ?? 200);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Read-only stand-ins for the procedure's actions the fixtures lack (see the header). */
function standIns(rec: Recorder, known: Set<string>): ActionDef[] {
  const steps = (parseYaml(readFileSync(DEFAULT_PROCEDURE_FILE, 'utf8')) as { steps?: Array<{ action?: unknown }> }).steps ?? [];
  const missing = [...new Set(steps.map((s) => s.action).filter((a): a is `${string}.${string}` => typeof a === 'string' && !known.has(a)))];
  return missing.map((name): ActionDef => ({
    name,
    risk: 'read',
    description: `bench stand-in for ${name}`,
    input: z.record(z.unknown()),
    async run(_i, ctx) {
      await rec.enter(name, ctx.incidentId, {}, ctx.mayHaveRun, () => undefined);
      return { output: {}, summary: `stand-in ${name}`, raw: [] };
    },
  }));
}

async function once(): Promise<{ wall: number; bound: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-ttc-'));
  const store = await openStore(process.env.STORE_URL ?? `sqlite:${path.join(dir, 'b.sqlite')}`);
  const rec = new Recorder();
  for (const name of ['entra.lookupUser', 'entra.signIns', 'entra.directoryAudits', 'm365.auditSearch', 'radius.accounting', 'firewall.vpnSessions', 'entra.contain', 'radius.disconnect', 'firewall.block']) {
    rec.behaviour[name] = { latencyMs };
  }
  const fixtures = testActions(rec);
  const registry = new ActionRegistry(fixtures, standIns(rec, new Set(fixtures.map((d) => d.name))));
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
  // As in the app: the engine is running (its start-up round done) when intake records the alert.
  engine.start();
  await new Promise((r) => setTimeout(r, 50));
  const incidentId = await createAlertIncident(store);
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
  console.log(`time to contain (${runs} runs, ${latencyMs} ms per call, 3 scope→contain chains, 3 containment approvals):`);
  console.log(`  alert → contained, median:       ${wall.toFixed(0)} ms`);
  console.log(`  critical path lower bound:       ${bound.toFixed(0)} ms  (measured call durations; nominal ${2 * latencyMs} ms)`);
  console.log(`  ratio (median of per-run ratios): ${ratio.toFixed(3)}  (goal ≤ 1.15)`);
  console.log(`  ratio against the nominal bound:  ${(wall / (2 * latencyMs)).toFixed(3)}`);
})().catch((e) => { console.error(e); process.exit(1); });
