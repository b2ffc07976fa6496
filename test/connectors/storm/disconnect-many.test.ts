import assert from 'node:assert/strict';
import pino from 'pino';
import { z } from 'zod';
import { createDisconnectMany } from '../../../src/connectors/storm/radius-many';
import { mapBounded } from '../../../src/connectors/storm/each-account';
import { ConnectorError, type ActionContext, type ActionDef } from '../../../src/connectors/types';
import type { DisconnectInput, DisconnectOutput } from '../../../src/connectors/radius/actions';
import { contosoCustomer } from '../../support/contoso-customer';

/**
 * radius.disconnectMany is radius.disconnect once per storm account: the single action (here a
 * stand-in recording its calls; the real one is tested against FreeRADIUS in test/connectors/radius)
 * gets each account with its own idempotency key and the step's mayHaveRun; one account's failure is
 * named and does not stop the others; the card says how many sessions of how many accounts.
 */
function fakeDisconnect(sessions: Record<string, number>, failing: Set<string>) {
  const calls: Array<{ user: string; key: string; mayHaveRun: boolean; phase: 'preview' | 'run' }> = [];
  const def: ActionDef<DisconnectInput, DisconnectOutput> = {
    name: 'radius.disconnect', risk: 'destructive', description: 'fake', input: z.object({ user: z.string() }).strict() as never,
    async preview(i, ctx) {
      calls.push({ user: i.user, key: ctx.idempotencyKey, mayHaveRun: ctx.mayHaveRun, phase: 'preview' });
      const n = sessions[i.user] ?? 0;
      return { title: `Disconnect ${i.user}`, facts: [], changes: Array.from({ length: n }, (_, k) => `End session s${k} on nas-1`), warnings: [], nothingToDo: n === 0, data: { withNas: n } };
    },
    async run(i, ctx) {
      calls.push({ user: i.user, key: ctx.idempotencyKey, mayHaveRun: ctx.mayHaveRun, phase: 'run' });
      if (failing.has(i.user)) throw new ConnectorError(`accounting of ${i.user} could not be read: timeout`, { source: 'radius' });
      const n = sessions[i.user] ?? 0;
      return { output: { results: Array.from({ length: n }, (_, k) => ({ session: { acctSessionId: `s${k}`, userName: i.user } as never, status: 'disconnected' as const, transmissions: 1, invalidReplies: 0, detail: 'ACK' })), complete: true, counts: (n ? { disconnected: n } : {}) as Record<string, number> }, raw: [], summary: `${n} ended` };
    },
  };
  return { def, calls };
}

const ctx = (over: Partial<ActionContext> = {}): ActionContext => ({ customer: contosoCustomer(), secrets: { get: () => '', has: () => false }, incidentId: 'IR-1', idempotencyKey: 'IR-1:storm-disconnect', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date(), ...over });

describe('radius.disconnectMany (storm)', () => {
  const users = Array.from({ length: 12 }, (_, i) => `u${i}@contoso.com`);
  const sessions = Object.fromEntries(users.map((u, i) => [u, i % 3]));

  it('previews the count of sessions and accounts, the sessions listed per account', async () => {
    const { def } = fakeDisconnect(sessions, new Set());
    const many = createDisconnectMany(def);
    const p = await many.preview!(many.input.parse({ users }), ctx());
    // u1,u4,u7,u10 have 1; u2,u5,u8,u11 have 2 → 12 sessions of 8 accounts
    assert.equal(p.title, "Disconnect 12 RADIUS sessions of 8 of the storm's 12 accounts");
    assert.equal(p.changes.length, 12);
    assert.ok(p.changes[0].startsWith('u1@contoso.com: End session s0'));
    assert.equal(p.nothingToDo, false);
  });

  it('runs the single action per account with its own key and the step\'s mayHaveRun; a failing account is named, the others go on', async () => {
    const { def, calls } = fakeDisconnect(sessions, new Set(['u4@contoso.com']));
    const many = createDisconnectMany(def);
    const r = await many.run(many.input.parse({ users }), ctx({ mayHaveRun: true }));
    const runs = calls.filter((c) => c.phase === 'run');
    assert.equal(runs.length, 12, 'each account once');
    assert.deepEqual(new Set(runs.map((c) => c.key)), new Set(users.map((u) => `IR-1:storm-disconnect/${u}`)));
    assert.ok(runs.every((c) => c.mayHaveRun), 'a re-run re-reads accounting for every account');
    assert.equal(r.output.sessionsEnded, 11);
    assert.equal(r.output.failedAccounts, 1);
    assert.equal(r.output.users.find((u) => u.user === 'u4@contoso.com')!.status, 'failed');
    assert.match(r.summary, /^11 RADIUS sessions ended across 7 of 12 accounts \(4 had none\); 1 not complete: u4@contoso\.com \(accounting of u4@contoso\.com could not be read: timeout\)$/);
  });

  it('fails the step only when no account could be done', async () => {
    const { def } = fakeDisconnect(sessions, new Set(users));
    const many = createDisconnectMany(def);
    await assert.rejects(many.run(many.input.parse({ users }), ctx()), /no account's RADIUS sessions could be ended: u0@contoso\.com/);
  });

  it('bad input changes nothing: an empty list is refused by the schema', () => {
    const { def } = fakeDisconnect({}, new Set());
    assert.equal(createDisconnectMany(def).input.safeParse({ users: [] }).success, false);
  });

  it('mapBounded keeps at most the limit in flight and the items\' order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded(Array.from({ length: 40 }, (_, i) => i), 6, async (i) => {
      inFlight++; most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return i * 2;
    });
    assert.equal(most, 6);
    assert.deepEqual(out, Array.from({ length: 40 }, (_, i) => i * 2));
  });
});
