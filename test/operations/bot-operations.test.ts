import assert from 'node:assert/strict';
import { createBotOperations, type EvidenceOperations } from '../../src/operations/bot-operations';
import type { Engine } from '../../src/engine/engine';
import { twoCustomers } from '../support/customers-fixture';

/** These tests use the engine's commands only; an evidence call would be a test bug. */
const unused = () => Promise.reject(new Error('evidence operations are not used by these tests'));
const noEvidence: EvidenceOperations = { report: unused, verify: unused, handoff: unused, close: unused };

/** `@ir contain <upn>` without a customer: the UPN's domain picks the customer, or the bot asks. */
describe('bot operations: @ir contain picks the customer by the UPN\'s domain', () => {
  const started: Array<{ customerId: string; upn: string }> = [];
  const engine = {
    startForAccount: async (r: { customerId: string; upn: string }) => { started.push(r); return { ok: true as const, incidentId: 'IR-20261127-AAAA', created: true }; },
  } as unknown as Engine;
  const clicker = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Wilber' };

  it('a contoso.com account goes to Contoso', async () => {
    const ops = createBotOperations({ engine, customers: twoCustomers(), evidence: noEvidence });
    const r = await ops.contain({ upn: 'adele.vance@contoso.com', clicker });
    assert.deepEqual(r, { ok: true, incidentId: 'IR-20261127-AAAA', message: 'Containment started: IR-20261127-AAAA (its thread follows)' });
    assert.deepEqual(started.at(-1), { customerId: 'contoso', upn: 'adele.vance@contoso.com', requestedBy: clicker });
  });

  it('an unknown domain is refused, asking for the customer; nothing starts', async () => {
    const before = started.length;
    const ops = createBotOperations({ engine, customers: twoCustomers(), evidence: noEvidence });
    const r = await ops.contain({ upn: 'someone@evil.example', clicker });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /no customer has the domain evil\.example/);
    assert.equal(started.length, before);
  });

  it('a domain two customers share needs the customer id', async () => {
    const shared = twoCustomers({ contoso: { domains: ['contoso.com', 'fabrikam.com'] } });
    const ops = createBotOperations({ engine, customers: shared, evidence: noEvidence });
    const r = await ops.contain({ upn: 'x@fabrikam.com', clicker });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /several customers/);
    const named = await ops.contain({ upn: 'x@fabrikam.com', customerId: 'fabrikam', clicker });
    assert.equal(named.ok, true);
    assert.equal(started.at(-1)?.customerId, 'fabrikam');
  });

});
