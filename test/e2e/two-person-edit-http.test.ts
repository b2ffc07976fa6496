import assert from 'node:assert/strict';
import path from 'node:path';
import { CONTOSO, MSP, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { sandboxCustomers } from '../../src/sandbox/sandbox-customers';
import { writeSandboxCustomersFile } from '../../src/sandbox/sandbox-customers-file';
import { startApp, type RunningApp } from '../../src/main';
import type { ApprovalRecord } from '../../src/store/store';
import { cardText } from '../support/bot-connector-recorder';
import { adaptiveCardText, cardActionInvoke, postActivity, type InvokeReply, type TeamsUser } from '../support/bot-invoke';
import { sampleAlert, startBotWorld, waitFor, type BotWorld } from '../support/bot-world';

/**
 * Issue 9, item 8 at the HTTP edge: in a two-person approval of the CISO email, the second approver's
 * edits must not ride on the first approver's vote for the old text. The whole app runs in-process
 * (sandbox mode, no Playground) on Contoso's emulators, with a customers file in which Alex Wilber
 * and Megan Bowen both approve for Contoso and notify-ciso needs two of them. Every click is a
 * Teams-shaped Action.Execute invoke POSTed to /api/messages carrying the card's input values, as
 * Teams sends them; the email goes out (or not) through the Graph emulator's sendMail.
 */
const ALEX: TeamsUser = PLAYGROUND_USERS.alex;
const MEGAN: TeamsUser = PLAYGROUND_USERS.megan;
const CONTAINMENT_STEPS = ['entra-contain', 'radius-disconnect', 'firewall-block'];

/** What Teams sends for a click: the action's data plus every input's value (as the person left it). */
function inputsOf(card: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.type === 'string' && o.type.startsWith('Input.') && typeof o.id === 'string') out[o.id] = typeof o.value === 'string' ? o.value : '';
    for (const v of Object.values(o)) if (v && typeof v === 'object') walk(v);
  };
  walk(card);
  return out;
}

function actionData(card: Record<string, unknown> | undefined, verb: string): Record<string, unknown> {
  const a = ((card?.actions as Array<Record<string, unknown>> | undefined) ?? []).find((x) => x.verb === verb);
  assert.ok(a, `the card has a ${verb} button:\n${adaptiveCardText(card)}`);
  return a.data as Record<string, unknown>;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`bot HTTP edge: a two-person CISO email edited by the second approver (${dialect})`, function () {
    this.timeout(180_000);
    let world: BotWorld;
    let app: RunningApp;
    let incidentId: string;
    let email: ApprovalRecord;
    let thread: { conversationId: string; activityId: string };

    const invoke = (verb: string, data: Record<string, unknown>, from: TeamsUser, at = thread) =>
      postActivity(app.port, cardActionInvoke({ verb, data, from, serviceUrl: world.connector.serviceUrl, conversationId: at.conversationId, replyToId: at.activityId }));
    const cardOf = (r: InvokeReply, what: string): Record<string, unknown> => {
      assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
      assert.equal(r.body?.statusCode, 200, `${what}: invoke statusCode`);
      assert.equal(r.body?.value?.type, 'AdaptiveCard', `${what}: answered with a card`);
      return r.body!.value as Record<string, unknown>;
    };
    /** An approver's client refreshes the card (their own view, with the inputs), then they click Send. */
    const send = async (who: TeamsUser, edits: Record<string, string> = {}) => {
      const view = cardOf(await invoke('ir.refresh', { approvalId: email.id }, who), `${who.name}'s view`);
      const shown = inputsOf(view);
      const r = await invoke('ir.approve', { ...actionData(view, 'ir.approve'), ...shown, ...edits }, who);
      return { shown, card: cardOf(r, `${who.name} clicks Send`) };
    };
    const postedRef = async (approvalId: string) => {
      const v = await app.store.getState(`teams:approval:${approvalId}`);
      return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
    };
    const outbox = () => world.graph.state.outbox.filter((m) => m.mailbox === MSP.mailbox);
    const emailAction = async () => (await app.store.getAction(`${incidentId}:notify-ciso`))!;

    before(async () => {
      world = await startBotWorld(dialect);
      // The sandbox's own customers file (same emulators), except that Megan Bowen also approves for
      // Contoso and the CISO email needs two different approvers.
      const generated = sandboxCustomers({
        graphUrl: world.graph.url,
        authorityHost: world.graph.authorityHost,
        serviceNowUrl: world.serviceNow.url,
        fortigate: { port: world.fortigate.port, hostKeySha256: world.fortigate.hostKeySha256 },
        nas: { coaPort: world.radius.nasPort },
        ...(world.radius.accountingDir ? { accounting: { kind: 'detail-local' as const, directory: world.radius.accountingDir } } : {}),
      });
      const customers = {
        ...generated,
        customers: generated.customers.map((c) => c.id !== CONTOSO.customerId ? c
          : { ...c, approvers: { ...c.approvers, objectIds: [ALEX.aadObjectId, MEGAN.aadObjectId], twoPersonSteps: ['notify-ciso'] } }),
      };
      const env = world.childEnv();
      assert.equal(writeSandboxCustomersFile(env.SANDBOX_DATA_DIR, customers), world.customersFile);

      app = await startApp({
        ...process.env,
        ...env,
        // the MSP mailbox the CISO email goes out from, in the same Graph emulator (as `npm start` sets it)
        MSP_TENANT_ID: MSP.tenantId,
        MSP_GRAPH_CLIENT_ID: MSP.clientId,
        MSP_GRAPH_CLIENT_SECRET: MSP.clientSecret,
        MSP_MAILBOX: MSP.mailbox,
        MSP_GRAPH_AUTHORITY_HOST: world.graph.authorityHost,
        MSP_GRAPH_BASE_URL: world.graph.url,
      });

      // Defender raises the alert in Contoso's tenant; the playbook posts it to the bot.
      const alert = sampleAlert();
      world.graph.state.tenants.get(CONTOSO.tenantId)!.alerts.set(String(alert.id), { ...alert, comments: [] });
      const res = await fetch(`http://127.0.0.1:${app.port}/api/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' },
        body: JSON.stringify(alert),
      });
      assert.equal(res.status, 202, await res.clone().text());
      incidentId = ((await res.json()) as { incidentId: string }).incidentId;

      // Alex approves each containment card as it is posted, until the CISO email waits for approval.
      const approved = new Map<string, string>();
      email = await waitFor('the CISO email approval', async () => {
        const pending = await app.store.listApprovals({ incidentId, status: 'pending' });
        const found = pending.find((a) => a.actionId === `${incidentId}:notify-ciso`);
        if (found) return found;
        for (const a of pending) {
          const at = a.id && !approved.has(a.id) ? await postedRef(a.id) : undefined;
          if (!at) continue;
          const card = cardOf(await invoke('ir.approve', { approvalId: a.id }, ALEX, at), `Alex approves ${a.actionId}`);
          assert.doesNotMatch(adaptiveCardText(card), /Not done/, adaptiveCardText(card));
          approved.set(a.id, a.actionId.split(':').pop()!);
        }
        return undefined;
      }, 150_000, 200);
      assert.deepEqual([...approved.values()].sort(), [...CONTAINMENT_STEPS].sort(), 'the three containment steps were approved');
      thread = (await waitFor('the email card posted', () => postedRef(email.id)))!;
    });

    after(async () => {
      await app?.close();
      await world?.close();
    });

    it('the second approver\'s edits void the first approval; the email that goes out is the edited one, approved by both', async () => {
      assert.equal(email.requiredApprovers, 2, 'notify-ciso needs two approvers');

      // 1. Alex sends the draft as shown: one vote of two, nothing sent.
      const alex1 = await send(ALEX);
      const drafted = { subject: alex1.shown.subject, body: alex1.shown.body };
      assert.ok(drafted.subject && drafted.body, `the card shows the draft: ${JSON.stringify(alex1.shown)}`);
      assert.match(adaptiveCardText(alex1.card), /Needs 2 different approvers; approved so far by: Alex Wilber/);
      let now = (await app.store.getApproval(email.id))!;
      assert.equal(now.status, 'pending');
      assert.deepEqual(now.votes.map((v) => v.approverName), ['Alex Wilber']);
      assert.equal(outbox().length, 0, 'nothing sent on one approval');
      const afterAlex = await app.store.listTimeline(incidentId);
      assert.deepEqual(afterAlex.filter((e) => e.kind === 'step.edited').map((e) => e.summary), [], 'sending the draft as shown is not an edit');
      assert.ok(afterAlex.some((e) => e.kind === 'approval.approve' && e.summary === 'Alex Wilber approved notify-ciso'), afterAlex.map((e) => e.summary).join('\n'));

      // 2. Megan edits the subject and the body, then sends: Alex's vote is void, still one of two.
      const subject = `[EDITED by Megan] ${drafted.subject}`.slice(0, 255);
      const body = `Megan's rewrite: Adele's account is disabled and the attacker's IP is blocked.\n\n${drafted.body}`;
      const megan = await send(MEGAN, { subject, body });
      const meganText = adaptiveCardText(megan.card);
      assert.match(meganText, /Earlier approvals were reset: Megan Bowen changed subject, body after Alex Wilber voted, so the edited version needs its own approvals\./, meganText);
      assert.match(meganText, /approved so far by: Megan Bowen(?!, Alex)/, meganText);
      assert.equal(inputsOf(megan.card).subject, subject, 'the card now shows the edited subject');
      now = (await app.store.getApproval(email.id))!;
      assert.equal(now.status, 'pending');
      assert.deepEqual(now.votes.map((v) => v.approverName), ['Megan Bowen'], "Alex's vote for the old text is void");
      assert.match(String(now.reason), /^Earlier approvals were reset: Megan Bowen changed subject, body after Alex Wilber voted/);
      const action = await emailAction();
      assert.equal(action.status, 'awaiting_approval');
      assert.equal((action.input as { subject?: string }).subject, subject, 'the edited subject is the proposal now');
      assert.equal(outbox().length, 0, 'nothing sent on one approval of the edited text');
      const reset = (await app.store.listTimeline(incidentId)).filter((e) => e.kind === 'approval.reset');
      assert.equal(reset.length, 1, 'the reset is on the timeline');
      assert.deepEqual((reset[0].data as { voided?: string[] }).voided, [ALEX.aadObjectId]);
      // everybody's copy of the card says so too
      await waitFor('the shared email card to show the reset', async () => /Earlier approvals were reset: Megan Bowen/.test(cardText(world.connector.messages.get(thread.activityId)?.activity)));

      // 3. Alex reads the edited draft and sends it unchanged: the inputs equal the proposal, so
      //    Megan's vote stands and Alex's second vote decides.
      const alex2 = await send(ALEX);
      assert.equal(alex2.shown.subject, subject, 'Alex was shown the edited subject');
      assert.equal(alex2.shown.body, body, 'Alex was shown the edited body');
      now = (await app.store.getApproval(email.id))!;
      assert.equal(now.status, 'approved', adaptiveCardText(alex2.card));
      assert.deepEqual(now.votes.map((v) => v.approverName), ['Megan Bowen', 'Alex Wilber'], 'both approved the edited text');
      assert.equal((await app.store.listTimeline(incidentId)).filter((e) => e.kind === 'approval.reset').length, 1, 'unchanged inputs reset nothing');

      await waitFor('the CISO email to be sent', async () => ['succeeded', 'failed'].includes((await emailAction()).status), 60_000);
      assert.equal((await emailAction()).status, 'succeeded', JSON.stringify((await emailAction()).error));
      const sent = outbox();
      assert.equal(sent.length, 1, 'one email sent');
      assert.equal(sent[0].message.subject, subject, "the email carries Megan's subject");
      assert.match(String((sent[0].message.body as { content?: string } | undefined)?.content), /Megan's rewrite: Adele's account is disabled/);
      await waitFor('the shared email card to say Sent', async () => /Sent \(approved by/.test(cardText(world.connector.messages.get(thread.activityId)?.activity)));
    });
  });
}
