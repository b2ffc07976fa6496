import assert from 'node:assert/strict';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { findUser } from '../../src/sandbox/graph/state';
import { openStore } from '../../src/store/open-store';
import type { ApprovalRecord, Store } from '../../src/store/store';
import { log } from '../../src/log';
import { startSandboxApp } from '../support/sandbox-app';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';
import { startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { cardActionInvoke, postActivity } from '../support/bot-invoke';
import { graphCounts, waitFor } from '../support/bot-world';
import { startCutProxy, type CutProxy } from '../support/tcp-cut-proxy';

/**
 * Issue 13, "a click while the store is down": the bot's PostgreSQL link is cut (a TCP relay that
 * drops every connection and refuses new ones: a restart or failover as one process sees it). An
 * Approve click that arrives then is answered 503 with Retry-After — Teams sends it again — and
 * /readyz says not ready; nothing is recorded. When the link is back the same click is taken, once.
 */
describe('bot HTTP edge: a click while the store is unreachable (postgres)', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let proxy: CutProxy;
  let connector: RecordedConnector;
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  let direct: Store;
  let approval: ApprovalRecord;
  let thread: { conversationId: string; activityId: string };

  const approve = () => postActivity(app.port, cardActionInvoke({
    verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex,
    serviceUrl: connector.serviceUrl, conversationId: thread.conversationId, replyToId: thread.activityId,
  }));
  const readyz = async () => (await fetch(`http://127.0.0.1:${app.port}/readyz`)).status;

  before(async () => {
    db = await createTestDatabase('postgres');
    const url = new URL(db.url);
    proxy = await startCutProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    connector = await startRecordedConnector();
    app = await startSandboxApp({ storeUrl: viaProxy.toString(), playground: false });
    direct = await openStore(db.url, { log });
    await app.store.putRef('teams:channel', connector.channelRef());
    const fired = await app.fireAlert();
    assert.equal(fired.status, 202);
    const incidentId = fired.body.incidentId;
    approval = await waitFor('the Entra approval', async () =>
      (await app.store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:entra-contain`), 60_000);
    const posted = await waitFor('the approval card posted', async () => {
      const v = await app.store.getState(`teams:approval:${approval.id}`);
      return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
    });
    thread = { conversationId: posted.conversationId, activityId: posted.activityId };
  });

  after(async () => {
    proxy?.restore();
    await app?.dispose();
    await direct?.close();
    await connector?.close();
    await proxy?.close();
    await db?.dispose();
  });

  it('answers 503 with Retry-After and records nothing; /readyz is not ready; once the store is back the same click is taken once', async () => {
    const adele = () => findUser(app.sandbox!.graph.state.tenants.get(CONTOSO.tenantId)!, CONTOSO.adele.upn)!;
    assert.equal(await readyz(), 200);

    proxy.cut();
    const refused = await approve();
    assert.equal(refused.status, 503, `HTTP ${refused.status} ${JSON.stringify(refused.body)}`);
    assert.equal((refused.body as unknown as { error?: { code?: string } })?.error?.code, 'store_unavailable');
    assert.equal(await readyz(), 503);
    const res = await fetch(`http://127.0.0.1:${app.port}/api/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(cardActionInvoke({ verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex, serviceUrl: connector.serviceUrl, conversationId: thread.conversationId, replyToId: thread.activityId })),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    const during = (await direct.getApproval(approval.id))!;
    assert.equal(during.status, 'pending', 'the refused click recorded no vote');
    assert.equal(during.votes.length, 0);

    proxy.restore();
    await waitFor('/readyz ready again', async () => (await readyz()) === 200, 30_000, 200);
    // Teams' retry of the same click
    const taken = await approve();
    assert.equal(taken.status, 200);
    assert.equal(taken.body?.type, 'application/vnd.microsoft.card.adaptive');
    const decided = (await direct.getApproval(approval.id))!;
    assert.equal(decided.status, 'approved');
    assert.equal(decided.votes.length, 1);
    const counts = await waitFor('the account disabled', async () => {
      const c = graphCounts(app.sandbox!.graph.state, adele().id);
      return c.disable >= 1 && c.passwordResets >= 1 ? c : undefined;
    }, 60_000);
    assert.equal(counts.disable, 1, 'disabled once');
  });
});
