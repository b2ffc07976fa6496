import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import JSZip from 'jszip';
import { manifestCommandLists } from '../src/bot/commands';

/**
 * `npm run package`: writes the bot's `commandLists` into manifest/manifest.json from the command
 * declarations (src/bot/commands.ts), fills its `${{NAME}}` placeholders from the environment and
 * writes build/teams-ir-bot.zip with manifest.json, color.png and outline.png at the zip root
 * (the layout Teams admin center and sideloading expect).
 */

export const ROOT = path.resolve(__dirname, '..');
export const MANIFEST_DIR = path.join(ROOT, 'manifest');
export const DEFAULT_OUT = path.join(ROOT, 'build', 'teams-ir-bot.zip');
export const ICON_FILES = ['color.png', 'outline.png'] as const;

/** The sandbox bot's app id: the Playground config's bot is `28:<this>`. */
export const SANDBOX_BOT_ID = '4f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8';
export const SANDBOX_TEAMS_APP_ID = 'c8d7e6f5-a4b3-4c2d-9e1f-0a9b8c7d6e5f';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const HOSTNAME = /^(?=.{1,253}$)(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

interface Placeholder {
  env: string[];
  fallback: (pkgVersion: string) => string;
  valid: (v: string) => boolean;
  what: string;
}

function httpsUrl(v: string): boolean {
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Every placeholder the template may use, where its value comes from, and what a valid one is. */
export const PLACEHOLDERS: Record<string, Placeholder> = {
  BOT_ID: { env: ['BOT_ID', 'MicrosoftAppId'], fallback: () => SANDBOX_BOT_ID, valid: (v) => GUID.test(v), what: 'a GUID (the bot registration app id)' },
  TEAMS_APP_ID: { env: ['TEAMS_APP_ID'], fallback: () => SANDBOX_TEAMS_APP_ID, valid: (v) => GUID.test(v), what: 'a GUID' },
  APP_VERSION: { env: ['APP_VERSION'], fallback: (pkg) => pkg, valid: (v) => SEMVER.test(v), what: 'a semver version' },
  BOT_DOMAIN: { env: ['BOT_DOMAIN'], fallback: () => 'localhost', valid: (v) => HOSTNAME.test(v), what: 'a host name' },
  DEVELOPER_NAME: { env: ['DEVELOPER_NAME'], fallback: () => 'MSP SOC', valid: (v) => v.length > 0 && v.length <= 32 && !/[\u0000-\u001f]/.test(v), what: '1-32 printable characters' },
  DEVELOPER_URL: { env: ['DEVELOPER_URL'], fallback: () => 'https://msp.example/soc', valid: httpsUrl, what: 'an https URL' },
  PRIVACY_URL: { env: ['PRIVACY_URL'], fallback: () => 'https://msp.example/privacy', valid: httpsUrl, what: 'an https URL' },
  TERMS_URL: { env: ['TERMS_URL'], fallback: () => 'https://msp.example/terms', valid: httpsUrl, what: 'an https URL' },
};

export class ManifestConfigError extends Error {
  override name = 'ManifestConfigError';
}

/** Resolves placeholder values from env (first set variable wins), falling back to sandbox values. */
export function resolvePlaceholders(env: NodeJS.ProcessEnv, pkgVersion: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(PLACEHOLDERS)) {
    const fromEnv = p.env.find((k) => env[k] !== undefined && env[k] !== '');
    const value = fromEnv ? env[fromEnv]!.trim() : p.fallback(pkgVersion);
    if (!p.valid(value)) {
      throw new ManifestConfigError(`${fromEnv ?? name} must be ${p.what}; got ${JSON.stringify(value.slice(0, 80))}`);
    }
    out[name] = value;
  }
  return out;
}

/** Replaces `${{NAME}}` in the template text; any unknown or unresolved placeholder is an error. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const filled = template.replace(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    if (!(name in values)) throw new ManifestConfigError(`manifest placeholder \${{${name}}} has no value`);
    // Values land inside JSON strings: escape them as JSON would.
    return JSON.stringify(values[name]).slice(1, -1);
  });
  if (filled.includes('${{')) throw new ManifestConfigError('manifest has a malformed ${{...}} placeholder');
  return filled;
}

export const TEMPLATE_FILE = path.join(MANIFEST_DIR, 'manifest.json');

/** The template with its bot's `commandLists` replaced by the ones the declarations give. */
export function withDeclaredCommands(templateText: string): string {
  const t = JSON.parse(templateText) as { bots: Array<Record<string, unknown>> };
  t.bots[0].commandLists = manifestCommandLists();
  return `${JSON.stringify(t, null, 2)}\n`;
}

/** Rewrites manifest/manifest.json's commandLists from the declarations; true when it changed. */
export async function writeDeclaredCommands(file = TEMPLATE_FILE): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  const next = withDeclaredCommands(text);
  if (JSON.stringify(JSON.parse(next)) === JSON.stringify(JSON.parse(text))) return false;
  await writeFile(file, next);
  return true;
}

export async function buildManifest(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const template = withDeclaredCommands(await readFile(TEMPLATE_FILE, 'utf8'));
  return JSON.parse(fillTemplate(template, resolvePlaceholders(env, pkg.version))) as Record<string, unknown>;
}

export async function packageApp(opts: { outFile?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ outFile: string; manifest: Record<string, unknown> }> {
  const outFile = opts.outFile ?? DEFAULT_OUT;
  const manifest = await buildManifest(opts.env ?? process.env);
  const zip = new JSZip();
  // A fixed date keeps the zip byte-identical across runs with the same inputs.
  const date = new Date('2024-01-01T00:00:00Z');
  zip.file('manifest.json', JSON.stringify(manifest, null, 2) + '\n', { date });
  for (const icon of ICON_FILES) zip.file(icon, await readFile(path.join(MANIFEST_DIR, icon)), { date });
  const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, bytes);
  return { outFile, manifest };
}

if (require.main === module) {
  writeDeclaredCommands()
    // eslint-disable-next-line no-console
    .then((changed) => { if (changed) console.log('manifest/manifest.json: commandLists rewritten from src/bot/commands.ts'); })
    .then(() => packageApp())
    .then(({ outFile, manifest }) => {
      const bot = (manifest.bots as Array<{ botId: string }>)[0];
      // eslint-disable-next-line no-console
      console.log(`wrote ${path.relative(process.cwd(), outFile)} (manifest ${String(manifest.manifestVersion)}, bot ${bot.botId})`);
    })
    .catch((err: unknown) => {
      // eslint-disable-next-line no-console
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
