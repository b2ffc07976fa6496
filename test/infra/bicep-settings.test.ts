import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadEnv } from '../../src/config/env';

/**
 * No Bicep compiler runs here, so infra/main.bicep is read as text and held against the code: the
 * variables production refuses to start without are derived from the real loadEnv (not listed by
 * hand), so a new requirement in src/config/env.ts fails this test until the deployment sets it.
 */
const root = join(__dirname, '..', '..');
const bicep = readFileSync(join(root, 'infra', 'main.bicep'), 'utf8');
const envSample = readFileSync(join(root, '.env.sample'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const exampleParameters = JSON.parse(readFileSync(join(root, 'infra', 'main.parameters.example.json'), 'utf8')) as {
  parameters: Record<string, { value?: unknown; reference?: unknown }>;
};

/** Variables that carry a credential: they may only ever be Key Vault references. */
const SECRETS = ['MicrosoftAppPassword', 'IR_API_TOKEN', 'ALERT_WEBHOOK_TOKEN', 'STORE_URL', 'MSP_GRAPH_CLIENT_SECRET'];
const looksSecret = (name: string) => /PASSWORD|SECRET|TOKEN$/i.test(name);
const KEY_VAULT_REFERENCE = /^'@Microsoft\.KeyVault\(SecretUri=\$\{vaultUri\}secrets\/\$\{(\w+)\}\/\)'$/;

/** The active (uncommented) variables of .env.sample, with their sample values ('' = unset). */
function sampleVariables(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of envSample.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1], m[2].trim());
  }
  return vars;
}

/** `var settings = [ ... ]`: one `{ name: '...', value: ... }` per line, value kept as Bicep source. */
function bicepSettings(): Map<string, string> {
  const block = /^var settings = \[\n([\s\S]*?)\n\]/m.exec(bicep);
  assert.ok(block, 'infra/main.bicep has `var settings = [` ... `]` (one setting per line)');
  const settings = new Map<string, string>();
  for (const line of block[1].split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('//')) continue;
    const m = /^\{ name: '([^']+)', value: (.+) \}$/.exec(t);
    assert.ok(m, `a setting line this test can read: ${t}`);
    assert.ok(!settings.has(m[1]), `${m[1]} is set once`);
    settings.set(m[1], m[2]);
  }
  return settings;
}

/** A Bicep single-quoted string without interpolation, as its value; undefined for expressions. */
function literal(expr: string): string | undefined {
  const m = /^'([^'$]*)'$/.exec(expr);
  return m ? m[1] : undefined;
}

/** Valid production values for the variables .env.sample leaves empty (tokens fresh and random). */
function exampleValue(name: string): string | undefined {
  const examples: Record<string, string> = {
    IR_MODE: 'production',
    MicrosoftAppId: '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
    MicrosoftAppPassword: 'value-resolved-from-the-vault',
    MicrosoftAppTenantId: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
    IR_TEAM_ID: '19:team@thread.tacv2',
    IR_CHANNEL_ID: '19:channel@thread.tacv2',
    IR_TENANT_ID: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
    IR_ADMIN_OBJECT_IDS: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    HOST: '0.0.0.0',
    PUBLIC_BASE_URL: 'https://irbot.example.net',
    ALERT_WEBHOOK_TOKEN: randomBytes(32).toString('base64'),
    IR_API_TOKEN: randomBytes(32).toString('base64'),
    STORE_URL: 'postgres://irbot@db.example.net:5432/irbot',
    CUSTOMERS_FILE: '/home/site/wwwroot/customers.yaml',
    SHIFTS_FILE: '/home/site/wwwroot/shifts.yaml',
    MSP_TENANT_ID: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
    MSP_GRAPH_CLIENT_ID: '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e',
    MSP_GRAPH_CLIENT_SECRET: 'value-resolved-from-the-vault',
    MSP_GRAPH_AUTHORITY_HOST: 'https://login.microsoftonline.com',
    MSP_GRAPH_BASE_URL: 'https://graph.microsoft.com',
    MSP_MAILBOX: 'soc@msp.example.net',
  };
  return examples[name];
}

const refuses = (env: Record<string, string>) => {
  try { loadEnv(env); return false; } catch { return true; }
};
const without = (env: Record<string, string>, name: string) => Object.fromEntries(Object.entries(env).filter(([k]) => k !== name));

/**
 * What production needs, as deployed: every .env.sample variable set (the Bicep's own literal values
 * where it has them, so MicrosoftAppType is the deployed one), minus those production refuses in that
 * company; then each variable whose removal alone makes loadEnv refuse is required.
 */
function deriveProduction(settings: Map<string, string>): { required: string[]; refusedWhenSet: string[] } {
  const full: Record<string, string> = {};
  for (const [name, sample] of sampleVariables()) {
    // A secret's deployed value is a vault reference, resolved only in Azure: use an example for it.
    const deployed = SECRETS.includes(name) ? undefined : literal(settings.get(name) ?? '');
    const value = deployed ?? (sample || exampleValue(name));
    assert.ok(value !== undefined, `.env.sample variable ${name} is empty: give it a valid example value in this test`);
    full[name] = value;
  }
  let baseline = full;
  const refusedWhenSet = refuses(full) ? Object.keys(full).filter((n) => !refuses(without(full, n))) : [];
  for (const n of refusedWhenSet) baseline = without(baseline, n);
  try {
    loadEnv(baseline);
  } catch (e) {
    assert.fail(`production refuses the deployed settings with every other variable set: ${(e as Error).message}`);
  }
  const required = Object.keys(baseline).filter((n) => refuses(without(baseline, n)));
  return { required, refusedWhenSet };
}

describe('infra/main.bicep: the deployment sets what production needs', () => {
  const settings = bicepSettings();

  it('sets every variable of .env.sample that loadEnv refuses production without', () => {
    const { required } = deriveProduction(settings);
    // The derivation works: an unconditional requirement is found.
    assert.ok(required.includes('MicrosoftAppId'), `derived: ${required.join(', ')}`);
    const missing = required.filter((n) => !settings.has(n));
    assert.deepEqual(missing, [], `production refuses to start without ${missing.join(', ')}, and the Bicep does not set it`);
  });

  it('sets nothing that production refuses (the MSP-wide alert token without its opt-in)', () => {
    const { refusedWhenSet } = deriveProduction(settings);
    const plain = Object.keys((exampleParameters.parameters.plainAppSettings?.value ?? {}) as object);
    const vaulted = ((exampleParameters.parameters.keyVaultAppSettings?.value ?? []) as { setting: string }[]).map((s) => s.setting);
    for (const n of refusedWhenSet) {
      assert.ok(!settings.has(n) && !plain.includes(n) && !vaulted.includes(n), `${n} is refused by production as configured, and set`);
    }
  });

  it('pins production explicitly and gives cards their public links', () => {
    assert.equal(literal(settings.get('IR_MODE') ?? ''), 'production');
    assert.equal(literal(settings.get('NODE_ENV') ?? ''), 'production');
    assert.ok(settings.has('PUBLIC_BASE_URL'), 'PUBLIC_BASE_URL (report links, feed URLs)');
    assert.match(settings.get('PUBLIC_BASE_URL')!, /^'https:\/\//);
    const appType = literal(settings.get('MicrosoftAppType') ?? '');
    assert.ok(appType, 'MicrosoftAppType is a literal');
    assert.match(bicep, new RegExp(`msaAppType: '${appType}'`), 'the Azure Bot registration has the app type the code is told');
  });

  it('makes every secret a Key Vault reference, never a literal', () => {
    for (const name of sampleVariables().keys()) {
      if (looksSecret(name) && name !== 'ALERT_WEBHOOK_TOKEN_MSP_WIDE') assert.ok(SECRETS.includes(name), `${name} looks like a secret: add it to SECRETS`);
    }
    let seen = 0;
    for (const [name, value] of settings) {
      if (!SECRETS.includes(name) && !looksSecret(name)) continue;
      assert.match(value, KEY_VAULT_REFERENCE, `${name} is a Key Vault reference`);
      seen++;
    }
    assert.ok(seen >= 3, 'the bot password, the API token and the store URL are set');
    // The customer and optional secrets: the loop builds only Key Vault references.
    assert.match(bicep, /var vaultSettings = \[for s in keyVaultAppSettings: \{\n\s*name: s\.setting\n\s*value: '@Microsoft\.KeyVault\(SecretUri=\$\{vaultUri\}secrets\/\$\{s\.secret\}\/\)'\n\}\]/);
    assert.match(bicep, /appSettings: concat\(settings, vaultSettings, extraSettings\)/);
    // No secret written anywhere else in the file: no name/value pair, no secure parameter default.
    for (const m of bicep.matchAll(/name: '(\w+)',\s*value: ('[^\n]*?') \}/g)) {
      if (SECRETS.includes(m[1]) || looksSecret(m[1])) assert.match(m[2], KEY_VAULT_REFERENCE, m[1]);
    }
    for (const m of bicep.matchAll(/@secure\(\)\s*\nparam (\w+) (\w+)([^\n]*)/g)) assert.equal(m[3].trim(), '', `secure parameter ${m[1]} has no default`);
    // The vault reference resolves with the identity that may read secrets.
    assert.match(bicep, /keyVaultReferenceIdentity: identity\.id/);
    assert.match(bicep, /principalId: identity\.properties\.principalId/);
    assert.match(bicep, /var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'/);
  });

  it('keeps the example parameters free of secrets', () => {
    const p = exampleParameters.parameters;
    assert.ok(p.postgresAdminPassword.reference && p.postgresAdminPassword.value === undefined, 'the PostgreSQL password comes from a vault');
    for (const key of Object.keys((p.plainAppSettings?.value ?? {}) as object)) {
      assert.ok(!SECRETS.includes(key) && !looksSecret(key), `${key} belongs in keyVaultAppSettings`);
    }
  });

  it('names in README "First deployment" every vault secret the operator must create', () => {
    const section = /### First deployment\n([\s\S]*?)(\n## |$)/.exec(readme);
    assert.ok(section, 'README has a "### First deployment" section');
    const created = new Set([...bicep.matchAll(/vaults\/secrets@[\d-]+' = \{\n\s*parent: vault\n\s*name: (\w+)/g)].map((m) => m[1]));
    let operatorSecrets = 0;
    for (const value of settings.values()) {
      const ref = KEY_VAULT_REFERENCE.exec(value);
      if (!ref || created.has(ref[1])) continue;
      const secretName = new RegExp(`^var ${ref[1]} = '([^']+)'`, 'm').exec(bicep);
      assert.ok(secretName, `the vault secret name ${ref[1]} is a variable`);
      assert.ok(section[1].includes(secretName[1]), `README tells the operator to create the vault secret ${secretName[1]}`);
      operatorSecrets++;
    }
    assert.ok(operatorSecrets >= 2, 'the bot password and the API token are written by the operator');
  });

  it('takes an instance out of rotation on /readyz, a route the server has', () => {
    assert.match(bicep, /healthCheckPath: '\/readyz'/);
    const server = readFileSync(join(root, 'src', 'server.ts'), 'utf8');
    assert.match(server, /server\.get\('\/readyz'/);
  });

  it('runs N instances (a parameter, default 3) without session affinity', () => {
    assert.match(bicep, /@minValue\(1\)\n@maxValue\(\d+\)\nparam instanceCount int = 3\n/);
    assert.match(bicep, /capacity: instanceCount/);
    assert.match(bicep, /clientAffinityEnabled: false/);
  });

  it('starts the compiled build with npm run start:prod on Node 20', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };
    assert.match(bicep, /appCommandLine: 'npm run start:prod'/);
    assert.match(pkg.scripts['start:prod'], /node .*dist\/src\/main\.js/);
    assert.ok(pkg.scripts.build, 'npm run build exists');
    assert.match(bicep, /linuxFxVersion: 'NODE\|20-lts'/);
    assert.match(pkg.engines.node, />=20/);
    assert.equal(literal(settings.get('SCM_DO_BUILD_DURING_DEPLOYMENT') ?? ''), 'false', 'the tested zip is deployed, not rebuilt');
  });

  it('names an API version on every resource, and has each piece the bot needs', () => {
    const lines = bicep.split('\n').filter((l) => /^resource\s/.test(l));
    const types: string[] = [];
    for (const l of lines) {
      const m = /^resource \w+ '([\w.]+\/[\w./]+)@(\d{4}-\d{2}-\d{2}(-preview)?)'( existing)? = /.exec(l);
      assert.ok(m, `resource line names its type and API version: ${l}`);
      types.push(m[1]);
    }
    for (const t of [
      'Microsoft.ManagedIdentity/userAssignedIdentities',
      'Microsoft.KeyVault/vaults',
      'Microsoft.Authorization/roleAssignments',
      'Microsoft.DBforPostgreSQL/flexibleServers',
      'Microsoft.DBforPostgreSQL/flexibleServers/databases',
      'Microsoft.Web/serverfarms',
      'Microsoft.Web/sites',
      'Microsoft.BotService/botServices',
      'Microsoft.BotService/botServices/channels',
    ]) assert.ok(types.includes(t), `${t} is deployed`);
    assert.match(bicep, /channelName: 'MsTeamsChannel'/);
    assert.match(bicep, /endpoint: 'https:\/\/\$\{publicHost\}\/api\/messages'/);
  });
});
