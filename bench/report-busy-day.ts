/**
 * The forensic report of a busy day: 100,000 Entra sign-ins (100 Graph pages), 50,000 directory
 * audit records (50 pages) and 1,000,000 RADIUS accounting records (one streamed detail payload),
 * stored in a temp SQLite store. Measures, each in a fresh child process (so peak RSS is the
 * report's own): the report's wall time and peak RSS, `sha256sum` over the same raw bytes (the
 * baseline: reading and hashing once), and the time to verify the incident.
 *
 *   npx tsx bench/report-busy-day.ts [--fraction 0.25] [--runs 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import { openStore } from '../src/store/open-store';
import { writeReport } from '../src/evidence/report';
import { verifyIncident } from '../src/evidence/verify';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

function signIn(i: number, base: number): Record<string, unknown> {
  return {
    id: `66ea54eb-6301-4ee5-be62-${String(i).padStart(12, '0')}`, createdDateTime: new Date(base - i * 800).toISOString(),
    userDisplayName: 'Adele Vance', userPrincipalName: 'adele.vance@contoso.com', userId: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e',
    appId: '00000002-0000-0ff1-ce00-000000000000', appDisplayName: 'Office 365 Exchange Online', ipAddress: i % 3 ? '198.51.100.23' : '203.0.113.7',
    clientAppUsed: 'Browser', correlationId: `c0a8e1f2-0000-4a5b-8c9d-${String(i).padStart(12, '0')}`, conditionalAccessStatus: 'notApplied',
    isInteractive: i % 2 === 0, riskDetail: 'none', riskLevelAggregated: 'none', riskLevelDuringSignIn: 'none', riskState: 'none', riskEventTypes_v2: [],
    resourceDisplayName: 'Office 365 Exchange Online', status: { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
    deviceDetail: { deviceId: '', displayName: '', operatingSystem: 'Windows10', browser: 'Edge 131.0.0', isCompliant: false, isManaged: false, trustType: '' },
    location: { city: 'Lisbon', state: 'Lisboa', countryOrRegion: 'PT', geoCoordinates: { altitude: null, latitude: 38.72, longitude: -9.14 } },
    appliedConditionalAccessPolicies: [],
  };
}

function audit(i: number, base: number): Record<string, unknown> {
  return {
    id: `Directory_${i}`, category: 'UserManagement', correlationId: `c0a8e1f2-1111-4a5b-8c9d-${String(i).padStart(12, '0')}`, result: 'success', resultReason: '',
    activityDisplayName: 'Update user', activityDateTime: new Date(base - i * 1700).toISOString(), loggedByService: 'Core Directory', operationType: 'Update',
    initiatedBy: { user: { id: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e', displayName: null, userPrincipalName: 'adele.vance@contoso.com', ipAddress: '203.0.113.7' } },
    targetResources: [{ id: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e', displayName: null, type: 'User', userPrincipalName: 'adele.vance@contoso.com', modifiedProperties: [{ displayName: 'StrongAuthenticationMethod', oldValue: '[]', newValue: '[{"MethodType":6}]' }] }],
    additionalDetails: [{ key: 'UserType', value: 'Member' }],
  };
}

function detailRecord(i: number, base: number): string {
  const t = base - i * 86;
  const kind = i % 10 === 0 ? 'Start' : i % 10 === 9 ? 'Stop' : 'Interim-Update';
  return `${new Date(t).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 $4')}\n` +
    `\tAcct-Status-Type = ${kind}\n\tUser-Name = "user${i % 5000}@contoso.com"\n\tAcct-Session-Id = "S-${Math.floor(i / 10)}"\n` +
    `\tNAS-IP-Address = 10.20.0.${i % 250}\n\tFramed-IP-Address = 10.99.${(i >> 8) & 255}.${i & 255}\n\tCalling-Station-Id = "198.51.100.${i % 250}"\n` +
    `\tAcct-Input-Octets = ${i * 13}\n\tAcct-Output-Octets = ${i * 17}\n\tTimestamp = ${Math.floor(t / 1000)}\n\n`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seed(dir: string, fraction: number): Promise<{ url: string; incidentId: string; rawFiles: string[]; rawBytes: number; counts: Record<string, number> }> {
  const url = `sqlite:${path.join(dir, 'bench.sqlite')}`;
  const store = await openStore(url);
  const incidentId = 'IR-20261127-BUSY';
  const base = Date.parse('2026-11-27T15:00:00Z');
  await store.createIncident({
    id: incidentId, customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: 'adele.vance@contoso.com', subjectObjectId: null,
    severity: 'high', title: 'Impossible travel activity', status: 'open', procedure: 'Account compromise containment v1', createdAt: new Date(base).toISOString(), data: {},
  }, [{ source: 'defender', kind: 'alert.received', summary: 'Impossible travel activity' }]);
  const rawFiles: string[] = [];
  let rawBytes = 0;
  const counts = { signIns: Math.round(100_000 * fraction), audits: Math.round(50_000 * fraction), accounting: Math.round(1_000_000 * fraction) };
  const keep = async (name: string, body: Buffer) => {
    const f = path.join(dir, name);
    const w = createWriteStream(f);
    w.end(body);
    await once(w, 'finish');
    rawFiles.push(f);
    rawBytes += body.length;
  };
  const pages = async (source: string, total: number, make: (i: number, base: number) => unknown) => {
    for (let p = 0; p * 1000 < total; p++) {
      const values = Array.from({ length: Math.min(1000, total - p * 1000) }, (_, k) => make(p * 1000 + k, base));
      const body = Buffer.from(JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#auditLogs', value: values, '@odata.nextLink': 'https://graph.microsoft.com/v1.0/auditLogs?$skiptoken=x' }));
      await store.putEvidence({ incidentId, actionId: null, source, contentType: 'application/json', collectedAt: new Date(base).toISOString(), rangeFrom: null, rangeTo: null, recordCount: values.length, note: `page ${p + 1}`, body });
      await keep(`${source}-${p}.json`, body);
    }
  };
  await pages('graph.signIns', counts.signIns, signIn);
  await pages('graph.directoryAudits', counts.audits, audit);
  // One accounting payload, streamed into the store and into the raw file at the same time.
  const accFile = path.join(dir, 'radius-detail.txt');
  const w = createWriteStream(accFile);
  async function* detail(): AsyncGenerator<Buffer> {
    const batch: string[] = [];
    for (let i = 0; i < counts.accounting; i++) {
      batch.push(detailRecord(i, base));
      if (batch.length === 2000 || i === counts.accounting - 1) {
        const b = Buffer.from(batch.join(''));
        batch.length = 0;
        if (!w.write(b)) await once(w, 'drain');
        rawBytes += b.length;
        yield b;
      }
    }
  }
  await store.putEvidenceStream({ incidentId, actionId: null, source: 'radius.accounting.detail', contentType: 'text/plain; charset=utf-8', collectedAt: new Date(base).toISOString(), rangeFrom: null, rangeTo: null, recordCount: counts.accounting, note: 'detail' }, detail());
  w.end();
  await once(w, 'finish');
  rawFiles.push(accFile);
  await store.close();
  return { url, incidentId, rawFiles, rawBytes, counts };
}

/** Child mode: one report (or verify) run; prints JSON with the wall time and this process's peak RSS. */
async function child(mode: string, url: string, incidentId: string): Promise<void> {
  const store = await openStore(url);
  const t0 = process.hrtime.bigint();
  let out = 0;
  if (mode === 'report') {
    const sink = new Writable({ write(chunk: Buffer, _e, cb) { out += chunk.length; cb(); } });
    await writeReport(store, incidentId, { customers: () => undefined, now: new Date() }, sink);
  } else {
    const r = await verifyIncident(store, incidentId);
    if (!r.ok) throw new Error('verify failed on untouched data');
    out = r.checked.bytes;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await store.close();
  process.stdout.write(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, out }));
}

function runChild(mode: string, url: string, incidentId: string): { ms: number; maxRssMiB: number; out: number } {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', mode, url, incidentId], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ms: number; maxRssMiB: number; out: number };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], process.argv[5]);
  const fraction = arg('fraction', 1);
  const runs = arg('runs', 3);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-bench-report-'));
  try {
    const t0 = Date.now();
    const s = await seed(dir, fraction);
    const seedS = (Date.now() - t0) / 1000;
    console.log(`busy day at fraction ${fraction}: ${s.counts.signIns} sign-ins, ${s.counts.audits} audit records, ${s.counts.accounting} accounting records; ` +
      `${(s.rawBytes / 1024 / 1024).toFixed(0)} MiB of raw payloads in ${s.rawFiles.length} payloads (seeded in ${seedS.toFixed(1)} s)`);
    const sha: number[] = [];
    const rep: Array<{ ms: number; maxRssMiB: number; out: number }> = [];
    const ver: Array<{ ms: number; maxRssMiB: number }> = [];
    for (let i = 0; i < runs; i++) {
      const a = process.hrtime.bigint();
      execFileSync('sha256sum', s.rawFiles, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 24 });
      sha.push(Number(process.hrtime.bigint() - a) / 1e6);
      rep.push(runChild('report', s.url, s.incidentId));
      ver.push(runChild('verify', s.url, s.incidentId));
    }
    const repMs = median(rep.map((r) => r.ms));
    const shaMs = median(sha);
    console.log(`sha256sum over the raw bytes : median ${shaMs.toFixed(0)} ms (${runs} runs)`);
    console.log(`report (streamed, to a sink): median ${repMs.toFixed(0)} ms, peak RSS ${Math.max(...rep.map((r) => r.maxRssMiB)).toFixed(0)} MiB, report ${(rep[0].out / 1024).toFixed(0)} KiB`);
    console.log(`ratio report / sha256sum     : ${(repMs / shaMs).toFixed(2)} (goal <= 3)`);
    console.log(`verify (re-hash + chain)     : median ${median(ver.map((r) => r.ms)).toFixed(0)} ms, peak RSS ${Math.max(...ver.map((r) => r.maxRssMiB)).toFixed(0)} MiB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
