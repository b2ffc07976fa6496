/**
 * Disconnect 1,000 sessions spread over 20 NAS (FreeRADIUS coa listeners): our client against
 * radclient (`-f file -p 50`, one process per NAS, all at once) sending the same requests, in the
 * same run. Prints the median of 5 of each and the ratio (goal: ours no slower).
 *   npx tsx bench/coa-fanout.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RadiusConfig } from '../src/config/customers';
import { EnvFileSecretStore } from '../src/config/secrets';
import { disconnectSessions, radclientLines, type SessionRef } from '../src/connectors/radius/coa/disconnect-sessions';
import { startFreeRadius } from '../src/sandbox/radius/freeradius-instance';

const NAS = 20;
const SESSIONS = 1000;
const RUNS = 5;
const PARALLEL = 50;
const SECRET = 'bench-secret';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function radclient(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('radclient', args, { encoding: 'utf8' }, (err, stdout) => (err && err.code !== 1 ? reject(err) : resolve(stdout))));
}

async function main() {
  const fr = await startFreeRadius({ nasCount: NAS, secret: SECRET, ackSessionIdRegex: '^S-' });
  const dir = await mkdtemp(join(tmpdir(), 'coa-fanout-'));
  try {
    const config: RadiusConfig = {
      accounting: { kind: 'sql', urlRef: 'env:UNUSED', table: 'radacct' },
      disconnect: { mode: 'direct', timeoutMs: 1000, retries: 3 },
      nas: fr.coaPorts.map((port, i) => ({ id: `nas-${i}`, ip: `10.20.${i}.1`, coaHost: '127.0.0.1', coaPort: port, secretRef: 'env:NAS_SECRET' })),
    };
    const secrets = new EnvFileSecretStore({ NAS_SECRET: SECRET });
    const sessions: SessionRef[] = Array.from({ length: SESSIONS }, (_, i) => ({
      userName: `user${i}@contoso.com`, acctSessionId: `S-${100000 + i}`, nasIp: `10.20.${i % NAS}.1`, framedIp: `10.99.${Math.floor(i / 250)}.${i % 250}`,
    }));
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const files: string[] = [];
    for (let n = 0; n < NAS; n++) {
      const f = join(dir, `nas-${n}.txt`);
      await writeFile(f, sessions.filter((_, i) => i % NAS === n).map((s) => `${radclientLines(s).join('\n')}\n`).join('\n'));
      files.push(f);
    }

    const ours: number[] = [];
    const theirs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      const { results } = await disconnectSessions(sessions, config, { secrets });
      ours.push(performance.now() - t);
      const acked = results.filter((r) => r.status === 'disconnected').length;
      const retx = results.reduce((a, r) => a + r.transmissions - 1, 0);
      if (acked !== SESSIONS) throw new Error(`ours: only ${acked} of ${SESSIONS} ACKed`);

      t = performance.now();
      const outs = await Promise.all(files.map((f, n) => radclient(['-q', '-s', '-f', f, '-p', String(PARALLEL), '-r', '4', '-t', '1', '-S', secretFile, `127.0.0.1:${fr.coaPorts[n]}`, 'disconnect'])));
      theirs.push(performance.now() - t);
      const rcAcked = outs.reduce((a, o) => a + Number(/Accepted\s*:\s*(\d+)/.exec(o)?.[1] ?? 0), 0);
      console.log(`run ${run + 1}: ours ${ours[run].toFixed(1)} ms (${acked} ACK, ${retx} retransmissions), radclient ${theirs[run].toFixed(1)} ms (${rcAcked} ACK)`);
    }
    const o = median(ours);
    const r = median(theirs);
    console.log(`\n${SESSIONS} Disconnect-Requests over ${NAS} NAS, median of ${RUNS}:`);
    console.log(`  ours (direct UDP, pipelined)   ${o.toFixed(1)} ms  (${(SESSIONS / (o / 1000)).toFixed(0)} req/s)`);
    console.log(`  radclient -f -p ${PARALLEL} x ${NAS}       ${r.toFixed(1)} ms  (${(SESSIONS / (r / 1000)).toFixed(0)} req/s)`);
    console.log(`  ratio ours/radclient          ${(o / r).toFixed(2)}  (< 1 means ours is faster)`);
  } finally {
    await fr.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
