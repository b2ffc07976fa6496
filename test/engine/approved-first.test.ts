import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ActionDef } from '../../src/connectors/types';
import { ActionRegistry } from '../../src/engine/action-registry';
import type { Engine } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ALEX, createAlertIncident, stopEnginesAndCancelLive, testEngine } from '../support/engine-fixtures';

/**
 * With scarce run slots, a step an analyst approved goes before other incidents' scoping: a pass
 * claims for its own incident before the round's priority-ordered claim from all, so an approved
 * containment used to wait behind the scope steps of every incident kicked meanwhile (a storm).
 * One slot, held by a look that waits on a gate; meanwhile three incidents are kicked with their
 * looks ready and another incident's containment is approved. The slot's next run is the containment.
 */
const PROCEDURE = `
name: Approved first
version: 1
steps:
  - { id: look-a, action: prio.look, with: { upn: { from: incident.subjectUpn } } }
  - { id: look-b, action: prio.look, with: { upn: { from: incident.subjectUpn } } }
  - { id: contain, action: prio.contain, with: { upn: { from: incident.subjectUpn } } }
`;

withTestStores((dialect, make) => {
  let store: Store;
  const engines: Engine[] = [];
  before(async () => { store = await make(); });
  afterEach(() => stopEnginesAndCancelLive(store, engines));

  async function until(what: string, probe: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await probe())) {
      if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const action = async (id: string, step: string) => (await store.getAction(`${id}:${step}`))!;

  it('one slot: another incident\'s approved containment runs before the looks of the incidents kicked meanwhile', async () => {
    // every run in the order it began; looks wait while the gate is shut
    const runs: string[] = [];
    let open = false;
    const look: ActionDef<{ upn: string }, unknown> = {
      name: 'prio.look', risk: 'read', description: 'a scope step that waits for the gate', input: z.object({ upn: z.string() }),
      async run(_i, ctx) {
        runs.push(`${ctx.incidentId}:look`);
        while (!open) await new Promise((r) => setTimeout(r, 10));
        return { output: { looked: true }, summary: 'looked', raw: [] };
      },
    };
    const contain: ActionDef<{ upn: string }, unknown> = {
      name: 'prio.contain', risk: 'destructive', description: 'contains the account', input: z.object({ upn: z.string() }),
      async preview(i) { return { title: `Contain ${i.upn}`, facts: [], changes: [`Disable ${i.upn}`], warnings: [] }; },
      async run(_i, ctx) {
        runs.push(`${ctx.incidentId}:contain`);
        return { output: { contained: true }, summary: 'contained', raw: [] };
      },
    };
    const registry = new ActionRegistry([look, contain]);
    // no interval round during the test: only kicks move things
    const e = testEngine(store, registry, {
      procedures: new ProcedureCatalog(parseProcedure(PROCEDURE, 'approved-first.yaml', registry)),
      workerId: `prio-${dialect}`, concurrency: 1, tickIntervalMs: 3_600_000,
    });
    engines.push(e);
    e.start();
    const incident = () => createAlertIncident(store, { upn: `prio.${randomUUID().slice(0, 8)}@contoso.com`, subjectObjectId: randomUUID() });

    // the one slot: the first incident's first look, held at the gate
    const held = await incident();
    await e.startIncident(held);
    await until('a look to hold the slot', () => runs.length === 1);
    const holder = (await Promise.all(['look-a', 'look-b'].map((s) => action(held, s)))).find((a) => a.status === 'running')!;

    // the incident whose containment an analyst approves (its looks wait for the slot too)
    const approvedIn = await incident();
    await e.startIncident(approvedIn);
    await until('the containment\'s card', async () => (await store.listApprovals({ incidentId: approvedIn, status: 'pending' })).length === 1);
    const [card] = await store.listApprovals({ incidentId: approvedIn, status: 'pending' });
    assert.equal(card.actionId, `${approvedIn}:contain`);
    const voted = await e.decide({ approvalId: card.id, vote: 'approve', clicker: ALEX });
    assert.equal(voted.ok, true, JSON.stringify(voted));
    assert.equal((await action(approvedIn, 'contain')).status, 'ready');

    // three more incidents kicked with their looks ready, after the approval
    const kicked: string[] = [];
    for (let k = 0; k < 3; k++) {
      kicked.push(await incident());
      await e.startIncident(kicked[k]);
    }
    await until('the kicked incidents\' looks to be ready', async () => (await Promise.all(kicked.flatMap((id) => [action(id, 'look-a'), action(id, 'look-b')]))).every((a) => a.status === 'ready'));
    for (const id of kicked) e.wake(id);
    assert.deepEqual(runs, [`${held}:look`], 'nothing else ran: the one slot is held');

    open = true;
    await until('the approved containment to run', async () => (await action(approvedIn, 'contain')).status === 'succeeded');
    assert.equal(runs[1], `${approvedIn}:contain`, `the slot's next run is the approved step (runs: ${runs.join(', ')})`);
    assert.equal((await action(held, holder.stepId)).status, 'succeeded');
    // and the kicked incidents are not starved: every look runs after it
    await until('every kicked incident\'s looks', async () => (await Promise.all(kicked.flatMap((id) => [action(id, 'look-a'), action(id, 'look-b')]))).every((a) => a.status === 'succeeded'));
    assert.equal(runs.filter((r) => r === `${approvedIn}:contain`).length, 1, 'the containment ran once');
  });
});
