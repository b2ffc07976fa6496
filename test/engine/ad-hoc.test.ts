import assert from 'node:assert/strict';
import pino from 'pino';
import { z } from 'zod';
import type { ActionDef } from '../../src/connectors/types';
import { ConnectorError } from '../../src/connectors/types';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { createAlertIncident, Recorder, SkewClock, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';

/** Engine.runAdHoc: a side effect outside a procedure step still gets its row, evidence and timeline, once. */
withTestStores((dialect, make) => {
  let store: Store;
  before(async () => { store = await make(); });

  function setup(fail: { times: number; retryable?: boolean } = { times: 0 }) {
    const calls: Array<{ input: unknown; mayHaveRun: boolean }> = [];
    const unblock: ActionDef<{ ip: string }, { ip: string }> = {
      name: 'test.unblock',
      risk: 'change',
      description: 'test unblock',
      input: z.object({ ip: z.string().regex(/^[0-9.]+$/) }).strict(),
      async run(input, ctx) {
        calls.push({ input, mayHaveRun: ctx.mayHaveRun });
        if (calls.length <= fail.times) throw new ConnectorError('device refused', { source: 'test', retryable: fail.retryable });
        return { output: { ip: input.ip }, summary: `removed ${input.ip}`, raw: [{ source: 'test.cli', contentType: 'text/plain', body: Buffer.from(`no ${input.ip}`), collectedAt: '2026-11-27T10:00:00.000Z' }] };
      },
    };
    const rec = new Recorder();
    const registry = new ActionRegistry(testActions(rec), [unblock]);
    const customer = testCustomer();
    const engine = new Engine({
      store, registry, procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)), secrets: testSecrets,
      customers: (id) => (id === customer.id ? customer : undefined), clock: new SkewClock(), log: pino({ level: 'silent' }),
      workerId: `adhoc-${dialect}`, retry: { maxAttempts: 1 },
    });
    return { engine, calls };
  }

  it('runs the action once with its row, evidence and timeline line; a second request does not run it again', async () => {
    const { engine, calls } = setup();
    const id = await createAlertIncident(store);
    const req = { stepId: 'unblock-expired/203.0.113.9', action: 'test.unblock', input: { ip: '203.0.113.9' }, title: 'Expired block of 203.0.113.9' };
    const r = await engine.runAdHoc(id, req);
    assert.deepEqual({ status: r.status, summary: r.summary, output: r.output }, { status: 'succeeded', summary: 'removed 203.0.113.9', output: { ip: '203.0.113.9' } });
    const row = (await store.getAction(`${id}:unblock-expired/203.0.113.9`))!;
    assert.equal(row.name, 'test.unblock');
    const evidence = (await store.listEvidence(id)).filter((e) => e.actionId === row.id);
    assert.deepEqual(evidence.map((e) => e.source), ['test.cli']);
    assert.deepEqual((row.result as { evidenceIds: number[] }).evidenceIds, evidence.map((e) => e.id));
    assert.ok((await store.listTimeline(id)).some((e) => e.kind === 'step.succeeded' && e.summary === 'Expired block of 203.0.113.9: removed 203.0.113.9'));
    const again = await engine.runAdHoc(id, req);
    assert.equal(again.status, 'succeeded');
    assert.equal(calls.length, 1, 'exactly once');
    await engine.stop();
  });

  it('a failed run is run again by the next request, as the same row, telling the action it may have run', async () => {
    const { engine, calls } = setup({ times: 1 });
    const id = await createAlertIncident(store);
    const req = { stepId: 'unblock-expired/203.0.113.10', action: 'test.unblock', input: { ip: '203.0.113.10' }, title: 'Expired block' };
    const first = await engine.runAdHoc(id, req);
    assert.equal(first.status, 'failed');
    assert.match(first.error!, /device refused/);
    const second = await engine.runAdHoc(id, req);
    assert.equal(second.status, 'succeeded');
    assert.deepEqual(calls.map((c) => c.mayHaveRun), [false, true]);
    assert.equal((await store.getAction(`${id}:unblock-expired/203.0.113.10`))!.attempts, 2);
    await engine.stop();
  });

  it('bad input, an unknown action or a procedure step id is refused and changes nothing', async () => {
    const { engine, calls } = setup();
    const id = await createAlertIncident(store);
    await engine.startIncident(id);
    const before = (await store.listActions(id)).length;
    await assert.rejects(engine.runAdHoc(id, { stepId: 'x/1', action: 'test.unblock', input: { ip: '1.2.3.4; rm -rf' }, title: 't' }), /input does not fit test\.unblock: ip/);
    await assert.rejects(engine.runAdHoc(id, { stepId: 'x/1', action: 'test.nothing', input: {}, title: 't' }), /not registered/);
    await assert.rejects(engine.runAdHoc(id, { stepId: 'firewall-block', action: 'test.unblock', input: { ip: '1.2.3.4' }, title: 't' }), /is a step of/);
    await assert.rejects(engine.runAdHoc(id, { stepId: 'Bad Id', action: 'test.unblock', input: { ip: '1.2.3.4' }, title: 't' }), /not an ad-hoc step id/);
    await assert.rejects(engine.runAdHoc('IR-NOPE', { stepId: 'x/1', action: 'test.unblock', input: { ip: '1.2.3.4' }, title: 't' }), /does not exist/);
    assert.equal((await store.listActions(id)).length, before);
    assert.equal(calls.length, 0);
    await engine.stop();
  });
});
