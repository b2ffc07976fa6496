import assert from 'node:assert/strict';
import { createTeamsBot } from '../../src/bot/teams-app';
import { SendQueue } from '../../src/bot/send-queue';
import { log } from '../../src/log';
import { startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { withTestStores } from '../support/store-factory';

/**
 * Removing a second card (left by a store outage, src/bot/teams-notifier.ts postOnce) through the real
 * Bot Framework client: DELETE /v3/conversations/{thread}/activities/{id} at the Bot Connector.
 */
withTestStores((_name, make) => {
  describe('TeamsChannel.remove: a card the bot posted is deleted through the Bot Connector', function () {
    this.timeout(30_000);
    let connector: RecordedConnector;
    beforeEach(async () => { connector = await startRecordedConnector(); });
    afterEach(async () => { await connector.close(); });

    it('deletes the new thread\'s root card and only it', async () => {
      const store = await make();
      await store.putRef('teams:channel', connector.channelRef());
      const bot = createTeamsBot({
        mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
        queue: new SendQueue({ minGapMs: 0, maxAttempts: 2 }),
        ops: {} as never, customerName: (id) => id, log, workerId: `replica-${Math.random()}`,
        access: { roles: async () => new Map(), isAdmin: async () => false },
      });
      const kept = await bot.channel.startThread({ text: 'IR-20261202-AAAA card' });
      const second = await bot.channel.startThread({ text: 'IR-20261202-AAAA card again' });
      await bot.channel.remove(second.conversationId, second.activityId);
      const deletes = connector.calls.filter((c) => c.kind === 'delete');
      assert.deepEqual(deletes.map((d) => [d.conversationId, d.activityId]), [[second.conversationId, second.activityId]]);
      assert.ok(connector.messages.has(kept.activityId), 'the kept card is still there');
      assert.ok(!connector.messages.has(second.activityId), 'the second card is gone');
    });
  });
});
