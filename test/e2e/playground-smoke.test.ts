import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPlayground, type RunningPlayground } from '../../src/sandbox/playground/launcher';
import { loadPlaygroundConfig } from '../../src/sandbox/playground/config';
import { PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { openPlayground, type PlaygroundSession } from '../support/playground-driver';
import { card, startEchoBot, type EchoBot } from './echo-bot';

/**
 * Proves the Playground + driver pair end to end against a minimal botbuilder bot: proactive thread
 * with an Action.Execute card, in-place update, a button pressed by a non-default user, an @mention in
 * the channel and a reply inside the thread. Runs on ephemeral ports, so it can run beside `npm start`.
 */
describe('Agents Playground smoke (headless Chromium)', function () {
  this.timeout(120_000);

  const SEC_IR = '19:sec-ir@thread.tacv2';
  let bot: EchoBot;
  let pg: RunningPlayground;
  let ui: PlaygroundSession;
  let shots: string;

  before(async () => {
    shots = await mkdtemp(path.join(os.tmpdir(), 'playground-shots-'));
    bot = await startEchoBot();
    pg = await startPlayground({ botEndpoint: bot.endpoint, port: 0 });
    ui = await openPlayground(pg.url);
  });

  after(async () => {
    await ui?.close();
    await pg?.close();
    await bot?.close();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it('installs the bot in sec-ir when the channel is opened, with the team and serviceUrl', async () => {
    await ui.selectChannel('sec-ir');
    const ref = await bot.waitForChannel(SEC_IR, 15_000);
    assert.equal(ref.serviceUrl, pg.serviceUrl);
    assert.equal(ref.conversation?.id, SEC_IR);
    const install = bot.received.find((a) => a.type === 'installationUpdate' && a.conversation?.id === SEC_IR);
    assert.ok(install, 'installationUpdate for sec-ir');
    const cfg = loadPlaygroundConfig();
    assert.equal((install.channelData as { team?: { id?: string } }).team?.id, cfg.team.id);
    assert.equal(install.conversation?.tenantId, cfg.tenantId);
  });

  let thread: Awaited<ReturnType<EchoBot['startThread']>>;

  it('shows a proactive new thread with a card, then the same card updated in place', async () => {
    thread = await bot.startThread(SEC_IR, card('Incident SMOKE-1 opened for adele.vance', [{ title: 'Approve', verb: 'approve' }]));
    assert.match(String(thread.ref.conversation?.id), /^19:sec-ir@thread\.tacv2;messageid=\d+$/);
    await ui.waitForText('Incident SMOKE-1 opened for adele.vance');

    await bot.updateCard(thread.ref, thread.activityId, card('Incident SMOKE-1 contained', [{ title: 'Approve', verb: 'approve' }]));
    await ui.waitForText('Incident SMOKE-1 contained');
    assert.equal(await ui.page.getByText('Incident SMOKE-1 opened for adele.vance').count(), 0, 'old card text replaced');
    assert.equal(await ui.page.locator('.ac-adaptiveCard').filter({ hasText: 'Incident SMOKE-1' }).count(), 1, 'one card, not two');
  });

  it('sends the button press as Megan Bowen and shows the replacement card', async () => {
    await ui.switchUser('Megan Bowen');
    assert.equal(ui.currentUser(), 'Megan Bowen');
    await ui.clickCardButton('Incident SMOKE-1 contained', 'Approve');
    await ui.waitForText('Approved by Megan Bowen (verb approve)');
    const invoke = bot.received.find((a) => a.type === 'invoke');
    assert.ok(invoke);
    assert.equal(invoke.name, 'adaptiveCard/action');
    assert.equal(invoke.from?.aadObjectId, PLAYGROUND_USERS.megan.aadObjectId);
    assert.equal(invoke.replyToId, thread.activityId);
    assert.deepEqual((invoke.value as { action: unknown }).action, {
      type: 'Action.Execute',
      title: 'Approve',
      verb: 'approve',
      data: { verb: 'approve' },
    });
    await ui.screenshot(path.join(shots, 'after-approve.png'));
  });

  it('answers an @mention posted in the channel as Alex Wilber', async () => {
    await ui.switchUser('Alex Wilber');
    await ui.postMention('ir', 'status SMOKE-1');
    await ui.waitForText('echo: status SMOKE-1');
    const msg = bot.received.find((a) => a.type === 'message' && a.text?.includes('status SMOKE-1'));
    assert.ok(msg);
    assert.equal(msg.text, '<at>ir</at> status SMOKE-1');
    assert.equal(msg.from?.aadObjectId, PLAYGROUND_USERS.alex.aadObjectId);
    assert.ok(msg.entities?.some((e) => e.type === 'mention' && (e as { mentioned?: { name?: string } }).mentioned?.name === 'ir'));
    // A new post is its own thread: the conversation id carries the post's message id.
    assert.match(String(msg.conversation?.id), /^19:sec-ir@thread\.tacv2;messageid=\d+$/);
  });

  it('answers an @mention replied inside the card thread, in that thread', async () => {
    await ui.replyInThread('Approved by Megan Bowen', 'ir', 'help');
    await ui.waitForText('echo: help');
    const msg = bot.received.find((a) => a.type === 'message' && a.text === '<at>ir</at> help');
    assert.ok(msg);
    assert.equal(msg.conversation?.id, `${SEC_IR};messageid=${thread.activityId}`);
  });
});
