import assert from 'node:assert/strict';
import { startSandboxApp } from '../support/sandbox-app';
import { openPlayground, type PlaygroundSession } from '../support/playground-driver';

/**
 * Issue "Foundation", done when: an alert fired in the sandbox shows its timeline card in sec-ir of
 * the Playground, the card is updated in place, and `@ir status` answers with the open incident.
 */
describe('sandbox end to end: alert → timeline card in #sec-ir (Playground, headless Chromium)', function () {
  this.timeout(180_000);
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  let ui: PlaygroundSession;
  let incidentId: string;

  before(async () => {
    app = await startSandboxApp();
    ui = await openPlayground(app.playgroundUrl!);
    await ui.selectChannel('sec-ir');
    // the bot learns the channel from the installation the Playground sends when it is opened
    const deadline = Date.now() + 20_000;
    while (!(await app.store.getRef('teams:channel')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(await app.store.getRef('teams:channel'), 'the bot learned #sec-ir');
  });

  after(async () => {
    await ui?.close();
    await app?.dispose();
  });

  it('a new thread in sec-ir whose root is the incident\'s timeline card, with the user\'s UPN', async () => {
    const r = await app.fireAlert();
    assert.equal(r.status, 202);
    incidentId = r.body.incidentId;
    await ui.waitForText(incidentId, 20_000);
    const card = ui.findCard(incidentId);
    await card.getByText('adele.vance@contoso.com').first().waitFor({ timeout: 10_000 });
    const ref = JSON.parse((await app.store.getState(`teams:card:${incidentId}`))!) as { conversationId: string; activityId: string };
    assert.match(ref.conversationId, /^19:sec-ir@thread\.tacv2;messageid=/);
  });

  it('updates that same card in place as the incident changes (never re-posted)', async () => {
    const before = JSON.parse((await app.store.getState(`teams:card:${incidentId}`))!);
    await app.store.appendTimeline(incidentId, [{ source: 'test', kind: 'note', summary: 'Analyst note: checking with the customer' }]);
    await app.notifyIncident(incidentId);
    await ui.waitForText('Analyst note: checking with the customer', 45_000);
    assert.equal(await ui.page.locator('.ac-adaptiveCard').filter({ hasText: `${incidentId} · Contoso` }).count(), 1, 'one timeline card');
    assert.deepEqual(JSON.parse((await app.store.getState(`teams:card:${incidentId}`))!), before);
  });

  it('answers @ir status with the open incidents', async () => {
    await ui.postMention('ir', 'status');
    await ui.waitForText(/Open incidents: \d+/, 15_000);
    const status = ui.findCard(/Open incidents: \d+/);
    await status.getByText(new RegExp(`${incidentId} · Contoso`)).first().waitFor({ timeout: 10_000 });
  });

  it('posts the shift handoff as a new thread on @ir handoff, naming the open incident and @mentioning the analyst on call', async () => {
    await ui.postMention('ir', 'handoff');
    await ui.waitForText(/Shift handoff · /, 15_000);
    const card = ui.findCard(/Shift handoff · /);
    await card.getByText(new RegExp(incidentId)).first().waitFor({ timeout: 10_000 });
    await card.getByText(/you are on call now/).first().waitFor({ timeout: 10_000 });
  });
});
