import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { verifyChain } from '../../src/domain/timeline-hash';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { ALEX, APPROVERS, createAlertIncident, testCustomer, testSecrets } from '../support/engine-fixtures';
import { CONTOSO } from '../../src/sandbox/contoso';
import { CRASH_PROCEDURE, crashActions } from '../support/engine-child';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';

/**
 * A release worker SIGKILLed between the unblock call and its recorded result (issue 14): the next
 * worker re-claims the inverse after its lease, re-reads the target, and the release ends
 * `released` with the unblock having reached the target once. Same harness as crash-safety.test.ts.
 */
const CHILD = path.join(__dirname, '../support/engine-child.ts');

class Counter {
  blocks = 0;
  unblocks = 0;
  blocked = new Set<string>();
  url = '';
  private server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ blocked: [...this.blocked], count: this.blocks }));
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ips = (JSON.parse(body) as { ips: string[] }).ips;
      if (req.url === '/unblock') { this.unblocks++; ips.forEach((ip) => this.blocked.delete(ip)); } else { this.blocks++; ips.forEach((ip) => this.blocked.add(ip)); }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, blocked: [...this.blocked] }));
    });
  });
  async listen() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

class Child {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly proc: ChildProcess;
  private exited: Promise<void>;
  constructor(env: Record<string, string>) {
    this.proc = fork(CHILD, [], { execArgv: ['--require', 'tsx/cjs'], env: { ...process.env, NODE_ENV: 'test', ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m) => this.messages.push(m as Record<string, unknown>));
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
  }
  async waitFor(ev: string, timeoutMs = 30_000) {
    return until(`the child to report ${ev}`, async () => {
      const err = this.messages.find((x) => x.ev === 'error');
      if (err) throw new Error(`child failed: ${String(err.message)}`);
      return this.messages.find((x) => x.ev === ev);
    }, timeoutMs);
  }
  async kill(signal: NodeJS.Signals) {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`release crash safety (${dialect}, a worker SIGKILLed mid-release and replaced)`, function () {
    this.timeout(90_000);
    let db: TestDatabase;
    let store: Store;
    let counter: Counter;
    const children: Child[] = [];

    before(async () => {
      db = await createTestDatabase(dialect);
      store = await openStore(db.url);
      counter = new Counter();
      await counter.listen();
    });
    after(async () => {
      for (const c of children.splice(0)) await c.kill('SIGKILL');
      await counter?.close();
      await store?.close();
      await db?.dispose();
    });

    it('killed after the unblock call, before its result is saved: the next worker finishes the release, the unblock reached the target once', async () => {
      const registry = new ActionRegistry(crashActions(counter.url, ''));
      const customer = testCustomer();
      // the bot's side: requests and votes, never runs anything (not started)
      const bot = new Engine({ store, registry, procedures: new ProcedureCatalog(parseProcedure(CRASH_PROCEDURE, 'crash.yaml', registry)), customers: () => customer, secrets: testSecrets, log: pino({ level: 'silent' }) });
      const spawn = (env: Record<string, string>) => {
        const c = new Child({ STORE_URL: db.url, COUNTER_URL: counter.url, LEASE_MS: '1500', ...env });
        children.push(c);
        return c;
      };
      const incidentId = await createAlertIncident(store, { subjectObjectId: CONTOSO.adele.objectId });
      const first = spawn({ INCIDENT_ID: incidentId, HOLD: 'unblock-after-call', WORKER_ID: 'first' });
      await first.waitFor('approval-requested');
      const block = (await store.listApprovals({ incidentId, status: 'pending' }))[0];
      assert.equal((await bot.decide({ approvalId: block.id, vote: 'approve', clicker: ALEX })).ok, true);
      await until('containment', async () => {
        const i = await store.getIncident(incidentId);
        return i?.status === 'contained' && (await store.getAction(`${incidentId}:after`))?.status === 'succeeded';
      });
      assert.deepEqual([...counter.blocked], ['203.0.113.7']);

      const r = await bot.requestRelease({ incidentId, reason: 'a new VPN egress', by: ALEX });
      assert.ok(r.ok, JSON.stringify(r));
      const gate = (await store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:release`)!;
      assert.equal((await bot.decide({ approvalId: gate.id, vote: 'approve', clicker: APPROVERS[0] })).ok, true);
      await first.waitFor('unblocked');
      await first.kill('SIGKILL');
      assert.equal(counter.unblocks, 1);
      assert.equal((await store.getAction(`${incidentId}:release-block`))!.status, 'running', 'the result was never saved');

      const second = spawn({ HOLD: '', WORKER_ID: 'second' });
      await second.waitFor('started');
      const released = await until('the release to end', async () => {
        const i = await store.getIncident(incidentId);
        return i?.status === 'released' ? i : undefined;
      });
      assert.equal(released.status, 'released');
      assert.equal(counter.unblocks, 1, 'the unblock reached the target exactly once');
      assert.deepEqual([...counter.blocked], []);
      const row = (await store.getAction(`${incidentId}:release-block`))!;
      assert.equal(row.status, 'succeeded');
      assert.equal(row.attempts, 2);
      assert.equal(row.result?.summary, 'already unblocked: 203.0.113.7', 'the second worker re-read the target instead of calling again');
      const timeline = await store.listTimeline(incidentId);
      assert.deepEqual(verifyChain(timeline), { ok: true });
      assert.equal(timeline.filter((e) => e.kind === 'incident.released').length, 1);
      assert.equal((await store.listApprovals({ incidentId })).filter((a) => a.status === 'approved' && a.actionId === `${incidentId}:release`).length, 1);
      await second.kill('SIGTERM');
    });
  });
}
