import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Server } from 'restify';
import { createTeamsBot } from '../../src/bot/teams-app';
import { SendQueue } from '../../src/bot/send-queue';
import { ROLE_UNCONFIRMED } from '../../src/bot/refusal-text';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { checkMemberGroups, type MspGraphSettings } from '../../src/connectors/graph/member-groups';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { IntakeCredentials } from '../../src/intake/intake-credentials';
import { IntakeService } from '../../src/intake/intake-service';
import { AccessControl } from '../../src/operations/access-control';
import { createBotOperations, type EvidenceOperations } from '../../src/operations/bot-operations';
import { MSP } from '../../src/sandbox/contoso';
import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import { createServer } from '../../src/server';
import type { Store } from '../../src/store/store';
import { startRecordedConnector, TEAM, cardText, type RecordedConnector } from '../support/bot-connector-recorder';
import { adaptiveCardText, cardActionInvoke, postActivity, textCommand } from '../support/bot-invoke';
import { ALEX, MEGAN, Recorder, RecordingNotifier, SkewClock, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';
import { uniqueId, withTestStores } from '../support/store-factory';

/**
 * At the HTTP edge, with the real wiring of main.ts: the bot over the engine, roles from
 * AccessControl, groups asked of the MSP tenant with Graph checkMemberGroups (the Graph emulator).
 * Megan approves for Contoso through its approvers' group and reads it through SOC analysts. She
 * is removed from the approvers' group: within the cache's 5 minutes her Approve is refused at
 * once, and nothing runs; her reads are still answered from the cache (counted at the emulator).
 */
const APPROVERS_GROUP = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const silent = pino({ level: 'silent' });
const unused = () => Promise.reject(new Error('evidence operations are not used by this test'));
const noEvidence: EvidenceOperations = { report: unused, verify: unused, handoff: unused, close: unused };

withTestStores((dialect, make) => {
  let store: Store;
  let graph: GraphEmulator;
  let connector: RecordedConnector;
  let server: Server;
  let port: number;
  let engine: Engine;
  let rec: Recorder;
  const customer = testCustomer({
    approvers: { objectIds: [ALEX.aadObjectId], groupIds: [APPROVERS_GROUP], twoPersonSteps: [] },
    readers: { objectIds: [], groupIds: [MSP.socAnalystsGroupId] },
  });

  const meganInMsp = () => graph.state.tenants.get(MSP.tenantId)!.users.get(MEGAN.aadObjectId)!;
  /** checkMemberGroups requests about Megan that Graph answered */
  const lookups = () => graph.state.requests.filter((r) => r.method === 'POST' && r.path === `/users/${MEGAN.aadObjectId}/checkMemberGroups` && r.status === 200).length;

  before(async function () {
    this.timeout(60_000);
    store = await make();
    graph = await startGraphEmulator({ port: 0, host: '127.0.0.1' });
    meganInMsp().memberOfGroupIds = [MSP.socAnalystsGroupId, APPROVERS_GROUP];
    connector = await startRecordedConnector();
    await store.putRef('teams:channel', connector.channelRef());
    const msp: MspGraphSettings = {
      tenantId: MSP.tenantId, clientId: MSP.clientId, credential: 'env:MSP_GRAPH_CLIENT_SECRET',
      authorityHost: graph.authorityHost, baseUrl: graph.url, caCertificateRef: 'env:SANDBOX_GRAPH_CA_PEM',
    };
    const secrets = new EnvFileSecretStore({ MSP_GRAPH_CLIENT_SECRET: MSP.clientSecret, SANDBOX_GRAPH_CA_PEM: graph.caPem });
    // as main.ts builds it (the default 5-minute cache)
    const access = new AccessControl({ customers: [customer], memberGroups: (o, g) => checkMemberGroups(msp, secrets, o, g), log: silent });
    rec = new Recorder();
    const registry = new ActionRegistry(testActions(rec));
    engine = new Engine({
      store, registry, procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)),
      customers: (id) => (id === customer.id ? customer : undefined),
      secrets: testSecrets, notifier: new RecordingNotifier(), clock: new SkewClock(), log: silent,
      workerId: `fresh-bot-${dialect}`, leaseMs: 5_000, retry: { maxAttempts: 4, baseMs: 1_000, capMs: 10_000 },
      groupMembership: access.groupMembership(),
    });
    const bot = createTeamsBot({
      mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store, queue: new SendQueue(),
      ops: createBotOperations({ engine, customers: { customers: [customer] } as never, evidence: noEvidence }),
      customerName: (id) => (id === customer.id ? customer.name : id), log: silent, workerId: `fresh-bot-${dialect}`, access,
    });
    const intake = new IntakeService({ store, customerByTenant: () => undefined, log: silent });
    const intakeCredentials = new IntakeCredentials({ customers: [], secrets, store });
    server = createServer({ store, intake, log: silent, intakeCredentials, apiToken: 'y'.repeat(20), messages: bot.handle });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await engine?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await connector?.close();
    await graph?.close();
  });

  /** `@ir <text>` in #sec-ir; the bot's answer to it */
  const say = async (text: string) => {
    const activity = textCommand({ text, from: MEGAN, serviceUrl: connector.serviceUrl, conversationId: TEAM.channelId }) as { id: string };
    const before = connector.calls.length;
    const r = await postActivity(port, activity);
    assert.ok(r.status < 300, `status ${r.status}`);
    const answers = connector.calls.slice(before).filter((c) => c.kind === 'reply' && (c.activity as { replyToId?: string }).replyToId === activity.id);
    assert.equal(answers.length, 1, `one answer to "${text}"`);
    return { text: String(answers[0].activity.text ?? ''), card: cardText(answers[0].activity) };
  };
  /** Megan clicks a button of the approval card; the card Teams shows her in answer */
  const click = async (verb: 'ir.approve' | 'ir.reject', approvalId: string) => {
    const r = await postActivity(port, cardActionInvoke({
      verb, data: { approvalId, reason: 'looks benign' }, from: MEGAN,
      serviceUrl: connector.serviceUrl, conversationId: `${TEAM.channelId};messageid=1`, replyToId: '1',
    }));
    assert.equal(r.status, 200);
    return adaptiveCardText(r.body?.value);
  };
  /** an incident of Contoso (`@ir contain` by Alex, an approver by object id) whose containment waits for approval */
  const awaitingApproval = async () => {
    const started = await engine.startForAccount({ customerId: customer.id, upn: `${uniqueId('lee').toLowerCase()}@contoso.com`, requestedBy: ALEX });
    assert.ok(started.ok);
    const id = started.incidentId;
    await engine.settle();
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((x) => x.actionId === `${id}:entra-contain`);
    assert.ok(ap);
    return { id, ap };
  };

  it('removed from the approvers\' group: her Approve and @ir approve within the TTL are refused, nothing runs; reads stay on the cache', async function () {
    this.timeout(60_000);
    const { id, ap } = await awaitingApproval();
    assert.match((await say('status')).card, new RegExp(id));
    assert.equal(lookups(), 1, 'the first read asked Graph');

    meganInMsp().memberOfGroupIds = [MSP.socAnalystsGroupId];
    assert.match((await say('status')).card, new RegExp(id), 'she still reads (a reader through SOC analysts)');
    assert.equal(lookups(), 1, 'a read within the TTL is answered from the cache');

    // the bot's command gate reads the (warm) cache; the engine asks Graph and refuses
    assert.equal((await say(`approve ${id} entra-contain`)).text, 'Not done: Megan Bowen is not an approver for Contoso');
    assert.equal(lookups(), 2);
    // the card comes back unchanged for everybody; she alone sees why, above it
    assert.match(await click('ir.approve', ap.id), /^Megan Bowen is not an approver for Contoso\n/);
    assert.match(await click('ir.reject', ap.id), /^Megan Bowen is not an approver for Contoso\n/);
    assert.equal(lookups(), 4, 'every vote asked Graph');

    const after = (await store.getApproval(ap.id))!;
    assert.equal(after.status, 'pending');
    assert.deepEqual(after.votes, [], 'no vote recorded');
    await engine.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0, 'nothing ran');

    // the votes' answers refreshed the cache: the gate now knows her as a reader, without asking
    assert.equal((await say(`approve ${id} entra-contain`)).text, "Not done: approve is for Contoso's approvers; you are one of its readers.");
    assert.match((await say('status')).card, new RegExp(id));
    assert.equal(lookups(), 4);
  });

  it('Graph throttled at the click: the card says the role could not be confirmed, no vote is recorded; then it passes', async function () {
    this.timeout(60_000);
    meganInMsp().memberOfGroupIds = [MSP.socAnalystsGroupId, APPROVERS_GROUP];
    const { id, ap } = await awaitingApproval();
    graph.injectFault('POST /users/*/checkMemberGroups', { status: 429, retryAfterSeconds: 1 });
    try {
      const card = await click('ir.approve', ap.id);
      assert.ok(card.startsWith(`${ROLE_UNCONFIRMED}\n`), card);
      assert.equal(ROLE_UNCONFIRMED, 'could not confirm your approver role with Microsoft Graph just now: try again (nothing was done)');
    } finally {
      graph.clearFaults();
    }
    const after = (await store.getApproval(ap.id))!;
    assert.equal(after.status, 'pending');
    assert.deepEqual(after.votes, []);
    await engine.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0);

    assert.match(await click('ir.approve', ap.id), /approved by Megan Bowen/i);
    assert.equal((await store.getApproval(ap.id))!.status, 'approved');
    await engine.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1, 'the containment ran once');
  });
});
