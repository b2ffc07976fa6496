import assert from 'node:assert/strict';
import { readFindings, stepTitle } from '../../src/domain/incident-findings';
import { whatWeDid } from '../../src/domain/incident-narrative';

describe('IncidentFindings', () => {
  it('reads what the procedure records, and leaves out (naming them) values of another shape', () => {
    const f = readFindings({
      signIns24h: 7, countries: ['PT', 'SG'],
      impossibleTravel: ['Lisbon → Singapore'], // the old summary-only shape: not a travel hop
      directoryChanges6h: 3, // a key no procedure may record
      steps: { 'entra-contain': { title: 'Contain the account where it lives', action: 'entra.contain', kind: 'containment', status: 'succeeded' } },
    });
    assert.equal(f.signIns24h, 7);
    assert.deepEqual(f.countries, ['PT', 'SG']);
    assert.equal(f.impossibleTravel, undefined);
    assert.deepEqual(f.unreadable.sort(), ['directoryChanges6h', 'impossibleTravel']);
    assert.equal(stepTitle(f, 'entra-contain'), 'Contain the account where it lives');
    assert.equal(stepTitle(f, 'radius-disconnect'), 'Radius disconnect', 'an unknown step: its id made readable');
  });

  it('what we did: containment steps only, in the order they ended, told from their findings', () => {
    const f = readFindings({
      sessionsDisconnected: 2, vpnSessionsRevoked: 1, ipsBlocked: ['203.0.113.7'],
      ipBlocks: [{ ip: '203.0.113.7', addedAt: '2026-11-27T03:00:00.000Z', expiresAt: '2026-12-04T03:00:00.000Z' }],
      entraChanges: [{ step: 'disable', changed: true }, { step: 'revokeSessions', changed: true }, { step: 'resetPassword', changed: false }],
      steps: {
        'entra-signins': { action: 'entra.signIns', kind: 'lookup', status: 'succeeded' },
        'entra-contain': { action: 'entra.contain', kind: 'containment', status: 'succeeded' },
        'radius-disconnect': { action: 'radius.disconnect', kind: 'containment', status: 'succeeded' },
        'firewall-block': { action: 'firewall.block', kind: 'containment', status: 'succeeded' },
        'forensic-report': { action: 'evidence.report', kind: 'followUp', status: 'succeeded' },
      },
    });
    const runs = [
      { stepId: 'entra-signins', status: 'succeeded', endedAt: '2026-11-27T02:00:00Z' },
      { stepId: 'firewall-block', status: 'succeeded', endedAt: '2026-11-27T03:00:00Z' },
      { stepId: 'entra-contain', status: 'succeeded', endedAt: '2026-11-27T03:05:00Z' },
      { stepId: 'radius-disconnect', status: 'succeeded', endedAt: '2026-11-27T03:06:00Z' },
      { stepId: 'forensic-report', status: 'succeeded', endedAt: '2026-11-27T03:07:00Z' },
    ];
    assert.deepEqual(whatWeDid(f, runs), [
      'Blocked 203.0.113.7 at the firewall for 7 days (until 2026-12-04)',
      'Cut 1 VPN session of the account',
      'Disabled the account',
      'Revoked all its sign-in sessions and refresh tokens',
      'Its password had already been reset',
      'Ended 2 network (RADIUS) sessions of the account',
    ]);
  });
});
