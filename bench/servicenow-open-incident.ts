/**
 * How much the idempotent ServiceNow path costs against the emulator on loopback:
 * openSecurityIncident (lookup, create, list attachments, upload) and its re-run (lookup, list),
 * each against a baseline of one bare authenticated POST to the Table API, measured in the same run.
 * Run: npx tsx bench/servicenow-open-incident.ts
 */
import pino from 'pino';
import { customerSchema } from '../src/config/customers';
import { EnvFileSecretStore } from '../src/config/secrets';
import type { ActionContext } from '../src/connectors/types';
import { openSecurityIncident } from '../src/connectors/servicenow/open-security-incident';
import { CONTOSO } from '../src/sandbox/contoso';
import { startServiceNowEmulator } from '../src/sandbox/servicenow/emulator';

const RUNS = 200;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(n: number, f: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await f(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

async function main(): Promise<void> {
  const snow = await startServiceNowEmulator();
  const customer = customerSchema.parse({
    id: 'contoso', name: 'Contoso', tenantId: CONTOSO.tenantId, domains: ['contoso.com'],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:X' } },
    contacts: CONTOSO.contacts, approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    servicenow: { instanceUrl: snow.url, usernameRef: 'env:U', passwordRef: 'env:P', requestedByEmail: CONTOSO.contacts.ciso.email },
  });
  const ctx = (id: string): ActionContext => ({
    customer, secrets: new EnvFileSecretStore({ U: CONTOSO.servicenow.username, P: CONTOSO.servicenow.password }),
    incidentId: id, idempotencyKey: id, mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date(),
  });
  const report = Buffer.alloc(64 * 1024, 'r');
  const input = (id: string) => ({ incidentId: id, shortDescription: 'Compromised account', description: 'x', reportName: 'report.md', reportBytes: report });
  const auth = `Basic ${Buffer.from(`${CONTOSO.servicenow.username}:${CONTOSO.servicenow.password}`).toString('base64')}`;

  // warm-up
  await time(20, (i) => openSecurityIncident(input(`WARM-${i}`), ctx(`WARM-${i}`)));

  const baseline = await time(RUNS, async () => {
    const r = await fetch(`${snow.url}/api/now/table/sn_si_incident`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ short_description: 'x' }) });
    await r.arrayBuffer();
  });
  const fresh = await time(RUNS, (i) => openSecurityIncident(input(`IR-B-${i}`), ctx(`IR-B-${i}`)));
  const rerun = await time(RUNS, (i) => openSecurityIncident(input(`IR-B-${i}`), ctx(`IR-B-${i}`)));
  await snow.close();

  const b = median(baseline);
  console.log(`servicenow bench (${RUNS} runs each, 64 KB report, emulator on loopback; emulator table grows to ~${RUNS * 2 + 20} rows)`);
  console.log(`  baseline: one bare POST /api/now/table      median ${b.toFixed(2)} ms`);
  console.log(`  openSecurityIncident, first run (4 calls)   median ${median(fresh).toFixed(2)} ms  (${(median(fresh) / b).toFixed(1)}x baseline)`);
  console.log(`  openSecurityIncident, re-run   (2 calls)    median ${median(rerun).toFixed(2)} ms  (${(median(rerun) / b).toFixed(1)}x baseline)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
