/**
 * The scope step (user, 24 h sign-ins, 6 h directory audits, M365 audit query) against the Graph
 * emulator with 150–400 ms injected per call and small pages (several pages per source).
 * Prints the parallel wall time against the slowest single source measured in the same run
 * (ratio; goal ≤ 1.1) and the sequential time, median of 5 runs.
 */
import { startGraphEmulator } from '../src/sandbox/graph/emulator';
import { GraphSession } from '../src/connectors/graph/graph-session';
import { getUser, listDirectoryAudits, listSignIns } from '../src/connectors/graph/entra-read';
import { searchSensitiveOperations } from '../src/connectors/graph/m365-audit';
import { parseUpn } from '../src/domain/identity';
import { CONTOSO } from '../src/sandbox/contoso';
import { graphSandboxCustomers } from '../test/support/graph-sandbox';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const emu = await startGraphEmulator();
  try {
    const env = graphSandboxCustomers(emu);
    const upn = parseUpn(CONTOSO.adele.upn);
    const s = new GraphSession(env.contoso, env.secrets);
    await getUser(s, upn); // token + TLS warm-up, not measured
    emu.setLatency('**', [150, 400]);
    const now = () => new Date();
    const sources: Record<string, () => Promise<unknown>> = {
      user: () => getUser(s, upn),
      signIns: () => listSignIns(s, upn, new Date(Date.now() - 24 * 3600_000), undefined, { pageSize: 2 }),
      directoryAudits: () => listDirectoryAudits(s, upn, new Date(Date.now() - 6 * 3600_000), { pageSize: 1 }),
      auditQuery: () => searchSensitiveOperations(s, upn, { now: now(), hours: 6, pollIntervalMs: 200 }),
    };
    const timed = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t; };
    const walls: number[] = [];
    const slowest: number[] = [];
    const ratios: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const each = await Promise.all(Object.values(sources).map(timed));
      const wall = performance.now() - t0;
      const max = Math.max(...each);
      walls.push(wall); slowest.push(max); ratios.push(wall / max);
      let seq = 0;
      for (const f of Object.values(sources)) seq += await timed(f);
      seqs.push(seq);
    }
    console.log(`scope step, ${RUNS} runs, latency 150–400 ms per call (median):`);
    console.log(`  parallel wall      ${median(walls).toFixed(0)} ms`);
    console.log(`  slowest source     ${median(slowest).toFixed(0)} ms`);
    console.log(`  ratio wall/slowest ${median(ratios).toFixed(3)} (goal ≤ 1.1)`);
    console.log(`  sequential         ${median(seqs).toFixed(0)} ms (${(median(seqs) / median(walls)).toFixed(2)}× the parallel wall)`);
    const calls = emu.state.requests.length;
    console.log(`  Graph calls served ${calls}`);
  } finally {
    await emu.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
