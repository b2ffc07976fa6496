/**
 * Start-up validation of an MSP's customers file of 1,000 customers (issue 13 part 3: "well under a
 * second per hundred"): the whole of loadCustomersFile (read, YAML parse, schema and cross-customer
 * checks, freeze), and its two halves apart — the `yaml` package's parse of the text, and our
 * validation of the parsed value (parseCustomers) — so a slow figure says whose time it is; against
 * JSON.parse of the same document as the floor for reading it at all. Median of runs, each in this
 * one process after a warm-up run.   npx tsx bench/customers-validation.ts [customers=1000] [runs=7]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadCustomersFile, parseCustomers } from '../src/config/customers';
import { manyCustomerEntries, manyCustomersYaml } from '../test/support/many-customers';

const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// CPU time of this process (user + system), not wall time: on a shared, loaded machine the wall
// clock measures the other processes too. Both are printed.
interface Took { cpu: number; wall: number }
const time = (fn: () => unknown): Took => {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 };
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'irbot-customers-'));
  try {
    const file = join(dir, 'customers.yaml');
    const text = manyCustomersYaml(N);
    await writeFile(file, text);
    const json = JSON.stringify({ customers: manyCustomerEntries(N) });
    const parsed = parseYaml(text) as unknown;
    const loaded = loadCustomersFile(file); // warm-up, and proof it loads
    if (loaded.customers.length !== N) throw new Error(`loaded ${loaded.customers.length} customers, not ${N}`);

    const whole: Took[] = []; const yaml: Took[] = []; const ours: Took[] = []; const jsonParse: Took[] = [];
    for (let r = 0; r < RUNS; r++) {
      whole.push(time(() => loadCustomersFile(file)));
      yaml.push(time(() => parseYaml(readFileSync(file, 'utf8'))));
      ours.push(time(() => parseCustomers(parsed, file)));
      jsonParse.push(time(() => JSON.parse(json)));
    }
    const per100 = (ms: number) => (ms * 100 / N).toFixed(1);
    const row = (name: string, xs: Took[]) => {
      const cpu = xs.map((x) => x.cpu); const wall = xs.map((x) => x.wall);
      console.log(`${name.padEnd(36)} CPU median ${median(cpu).toFixed(0).padStart(5)} ms (${per100(median(cpu))} ms per 100; min ${Math.min(...cpu).toFixed(0)}), wall median ${median(wall).toFixed(0)} ms (${per100(median(wall))} per 100)`);
    };
    console.log(`${N} customers, ${(text.length / 1024).toFixed(0)} KiB of YAML, ${RUNS} runs after a warm-up; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
    row('loadCustomersFile (whole start-up)', whole);
    row('  yaml parse (the yaml package)', yaml);
    row('  our validation (parseCustomers)', ours);
    row('JSON.parse of the same (floor)', jsonParse);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
