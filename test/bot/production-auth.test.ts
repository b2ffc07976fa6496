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

const refuseAll = new Proxy({}, { get: () => async () => ({ ok: false, reason: 'not in this test' }) }) as BotOperations;

/** In production mode (MicrosoftAppId set) every Teams request must carry a valid Bot Framework token. */
describe('production mode: /api/messages authenticates every request', () => {
  let store: Store;
  let server: Server;
  let base: string;

  before(async () => {
    store = await openStore('sqlite::memory:');
    const bot = createTeamsBot({
      mode: 'production', appId: '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', appPassword: 'not-a-real-secret', appType: 'SingleTenant',
      appTenantId: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a', channelName: 'sec-ir', botName: 'ir', store, queue: new SendQueue(),
      ops: refuseAll, customerName: (id) => id, log, workerId: 'test', access: { roles: async () => new Map(), isAdmin: async () => false },
    });
    const intake = new IntakeService({ store, customerByTenant: () => undefined, log });
    const intakeCredentials = new IntakeCredentials({ customers: [], secrets: new EnvFileSecretStore({}), store });
    server = createServer({ store, intake, log, intakeCredentials, apiToken: 'y'.repeat(20), messages: bot.handle, messagesNeedBearer: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  });

  const activity = {
    type: 'message', id: '1', text: '<at>ir</at> status', channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/emea/',
    from: { id: '29:x', aadObjectId: '00000000-0000-4000-8000-000000000020' }, recipient: { id: '28:bot' },
    conversation: { id: '19:sec-ir@thread.tacv2', isGroup: true },
  };

  for (const [what, headers] of [
    ['without a token', {}],
    ['with a forged token', { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiI2ZTFmMmEzYiJ9.' }],
  ] as const) {
    it(`refuses a message ${what} and stores nothing`, async () => {
      const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(activity) });
      assert.equal(res.status, 401);
      assert.equal(await store.getRef('teams:channel'), undefined);
    });
  }
});
