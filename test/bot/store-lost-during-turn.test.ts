import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { createTeamsBot } from '../../src/bot/teams-app';
import { SendQueue } from '../../src/bot/send-queue';
import { createServer } from '../../src/server';
import { IntakeService } from '../../src/intake/intake-service';
import { openStore } from '../../src/store/open-store';
import type { BotOperations } from '../../src/bot/operations';
import type { Store } from '../../src/store/store';
import { log } from '../../src/log';
import { IntakeCredentials } from '../../src/intake/intake-credentials';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { cardActionInvoke, postActivity, textCommand } from '../support/bot-invoke';
import { startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';

/**
 * A store lost in the middle of a turn (the ping before it answered; the vote's write did not):
 * the click is answered 503 with Retry-After so that Teams sends it again, never 200 for a vote
 * nobody recorded. Any other failure keeps botbuilder's own answer.
 */
describe('bot turn: the store lost during the turn', () => {
  let store: Store;
  let server: Server;
  let port: number;
  let failure: Error;
  let connector: RecordedConnector;

  before(async () => {
    store = await openStore('sqlite::memory:');
    connector = await startRecordedConnector();
    // installed in the SOC team's #sec-ir (as the e2e tests tell the store)
    await store.putRef('teams:channel', connector.channelRef());
    // Every operation fails the way the PostgreSQL driver does when its backend is terminated.
    const ops = new Proxy({}, { get: () => async () => { throw failure; } }) as BotOperations;
    const bot = createTeamsBot({
      mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store, queue: new SendQueue(),
      ops, customerName: (id) => id, log, workerId: 'test',
      access: { roles: async () => new Map([['contoso', 'approver' as const]]), isAdmin: async () => false },
    });
    const intake = new IntakeService({ store, customerByTenant: () => undefined, log });
    const intakeCredentials = new IntakeCredentials({ customers: [], secrets: new EnvFileSecretStore({}), store });
    server = createServer({ store, intake, log, intakeCredentials, apiToken: 'y'.repeat(20), messages: bot.handle });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    await connector.close();
  });

  const click = () => postActivity(port, cardActionInvoke({
    verb: 'ir.approve', data: { approvalId: 'apr-00000001' }, from: PLAYGROUND_USERS.alex,
    serviceUrl: connector.serviceUrl, conversationId: '19:sec-ir@thread.tacv2;messageid=1', replyToId: '1',
  }));

  it('answers 503 with the store_unavailable error when the turn lost the store', async () => {
    failure = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const r = await click();
    assert.equal(r.status, 503);
    assert.equal((r.body as unknown as { error?: { code?: string } })?.error?.code, 'store_unavailable');
  });

  it('a reply the Bot Connector cannot take (its serviceUrl refuses the connection) is no store loss: not 503', async () => {
    // Found by the HTTP-edge property test once botbuilder's client stopped retrying a POST: the
    // reply's ECONNREFUSED (a RestError) read as "the store is unreachable, send it again".
    const r = await postActivity(port, textCommand({ text: 'help', from: PLAYGROUND_USERS.alex, serviceUrl: 'http://127.0.0.1:9/', conversationId: '19:sec-ir@thread.tacv2;messageid=1' }));
    assert.notEqual(r.status, 503, JSON.stringify(r.body));
    assert.ok(r.status < 500, `answered ${r.status}`);
  });

  it('any other failure is not a 503 (the turn failed; sending it again would not help)', async () => {
    failure = new Error('a bug');
    const r = await click();
    // botbuilder's own answer to an invoke whose turn failed (onTurnError logged it), as before
    assert.equal(r.status, 501);
  });
});
