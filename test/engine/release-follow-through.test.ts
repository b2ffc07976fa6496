import assert from 'node:assert/strict';
import pino from 'pino';
import { z } from 'zod';
import type { ActionDef } from '../../src/connectors/types';
import type { Mailer, MailerFactory } from '../../src/connectors/mail/mailer';
import { TeamsNotifier } from '../../src/bot/teams-notifier';
import { releaseSection } from '../../src/evidence/release-section';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { createEvidenceActions, FOLLOW_UP_CISO_ACTION } from '../../src/evidence/actions';
import type { EmailDraft } from '../../src/evidence/ciso-email';
import type { CustomerConfig } from '../../src/config/customers';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ALEX, APPROVERS, createAlertIncident, Recorder, stopEnginesAndCancelLive, testActions, testCustomer, testEngine } from '../support/engine-fixtures';
import { releaseActions, withInverses } from '../support/release-fakes';

/**
 * The release's follow-through (issue 14): after the undos and release-classify, `release-ticket`
 * (ticket.update) and `release-ciso` (mail.followUpCiso, the real action: a draft on its own review
 * card, sent once) run; skipped with the reason when the customer has no ServiceNow. SQLite and PostgreSQL.
 */
withTestStores((dialect, make) => {
  let store: Store;
  let engines: Engine[] = [];
  let rec: Recorder;
  let ticketInputs: Array<Record<string, unknown>>;
  let sent: Array<{ subject: string; bodyText: string; to: string[] }>;
  let refuseMail = 0;
  let lastGateChanges: string[] = [];

  before(async () => { store = await make(); });
  beforeEach(() => { rec = new Recorder(); ticketInputs = []; sent = []; refuseMail = 0; });
  afterEach(() => stopEnginesAndCancelLive(store, engines));

  const fakeMailer: MailerFactory = (): Mailer => ({
    via: 'test', describe: () => 'test mailer', problems: () => [],
    async send(m) {
      if (refuseMail-- > 0) throw new Error('550 relay refused the message');
      sent.push({ subject: m.subject, bodyText: m.bodyText, to: [...m.to] }); return { raw: [], messageId: `<m${sent.length}@test>` }; },
  });
  // a recording ticket.update with the real one's name and input shape (the ServiceNow side is tested against the emulator)
  const ticketUpdate: ActionDef<Record<string, unknown>, unknown> = {
    name: 'ticket.update', risk: 'change', description: 'note the release on the ticket', input: z.object({}).passthrough(),
    async run(i) { ticketInputs.push(i); return { output: { noted: true }, summary: 'noted', raw: [] }; },
  };

  function engine(customer: CustomerConfig): Engine {
    const followUp = createEvidenceActions({ store, customers: () => customer, mailers: { [customer.mail.via]: fakeMailer } }).filter((d) => d.name === FOLLOW_UP_CISO_ACTION);
    const registry = new ActionRegistry(withInverses(testActions(rec)), releaseActions(rec, []), [ticketUpdate], followUp);
    const e = testEngine(store, registry, { customer, workerId: `follow-${dialect}-${engines.length}`, retry: { maxAttempts: 1 } });
    engines.push(e);
    return e;
  }

  async function releasedUpToCiso(e: Engine, reason: string): Promise<string> {
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    for (let i = 0; i < 10; i++) {
      await e.settle();
      const pending = await store.listApprovals({ incidentId: id, status: 'pending' });
      if (!pending.length) break;
      for (const p of pending) assert.equal((await e.decide({ approvalId: p.id, vote: 'approve', clicker: ALEX })).ok, true);
    }
    assert.equal((await store.getIncident(id))!.status, 'contained');
    const r = await e.requestRelease({ incidentId: id, reason, by: ALEX });
    assert.ok(r.ok, JSON.stringify(r));
    lastGateChanges = ((await store.getAction(`${id}:release`))!.preview as { changes: string[] }).changes;
    const gate = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release`)!;
    assert.equal((await e.decide({ approvalId: gate.id, vote: 'approve', clicker: APPROVERS[0] })).ok, true);
    await e.settle();
    return id;
  }

  const withServiceNow = () => testCustomer({ servicenow: { instanceUrl: 'https://contoso.service-now.com', usernameRef: 'env:SNOW_USER', passwordRef: 'env:SNOW_PASSWORD' } });

  it('after the classification: the ticket is noted, the CISO follow-up waits on its own card, is sent once on approval, then the incident is released', async () => {
    const e = engine(withServiceNow());
    const id = await releasedUpToCiso(e, 'travelling with a new phone');
    // the release card says what follows the undos
    assert.deepEqual(lastGateChanges.slice(-2), [
      'Note the release on ServiceNow SIR0010001 and set state 3, close code False Positive',
      `Draft a follow-up email to ${testCustomer().contacts.ciso.name} (CISO), for review on its own card before it is sent`,
    ]);
    assert.equal(ticketInputs.length, 1);
    assert.equal(ticketInputs[0].incidentId, id);
    assert.equal(ticketInputs[0].reason, 'travelling with a new phone');
    assert.equal(ticketInputs[0].classification, 'falsePositive');
    assert.equal(ticketInputs[0].releasedBy, APPROVERS[0].name);
    assert.ok((ticketInputs[0].undone as string[]).some((u) => /block group/.test(u)));
    assert.ok((ticketInputs[0].kept as string[]).some((k) => /password/i.test(k)), JSON.stringify(ticketInputs[0].kept));

    // the follow-up is a draft under review: nothing sent, the incident still releasing
    const ciso = (await store.getAction(`${id}:release-ciso`))!;
    assert.equal(ciso.status, 'awaiting_approval');
    const draft = (ciso.preview as { data: { draft: EmailDraft } }).data.draft;
    assert.match(draft.body, /The account .* was released on .*: a false positive\./);
    assert.match(draft.body, /Why: travelling with a new phone/);
    assert.match(draft.body, /What stays:\n- .*password/i);
    assert.equal(sent.length, 0);
    assert.equal((await store.getIncident(id))!.status, 'releasing');

    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === ciso.id)!;
    assert.ok(ap, 'the draft has its own approval');
    // shown in Teams as the same email draft card as the first CISO email: the draft in editable inputs
    const notifier = new TeamsNotifier({ store, channel: {} as never, customerName: () => 'Contoso', log: pino({ level: 'silent' }), workerId: 'cards' });
    const card = JSON.stringify(await notifier.approvalCard(ap.id));
    assert.match(card, /Email to send: Contoso's CISO/);
    assert.ok(card.includes(JSON.stringify(draft.body)), 'the body is an input value, exactly as it will be sent');
    const yes = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[1], edits: { subject: 'Released: false positive' } });
    assert.equal(yes.ok, true, JSON.stringify(yes));
    await e.settle();
    const after = (await store.getAction(ciso.id))!;
    assert.equal(sent.length, 1, `${after.status} ${after.error}`);
    assert.equal(sent[0].subject, 'Released: false positive', 'the approver\'s edit is what goes out');
    assert.equal((await store.getIncident(id))!.status, 'released');
    const statuses = Object.fromEntries((await store.listActions(id)).filter((a) => a.stepId.startsWith('release')).map((a) => [a.stepId, a.status]));
    assert.equal(statuses['release-ticket'], 'succeeded');
    assert.equal(statuses['release-ciso'], 'succeeded');

    // replays change nothing: no second note, no second email
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[2] ?? APPROVERS[0] })).ok, false);
    await e.settle();
    assert.equal(ticketInputs.length, 1);
    assert.equal(sent.length, 1);
  });

  it('no ServiceNow: release-ticket is skipped with the reason; a discarded follow-up still ends the release', async () => {
    const e = engine(testCustomer());
    const id = await releasedUpToCiso(e, 'cloud proxy');
    assert.ok(lastGateChanges.some((c) => /^No ServiceNow update: .* has no ServiceNow configured$/.test(c)), JSON.stringify(lastGateChanges));
    const ticket = (await store.getAction(`${id}:release-ticket`))!;
    assert.equal(ticket.status, 'skipped');
    assert.match(String(ticket.error), /has no ServiceNow configured/);
    assert.equal(ticketInputs.length, 0);
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release-ciso`)!;
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'reject', clicker: APPROVERS[0], reason: 'told them by phone' })).ok, true);
    await e.settle();
    assert.equal(sent.length, 0);
    const inc = (await store.getIncident(id))!;
    assert.equal(inc.status, 'released');
    // the report's release section lists the skipped step with its reason
    const section = releaseSection({ incident: inc, actions: await store.listActions(id), approvals: await store.listApprovals({ incidentId: id }), timeline: await store.listTimeline(id), evidence: await store.listEvidence(id) });
    assert.match(section, /release-ticket.*skipped: .* has no ServiceNow configured/);
  });

  it('a follow-up the mail server refused leaves the release releasing; @ir retry release-ciso puts a new draft card up, sent once', async () => {
    const e = engine(withServiceNow());
    const id = await releasedUpToCiso(e, 'new VPN egress');
    refuseMail = 1;
    const first = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release-ciso`)!;
    assert.equal((await e.decide({ approvalId: first.id, vote: 'approve', clicker: APPROVERS[0] })).ok, true);
    await e.settle();
    assert.equal((await store.getAction(`${id}:release-ciso`))!.status, 'failed');
    assert.equal((await store.getIncident(id))!.status, 'releasing');
    assert.equal(sent.length, 0);

    const r = await e.retry(id, 'release-ciso', ALEX);
    assert.equal(r.ok, true, JSON.stringify(r));
    await e.settle();
    assert.equal((await store.getAction(`${id}:release-ciso`))!.status, 'awaiting_approval', 'never sent without a fresh approval');
    const second = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release-ciso`);
    assert.ok(second && second.id !== first.id, 'a new approval round');
    assert.equal((await e.decide({ approvalId: second.id, vote: 'approve', clicker: APPROVERS[0] })).ok, true);
    await e.settle();
    assert.equal(sent.length, 1);
    assert.equal((await store.getIncident(id))!.status, 'released');
  });

  it('hostile reason text (CRLF header injection, HTML, markdown) stays inert plain text in the draft', async () => {
    const e = engine(withServiceNow());
    const reason = 'proxy\r\nBcc: attacker@evil.example\r\n\r\n<script>alert(1)</script> **[click](https://evil.example)**';
    const id = await releasedUpToCiso(e, reason);
    const draft = ((await store.getAction(`${id}:release-ciso`))!.preview as { data: { draft: EmailDraft } }).data.draft;
    assert.doesNotMatch(draft.body, /\r/);
    assert.equal(draft.body.split('\n').filter((l) => /^Bcc:/i.test(l)).length, 0, 'no line of its own');
    assert.ok(draft.body.includes('Why: proxy Bcc: attacker@evil.example <script>alert(1)</script> **[click](https://evil.example)**'));
    assert.deepEqual(draft.to, [testCustomer().contacts.ciso.email]);
    assert.doesNotMatch(draft.subject, /[\r\n]/);
  });
});
