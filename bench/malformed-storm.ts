/**
 * Issue 13, bad input: "a storm of malformed alerts: none slows the good ones". The whole bot in
 * production mode in a child process of its own (so the load generator here does not share its
 * event loop; its log lines are serialised as in production but counted instead of printed), good
 * Contoso alerts posted one every `gapMs` (each a new incident): their answer
 * times (POST → 202) alone, against the same good alerts with `perGood` malformed requests fired
 * alongside each one (the 21 kinds of test/support/malformed-alerts.ts in turn: bad JSON, wrong
 * types, hostile strings, bodies over 1 MB, wrong or another customer's credentials, bad
 * signatures), and against that storm without the two kinds whose bodies are over the limit.
 * Arms alternate within each run; figures are medians over runs, with the ratio to "alone", and
 * the bot process's CPU time per round (user + system).
 *
 *   npx tsx bench/malformed-storm.ts [runs=5] [perGood=10] [good=20] [gapMs=25] [sqlite|postgres]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setLogDestination } from '../src/log';
import { startProductionApp } from '../test/support/production-app';
import { createTestDatabase, type StoreDialectName } from '../test/support/store-factory';
import { goodRequest, malformedRequest, send, type StormAnswer, type StormRequest } from '../test/support/malformed-alerts';

const args = process.argv.slice(2).filter((a) => a !== '--serve');
const runs = Number(args[0] ?? 5);
const perGood = Number(args[1] ?? 10);
const good = Number(args[2] ?? 20);
const gapMs = Number(args[3] ?? 25);
const dialect = (args[4] ?? 'sqlite') as StoreDialectName;

type Secrets = Parameters<typeof goodRequest>[1];
type Probe = { lines: number; cpuMs: number };

type Arm = 'alone' | 'storm' | 'storm, no oversized bodies';
const ARMS: Arm[] = ['alone', 'storm', 'storm, no oversized bodies'];
const OVERSIZED = /oversized/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs: number[]) => pct(xs, 50);

async function arm(base: string, secrets: Parameters<typeof goodRequest>[1], kind: Arm, tag: string) {
  const goodAnswers: Array<Promise<StormAnswer>> = [];
  const badAnswers: Array<Promise<{ r: StormRequest; a: StormAnswer }>> = [];
  let k = 0;
  for (let g = 0; g < good; g++) {
    if (kind !== 'alone') {
      for (let n = 0; n < perGood; n++) {
        let r = malformedRequest(k++, secrets);
        while (kind === 'storm, no oversized bodies' && OVERSIZED.test(r.kind)) r = malformedRequest(k++, secrets);
        badAnswers.push(send(base, r).then((a) => ({ r, a })));
      }
    }
    goodAnswers.push(send(base, goodRequest(`good-${tag}-${g}`, secrets)));
    await sleep(gapMs);
  }
  const goods = await Promise.all(goodAnswers);
  const bads = await Promise.all(badAnswers);
  for (const a of goods) if (a.status !== 202) throw new Error(`a good alert got ${a.status}: ${a.body.slice(0, 200)}`);
  for (const { r, a } of bads) if (a.status !== r.expect!.status) throw new Error(`${r.kind} got ${a.status}, not ${r.expect!.status}: ${a.body.slice(0, 200)}`);
  const ms = goods.map((a) => a.ms);
  return { p50: pct(ms, 50), p95: pct(ms, 95), badP50: bads.length ? pct(bads.map((b) => b.a.ms), 50) : 0, bad: bads.length };
}

/** The child: the bot, answering 'probe' with its log lines and CPU time so far, and 'stop'. */
async function serve() {
  let lines = 0;
  setLogDestination({ write: () => { lines++; } });
  const db = await createTestDatabase(dialect);
  const app = await startProductionApp({ storeUrl: db.url });
  process.on('message', (m: string) => {
    if (m === 'probe') {
      const cpu = process.cpuUsage();
      process.send!({ lines, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (m === 'stop') {
      void app.dispose().then(() => db.dispose()).finally(() => process.exit(0));
    }
  });
  process.send!({ base: app.base, secrets: app.secrets });
}

function ask<T>(child: ChildProcess, m?: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (r) => resolve(r as T));
    if (m) child.send(m);
  });
}

async function main() {
  const child = fork(__filename, ['--serve', ...process.argv.slice(2)], { execArgv: ['--import', 'tsx', '--disable-warning=DEP0111', ...(process.env.BENCH_CHILD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROF}`] : [])] });
  const { base, secrets } = await ask<{ base: string; secrets: Secrets }>(child);
  type Round = { p50: number; p95: number; badP50: number; bad: number; lines: number; cpuMs: number; senderCpuMs: number };
  const figures: Record<Arm, Round[]> = { alone: [], storm: [], 'storm, no oversized bodies': [] };
  try {
    // one warm-up round of each arm (JIT, connection pools), not counted
    for (const a of ARMS) await arm(base, secrets, a, `warm-${a.length}-${Date.now()}`);
    for (let r = 0; r < runs; r++) {
      // alternate the order so that neither arm always runs on a fuller store
      const order = r % 2 === 0 ? ARMS : [...ARMS].reverse();
      for (const a of order) {
        const before = await ask<Probe>(child, 'probe');
        const sender = process.cpuUsage();
        const f = await arm(base, secrets, a, `r${r}-${a.length}-${Date.now()}`);
        const sent = process.cpuUsage(sender);
        const after = await ask<Probe>(child, 'probe');
        figures[a].push({ ...f, lines: after.lines - before.lines, cpuMs: after.cpuMs - before.cpuMs, senderCpuMs: (sent.user + sent.system) / 1000 });
        await sleep(200);
      }
    }
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }
  const med = (a: Arm, k: keyof Round) => median(figures[a].map((f) => f[k]));
  console.log(`${dialect}, ${runs} runs, ${good} good alerts one every ${gapMs} ms; storm: ${perGood} malformed fired with each good one`);
  for (const a of ARMS) {
    const extra = figures[a][0].bad ? `; ${figures[a][0].bad} malformed, their p50 ${med(a, 'badP50').toFixed(1)} ms` : '';
    console.log(`${a.padEnd(27)} good p50 ${med(a, 'p50').toFixed(1)} ms (ratio ${(med(a, 'p50') / med('alone', 'p50')).toFixed(2)}), ` +
      `p95 ${med(a, 'p95').toFixed(1)} ms (ratio ${(med(a, 'p95') / med('alone', 'p95')).toFixed(2)})${extra}; ` +
      `bot CPU ${med(a, 'cpuMs').toFixed(0)} ms a round (the sender's ${med(a, 'senderCpuMs').toFixed(0)} ms), log lines ${med(a, 'lines')}`);
  }
  // What one request costs the bot: a good alert's CPU alone, a malformed one's over it.
  const perGoodMs = med('alone', 'cpuMs') / good;
  const perBadMs = (med('storm', 'cpuMs') - med('alone', 'cpuMs')) / figures.storm[0].bad;
  console.log(`bot CPU per good alert ${perGoodMs.toFixed(1)} ms; per malformed request ${perBadMs.toFixed(2)} ms (${(perBadMs / perGoodMs).toFixed(2)} of a good one)`);
}

if (process.argv.includes('--serve')) {
  serve().catch((e) => { console.error(e); process.exit(1); });
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}
