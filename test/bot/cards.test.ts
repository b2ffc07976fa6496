import assert from 'node:assert/strict';
import { renderTimelineCard, renderApprovalCard, renderStatusCard, type IncidentSnapshot } from '../../src/bot/render-cards';
import { readFindings } from '../../src/domain/incident-findings';
import type { ActionRecord, AlertRecord, ApprovalRecord, IncidentRecord, TimelineEvent } from '../../src/store/store';
import { adaptiveCardProblems, cardText } from '../support/adaptive-card-check';

const HOSTILE = "${jndi:ldap://x} [click](https://evil.example) <at>Alex Wilber</at> **bold**\nnew line " + 'A'.repeat(10_000);
const now = '2026-11-27T03:12:00.000Z';

function incident(over: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id: 'IR-20261127-7K3Q', customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    subjectUpn: 'adele.vance@contoso.com', subjectObjectId: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e', severity: 'high',
    title: 'Impossible travel activity', status: 'containing', procedure: 'account-compromise-containment@1',
    createdAt: now, updatedAt: now, closedAt: null,
    // the shape the procedure records (entra.signIns' travel findings, src/domain/incident-findings.ts)
    data: {
      signIns24h: 42, countries: ['PT', 'SG'], steps: { 'entra-contain': { title: 'Contain in Entra' } },
      impossibleTravel: [{
        from: { at: '2026-11-27T02:00:00.000Z', ip: '198.51.100.20', place: 'Lisbon', city: 'Lisbon', country: 'PT' },
        to: { at: '2026-11-27T02:50:00.000Z', ip: '203.0.113.7', place: 'Singapore', city: 'Singapore', country: 'SG' },
        distanceKm: 11_879, minutes: 50, speedKmh: 14_255, summary: 'Lisbon → Singapore, 11,900 km in 50 min = 14,300 km/h',
      }],
    },
    ...over,
  };
}
function action(stepId: string, status: ActionRecord['status'], over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: `IR-20261127-7K3Q:${stepId}`, incidentId: 'IR-20261127-7K3Q', stepId, name: 'entra.contain', status, idempotencyKey: `IR-20261127-7K3Q:${stepId}`,
    attempts: 0, input: null, preview: null, result: null, error: null, leaseOwner: null, leaseUntil: null, notBefore: null, createdAt: now, updatedAt: now, ...over,
  };
}
const alertRecord: AlertRecord = { id: 'da-1', incidentId: 'IR-20261127-7K3Q', customerId: 'contoso', receivedAt: now, source: 'webhook', alert: {}, raw: '{}' };
function events(n: number, summary = 'Sign-ins collected'): TimelineEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    incidentId: 'IR-20261127-7K3Q', seq: i + 1, at: now, source: 'entra', kind: 'step.succeeded', summary: `${summary} ${i}`,
    sourceTime: null, actor: null, data: {}, prevHash: '0'.repeat(64), hash: 'a'.repeat(64),
  }));
}
const snapshot = (over: Partial<IncidentSnapshot> = {}): IncidentSnapshot => ({
  incident: incident(), findings: readFindings(incident().data), customerName: 'Contoso', alerts: [alertRecord], approvals: [], timeline: events(30),
  actions: [action('sign-ins', 'succeeded', { result: { summary: '42 sign-ins in 24 h' } }), action('entra-contain', 'awaiting_approval'), action('radius-disconnect', 'failed', { error: 'NAS 10.0.0.1 did not answer' })],
  ...over,
});
const approval = (over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: 'apv_0123456789abcdef', incidentId: 'IR-20261127-7K3Q', actionId: 'IR-20261127-7K3Q:entra-contain', status: 'pending', requiredApprovers: 1,
  requestedAt: now, expiresAt: '2026-11-27T04:12:00.000Z', decidedAt: null, decidedBy: null, reason: null, cardActivityId: null, votes: [], ...over,
});
const preview = {
  title: 'Contain adele.vance@contoso.com in Entra',
  facts: [{ label: 'Account', value: 'Adele Vance (adele.vance@contoso.com)' }, { label: 'Object id', value: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e' }],
  changes: ['Disable the account (enabled now)', 'Revoke sign-in sessions: 14 sessions seen in 24 h', 'Reset the password (forced change at next sign-in)'],
  warnings: ['Global Administrator: a privileged account'],
};

describe('Adaptive Cards', () => {
  it('the timeline card parses as Adaptive Card 1.5, shows steps, findings and the latest events, and stays small', () => {
    const card = renderTimelineCard(snapshot());
    assert.equal(card.version, '1.5');
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    for (const s of ['IR-20261127-7K3Q', 'adele.vance@contoso.com', 'Contain in Entra — awaiting approval', 'Error: NAS 10.0.0.1 did not answer', '42 sign-ins in 24 h', 'Lisbon → Singapore', 'latest 15 of 30']) assert.ok(text.includes(s), s);
    assert.ok(JSON.stringify(card).length < 80_000);
    const actions = card.actions as Array<{ verb: string; title: string; data: Record<string, unknown> }>;
    assert.deepEqual(actions.map((a) => [a.verb, a.data]), [['ir.retry', { incidentId: 'IR-20261127-7K3Q', stepId: 'radius-disconnect', from: 'timeline' }]], 'a Retry button for the failed step only');
  });

  it('the timeline card says which kinds of sign-in the token activity counted', () => {
    const both = { kinds: ['interactiveUser', 'nonInteractiveUser'], interactive: 4, nonInteractive: 3, sessions: 3, onlyInteractiveBecause: null, counted: 'interactive and non-interactive sign-ins' };
    const inc = incident({ data: { ...incident().data, tokenActivity: both } });
    assert.ok(cardText(renderTimelineCard(snapshot({ incident: inc, findings: readFindings(inc.data) }))).includes('Token activity: 3 sessions in 24 h from 4 interactive and 3 non-interactive sign-ins (both kinds counted)'));
    const only = { kinds: ['interactiveUser'], interactive: 4, nonInteractive: null, sessions: 3, onlyInteractiveBecause: 'Graph beta refused the non-interactive sign-ins: 403', counted: 'interactive sign-ins only' };
    const inc2 = incident({ data: { ...incident().data, tokenActivity: only } });
    const text2 = cardText(renderTimelineCard(snapshot({ incident: inc2, findings: readFindings(inc2.data) })));
    assert.ok(text2.includes('Token activity: 3 sessions in 24 h from 4 interactive sign-ins; interactive sign-ins only were counted (non-interactive ones were not available: Graph beta refused'), text2);
  });

  it('the timeline card says exactly which port on which switch the switch containment shut', () => {
    const inc = incident({ data: { ...incident().data, switchPortsContained: ['Gi1/0/12 on sw-lis-3 shut (undo: no shutdown on GigabitEthernet1/0/12)'] } });
    const text = cardText(renderTimelineCard(snapshot({ incident: inc, findings: readFindings(inc.data) })));
    assert.ok(text.includes('Switch containment: Gi1/0/12 on sw-lis-3 shut (undo: no shutdown on GigabitEthernet1/0/12)'), text);
  });

  it('the timeline card names the switch port of each wired session and the rule the attacker IP matches', () => {
    // the shapes the switch-ports and firewall-rule steps record (test/sandbox/walkthrough-timeline.test.ts runs them)
    const data = {
      ...incident().data,
      switchPorts: ['Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456'],
      matchedRules: [
        { firewallId: 'contoso-fgt-1', policyId: '5', policyName: 'WAN-to-DMZ-HTTPS', action: 'accept', allows: true, implicit: false },
        { firewallId: 'contoso-pa-1', policyId: null, policyName: 'interzone-default', action: 'deny', allows: false, implicit: true },
      ],
    };
    const text = cardText(renderTimelineCard(snapshot({ incident: incident({ data }), findings: readFindings(data) })));
    assert.ok(text.includes('Switch port: Gi1/0/12 on sw-lis-3, VLAN 20'), text);
    assert.ok(text.includes('Rule the attacker IP matches on contoso-fgt-1: rule 5 "WAN-to-DMZ-HTTPS" (accept)'), text);
    assert.ok(text.includes('Rule the attacker IP matches on contoso-pa-1: the default rule (interzone-default) (deny)'), text);
  });

  it('the approval card says exactly what will change and carries only the approval id', () => {
    const card = renderApprovalCard({ approval: approval(), incident: incident(), customerName: 'Contoso', action: action('entra-contain', 'awaiting_approval', { preview }) });
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    for (const s of ['Approval needed: Contain in Entra', 'Tenant id', '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', 'Revoke sign-in sessions: 14 sessions seen in 24 h', 'Global Administrator', 'Approve', 'Reject']) assert.ok(text.includes(s), s);
    const actions = card.actions as Array<{ verb: string; data: Record<string, unknown> }>;
    assert.deepEqual(actions.map((a) => a.verb), ['ir.approve', 'ir.reject']);
    assert.deepEqual(actions[0].data, { approvalId: 'apv_0123456789abcdef' });
  });

  it('the answered approval card shows who decided and the result, without buttons', () => {
    const card = renderApprovalCard({
      approval: approval({ status: 'approved', decidedAt: now, decidedBy: 'Alex Wilber' }), incident: incident(), customerName: 'Contoso',
      action: action('entra-contain', 'succeeded', { preview, result: { summary: 'disabled, 14 sessions revoked, password reset' } }),
    });
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    assert.ok(text.includes('Approved by Alex Wilber at 2026-11-27 03:12:00 UTC'));
    assert.ok(text.includes('disabled, 14 sessions revoked, password reset'));
    assert.equal((card.actions as unknown[] | undefined)?.length ?? 0, 0);
  });

  it('hostile strings from an alert stay inert text: no template expansion, no link, no mention, bounded', () => {
    const card = renderTimelineCard(snapshot({ incident: incident({ title: HOSTILE, subjectUpn: 'o\'brien@contoso.com' }), timeline: events(3, HOSTILE) }));
    assert.deepEqual(adaptiveCardProblems(card), []);
    const json = JSON.stringify(card);
    assert.ok(json.includes('${jndi:ldap://x}'), 'template expressions in data are not evaluated');
    assert.ok(!json.includes('[click](https'), 'no Markdown link survives');
    assert.ok(!json.includes('<at>'), 'no mention tag survives');
    assert.ok(!/\*\*bold/.test(json.replace(/\\\\\*/g, '')), 'no emphasis survives');
    assert.ok(!cardText(card).split('\n').some((l) => l.length > 1000), 'bounded');
    assert.ok(json.length < 80_000);
  });

  it('the status card lists open incidents with the current step and pending approvals', () => {
    const card = renderStatusCard([{ incident: incident(), customerName: 'Contoso', current: 'Contain in Entra (awaiting approval)', pending: ['Contain in Entra'] }], 'Open incidents: 1', new Date(now));
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    assert.ok(text.includes('IR-20261127-7K3Q · Contoso · high · containing'));
    assert.ok(text.includes('Waiting for approval: Contain in Entra'));
    const empty = renderStatusCard([], 'Open incidents: 0', new Date(now));
    assert.ok(cardText(empty).includes('No open incidents.'));
  });
});
