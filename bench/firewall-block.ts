/**
 * Blocking throughput against the FortiOS emulator over real SSH: N single-IP blocks through one
 * driver (one CLI session reused, as the action does for a batch) versus the baseline of a new
 * SSH session per block. Prints medians of 5 runs and the ratio. Run: npx tsx bench/firewall-block.ts
 */
import { performance } from 'node:perf_hooks';
import { FortiGateDriver } from '../src/connectors/fortigate/fortigate-driver';
import { EnvFileSecretStore } from '../src/config/secrets';
import { parseIp } from '../src/domain/net';
import { contosoFortiGateState, startFortiOsEmulator } from '../src/sandbox/fortios/fortios-emulator';

const N = 20;
const RUNS = 5;
const secrets = new EnvFileSecretStore({ BENCH_FW: 'bench' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(reuse: boolean, run: number): Promise<number> {
  const emu = await startFortiOsEmulator({ users: [{ username: 'bench', password: 'bench' }], state: contosoFortiGateState() });
  const config = {
    id: 'bench-fgt', kind: 'fortigate' as const, blockGroup: 'IR-Block',
    ssh: { host: '127.0.0.1', port: emu.port, username: 'bench', passwordRef: 'env:BENCH_FW', hostKeySha256: emu.hostKeySha256, timeoutMs: 10000 },
  };
  const ips = Array.from({ length: N }, (_, i) => parseIp(`198.18.${run}.${i + 1}`));
  const t0 = performance.now();
  let driver = new FortiGateDriver(config, { secrets });
  for (const ip of ips) {
    await driver.blockIps([ip], { incidentId: 'IR-BENCH' });
    if (!reuse) { await driver.close(); driver = new FortiGateDriver(config, { secrets }); }
  }
  const ms = performance.now() - t0;
  await driver.close();
  await emu.close();
  if (emu.state.addrgrp.get('IR-Block')!.member.length !== N + 1) throw new Error('bench: not every IP was blocked');
  return ms;
}

async function main() {
  const reuse: number[] = [];
  const fresh: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    reuse.push(await once(true, r));
    fresh.push(await once(false, r));
  }
  const a = median(reuse);
  const b = median(fresh);
  console.log(`firewall.block (FortiOS emulator, ${N} single-IP blocks, median of ${RUNS})`);
  console.log(`  one CLI session reused:   ${a.toFixed(0)} ms total, ${(a / N).toFixed(1)} ms per block`);
  console.log(`  baseline, session per IP: ${b.toFixed(0)} ms total, ${(b / N).toFixed(1)} ms per block`);
  console.log(`  ratio baseline/reused:    ${(b / a).toFixed(2)}x`);
}

void main().catch((e) => { console.error(e); process.exit(1); });
