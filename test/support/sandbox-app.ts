import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startApp, type RunningApp } from '../../src/main';

/**
 * The whole bot as `npm start` runs it (sandbox mode: emulators, FreeRADIUS NAS, Playground), but
 * in-process on free ports with a private store, so a test can read the emulators' state.
 */
export async function startSandboxApp(opts: { storeUrl?: string; playground?: boolean; env?: Record<string, string> } = {}): Promise<RunningApp & { dir: string; fireAlert(overrides?: Record<string, unknown>): Promise<{ status: number; body: { incidentId: string; created: boolean } }>; dispose(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-sandbox-'));
  const app = await startApp({
    ...process.env,
    IR_MODE: 'sandbox',
    MicrosoftAppId: '',
    CUSTOMERS_FILE: '',
    PORT: '0',
    HOST: '127.0.0.1',
    STORE_URL: opts.storeUrl ?? `sqlite:${path.join(dir, 'ir.sqlite')}`,
    SANDBOX_DATA_DIR: path.join(dir, 'sandbox'),
    SANDBOX_GRAPH_PORT: '0',
    SANDBOX_SERVICENOW_PORT: '0',
    SANDBOX_FORTIGATE_PORT: '0',
    SANDBOX_SWITCH_PORT: '0',
    SANDBOX_NAS_PORT: '0',
    PLAYGROUND_PORT: '0',
    SANDBOX_PLAYGROUND: opts.playground === false ? 'false' : 'true',
    IR_QUIET_BANNER: 'true',
    // the Samba DC only for the tests that ask for it (SANDBOX_SAMBA: 'true'): provisioning takes 10–35 s
    SANDBOX_SAMBA: 'false',
    ...opts.env,
  });
  const fireAlert = async (overrides: Record<string, unknown> = {}) => {
    const sample = JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8'));
    const now = Date.now();
    const body = {
      ...sample,
      id: `da${now}_${randomBytes(3).toString('hex')}`,
      createdDateTime: new Date(now - 120_000).toISOString(),
      lastUpdateDateTime: new Date(now - 60_000).toISOString(),
      ...overrides,
    };
    // Defender raises it in the emulated tenant, then the playbook posts it to the bot.
    const raised = await fetch(`http://127.0.0.1:${app.port}/sandbox/defender/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' },
      body: JSON.stringify(body),
    });
    if (raised.status !== 201) throw new Error(`the sandbox did not raise the alert: ${raised.status} ${await raised.text()}`);
    const res = await fetch(`http://127.0.0.1:${app.port}/api/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { incidentId: string; created: boolean } };
  };
  return {
    ...app,
    dir,
    fireAlert,
    dispose: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
