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
import { ALEX, createAlertIncident, testCustomer, testSecrets } from '../support/engine-fixtures';
import { CONTOSO } from '../../src/sandbox/contoso';
import { CRASH_PROCEDURE, crashActions } from '../support/engine-child';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';

const CHILD = path.join(__dirname, '../support/engine-child.ts');

/** The far side of the destructive action: counts every block request it receives. */
class CounterServer {
  count = 0;
  blocked = new Set<string>();
  /** delay the response to the first block request (a call in flight when the worker dies) */
  delayFirstMs = 0;
  private server = http.createServer((req, res) => this.handle(req, res));
  private timers = new Set<NodeJS.Timeout>();
  url = '';

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url === '/state') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ blocked: [...this.blocked], count: this.count }));
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      this.count++;
      for (const ip of (JSON.parse(body) as { ips: string[] }).ips) this.blocked.add(ip);
      const delay = this.count === 1 ? this.delayFirstMs : 0;
      const t = setTimeout(() => {
        this.timers.delete(t);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, blocked: [...this.blocked] }));
      }, delay);
      this.timers.add(t);
    });
  }
}

class Child {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly proc: ChildProcess;
  private exited: Promise<void>;
  constructor(env: Record<string, string>) {
    this.proc = fork(CHILD, [], {
      execArgv: ['--require', 'tsx/cjs'],
      env: { ...process.env, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => this.messages.push(m as Record<string, unknown>));
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
  }
  async waitFor(ev: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const t0 = Date.now();
    for (;;) {
      const m = this.messages.find((x) => x.ev === ev);
      if (m) return m;
      const err = this.messages.find((x) => x.ev === 'error');
      if (err) throw new Error(`child failed: ${err.message}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`child never reported ${ev}; it said ${JSON.stringify(this.messages)}`);
      await sleep(20);
    }
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

type KillPoint = 'before approval' | 'between approval and the call' | 'during the call' | 'after the call, before the result is saved';
const POINTS: KillPoint[] = ['before approval', 'between approval and the call', 'during the call', 'after the call, before the result is saved'];

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine crash safety (${dialect}, a worker SIGKILLed and replaced)`, function () {
    this.timeout(60_000);
    let db: TestDatabase;
    let store: Store;
    let counter: CounterServer;
    let children: Child[] = [];
    let approver: Engine;

    before(async () => {
      db = await createTestDatabase(dialect);
      store = await openStore(db.url);
    });
    after(async () => {
      await store?.close();
      await db?.dispose();
    });
    beforeEach(async () => {
      counter = new CounterServer();
      await counter.listen();
      const registry = new ActionRegistry(crashActions(counter.url, ''));
      const customer = testCustomer();
      // The bot's side: records votes, never runs anything (not started).
      approver = new Engine({ store, registry, procedures: new ProcedureCatalog(parseProcedure(CRASH_PROCEDURE, 'crash.yaml', registry)), customers: () => customer, secrets: testSecrets, log: pino({ level: 'silent' }) });
    });
    afterEach(async () => {
      for (const c of children.splice(0)) await c.kill('SIGKILL');
      await counter.close();
      // leave nothing live for the next test's children
      for (const inc of await store.listIncidents({ open: true, limit: 1000 })) {
        for (const a of await store.listActions(inc.id)) {
          if (!['succeeded', 'failed', 'skipped', 'cancelled', 'rejected', 'expired'].includes(a.status)) await store.transitionAction(a.id, { from: [a.status], to: 'cancelled' });
        }
        await store.updateIncident(inc.id, { status: 'cancelled' });
      }
    });

    const spawn = (env: Record<string, string>) => {
      const c = new Child({ STORE_URL: db.url, COUNTER_URL: counter.url, LEASE_MS: '1500', ...env });
      children.push(c);
      return c;
    };
    const approve = async (incidentId: string) => {
      const ap = await until('the approval', async () => (await store.listApprovals({ incidentId, status: 'pending' }))[0]);
      const r = await approver.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
      assert.equal(r.ok, true, JSON.stringify(r));
    };

    for (const point of POINTS) {
      it(`killed ${point}: the next worker completes it and the destructive call reached the target once`, async () => {
        const incidentId = await createAlertIncident(store, { subjectObjectId: CONTOSO.adele.objectId });
        if (point === 'during the call') counter.delayFirstMs = 30_000;
        const hold = point === 'between approval and the call' ? 'before-call' : point === 'after the call, before the result is saved' ? 'after-call' : '';
        const first = spawn({ INCIDENT_ID: incidentId, HOLD: hold, WORKER_ID: 'first' });
        await first.waitFor('approval-requested');
        if (point !== 'before approval') await approve(incidentId);
        if (point === 'between approval and the call') await first.waitFor('before-call');
        if (point === 'during the call') await until('the call to arrive', async () => counter.count === 1);
        if (point === 'after the call, before the result is saved') await first.waitFor('called');
        await first.kill('SIGKILL');

        const second = spawn({ HOLD: '', WORKER_ID: 'second' });
        await second.waitFor('started');
        if (point === 'before approval') {
          // the approval survived the crash: the same card is still answerable
          assert.equal((await store.listApprovals({ incidentId })).length, 1);
          await approve(incidentId);
        }
        const incident = await until('containment', async () => {
          const i = await store.getIncident(incidentId);
          const after = await store.getAction(`${incidentId}:after`);
          return i?.status === 'contained' && after?.status === 'succeeded' ? i : undefined;
        });
        assert.equal(incident.status, 'contained');
        assert.equal(counter.count, 1, 'the destructive call reached the target exactly once');
        assert.deepEqual([...counter.blocked], ['203.0.113.7']);

        const block = (await store.getAction(`${incidentId}:block`))!;
        assert.equal(block.status, 'succeeded');
        const crashedMidRun = point !== 'before approval';
        assert.equal(block.attempts, crashedMidRun ? 2 : 1);
        if (point === 'during the call' || point === 'after the call, before the result is saved') {
          assert.equal(block.result?.summary, 'already blocked: 203.0.113.7', 'the second worker re-read the target instead of calling again');
        }
        const timeline = await store.listTimeline(incidentId);
        assert.deepEqual(verifyChain(timeline), { ok: true });
        const started = timeline.filter((e) => e.kind === 'step.started' && e.data.step === 'block');
        assert.equal(started.length, crashedMidRun ? 2 : 1, 'the intent of each attempt is on the timeline');
        if (crashedMidRun) assert.match(started[1].summary, /attempt 2; an earlier attempt may have reached the target/);
        assert.equal((await store.listApprovals({ incidentId })).filter((a) => a.status === 'approved').length, 1);
        await second.kill('SIGTERM');
      });
    }
  });
}
