import assert from 'node:assert/strict';
import pino from 'pino';
import { COMMANDS, parseCommand, type CommandEnv } from '../../src/bot/commands';
import { renderReleaseCard } from '../../src/bot/render-release-card';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { createBotOperations } from '../../src/operations/bot-operations';
import { CONTOSO } from '../../src/sandbox/contoso';
import type { Store } from '../../src/store/store';
import { adaptiveCardProblems, cardText } from '../support/adaptive-card-check';
import { ALEX, createAlertIncident, MEGAN, Recorder, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';
import { MAIL_NONE, PASSWORD_NOTE, RADIUS_NONE, releaseActions, withInverses } from '../support/release-fakes';
import { withTestStores } from '../support/store-factory';

/** `@ir release <incident> <reason>` and its one card (issue 14). */
withTestStores((_dialect, make) => {
  let store: Store;
  before(async () => { store = await make(); });

  async function setup() {
    const rec = new Recorder();
    const registry = new ActionRegistry(withInverses(testActions(rec)), releaseActions(rec, []));
    const customer = testCustomer();
    const engine = new Engine({ store, registry, procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)), secrets: testSecrets, customers: () => customer, log: pino({ level: 'silent' }) });
    const id = await createAlertIncident(store);
    await engine.startIncident(id);
    for (let i = 0; i < 10; i++) {
      await engine.settle();
      const pending = await store.listApprovals({ incidentId: id, status: 'pending' });
      if (!pending.length) break;
      for (const p of pending) await engine.decide({ approvalId: p.id, vote: 'approve', clicker: ALEX });
    }
    const ops = createBotOperations({ engine, customers: { customers: [customer] } as never, evidence: {} as never });
    const card = async (approvalId: string) => {
      const approval = (await store.getApproval(approvalId))!;
      return renderReleaseCard({ approval, incident: (await store.getIncident(approval.incidentId))!, action: (await store.getAction(approval.actionId))!, customerName: CONTOSO.name });
    };
    const env = (asker: { name: string; aadObjectId: string }): CommandEnv => ({
      botName: 'ir', asker, ops, readable: new Set([customer.id]), statusCard: async () => ({}), timelineCard: async () => undefined, approvalCard: card,
    });
    return { id, env, rec };
  }
  const release = COMMANDS.find((c) => c.name === 'release')!;

  it('parses: the incident, then the whole reason', () => {
    const p = parseCommand('<at>ir</at> release IR-20261127-7K3Q travelling with a new phone');
    assert.equal(p.kind, 'command');
    if (p.kind === 'command') {
      assert.equal(p.command.name, 'release');
      assert.deepEqual(p.args, { incident: 'IR-20261127-7K3Q', reason: 'travelling with a new phone' });
      assert.equal(p.command.role, 'approver');
    }
    const missing = parseCommand('release IR-20261127-7K3Q');
    assert.equal(missing.kind, 'unknown');
  });

  it('answers with ONE valid card: every inverse and what it changes, what cannot be undone, ticks, classification, Approve/Reject', async () => {
    const { id, env } = await setup();
    const out = await release.run({ incident: id, reason: 'travelling with a new phone' } as never, env(ALEX));
    assert.ok('card' in out, JSON.stringify(out));
    const card = out.card;
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    assert.match(text, new RegExp(`Approval needed: release the containment · ${id}`));
    assert.match(text, /Block the attacker's IPs and cut the user's VPN sessions: Remove 203\.0\.113\.7 from the block group/);
    assert.match(text, /Contain the account where it lives: Enable .* \(disabled now\)/);
    assert.ok(text.includes(PASSWORD_NOTE), 'the password stays reset, and how the user gets a new one');
    assert.ok(text.includes(RADIUS_NONE) && text.includes(MAIL_NONE));
    assert.match(text, /travelling with a new phone/);
    const json = JSON.stringify(card);
    const choice = JSON.parse(json).body.find((b: { id?: string }) => b.id === 'selected');
    assert.deepEqual(choice.choices.map((c: { value: string }) => c.value), ['firewall-block', 'entra-contain']);
    assert.equal(choice.value, 'firewall-block,entra-contain', 'every inverse ticked by default');
    assert.equal(choice.isMultiSelect, true);
    const cls = JSON.parse(json).body.find((b: { id?: string }) => b.id === 'classification');
    assert.deepEqual(cls.choices.map((c: { value: string }) => c.value), ['falsePositive', 'informationalExpectedActivity']);
    const actions = (card as { actions: Array<{ verb: string; data: { approvalId: string } }> }).actions;
    assert.deepEqual(actions.map((a) => a.verb), ['ir.approve', 'ir.reject']);
    const pending = (await store.listApprovals({ incidentId: id, status: 'pending' }))[0];
    assert.equal(actions[0].data.approvalId, pending.id);
  });

  it('refusals are one clear line and change nothing: a non-approver, twice in a row', async () => {
    const { id, env } = await setup();
    const stranger = await release.run({ incident: id, reason: 'x' } as never, env(MEGAN));
    assert.ok('text' in stranger);
    assert.match(stranger.text, /^Not done: /);
    assert.equal(await store.getAction(`${id}:release`), undefined);
    assert.ok('card' in (await release.run({ incident: id, reason: 'vpn' } as never, env(ALEX))));
    const twice = await release.run({ incident: id, reason: 'vpn' } as never, env(ALEX));
    assert.deepEqual(twice, { text: `Not done: a release of ${id} is already waiting for approval` });
  });
});
