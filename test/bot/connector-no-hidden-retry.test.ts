import assert from 'node:assert/strict';
import http from 'node:http';
import restify from 'restify';
import type { AddressInfo } from 'node:net';
import { createTeamsBot, type TeamsBot } from '../../src/bot/teams-app';
import { SendQueue, type QueueClock } from '../../src/bot/send-queue';
import { SharedSendLimiter } from '../../src/bot/shared-send-limiter';
import { ConnectorPipelineChangedError, removeHiddenWriteRetries } from '../../src/bot/connector-write-retries';
import { Roster } from '../../src/bot/roster';
import { conversationRateKey } from '../../src/bot/teams-rate-limits';
import type { Store } from '../../src/store/store';
import { log } from '../../src/log';
import { jsonBody } from '../../src/http/json-body';
import { postActivity } from '../support/bot-invoke';
import { TEAM } from '../support/bot-connector-recorder';
import { createTestDatabase, uniqueId, withTestStores, type TestDatabase } from '../support/store-factory';
import { openStore } from '../../src/store/open-store';

/**
 * botbuilder's ConnectorClient retries 429s (after their Retry-After) and 5xx on its own, inside
 * one call (src/bot/connector-write-retries.ts). These tests send through the real client against
 * a local HTTP server standing in for the Bot Connector and count every HTTP request it receives:
 * one per send-queue attempt, the 429's Retry-After recorded in the shared store, the card posted once.
 */

/** Virtual time for the queue and the limiter: a sleep moves the clock on at once. */
class SteppingClock implements QueueClock {
  t = Date.now();
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

interface Seen {
  method: string;
  path: string;
  /** the virtual clock when it arrived */
  at: number;
  status: number;
  /** the id of the message it created, for a successful POST */
  id?: string;
}

interface Scripted {
  status: number;
  headers?: Record<string, string>;
}

const MEMBER_OID = '00000000-0000-4000-8000-0000000000bb';

/** Answers the scripted responses first (in order, to writes only), then as the Bot Connector would. */
async function startScriptedConnector(clock: SteppingClock) {
  const seen: Seen[] = [];
  const script: Scripted[] = [];
  /** the same for reads (GET) */
  const readScript: Scripted[] = [];
  let next = 1;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://connector').pathname;
      const method = req.method ?? '';
      const scripted = method === 'GET' ? readScript.shift() : script.shift();
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}, id?: string) => {
        seen.push({ method, path, at: clock.now(), status, id });
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      if (scripted) return answer(scripted.status, { error: { code: String(scripted.status), message: 'scripted' } }, scripted.headers);
      const id = `17000000${next++}`;
      if (method === 'POST' && /\/v3\/conversations\/?$/.test(path)) return answer(201, { id: `${TEAM.channelId};messageid=${id}`, activityId: id }, {}, id);
      if (method === 'POST' && /\/activities(\/[^/]+)?\/?$/.test(path)) return answer(201, { id }, {}, id);
      if (method === 'GET' && /\/v3\/conversations\/[^/]+\/pagedmembers\/?$/.test(path)) {
        return answer(200, { members: [{ id: '29:member-megan', name: 'Megan Bowen', aadObjectId: MEMBER_OID }] });
      }
      if (method === 'PUT') return answer(200, { id: decodeURIComponent(path.split('/').pop() ?? '') });
      return answer(404, { error: { code: 'NotFound', message: `${method} ${path}` } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    serviceUrl,
    seen,
    script,
    readScript,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

withTestStores((_name, make) => {
  describe('the Bot Connector client makes one HTTP request per send attempt (no hidden retries)', function () {
    this.timeout(30_000);
    let clock: SteppingClock;
    let connector: Awaited<ReturnType<typeof startScriptedConnector>>;
    let holds: Array<{ key: string; until: number; requestsSoFar: number }>;
    let limiter: SharedSendLimiter;
    let bot: TeamsBot;
    let store: Store;

    beforeEach(async () => {
      clock = new SteppingClock();
      connector = await startScriptedConnector(clock);
      store = await make();
      holds = [];
      // The real store, with every Retry-After hold it is given noted (and the request count then).
      const recording: Pick<Store, 'takeSendSlot' | 'holdSendKey'> = {
        takeSendSlot: (keys, now) => store.takeSendSlot(keys, now),
        holdSendKey: async (key, until) => {
          holds.push({ key, until: until.getTime(), requestsSoFar: connector.seen.length });
          await store.holdSendKey(key, until);
        },
      };
      limiter = new SharedSendLimiter({ store: recording, clock, jitterMs: 0 });
      await store.putRef('teams:channel', { ...TEAM, bot: { ...TEAM.bot }, serviceUrl: connector.serviceUrl });
      bot = createTeamsBot({
        mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
        queue: new SendQueue({ minGapMs: 150, maxAttempts: 4, gate: limiter, clock }),
        ops: {} as never, customerName: (id) => id, log, workerId: uniqueId('w'),
        access: { roles: async () => new Map(), isAdmin: async () => false },
      });
    });
    afterEach(async () => { await connector.close(); });

    /** Checks one 429-then-success send: two requests, the hold between them, the retry after it. */
    const assertRetriedThroughTheStore = (conversationId: string, method: string) => {
      const writes = connector.seen.filter((s) => s.method === method);
      assert.deepEqual(writes.map((s) => s.status), [429, method === 'PUT' ? 200 : 201], 'one request answered 429, then exactly one retry');
      assert.equal(holds.length, 1, 'the 429 reached the send queue, which recorded it');
      assert.equal(holds[0].key, conversationRateKey(conversationId));
      assert.equal(holds[0].requestsSoFar, 1, 'the hold was recorded after the one request of the first attempt');
      assert.equal(holds[0].until, writes[0].at + 2000, 'held for the Retry-After: 2 s');
      assert.ok(writes[1].at >= holds[0].until, 'the retry came only after the hold ran out');
      assert.ok(clock.sleeps.some((ms) => ms >= 2000 - 150), 'the limiter waited the hold out (its store refused a slot until then)');
      assert.equal(limiter.stats.holds, 1);
      assert.equal(limiter.stats.granted, 2, 'both attempts took a slot in the store');
    };

    it('a reply answered 429 (Retry-After: 2): one request, the hold in the store, the card posted once', async () => {
      const thread = `${TEAM.channelId};messageid=${uniqueId('t')}`;
      connector.script.push({ status: 429, headers: { 'retry-after': '2' } });
      const id = await bot.channel.reply(thread, { text: 'first card' });
      assertRetriedThroughTheStore(thread, 'POST');
      assert.deepEqual(connector.seen.filter((s) => s.id).map((s) => s.id), [id], 'one card posted, and the reply returned its id');
      // The store itself holds the thread: another replica asking for a slot before the end is refused.
      const slot = await store.takeSendSlot([{ key: conversationRateKey(thread), windows: [{ windowMs: 1000, max: 100 }] }], new Date(holds[0].until - 1));
      assert.equal(slot.granted, false, 'the hold is in the shared store');
    });

    it('an update (PUT) answered 429: one request per attempt, retried through the store', async () => {
      const thread = `${TEAM.channelId};messageid=${uniqueId('t')}`;
      connector.script.push({ status: 429, headers: { 'retry-after': '2' } });
      await bot.channel.update(thread, '1700000000042', { text: 'updated card' });
      assertRetriedThroughTheStore(thread, 'PUT');
    });

    it('a new thread (createConversation) answered 429: one request per attempt, the thread created once', async () => {
      connector.script.push({ status: 429, headers: { 'retry-after': '2' } });
      const started = await bot.channel.startThread({ text: 'root card' });
      assertRetriedThroughTheStore(TEAM.channelId, 'POST');
      assert.deepEqual(connector.seen.filter((s) => s.id).map((s) => s.id), [started.activityId], 'one thread, the one returned');
    });

    for (const scripted of [{ status: 500 }, { status: 503, headers: { 'retry-after': '1' } }]) {
      it(`a posted card answered ${scripted.status}${scripted.headers ? ' with Retry-After' : ''} is not posted again by the client: one request, the error reaches the caller`, async () => {
        const thread = `${TEAM.channelId};messageid=${uniqueId('t')}`;
        connector.script.push(scripted);
        await assert.rejects(bot.channel.reply(thread, { text: 'maybe accepted' }), (e: { statusCode?: number }) => e.statusCode === scripted.status);
        assert.deepEqual(connector.seen.map((s) => [s.method, s.status]), [['POST', scripted.status]], 'exactly one request');
        assert.equal(holds.length, 0, 'not a throttle: nothing held');
      });
    }

    it('an update (PUT, idempotent) answered 500 is tried again by the client, and updated once; not a throttle, nothing held', async () => {
      const thread = `${TEAM.channelId};messageid=${uniqueId('t')}`;
      connector.script.push({ status: 500 });
      await bot.channel.update(thread, '1700000000043', { text: 'updated card' });
      assert.deepEqual(connector.seen.map((s) => [s.method, s.status]), [['PUT', 500], ['PUT', 200]]);
      assert.equal(holds.length, 0);
      assert.equal(limiter.stats.granted, 1, 'one send-queue attempt');
    });

  });
});

/** Not about the store: one fresh SQLite store, since the test needs a bot that has no channel pinned yet. */
describe('the Bot Connector client keeps its retries for reads', function () {
  this.timeout(30_000);
  let connector: Awaited<ReturnType<typeof startScriptedConnector>>;
  let database: TestDatabase;
  let store: Store;
  before(async () => {
    connector = await startScriptedConnector(new SteppingClock());
    database = await createTestDatabase('sqlite');
    store = await openStore(database.url);
  });
  after(async () => {
    await store.close();
    await database.dispose();
    await connector.close();
  });

  it('reads keep the client\'s retries (repeating a GET duplicates nothing): the team\'s member list answered 503 once is asked again', async () => {
    const admin = { id: '29:00000000-0000-4000-8000-0000000000aa', name: 'Admin', aadObjectId: '00000000-0000-4000-8000-0000000000aa' };
    const adminBot = createTeamsBot({
      mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
      queue: new SendQueue(), ops: {} as never, customerName: (id) => id, log, workerId: uniqueId('w'),
      access: { roles: async () => new Map(), isAdmin: async (oid) => oid === admin.aadObjectId },
    });
    const server = restify.createServer();
    server.post('/api/messages', jsonBody(), async (req: restify.Request, res: restify.Response) => { await adminBot.handle(req, res); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      connector.readScript.push({ status: 503, headers: { 'retry-after': '0' } });
      // An installation by an admin: the bot pins the channel, then lists the team's members (a GET
      // on the turn's ConnectorClient, GET /v3/conversations/{team}/pagedmembers).
      const r = await postActivity((server.address() as AddressInfo).port, {
        type: 'installationUpdate', action: 'add', id: uniqueId('i'), channelId: 'msteams', serviceUrl: connector.serviceUrl,
        from: admin, recipient: { ...TEAM.bot },
        conversation: { id: TEAM.channelId, isGroup: true, conversationType: 'channel', tenantId: TEAM.tenantId },
        channelData: { team: { id: TEAM.teamId }, channel: { id: TEAM.channelId, name: TEAM.channelName }, tenant: { id: TEAM.tenantId } },
      });
      assert.ok(r.status < 300, `status ${r.status}`);
      const lists = connector.seen.filter((x) => x.method === 'GET' && x.path.endsWith('/pagedmembers'));
      assert.deepEqual(lists.map((x) => x.status), [503, 200], 'the 503 was retried by the client');
      assert.equal(((await store.getRef('teams:channel')) as { channelId?: string } | undefined)?.channelId, TEAM.channelId, 'the channel was pinned');
      assert.equal((await new Roster(store).all())[MEMBER_OID]?.mri, '29:member-megan', 'and the member learnt from the retried read');
    } finally {
      server.close();
    }
  });
});

describe('removeHiddenWriteRetries on a client not built as expected', () => {
  it('throws a clear error instead of leaving the hidden retries in place', () => {
    assert.throws(() => removeHiddenWriteRetries({} as never), (e: Error) => e instanceof ConnectorPipelineChangedError && /hidden HTTP retries cannot be turned off/.test(e.message));
    const noRetryPolicy = { client: { pipeline: { getOrderedPolicies: () => [{ name: 'logPolicy' }], removePolicy: () => [], addPolicy: () => undefined } } };
    assert.throws(() => removeHiddenWriteRetries(noRetryPolicy as never), /no 'defaultRetryPolicy' in its pipeline/);
  });
});
