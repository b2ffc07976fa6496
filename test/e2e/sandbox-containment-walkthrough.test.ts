import assert from 'node:assert/strict';
import { findUser } from '../../src/sandbox/graph/state';
import { startSandboxApp } from '../support/sandbox-app';
import { openPlayground, type PlaygroundSession } from '../support/playground-driver';
import { CONTOSO } from '../../src/sandbox/contoso';

/**
 * The containment procedure end to end in the sandbox, through the Playground: fire the sample
 * alert, a non-approver's click is refused, Alex Wilber approves each card, and the emulators show
 * the account disabled and its sessions revoked, the NAS asked to disconnect, the FortiGate holding
 * the attacker's IP in its block group with the VPN session gone, and the feed listing the IP.
 */
describe('sandbox end to end: containment walkthrough with approvals (Playground, headless Chromium)', function () {
  this.timeout(240_000);
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  let ui: PlaygroundSession;
  let incidentId: string;

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) {
        const steps = (await app.store.listActions(incidentId)).map((a) => `${a.stepId}=${a.status}${a.error ? ` (${a.error})` : ''}`);
        throw new Error(`timed out waiting for ${what}; steps: ${steps.join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const stepStatus = async (stepId: string) => (await app.store.getAction(`${incidentId}:${stepId}`))?.status;

  before(async () => {
    app = await startSandboxApp();
    ui = await openPlayground(app.playgroundUrl!, { viewport: { width: 1400, height: 2000 } });
    await ui.selectChannel('sec-ir');
    await waitFor('the bot to learn #sec-ir', () => app.store.getRef('teams:channel'));
    const r = await app.fireAlert();
    incidentId = r.body.incidentId;
    await ui.waitForText(incidentId, 20_000);
  });

  after(async () => {
    await ui?.close();
    await app?.dispose();
  });

  it('posts one Approve/Reject card for Entra that names the account, tenant and counts', async () => {
    await waitFor('the Entra approval', async () => (await stepStatus('entra-contain')) === 'awaiting_approval');
    const card = ui.findCard(/Approval needed: Contain the account where it lives/);
    await card.waitFor({ timeout: 20_000 });
    const text = await card.innerText();
    assert.match(text, /adele\.vance@contoso\.com/);
    assert.match(text, new RegExp(CONTOSO.tenantId));
    assert.match(text, /Global Administrator/);
    assert.match(text, /Revoke .*\d+ session/i);
  });

  it('refuses Megan Bowen (not an approver) in her own view and records the attempt', async () => {
    await ui.switchUser('Megan Bowen');
    await ui.clickCardButton(/Approval needed: Contain the account where it lives/, 'Approve');
    await ui.waitForText(/Megan Bowen is not an approver/, 15_000);
    assert.equal(await stepStatus('entra-contain'), 'awaiting_approval');
    const tl = await app.store.listTimeline(incidentId);
    assert.ok(tl.some((e) => e.kind === 'approval.refused' && /Megan Bowen/.test(e.summary)));
    await ui.switchUser('Alex Wilber');
  });

  it('Alex Wilber approves each destructive step; each runs once and its card shows the outcome', async () => {
    for (const [stepId, title] of [['entra-contain', 'Contain the account where it lives'], ['radius-disconnect', 'Disconnect'], ['firewall-block', 'Block']] as const) {
      await waitFor(`${stepId} awaiting approval`, async () => (await stepStatus(stepId)) === 'awaiting_approval', 60_000);
      const card = ui.findCard(new RegExp(`Approval needed: ${title}`));
      await card.waitFor({ timeout: 20_000 });
      await ui.clickCardButton(new RegExp(`Approval needed: ${title}`), 'Approve');
      await waitFor(`${stepId} to succeed`, async () => (await stepStatus(stepId)) === 'succeeded', 60_000);
    }
    await ui.waitForText(/Approved by Alex Wilber/, 15_000);
  });

  it('leaves the emulators in the contained state', async () => {
    const sb = app.sandbox!;
    // Entra: disabled, sessions revoked, password reset
    const adele = findUser(sb.graph.state.tenants.get(CONTOSO.tenantId)!, CONTOSO.adele.upn)!;
    assert.equal(adele.accountEnabled, false, 'account disabled');
    assert.ok(Date.parse(adele.signInSessionsValidFromDateTime) > Date.now() - 5 * 60_000, 'sessions revoked just now');
    assert.deepEqual(adele.passwordProfile, { forceChangePasswordNextSignIn: true, passwordSet: true }, 'password reset with forced change');
    assert.equal(sb.graph.state.revocations.filter((r) => r.userId === adele.id).length, 1, 'revoked exactly once');
    // FortiGate: the attacker's IP is in the block group, the VPN web session is gone
    const fgt = sb.fortigate.received.join('\n');
    assert.match(fgt, /append member "IR-203\.0\.113\.7"/);
    assert.match(fgt, /del-(web|tunnel)/);
    assert.ok(!sb.fortigate.received.some((l) => l.includes('198.51.100.23')), 'the Lisbon egress IP is never blocked');
    // threat feed
    const feed = await fetch(`http://127.0.0.1:${app.port}/feeds/contoso/blocklist.txt`, { headers: { authorization: `Basic ${Buffer.from('contoso:sandbox-feed').toString('base64')}` } });
    assert.equal(feed.status, 200);
    assert.match(await feed.text(), /^203\.0\.113\.7 /m);
    // RADIUS: every session disconnected (ACK from the NAS) and kept as evidence
    const disconnect = await app.store.getAction(`${incidentId}:radius-disconnect`);
    assert.match(JSON.stringify(disconnect?.result), /disconnected/);
    const evidence = await app.store.listEvidence(incidentId);
    assert.ok(evidence.some((e) => e.source.startsWith('radius')), 'CoA request/reply kept as evidence');
    // the incident is contained, and the timeline card says so
    await waitFor('contained', async () => (await app.store.getIncident(incidentId))?.status === 'contained');
    await ui.waitForText(new RegExp(`${incidentId} · Contoso · HIGH · contained`), 15_000);
  });

  it('writes the forensic report, opens one ServiceNow security incident with it attached, and notes the ticket on the Defender alert', async () => {
    await waitFor('the report', async () => (await stepStatus('forensic-report')) === 'succeeded', 60_000);
    await waitFor('the ticket', async () => (await stepStatus('ir-ticket')) === 'succeeded', 60_000);
    const snow = app.sandbox!.serviceNow.state;
    const records = snow.records.get('sn_si_incident') ?? [];
    assert.equal(records.length, 1, 'one security incident');
    assert.equal(records[0].severity, '1');
    assert.equal(records[0].correlation_id, incidentId);
    assert.equal(snow.attachments.length, 1, 'one attachment');
    assert.match(snow.attachments[0].bytes.toString('utf8'), new RegExp(`# Forensic report`));
    const inc = await app.store.getIncident(incidentId);
    const ticket = (inc!.data.ticket as { number: string }).number;
    await ui.waitForText(new RegExp(ticket), 15_000);
    // the report link in the thread works without the operator token (signed), and not without its signature
    const reportStep = await app.store.getAction(`${incidentId}:forensic-report`);
    const link = /https?:\/\/\S+\/reports\/\S+/.exec(String((reportStep!.result as { summary?: string }).summary))![0];
    const dl = await fetch(link);
    assert.equal(dl.status, 200);
    assert.match(await dl.text(), /SHA-256/);
    assert.equal((await fetch(link.replace(/sig=[^&]+/, 'sig=forged'))).status, 401);
  });

  it('shows the CISO email as an editable card; the email sent carries the edits made in the card', async () => {
    await waitFor('the email draft', async () => (await stepStatus('notify-ciso')) === 'awaiting_approval', 60_000);
    const card = ui.findCard(/Email to send/);
    await card.waitFor({ timeout: 20_000 });
    // The Playground re-renders a thread's cards when any of its messages is updated, which resets
    // what was typed; so type once the thread is quiet, and check the field before pressing Send.
    const edited = 'Contoso: account compromise contained (edited)';
    for (let attempt = 0; ; attempt++) {
      await new Promise((r) => setTimeout(r, 1500));
      const subject = ui.findCard(/Email to send/).getByLabel('Subject');
      await subject.fill(edited);
      await new Promise((r) => setTimeout(r, 300));
      if ((await subject.inputValue()) === edited || attempt === 4) break;
    }
    await ui.clickCardButton(/Email to send/, 'Send');
    await waitFor('the email to be sent', async () => (await stepStatus('notify-ciso')) === 'succeeded', 60_000);
    const outbox = app.sandbox!.graph.state.outbox;
    assert.equal(outbox.length, 1);
    const sent = JSON.stringify(outbox[0]);
    assert.match(sent, /Contoso: account compromise contained \(edited\)/);
    assert.match(sent, /ciso@contoso\.com/);
    const tl = await app.store.listTimeline(incidentId);
    assert.ok(tl.some((e) => e.kind === 'step.edited' && /subject/.test(e.summary)));
  });
});
