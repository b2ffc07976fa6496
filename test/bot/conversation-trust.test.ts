import assert from 'node:assert/strict';
import { startSandboxApp } from '../support/sandbox-app';
import { startRecordedConnector, TEAM, cardText, type RecordedConnector } from '../support/bot-connector-recorder';
import { postActivity, textCommand, cardActionInvoke, type TeamsUser } from '../support/bot-invoke';
import { CONTOSO, FABRIKAM, PLAYGROUND_USERS } from '../../src/sandbox/contoso';

/**
 * The IR channel, roles and the subject rule at the HTTP edge: the whole app on a random port
 * (sandbox emulators, no Playground), real activities POSTed to /api/messages, the bot's answers
 * recorded by a stand-in Bot Connector.
 */
describe('Teams trust at /api/messages: pinned channel, roles, the subject never approves', function () {
  this.timeout(120_000);
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  let connector: RecordedConnector;
  const ALEX: TeamsUser = PLAYGROUND_USERS.alex;
  const MEGAN: TeamsUser = PLAYGROUND_USERS.megan;
  const ISAIAH: TeamsUser = { name: 'Isaiah Langer', aadObjectId: '00000000-0000-4000-8000-000000000023' };

  const install = (o: { from: TeamsUser; teamId: string; channelId: string; tenantId: string }) => ({
    type: 'installationUpdate', action: 'add', id: `i${Date.now()}`, channelId: 'msteams', serviceUrl: connector.serviceUrl,
    from: { id: `29:${o.from.aadObjectId}`, name: o.from.name, aadObjectId: o.from.aadObjectId },
    recipient: { id: TEAM.bot.id, name: TEAM.bot.name },
    conversation: { id: o.channelId, isGroup: true, conversationType: 'channel', tenantId: o.tenantId },
    channelData: { team: { id: o.teamId }, channel: { id: o.channelId, name: 'sec-ir' }, tenant: { id: o.tenantId } },
  });
  const say = async (from: TeamsUser, text: string, over: Record<string, unknown> = {}) => {
    const before = connector.calls.length;
    const activity = { ...textCommand({ text, from, serviceUrl: connector.serviceUrl, conversationId: TEAM.channelId }), ...over } as { id: string; conversation: { id: string } };
    const r = await postActivity(app.port, activity);
    assert.ok(r.status < 300, `status ${r.status}`);
    // The answers to this message (cards of incidents are posted alongside; they are not answers).
    return connector.calls.slice(before).filter((c) => c.kind === 'reply' && c.conversationId === activity.conversation.id && (c.activity as { replyToId?: string }).replyToId === activity.id);
  };
  const personal = (from: TeamsUser) => ({
    conversation: { id: `a:personal-${from.aadObjectId}`, conversationType: 'personal', tenantId: TEAM.tenantId },
    channelData: { tenant: { id: TEAM.tenantId } },
  });
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    connector = await startRecordedConnector();
    app = await startSandboxApp({ playground: false, env: { IR_MODE: 'sandbox' } });
  });
  after(async () => {
    await app?.dispose();
    await connector?.close();
  });

  it('an installation by someone who is neither admin nor approver pins nothing', async () => {
    await postActivity(app.port, install({ from: ISAIAH, teamId: TEAM.teamId, channelId: TEAM.channelId, tenantId: TEAM.tenantId }));
    assert.equal(await app.store.getRef('teams:channel'), undefined);
  });

  it('an approver\'s installation pins the channel once; another team or tenant never moves it', async () => {
    await postActivity(app.port, install({ from: ALEX, teamId: TEAM.teamId, channelId: TEAM.channelId, tenantId: TEAM.tenantId }));
    const pinned = await app.store.getRef('teams:channel');
    assert.equal(pinned?.channelId, TEAM.channelId);

    // Alex again, but in another team of the tenant and in another tenant: install, rename, message.
    const otherTeam = { teamId: '19:other-team@thread.tacv2', channelId: '19:other-sec-ir@thread.tacv2' };
    await postActivity(app.port, install({ from: ALEX, ...otherTeam, tenantId: TEAM.tenantId }));
    await postActivity(app.port, install({ from: ALEX, teamId: '19:foreign@thread.tacv2', channelId: '19:foreign-sec-ir@thread.tacv2', tenantId: CONTOSO.tenantId }));
    await postActivity(app.port, { ...install({ from: ALEX, ...otherTeam, tenantId: TEAM.tenantId }), type: 'conversationUpdate', action: undefined, channelData: { eventType: 'channelRenamed', team: { id: otherTeam.teamId }, channel: { id: otherTeam.channelId, name: 'sec-ir' }, tenant: { id: TEAM.tenantId } } });
    const inOtherTeam = await say(ALEX, 'status', { conversation: { id: otherTeam.channelId, isGroup: true, conversationType: 'channel', tenantId: TEAM.tenantId }, channelData: { team: { id: otherTeam.teamId }, channel: { id: otherTeam.channelId, name: 'sec-ir' }, tenant: { id: TEAM.tenantId } } });
    const foreign = await say(ALEX, 'status', { serviceUrl: 'https://attacker.example/', conversation: { id: '19:foreign-sec-ir@thread.tacv2', isGroup: true, conversationType: 'channel', tenantId: CONTOSO.tenantId }, channelData: { team: { id: '19:foreign@thread.tacv2' }, channel: { id: '19:foreign-sec-ir@thread.tacv2', name: 'sec-ir' }, tenant: { id: CONTOSO.tenantId } } });

    assert.deepEqual(await app.store.getRef('teams:channel'), pinned, 'the pinned reference, serviceUrl included, is unchanged');
    assert.equal(inOtherTeam.length, 1, 'one line in another team of the tenant');
    assert.match(JSON.stringify(inOtherTeam[0].activity), /only in #sec-ir/);
    assert.equal(inOtherTeam[0].activity.attachments, undefined, 'no card, no data');
    assert.equal(foreign.length, 0, 'nothing at all for another tenant');
  });

  it('a group chat gets one line saying why', async () => {
    const r = await say(ALEX, 'status', { conversation: { id: '19:chat@thread.v2', isGroup: true, conversationType: 'groupChat', tenantId: TEAM.tenantId }, channelData: { tenant: { id: TEAM.tenantId } } });
    assert.equal(r.length, 1);
    assert.match(String(r[0].activity.text), /not in group chats/);
  });

  it('someone who reads no customer gets one line and no data', async () => {
    await app.fireAlert();
    for (const cmd of ['status', 'incidents', `verify ${(await app.store.listIncidents({ limit: 1 }))[0].id}`]) {
      const r = await say(ISAIAH, cmd);
      assert.equal(r.length, 1, cmd);
      assert.equal(r[0].activity.attachments, undefined, cmd);
      assert.match(String(r[0].activity.text), /not a reader or approver of any customer/, cmd);
    }
  });

  it('a reader in a personal chat sees only the customers she reads (Megan: Contoso, through a group)', async () => {
    const now = new Date();
    await app.store.createIncident({
      id: 'IR-20260101-FABK', customerId: FABRIKAM.customerId, tenantId: FABRIKAM.tenantId, subjectUpn: 'megan.bowen@fabrikam.com', subjectObjectId: null,
      severity: 'high', title: 'Fabrikam incident', status: 'open', procedure: null, createdAt: now.toISOString(), data: {},
    }, []);
    const asMegan = await say(MEGAN, 'status', personal(MEGAN));
    assert.equal(asMegan.length, 1);
    const text = cardText(asMegan[0].activity);
    assert.match(text, /Contoso/);
    assert.doesNotMatch(text, /Fabrikam|IR-20260101-FABK/);
    const one = await say(MEGAN, 'status IR-20260101-FABK', personal(MEGAN));
    assert.match(String(one[0].activity.text), /No incident IR-20260101-FABK among your customers/);
    const asAlex = await say(ALEX, 'status', personal(ALEX));
    assert.match(cardText(asAlex[0].activity), /IR-20260101-FABK/, 'Alex approves for Fabrikam too');
  });

  it('a non-approver\'s contain is refused before anything is created or read', async () => {
    const incidents = (await app.store.listIncidents({ limit: 100 })).length;
    const graphCalls = app.sandbox!.graph.state.requests.length;
    const r = await say(MEGAN, 'contain lee.gu@contoso.com');
    assert.equal(r.length, 1);
    assert.match(String(r[0].activity.text), /contain is for Contoso's approvers; you are one of its readers/);
    assert.equal((await app.store.listIncidents({ limit: 100 })).length, incidents);
    // No call names the account (in its path or body). Other Graph traffic goes on in the background
    // and is not this command's: Megan's role through a group in the MSP tenant, the alert poller,
    // the earlier test's Fabrikam incident.
    const about = app.sandbox!.graph.state.requests.slice(graphCalls)
      .filter((q) => /lee\.gu/i.test(q.path) || /lee\.gu/i.test(JSON.stringify(q.body ?? null)));
    assert.deepEqual(about.map((q) => `${q.method} ${q.path}`), [], 'no Graph call about the account');
  });

  it('while the subject\'s object id is unknown, no vote is taken, not even an approver\'s', async () => {
    // An account Entra does not know: the lookup fails, so the object id stays unknown; the
    // containment steps wait for the lookup and are skipped; the CISO email still asks for approval.
    const r = await say(ALEX, 'contain ghost.user@contoso.com');
    const id = /IR-\d{8}-[A-Z0-9]{4}/.exec(String(r[0].activity.text))?.[0];
    assert.ok(id, String(r[0].activity.text));
    const pending = await waitFor('an approval request', async () => (await app.store.listApprovals({ incidentId: id!, status: 'pending' }))[0], 90_000);
    const inc = await app.store.getIncident(id!);
    assert.equal(inc?.subjectObjectId, null);
    for (const step of ['entra-contain', 'radius-disconnect', 'firewall-block']) {
      assert.notEqual((await app.store.getAction(`${id}:${step}`))?.status, 'awaiting_approval', `${step} never asks before the lookup`);
    }
    const click = await postActivity(app.port, cardActionInvoke({ verb: 'ir.approve', data: { approvalId: pending.id }, from: ALEX, serviceUrl: connector.serviceUrl, conversationId: `${TEAM.channelId};messageid=1` }));
    assert.equal(click.status, 200);
    assert.match(JSON.stringify(click.body), /object id of ghost\.user@contoso\.com is not known yet/);
    assert.equal((await app.store.getApproval(pending.id))?.status, 'pending');
  });
});
