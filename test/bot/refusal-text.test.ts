import { strict as assert } from 'node:assert';
import { refusalText, timelineText } from '../../src/bot/refusal-text';

describe('refusal text: the engine refusal in the chat', () => {
  it('an expired approval gets the retry command with the configured bot name', () => {
    const r = { code: 'expired' as const, reason: 'this request expired at 04:05 UTC', params: { incidentId: 'IR-20261127-7K3Q', stepId: 'entra-contain' } };
    assert.equal(refusalText(r, 'soc'), 'this request expired at 04:05 UTC; ask for a new one with @soc retry IR-20261127-7K3Q entra-contain');
  });

  it('other refusals read as the engine said them', () => {
    assert.equal(refusalText({ code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso', params: { incidentId: 'IR-20261127-7K3Q' } }, 'ir'), 'Megan Bowen is not an approver for Contoso');
  });

  it('a role Graph could not confirm reads to the person about themselves (the timeline keeps their name)', () => {
    const r = { code: 'role-unconfirmed' as const, reason: "could not confirm Megan Bowen's approver role for Contoso with Microsoft Graph just now; nothing was done, try again", params: { incidentId: 'IR-20261127-7K3Q' } };
    assert.equal(refusalText(r, 'ir'), 'could not confirm your approver role with Microsoft Graph just now: try again (nothing was done)');
  });

  it('a failed step on the timeline shows how to retry it; other lines are unchanged', () => {
    const failed = { kind: 'step.failed', summary: 'Sign-ins: failed: denied', data: { step: 'entra-signins', retryable: true } };
    assert.equal(timelineText(failed, 'IR-1', 'ir'), 'Sign-ins: failed: denied; @ir retry IR-1 entra-signins to try again');
    assert.equal(timelineText({ kind: 'step.failed', summary: 'x: failed (not registered)', data: { step: 'x' } }, 'IR-1', 'ir'), 'x: failed (not registered)');
    assert.equal(timelineText({ kind: 'step.ready', summary: 'Sign-ins: ready', data: { step: 'entra-signins', retryable: true } }, 'IR-1', 'ir'), 'Sign-ins: ready');
  });
});
