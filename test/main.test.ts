import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { stringify } from 'yaml';
import { startApp } from '../src/main';
import { sandboxCustomers } from '../src/sandbox/sandbox-customers';
import { writeSandboxCustomersFile } from '../src/sandbox/sandbox-customers-file';
import { twoCustomers } from './support/customers-fixture';

const REPO = path.resolve(__dirname, '..');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function nothingListens(host: string, port: number): Promise<void> {
  await assert.rejects(fetch(`http://${host}:${port}/api/incidents`, { signal: AbortSignal.timeout(5000) }), (e: Error & { cause?: { code?: string } }) => {
    assert.match(String(e.cause?.code ?? e.message), /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET/);
    return true;
  });
}

/** A complete production environment (fake but well-formed Bot Framework credentials, random tokens). */
function productionSource(dir: string, port: number): Record<string, string> {
  const customersFile = path.join(dir, 'customers.yaml');
  writeFileSync(customersFile, stringify(twoCustomers()));
  return {
    MicrosoftAppId: '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
    MicrosoftAppPassword: 'not-a-real-secret',
    MicrosoftAppTenantId: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
    ALERT_WEBHOOK_TOKEN: randomBytes(32).toString('base64'),
    ALERT_WEBHOOK_TOKEN_MSP_WIDE: 'true',
    IR_API_TOKEN: randomBytes(32).toString('base64'),
    CUSTOMERS_FILE: customersFile,
    STORE_URL: `sqlite:${path.join(dir, 'ir.sqlite')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  };
}

/** The mode decides what can reach the bot: tried through startApp, on real ports. */
describe('start-up: production by default, sandbox only when asked for', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'irbot-main-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a production-like start that lost MicrosoftAppId refuses, listens on nothing and opens no store', async () => {
    const port = await freePort();
    const { MicrosoftAppId: _lost, ...source } = productionSource(dir, port);
    await assert.rejects(startApp(source), (e: Error) => {
      assert.equal(e.name, 'ConfigError');
      assert.match(e.message, /^production mode needs MicrosoftAppId; the local sandbox is `npm start` \(IR_MODE=sandbox\)$/);
      return true;
    });
    await nothingListens('127.0.0.1', port);
    assert.ok(!existsSync(path.join(dir, 'ir.sqlite')), 'no store opened');
  });

  it('refuses a weak webhook or API token before anything listens', async () => {
    for (const [name, token] of [['ALERT_WEBHOOK_TOKEN', 'sandbox-token'], ['IR_API_TOKEN', 'x'.repeat(48)], ['IR_API_TOKEN', 'sandbox-token-sandbox-token-sandbox-token']]) {
      const port = await freePort();
      await assert.rejects(startApp({ ...productionSource(dir, port), [name]: token }), new RegExp(`environment variable ${name} must`));
      await nothingListens('127.0.0.1', port);
    }
    assert.ok(!existsSync(path.join(dir, 'ir.sqlite')), 'no store opened');
  });

  it('a sandbox refuses a customers file it did not generate, and listens on nothing', async () => {
    const port = await freePort();
    const dataDir = path.join(dir, 'sandbox');
    const file = path.join(dataDir, 'sandbox-customers.yaml');
    writeSandboxCustomersFile(dataDir, twoCustomers()); // creates the folder and a genuine file ...
    writeFileSync(file, stringify(twoCustomers())); // ... then the real customer list replaces it
    await assert.rejects(startApp({ IR_MODE: 'sandbox', CUSTOMERS_FILE: file, SANDBOX_DATA_DIR: dataDir, PORT: String(port), STORE_URL: `sqlite:${path.join(dir, 'ir.sqlite')}`, LOG_LEVEL: 'silent' }),
      /the sandbox runs only on its own generated customers file \(it does not start with the sandbox marker line\)/);
    await nothingListens('127.0.0.1', port);
    assert.ok(!existsSync(path.join(dir, 'ir.sqlite')), 'no store opened');
  });

  it('refuses the crash tests\' hold point (IR_CRASH_PAUSE) in production and in a sandbox not under test, before anything listens', async () => {
    const port = await freePort();
    await assert.rejects(startApp({ ...productionSource(dir, port), IR_CRASH_PAUSE: 'identity.contain:after-ad-disable' }),
      /^ConfigError: IR_CRASH_PAUSE is a crash-test hook: it works only with IR_MODE=sandbox and NODE_ENV=test; unset it$/);
    await nothingListens('127.0.0.1', port);
    assert.ok(!existsSync(path.join(dir, 'ir.sqlite')), 'no store opened');
    const dataDir = path.join(dir, 'sandbox');
    await assert.rejects(startApp({ IR_MODE: 'sandbox', NODE_ENV: 'development', IR_CRASH_PAUSE: 'identity.contain:after-ad-disable', SANDBOX_DATA_DIR: dataDir, PORT: String(port), STORE_URL: `sqlite:${path.join(dir, 'ir.sqlite')}`, LOG_LEVEL: 'silent' }),
      /^ConfigError: IR_CRASH_PAUSE is a crash-test hook: .*\(here IR_MODE=sandbox, NODE_ENV=development\)/);
    await nothingListens('127.0.0.1', port);
    assert.ok(!existsSync(dataDir), 'no emulator, DC or customers file started');
  });

  it('a sandbox refuses to listen beyond loopback', async () => {
    const port = await freePort();
    await assert.rejects(startApp({ IR_MODE: 'sandbox', HOST: '0.0.0.0', PORT: String(port), LOG_LEVEL: 'silent' }), /^ConfigError: HOST=0\.0\.0\.0: the sandbox listens on loopback only/);
    await nothingListens('127.0.0.1', port);
  });

  it('the sandbox listens on 127.0.0.1 only by default, unreachable from other addresses of this machine', async () => {
    const dataDir = path.join(dir, 'sandbox');
    const file = writeSandboxCustomersFile(dataDir, sandboxCustomers({ graphUrl: 'https://127.0.0.1:9', authorityHost: 'https://127.0.0.1:9', serviceNowUrl: 'http://127.0.0.1:9' }));
    const app = await startApp({
      IR_MODE: 'sandbox', CUSTOMERS_FILE: file, SANDBOX_DATA_DIR: dataDir, PORT: '0', SANDBOX_PLAYGROUND: 'false',
      STORE_URL: `sqlite:${path.join(dir, 'ir.sqlite')}`, LOG_LEVEL: 'silent', IR_QUIET_BANNER: 'true',
    });
    try {
      assert.equal(app.env.mode, 'sandbox');
      assert.equal(app.env.HOST, '127.0.0.1');
      const res = await fetch(`http://127.0.0.1:${app.port}/api/incidents`, { headers: { authorization: 'Bearer sandbox-token' } });
      assert.equal(res.status, 200);
      // From any other address of this machine the port is closed.
      const external = Object.values(os.networkInterfaces()).flat().filter((i) => i && !i.internal && i.family === 'IPv4').map((i) => i!.address);
      for (const address of external) await nothingListens(address, app.port);
    } finally {
      await app.close();
    }
  });

  it('a complete production start listens, authenticates Teams, and loads no sandbox module or dev-only package', async function () {
    this.timeout(60_000);
    const source = productionSource(dir, 0);
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'test/support/production-start-child.ts'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...source },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const nl = out.indexOf('\n');
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        void exited.then((code) => reject(new Error(`the production app exited (${code}) before it listened:\n${out}${stderr}`)));
      });
      const started = JSON.parse(line) as { port: number; mode: string; loaded: string[] };
      assert.equal(started.mode, 'production');
      assert.deepEqual(started.loaded, [], 'production loaded none of src/sandbox, pino-pretty, the Playground, radius, adaptivecards');
      const res = await fetch(`http://127.0.0.1:${started.port}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'status' }) });
      assert.equal(res.status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${started.port}/sandbox/defender/alerts`, { method: 'POST' })).status, 404, 'no sandbox route in production');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

/**
 * What production can load, read from the source: every static import reachable from src/main.ts
 * (type-only imports are erased; a require() inside a function is how sandbox mode loads src/sandbox/). None may
 * be under src/sandbox/, and every package must be a production dependency in package.json.
 */
describe('production import graph', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

  function staticImports(file: string): string[] {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const specs: string[] = [];
    // A require() inside a function body runs only when that code path does (main.ts loads
    // src/sandbox/ that way, in sandbox mode alone, as tsc compiles import()); one at module level always runs.
    const visit = (node: ts.Node, inFunction: boolean): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const c = node.importClause;
        const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
        if (!typeOnly) specs.push(node.moduleSpecifier.text);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
        specs.push(node.moduleSpecifier.text);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
        specs.push(node.moduleReference.expression.text);
      } else if (!inFunction && ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require' && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        specs.push(node.arguments[0].text);
      }
      const nested = inFunction || ts.isFunctionLike(node);
      ts.forEachChild(node, (child) => visit(child, nested));
    };
    visit(sf, false);
    return specs;
  }

  function resolveLocal(from: string, spec: string): string {
    const base = path.resolve(path.dirname(from), spec);
    for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (existsSync(candidate) && !candidate.endsWith(path.sep)) return candidate;
    throw new Error(`${path.relative(REPO, from)}: cannot resolve ${spec}`);
  }

  it('reaches no src/sandbox module and only production dependencies', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [path.join(REPO, 'src/main.ts')];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      if (!file.endsWith('.ts')) continue;
      for (const spec of staticImports(file)) {
        if (spec.startsWith('.')) queue.push(resolveLocal(file, spec));
        else if (!spec.startsWith('node:') && !builtinModules.includes(spec.split('/')[0])) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
    const rel = [...seen].map((f) => path.relative(REPO, f).split(path.sep).join('/'));
    assert.ok(rel.includes('src/engine/engine.ts') && rel.includes('src/bot/teams-app.ts'), 'the walk follows the real graph');
    assert.deepEqual(rel.filter((f) => f.startsWith('src/sandbox/') || f.startsWith('test/')), []);
    assert.deepEqual([...packages].filter((p) => !pkg.dependencies[p]), [], 'packages production imports that are not production dependencies');
    for (const dev of ['tsx', 'pino-pretty', '@microsoft/m365agentsplayground']) assert.ok(pkg.devDependencies[dev] && !pkg.dependencies[dev], `${dev} is a devDependency`);
  });
});
