/**
 * `npm run bench`: every benchmark in this folder, one after another (they share 2 cores, so never
 * together), each in its own tsx child with its output passed through. `npm run bench -- coa store`
 * runs only those whose file name contains one of the words. Exit status: how many failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const here = __dirname;
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== path.basename(__filename))
  .filter((f) => !only.length || only.some((w) => f.includes(w)))
  .sort();

const failed: string[] = [];
for (const file of benches) {
  process.stdout.write(`\n=== bench/${file}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, file)], { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(file);
  process.stdout.write(`=== bench/${file}: ${r.status === 0 ? 'done' : `exit ${r.status ?? r.signal}`} in ${secs} s\n`);
}
process.stdout.write(`\n${benches.length - failed.length} of ${benches.length} benchmarks ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
process.exit(failed.length);
