import assert from 'node:assert/strict';
import { createTeamsBot, type TeamsBot } from '../../src/bot/teams-app';
import { SendQueue } from '../../src/bot/send-queue';
import { SharedSendLimiter } from '../../src/bot/shared-send-limiter';
import type { Store } from '../../src/store/store';
import { log } from '../../src/log';
import { startRecordedConnector, TEAM, type RecordedConnector } from '../support/bot-connector-recorder';
import { withTestStores } from '../support/store-factory';

/**
 * Two replicas (two bots, each with its own Store instance on one database) send into one thread
 * through the real Bot Framework client, against a recorded Bot Connector that enforces Teams'
 * documented limits over every caller, as Teams does.
 */
withTestStores((_name, make) => {
  describe('Teams rate limits across replicas, through botbuilder against the enforcing recorder', function () {
    this.timeout(60_000);
    let connector: RecordedConnector;
    beforeEach(async () => { connector = await startRecordedConnector({ enforceLimits: true }); });
    afterEach(async () => { await connector.close(); });

    const replica = async (store: Store, shared: boolean): Promise<{ bot: TeamsBot; limiter?: SharedSendLimiter }> => {
      await store.putRef('teams:channel', connector.channelRef());
      const limiter = shared ? new SharedSendLimiter({ store }) : undefined;
      const bot = createTeamsBot({
        mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
        // each replica paces alone at 150 ms, as main.ts does; two of them together break 7/1 s and 8/2 s
        queue: new SendQueue({ minGapMs: 150, maxAttempts: 6, gate: limiter }),
        ops: {} as never, customerName: (id) => id, log, workerId: `replica-${Math.random()}`,
        access: { roles: async () => new Map(), isAdmin: async () => false },
      });
      return { bot, limiter };
    };
    const thread = `${TEAM.channelId};messageid=1700000000001`;
    const burst = (bots: TeamsBot[], each: number) => Promise.all(bots.flatMap((b, r) =>
      Array.from({ length: each }, (_, i) => b.channel.reply(thread, { text: `replica ${r} message ${i}` }))));

    it('with the shared limiter: every message delivered, no 429 at all, none early', async () => {
      const a = await make();
      const b = await make();
      const replicas = [await replica(a, true), await replica(b, true)];
      await burst(replicas.map((r) => r.bot), 8);
      assert.equal(connector.calls.filter((c) => c.kind === 'reply' && c.conversationId === thread).length, 16, 'all 16 delivered once');
      assert.deepEqual(connector.throttled, [], 'Teams never had to say 429');
      assert.deepEqual(connector.earlyRetries, []);
      assert.ok(replicas.every((r) => r.limiter!.stats.granted === 8));
      assert.ok(replicas.some((r) => r.limiter!.stats.waits > 0), 'the replicas did wait for each other');
    });

    it('without it (each replica pacing alone), the same burst draws 429s from the enforcing recorder; the retries still deliver every message', async () => {
      const a = await make();
      const b = await make();
      const replicas = [await replica(a, false), await replica(b, false)];
      await burst(replicas.map((r) => r.bot), 8);
      assert.equal(connector.calls.filter((c) => c.kind === 'reply' && c.conversationId === thread).length, 16, 'delivered after retries');
      assert.ok(connector.throttled.length > 0, 'Teams answered 429 to some');
      assert.ok(connector.throttled.every((t) => t.retryAfterMs >= 1000));
    });
  
    it('a failed send reaches its caller: the adapter\'s onTurnError does not swallow it (the queue and the sweep must see it)', async () => {
      const a = await make();
      const { bot } = await replica(a, true);
      await assert.rejects(bot.channel.update(thread, 'no-such-activity', { text: 'x' }), (e: { statusCode?: number }) => e.statusCode === 404);
    });
  });
});
