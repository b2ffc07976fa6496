import assert from 'node:assert/strict';
import { approverView, readOnlyView, MAX_REFRESH_USERS } from '../../src/bot/user-specific-view';

const card = {
  type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Approval needed' }],
  actions: [
    { type: 'Action.Execute', verb: 'ir.approve', title: 'Approve', data: { approvalId: 'ap-12345678' } },
    { type: 'Action.Execute', verb: 'ir.reject', title: 'Reject', data: { approvalId: 'ap-12345678' } },
  ],
};

describe('approval cards as Universal Actions user-specific views', () => {
  const o = { approvalId: 'ap-12345678', userIds: Array.from({ length: 70 }, (_, i) => `29:user-${i}`), whoMayApprove: 'Alex Wilber (Contoso\'s approvers)' };

  it('the shared view has no Approve/Reject, says who may approve, and refreshes for at most 60 approvers', () => {
    const v = readOnlyView(card, o) as { actions: Array<{ verb: string }>; body: Array<{ text: string }>; refresh: { action: { verb: string; data: unknown }; userIds: string[] } };
    assert.deepEqual(v.actions, []);
    assert.match(v.body.at(-1)!.text, /Read-only for you: Alex Wilber \(Contoso's approvers\) may approve/);
    assert.equal(v.refresh.action.verb, 'ir.refresh');
    assert.deepEqual(v.refresh.action.data, { approvalId: 'ap-12345678' });
    assert.equal(v.refresh.userIds.length, MAX_REFRESH_USERS);
  });

  it('the approver view keeps the buttons and the refresh', () => {
    const v = approverView(card, o) as { actions: Array<{ verb: string }>; refresh: unknown };
    assert.deepEqual(v.actions.map((a) => a.verb), ['ir.approve', 'ir.reject']);
    assert.ok(v.refresh);
  });
});
