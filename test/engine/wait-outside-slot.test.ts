import assert from 'node:assert/strict';
import pino from 'pino';
import { z } from 'zod';
import type { ActionDef } from '../../src/connectors/types';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { createAlertIncident, testCustomer, testSecrets } from '../support/engine-fixtures';

/**
 * A poll's wait (ctx.wait: the M365 audit query, minutes at Graph) holds the action's claim and
 * lease but not one of the process's run slots: with ONE slot, another incident's step runs while
 * the poll waits, and the poll then resumes in the same attempt and runs once. Without ctx.wait
 * (a plain timer) the one slot stays taken until the poll ends.
 */
const PROCEDURE = `
name: Slot test
version: 1
steps:
  - { id: poll, action: slot.poll, with: { upn: { from: incident.subjectUpn } } }
  - { id: quick, action: slot.quick, with: { upn: { from: incident.subjectUpn } } }
`;

withTestStores((dialect, make) => {
  let store: Store;
  const engines: Engine[] = [];
  before(async () => { store = await make(); });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
  });

  /** `released`: when the poll stops waiting; `useWait`: whether the poll waits through ctx.wait */
  function world(useWait: boolean, concurrency = 1) {
    // active: actions doing work now (a poll in ctx.wait is not); maxActive: the most at once
    const state = { released: false, pollRuns: [] as string[], pollWaits: 0, quickRuns: [] as string[], active: 0, maxActive: 0 };
    const busy = (d: number) => { state.active += d; state.maxActive = Math.max(state.maxActive, state.active); };
    const poll: ActionDef<{ upn: string }, unknown> = {
      name: 'slot.poll', risk: 'read', description: 'waits for a query to finish, polling', input: z.object({ upn: z.string() }),
      async run(_i, ctx) {
        state.pollRuns.push(ctx.incidentId);
        busy(1);
        while (!state.released) {
          state.pollWaits++;
          if (useWait && ctx.wait) {
            busy(-1);
            await ctx.wait(20);
            busy(1);
          } else await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 5));
        busy(-1);
        return { output: { done: true }, summary: 'query finished', raw: [] };
      },
    };
    const quick: ActionDef<{ upn: string }, unknown> = {
      name: 'slot.quick', risk: 'read', description: 'answers at once', input: z.object({ upn: z.string() }),
      async run(_i, ctx) {
        state.quickRuns.push(ctx.incidentId);
        busy(1);
        await new Promise((r) => setTimeout(r, 5));
        busy(-1);
        return { output: { ok: true }, summary: 'answered', raw: [] };
      },
    };
    const registry = new ActionRegistry([poll, quick]);
    const customer = testCustomer();
    const e = new Engine({
      store, registry, procedures: new ProcedureCatalog(parseProcedure(PROCEDURE, 'slot-test.yaml', registry)),
      customers: (id) => (id === customer.id ? customer : undefined), secrets: testSecrets,
      log: pino({ level: 'silent' }), workerId: `slots-${dialect}-${engines.length}`, leaseMs: 5_000, concurrency, tickIntervalMs: 200,
    });
    engines.push(e);
    return { e, state };
  }

  async function until(what: string, probe: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await probe())) {
      if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const status = async (id: string, step: string) => (await store.getAction(`${id}:${step}`))!;

  it('another step runs in the one slot while a poll waits; the poll resumes and runs once', async () => {
    const { e, state } = world(true);
    e.start();
    const id = await createAlertIncident(store, { upn: `slot.${dialect}.${Date.now()}@contoso.com` });
    await e.startIncident(id);
    // the poll has begun waiting (claimed first: rows are claimed oldest first, then by id)
    await until('the poll to wait', () => state.pollWaits > 0);
    await until('the quick step to succeed while the poll waits', async () => (await status(id, 'quick')).status === 'succeeded');
    const poll = await status(id, 'poll');
    assert.equal(poll.status, 'running', 'the poll still holds its claim');
    assert.equal(poll.attempts, 1);
    state.released = true;
    await until('the poll to succeed', async () => (await status(id, 'poll')).status === 'succeeded');
    const done = await status(id, 'poll');
    assert.equal(done.attempts, 1, 'resumed in the same attempt, never claimed again');
    assert.deepEqual(state.pollRuns, [id], 'the poll ran once');
    assert.deepEqual(state.quickRuns, [id]);
    const started = (await store.listTimeline(id)).filter((t) => t.kind === 'step.started').map((t) => (t.data as { step: string }).step);
    assert.deepEqual(started.sort(), ['poll', 'quick']);
  });

  it('a poll on a plain timer keeps the one slot: the other step waits for it', async () => {
    const { e, state } = world(false);
    e.start();
    const id = await createAlertIncident(store, { upn: `held.${dialect}.${Date.now()}@contoso.com` });
    await e.startIncident(id);
    await until('the poll to wait a few times', () => state.pollWaits >= 5);
    assert.equal((await status(id, 'quick')).status, 'ready', 'no slot for it while the poll holds the only one');
    assert.deepEqual(state.quickRuns, []);
    state.released = true;
    await until('the quick step to succeed after the poll', async () => (await status(id, 'quick')).status === 'succeeded');
    assert.equal((await status(id, 'poll')).status, 'succeeded');
  });

  it('three incidents\' polls wait outside the one slot at once; each quick step runs meanwhile, each poll resumes once', async () => {
    const { e, state } = world(true);
    e.start();
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) ids.push(await createAlertIncident(store, { upn: `many${k}.${dialect}.${Date.now()}@contoso.com` }));
    for (const id of ids) await e.startIncident(id);
    await until('every quick step', async () => (await Promise.all(ids.map((id) => status(id, 'quick')))).every((a) => a.status === 'succeeded'));
    assert.deepEqual((await Promise.all(ids.map((id) => status(id, 'poll')))).map((a) => a.status), ['running', 'running', 'running']);
    state.released = true;
    await until('every poll', async () => (await Promise.all(ids.map((id) => status(id, 'poll')))).every((a) => a.status === 'succeeded'));
    assert.deepEqual([...state.pollRuns].sort(), [...ids].sort(), 'each poll ran once');
    for (const id of ids) assert.equal((await status(id, 'poll')).attempts, 1);
  });

  it('passes side by side never run more actions at once than the slots (waits outside them aside)', async () => {
    const { e, state } = world(true, 2);
    state.released = true; // polls do not wait: every action is work
    e.start();
    const ids: string[] = [];
    for (let k = 0; k < 8; k++) ids.push(await createAlertIncident(store, { upn: `par${k}.${dialect}.${Date.now()}@contoso.com` }));
    await Promise.all(ids.map((id) => e.startIncident(id)));
    await until('every step of 8 incidents', async () => (await Promise.all(ids.flatMap((id) => [status(id, 'poll'), status(id, 'quick')]))).every((a) => a.status === 'succeeded'));
    assert.equal(state.quickRuns.length, 8);
    assert.equal(state.pollRuns.length, 8);
    assert.ok(state.maxActive <= 2, `at most 2 actions at once with 2 slots, saw ${state.maxActive}`);
  });

  it('with polls waiting outside the slots, at most the slots\' count of actions work at once', async () => {
    const { e, state } = world(true, 2);
    e.start();
    const ids: string[] = [];
    for (let k = 0; k < 6; k++) ids.push(await createAlertIncident(store, { upn: `mix${k}.${dialect}.${Date.now()}@contoso.com` }));
    await Promise.all(ids.map((id) => e.startIncident(id)));
    await until('every quick step while the polls wait', async () => (await Promise.all(ids.map((id) => status(id, 'quick')))).every((a) => a.status === 'succeeded'));
    state.released = true;
    await until('every poll', async () => (await Promise.all(ids.map((id) => status(id, 'poll')))).every((a) => a.status === 'succeeded'));
    assert.ok(state.maxActive <= 2, `at most 2 actions at once with 2 slots, saw ${state.maxActive}`);
    for (const id of ids) assert.equal((await status(id, 'poll')).attempts, 1);
  });
});
