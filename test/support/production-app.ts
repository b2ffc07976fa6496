import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { startApp, type AppTestSeams, type RunningApp } from '../../src/main';
import { twoCustomers } from './customers-fixture';

/** Tokens and keys of the production-mode app: 32+ random characters, as production demands. */
export interface ProductionSecrets {
  apiToken: string;
  contosoToken: string;
  fabrikamToken: string;
  contosoHmac: string;
  fabrikamHmac: string;
  feedUser: string;
  feedPassword: string;
}

const random = () => randomBytes(24).toString('base64url');

/**
 * The whole bot in production mode (Bot Framework authentication on /api/messages, no sandbox),
 * in-process on a free port, with Contoso and Fabrikam each holding their own intake credentials
 * and a private SQLite store. Nothing here talks to Microsoft unless a request needs it.
 */
export async function startProductionApp(opts: {
  storeUrl?: string; parentDir?: string;
  /** more keys for Contoso's entry (e.g. a `procedure` of its own) */
  contoso?: Record<string, unknown>;
  /** files written beside the customers file first (name → text), e.g. that procedure */
  files?: Record<string, string>;
  /** startApp's test seams (e.g. an older build's migrations) */
  seams?: AppTestSeams;
} = {}): Promise<RunningApp & { dir: string; base: string; secrets: ProductionSecrets; dispose(): Promise<void> }> {
  const dir = await mkdtemp(path.join(opts.parentDir ?? os.tmpdir(), 'irbot-prod-'));
  const secrets: ProductionSecrets = {
    apiToken: random(), contosoToken: random(), fabrikamToken: random(), contosoHmac: random(), fabrikamHmac: random(),
    feedUser: 'contoso-feed', feedPassword: random(),
  };
  const customers = JSON.parse(JSON.stringify(twoCustomers({
    contoso: {
      intake: { webhookTokenRef: 'env:CONTOSO_WEBHOOK_TOKEN', hmacSecretRef: 'env:CONTOSO_HMAC' },
      threatFeed: { usernameRef: 'env:CONTOSO_FEED_USER', passwordRef: 'env:CONTOSO_FEED_PASSWORD' },
      ...opts.contoso,
    },
    fabrikam: { intake: { webhookTokenRef: 'env:FABRIKAM_WEBHOOK_TOKEN', hmacSecretRef: 'env:FABRIKAM_HMAC' } },
  })));
  // Graph points at a closed local port and its client secrets are left unset: a procedure the
  // engine starts fails at its first Graph step, at once, and never reaches Microsoft.
  for (const c of customers.customers) Object.assign(c.graph, { authorityHost: 'https://127.0.0.1:9', baseUrl: 'https://127.0.0.1:9', timeoutMs: 2000 });
  const customersFile = path.join(dir, 'customers.yaml');
  for (const [name, text] of Object.entries(opts.files ?? {})) await writeFile(path.join(dir, name), text);
  await writeFile(customersFile, stringify(customers));
  const app = await startApp({
    PATH: process.env.PATH,
    IR_MODE: 'production',
    MicrosoftAppId: '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
    MicrosoftAppPassword: random(),
    MicrosoftAppType: 'SingleTenant',
    MicrosoftAppTenantId: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
    IR_API_TOKEN: secrets.apiToken,
    CUSTOMERS_FILE: customersFile,
    STORE_URL: opts.storeUrl ?? `sqlite:${path.join(dir, 'ir.sqlite')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    CONTOSO_WEBHOOK_TOKEN: secrets.contosoToken,
    FABRIKAM_WEBHOOK_TOKEN: secrets.fabrikamToken,
    CONTOSO_HMAC: secrets.contosoHmac,
    FABRIKAM_HMAC: secrets.fabrikamHmac,
    CONTOSO_FEED_USER: secrets.feedUser,
    CONTOSO_FEED_PASSWORD: secrets.feedPassword,
  }, opts.seams);
  return {
    ...app,
    dir,
    base: `http://127.0.0.1:${app.port}`,
    secrets,
    dispose: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
