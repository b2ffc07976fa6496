/**
 * `npm run alert -- [file.json | mdi] [--as-is]`: posts a Defender alert to the running bot's webhook.
 * Without a file it sends the bundled impossible-travel sample for Contoso's adele.vance, with a
 * fresh alert id and times just before now (so each run is a new alert); `--as-is` sends a file
 * unchanged (to see idempotency on a repeated alert id).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const asIs = args.includes('--as-is');
// `mdi`: Defender for Identity's alert on CONTOSO\adm-avance, with the SID the sandbox's Samba DC gave it
const named: Record<string, string> = { mdi: resolve(__dirname, '../test/fixtures/graph/alert-mdi-domain-admin.json') };
const fileArg = args.find((a) => !a.startsWith('--'));
const isNamed = !!fileArg && fileArg in named;
const file = (isNamed ? named[fileArg!] : fileArg) ?? resolve(__dirname, '../test/fixtures/graph/alert-impossible-travel.json');

function withSandboxSid(alert: Record<string, unknown>): Record<string, unknown> {
  const at = resolve(process.env.SANDBOX_DATA_DIR ?? 'data/sandbox', 'samba', 'adm-avance.json');
  let sid: string;
  try {
    sid = (JSON.parse(readFileSync(at, 'utf8')) as { sid: string }).sid;
  } catch {
    process.stderr.write(`note: ${at} not found (is the sandbox running with Samba?): the alert keeps the fixture's example SID\n`);
    return alert;
  }
  const evidence = (alert.evidence as Array<Record<string, unknown>>).map((e) => (e.userAccount ? { ...e, userAccount: { ...(e.userAccount as object), userSid: sid } } : e));
  return { ...alert, evidence };
}
const port = process.env.PORT ?? '3978';
const url = process.env.ALERT_URL ?? `http://localhost:${port}/api/alerts`;
const token = process.env.ALERT_WEBHOOK_TOKEN ?? 'sandbox-token';

function refresh(alert: Record<string, unknown>): Record<string, unknown> {
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const id = `da${Date.now()}_${randomBytes(4).toString('hex')}`;
  return {
    ...alert,
    id,
    providerAlertId: id,
    createdDateTime: at(2),
    lastUpdateDateTime: at(1),
    firstActivityDateTime: at(55),
    lastActivityDateTime: at(5),
  };
}

async function main() {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const body = isNamed ? refresh(fileArg === 'mdi' ? withSandboxSid(raw) : raw) : asIs || fileArg ? raw : refresh(raw);
  // In the sandbox, Defender first raises the alert in the emulated tenant (so the bot can read and
  // comment it); against a real deployment that route does not exist and is skipped.
  const raiseUrl = url.replace(/\/api\/alerts$/, '/sandbox/defender/alerts');
  const raised = await fetch(raiseUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).catch(() => undefined);
  if (raised && raised.status !== 201 && raised.status !== 404) process.stderr.write(`note: the sandbox did not raise the alert in its Defender (${raised.status} ${await raised.text()})\n`);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const text = await res.text();
  process.stdout.write(`${res.status} ${text}\n`);
  if (!res.ok) process.exit(1);
}

main().catch((e) => {
  process.stderr.write(`could not post the alert to ${url}: ${(e as Error).message}\n(is the bot running? npm start)\n`);
  process.exit(1);
});
