/**
 * The detail-file parser on 1,000,000 records (generated into a temp dir): records/s and peak RSS of
 * a child process that only parses, against `grep -c` over the same file in the same run.
 * Median of 5.   npx tsx bench/accounting-parse.ts
 */
import { execFile, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { localDetailSource, readDetailAccounting } from '../src/connectors/radius/accounting/detail-accounting';
import { parseRadiusString } from '../src/connectors/radius/radius-string';

const RECORDS = 1_000_000;
const RUNS = 5;
const USER = 'adele.vance@contoso.com';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function generate(file: string, now: Date): Promise<void> {
  const out = createWriteStream(file);
  const start = Math.floor(now.getTime() / 1000) - 20 * 3600;
  const kinds = ['Start', 'Interim-Update', 'Interim-Update', 'Stop'];
  let buf = '';
  for (let i = 0; i < RECORDS; i++) {
    const ts = start + Math.floor(i / 20);
    const session = Math.floor(i / 4);
    // one record in 1,000 is adele's; the rest are 5,000 other users
    const user = i % 1000 < 4 ? USER : `user${session % 5000}@contoso.com`;
    buf += `${new Date(ts * 1000).toUTCString().replace(/,/, '')}\n\tAcct-Status-Type = ${kinds[i % 4]}\n\tUser-Name = "${user}"\n`
      + `\tAcct-Session-Id = "S-${session}"\n\tNAS-IP-Address = 10.20.${session % 20}.1\n\tFramed-IP-Address = 10.99.${(session >> 8) & 255}.${session & 255}\n`
      + `\tCalling-Station-Id = "203.0.113.${session % 250}"\n\tAcct-Session-Time = ${(i % 4) * 600}\n\tAcct-Input-Octets = ${i * 17}\n\tAcct-Output-Octets = ${i * 31}\n`
      + `\tEvent-Timestamp = "${new Date(ts * 1000).toUTCString().slice(5, 25)} UTC"\n\tTimestamp = ${ts}\n\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** Child mode: parse once, print timing and peak RSS. */
async function parseOnce(dir: string, nowIso: string): Promise<void> {
  const now = new Date(nowIso);
  const rssBeforeKb = process.memoryUsage().rss / 1024;
  const t = performance.now();
  const { report, stats } = await readDetailAccounting(localDetailSource(dir), parseRadiusString(USER, 'user'), { from: new Date(now.getTime() - 24 * 3600_000), to: now }, () => now);
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ ms, records: stats.records, sessions: report.sessions.length, maxRssKb: process.resourceUsage().maxRSS, rssBeforeKb }));
}

async function main() {
  if (process.argv[2] === '--parse') return parseOnce(process.argv[3], process.argv[4]);
  const dir = await mkdtemp(join(tmpdir(), 'accounting-parse-'));
  try {
    const now = new Date();
    const client = join(dir, '10.20.0.1');
    await mkdir(client);
    const file = join(client, `detail-${now.toISOString().slice(0, 10).replace(/-/g, '')}`);
    let t = performance.now();
    await generate(file, now);
    const size = (await stat(file)).size;
    console.log(`generated ${RECORDS.toLocaleString('en')} records, ${(size / 2 ** 20).toFixed(0)} MiB, in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const ours: number[] = [];
    const greps: number[] = [];
    const rss: number[] = [];
    const before: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--parse', dir, now.toISOString()], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(child.stderr);
      const r = JSON.parse(child.stdout);
      if (r.records !== RECORDS) throw new Error(`parsed ${r.records} records, expected ${RECORDS}`);
      ours.push(r.ms);
      rss.push(r.maxRssKb);
      before.push(r.rssBeforeKb);
      t = performance.now();
      const count = await new Promise<string>((resolve, reject) => execFile('grep', ['-c', '^\tTimestamp = ', file], (e, out) => (e ? reject(e) : resolve(out.trim()))));
      greps.push(performance.now() - t);
      if (Number(count) !== RECORDS) throw new Error(`grep counted ${count}`);
      console.log(`run ${run + 1}: parser ${r.ms.toFixed(0)} ms (${r.sessions} sessions of ${USER}), peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MiB (${(r.rssBeforeKb / 1024).toFixed(0)} MiB before parsing); grep -c ${greps[run].toFixed(0)} ms`);
    }
    const o = median(ours);
    const g = median(greps);
    console.log(`\n${RECORDS.toLocaleString('en')} detail records (${(size / 2 ** 20).toFixed(0)} MiB), median of ${RUNS}:`);
    console.log(`  streaming parser   ${o.toFixed(0)} ms  ${(RECORDS / (o / 1000)).toFixed(0)} records/s  ${(size / 2 ** 20 / (o / 1000)).toFixed(0)} MiB/s  peak RSS ${(median(rss) / 1024).toFixed(0)} MiB (child process; ${(median(before) / 1024).toFixed(0)} MiB before parsing)`);
    console.log(`  grep -c            ${g.toFixed(0)} ms  ${(RECORDS / (g / 1000)).toFixed(0)} records/s`);
    console.log(`  ratio parser/grep  ${(o / g).toFixed(1)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
