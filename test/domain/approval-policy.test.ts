import assert from 'node:assert/strict';
import { checkApprover, describeAnswered, isSubject, requiredApprovers } from '../../src/domain/approval-policy';
import type { ApprovalRecord } from '../../src/store/store';

const customer = { name: 'Contoso', approvers: { objectIds: ['00000000-0000-4000-8000-000000000020', '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e'], groupIds: ['11111111-2222-4333-8444-555555555555'], twoPersonSteps: ['firewall-block'] } };
const incident = { id: 'IR-20261127-7K3Q', subjectObjectId: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e', subjectUpn: 'adele.vance@contoso.com' };
const none = new Set<string>();

describe('approval policy', () => {
  it('approvers by object id or by group; others are refused by name', () => {
    assert.deepEqual(checkApprover({ customer, incident, clicker: { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Wilber' }, clickerGroups: none }), { ok: true });
    assert.deepEqual(checkApprover({ customer, incident, clicker: { aadObjectId: '00000000-0000-4000-8000-000000000021', name: 'Megan Bowen' }, clickerGroups: new Set(['11111111-2222-4333-8444-555555555555']) }), { ok: true });
    assert.deepEqual(checkApprover({ customer, incident, clicker: { aadObjectId: '00000000-0000-4000-8000-000000000021', name: 'Megan Bowen' }, clickerGroups: none }),
      { ok: false, code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso' });
  });

  it('the subject is refused even when listed as an approver, by object id or by UPN', () => {
    const byId = checkApprover({ customer, incident, clicker: { aadObjectId: '5B2C7D1E-8F3A-4B6C-9D0E-1F2A3B4C5D6E', name: 'Adele Vance' }, clickerGroups: none });
    assert.equal(byId.ok, false);
    assert.equal((byId as { code: string }).code, 'subject');
    assert.ok(isSubject({ aadObjectId: 'x', name: 'A', upn: 'Adele.Vance@contoso.com' }, { subjectObjectId: null, subjectUpn: 'adele.vance@contoso.com' }));
    assert.ok(!isSubject({ aadObjectId: 'x', name: 'A', upn: null }, { subjectObjectId: null, subjectUpn: 'adele.vance@contoso.com' }));
  });

  it('two approvers when the step asks or the customer lists the step or the action', () => {
    assert.equal(requiredApprovers({ id: 'entra-contain', action: 'entra.contain' }, customer), 1);
    assert.equal(requiredApprovers({ id: 'entra-contain', action: 'entra.contain', twoPerson: true }, customer), 2);
    assert.equal(requiredApprovers({ id: 'firewall-block', action: 'firewall.block' }, customer), 2);
    assert.equal(requiredApprovers({ id: 'x', action: 'firewall.block' }, { approvers: { ...customer.approvers, twoPersonSteps: ['firewall.block'] } }), 2);
  });

  it('explains an answered request', () => {
    const a: ApprovalRecord = { id: 'a', incidentId: incident.id, actionId: `${incident.id}:entra-contain`, status: 'approved', requiredApprovers: 1, requestedAt: '2026-11-27T03:05:00.000Z', expiresAt: '2026-11-27T04:05:00.000Z', decidedAt: '2026-11-27T03:12:09.000Z', decidedBy: 'Alex Wilber', reason: null, cardActivityId: null, votes: [] };
    assert.equal(describeAnswered(a, 'x', new Date('2026-11-27T05:00:00Z')), 'already approved by Alex Wilber at 03:12 UTC');
    assert.equal(describeAnswered(a, 'x', new Date('2026-11-28T05:00:00Z')), 'already approved by Alex Wilber at 2026-11-27 03:12 UTC');
    assert.equal(describeAnswered({ ...a, status: 'expired' }, `@ir retry ${incident.id} entra-contain`, new Date('2026-11-27T05:00:00Z')),
      `this request expired at 04:05 UTC; ask for a new one with @ir retry ${incident.id} entra-contain`);
  });
});

describe('approval policy: the subject\'s object id must be known for a vote', () => {
  const unknownSubject = { id: 'IR-20261127-7K3Q', subjectObjectId: null, subjectUpn: 'adele.vance@contoso.com' };
  const alex = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Wilber' };
  it('refuses every vote with the code subject-unknown while the object id is not known', () => {
    const v = checkApprover({ customer, incident: unknownSubject, clicker: alex, clickerGroups: new Set(), requireKnownSubject: true });
    assert.equal(v.ok, false);
    assert.equal((v as { code: string }).code, 'subject-unknown');
  });
  it('accepts the approver once the object id is known', () => {
    assert.deepEqual(checkApprover({ customer, incident, clicker: alex, clickerGroups: new Set(), requireKnownSubject: true }), { ok: true });
  });
  it('an account the lookup found only in AD (placement onPremises) has no Entra user: the approver\'s vote counts', () => {
    const adOnly = { id: 'IR-20261127-7K3Q', subjectObjectId: null, subjectUpn: 'CONTOSO\\svc-backup' };
    assert.deepEqual(checkApprover({ customer, incident: adOnly, subjectPlacement: 'onPremises', clicker: alex, clickerGroups: new Set(), requireKnownSubject: true }), { ok: true });
    // still an approver check: a non-approver is refused as such
    const megan = checkApprover({ customer, incident: adOnly, subjectPlacement: 'onPremises', clicker: { aadObjectId: '00000000-0000-4000-8000-000000000021', name: 'Megan Bowen' }, clickerGroups: new Set(), requireKnownSubject: true });
    assert.equal((megan as { code: string }).code, 'not-approver');
  });
  it('keeps refusing while the lookup has not placed the subject, or placed it anywhere but on-premises only', () => {
    for (const subjectPlacement of [undefined, null, 'synced', 'cloud', 'notFound']) {
      const v = checkApprover({ customer, incident: unknownSubject, subjectPlacement, clicker: alex, clickerGroups: new Set(), requireKnownSubject: true });
      assert.equal((v as { code?: string }).code, 'subject-unknown', String(subjectPlacement));
    }
  });
});
