import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import {
  provisionSambaTemplate, pickLoopbackAddress, sambaUnavailableReason, startSambaDc, type SambaDc, type SambaTemplate,
} from '../../src/sandbox/samba/samba-dc';

/**
 * Test harness for the real Samba AD DC. Provisioning lives in src/sandbox/samba (the sandbox runs
 * the same DC); this only caches the provisioned template between runs and hands out copies.
 */
export { sambaUnavailableReason, type SambaDc, type SambaTemplate };

const CACHE = join(tmpdir(), 'teams-ir-bot-samba');
const SOURCES = ['samba-dc.ts', 'contoso-directory.ts', 'tls-material.ts'].map((f) => join(__dirname, '../../src/sandbox/samba', f));

let template: Promise<SambaTemplate> | undefined;

/**
 * The provisioned, seeded, stopped template: one per version of the provisioning code, kept in
 * the temp folder across runs (provisioning takes 10–35 s). Never started itself: DCs are copies.
 */
export function sambaTemplate(): Promise<SambaTemplate> {
  template ??= (async () => {
    const hash = createHash('sha256');
    for (const f of SOURCES) hash.update(readFileSync(f));
    const key = hash.digest('hex').slice(0, 16);
    mkdirSync(CACHE, { recursive: true });
    const pointer = join(CACHE, `${key}.json`);
    try {
      return JSON.parse(readFileSync(pointer, 'utf8')) as SambaTemplate;
    } catch { /* not provisioned yet */ }
    // A folder per process, published by an atomic rename: concurrent runs never share a half-made one.
    // Laid out as a sandbox data folder (<dir>/samba/template) so that startSandboxSamba can reuse it.
    const t = await provisionSambaTemplate(join(CACHE, `${key}-${process.pid}`, 'samba', 'template'));
    writeFileSync(`${pointer}.${process.pid}`, JSON.stringify(t), { mode: 0o600 });
    renameSync(`${pointer}.${process.pid}`, pointer);
    return t;
  })();
  return template;
}

/** A sandbox data folder whose samba/template is the test template (for startSandboxSamba). */
export async function sambaDataDir(): Promise<string> {
  const dir = (await sambaTemplate()).dir;
  if (!dir.endsWith('/samba/template')) throw new Error(`the test template ${dir} is not in a sandbox data folder layout`);
  return join(dir, '..', '..');
}

/** A fresh DC copied from the template, on its own loopback address (127.0.10.x upwards). */
export async function startTestDc(): Promise<SambaDc & { cleanup(): Promise<void> }> {
  const t = await sambaTemplate();
  const dir = await mkdtemp(join(tmpdir(), 'samba-dc-'));
  const ip = await pickLoopbackAddress('127.0.10.1');
  const dc = await startSambaDc(t, { dir, ip });
  return Object.assign(dc, {
    async cleanup() {
      await dc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/** A simple bind over LDAPS as `user` (UPN); resolves to undefined on success, else the LDAP error. */
export async function tryBind(dc: SambaDc, user: string, password: string): Promise<(Error & { code?: unknown }) | undefined> {
  const c = new Client({ url: `ldaps://${dc.ip}:636`, tlsOptions: { ca: [dc.caPem], servername: dc.servername }, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(user, password);
    return undefined;
  } catch (e) {
    return e as Error;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** An ldapts client bound as the domain Administrator, for test set-up the service account may not do. */
export async function adminClient(dc: SambaDc): Promise<Client> {
  const c = new Client({ url: `ldaps://${dc.ip}:636`, tlsOptions: { ca: [dc.caPem], servername: dc.servername }, timeout: 10_000 });
  await c.bind(`Administrator@${dc.template.dns}`, dc.template.adminPassword);
  return c;
}
