import assert from 'node:assert/strict';
import { renderApprovalCard, renderStatusCard, renderTimelineCard, type IncidentSnapshot } from '../../src/bot/render-cards';
import { renderEmailDraftCard, renderHandoffCard } from '../../src/bot/render-evidence-cards';
import { ACTIVITY_BUDGET_BYTES, activityBytes, fitTextMessage, assertActivityFits, cardActivity, CardTooLargeError, TEAMS_MESSAGE_LIMIT_BYTES } from '../../src/bot/card-budget';
import { TeamsChannel } from '../../src/bot/teams-channel';
import { readFindings, RECORDED_FINDINGS } from '../../src/domain/incident-findings';
import type { ActionRecord, AlertRecord, ApprovalRecord, IncidentRecord, TimelineEvent } from '../../src/store/store';
import type { HandoffData } from '../../src/evidence/handoff';
import { adaptiveCardProblems, cardText } from '../support/adaptive-card-check';
import pino from 'pino';
import { createIdentityActions } from '../../src/connectors/identity/actions';
import { contosoCustomer } from '../support/contoso-customer';
import { renderReleaseCard } from '../../src/bot/render-release-card';
import { releaseGateInput, releasePreview } from '../../src/engine/release-gate';
import type { InverseDecl } from '../../src/connectors/types';
import type { ContainManyOutput } from '../../src/connectors/storm/identity-many';

/**
 * The largest cards the bot can make, rendered for every template and measured as the activity
 * that would be sent. Each value is as long as its zod limit (src/domain/incident-findings.ts)
 * allows, or longer where the card's own bound is what stops it, and written in the characters
 * that cost the most bytes on the wire: '*' and '_' are escaped by inert() and again by JSON (3
 * bytes), '€' and '‹' (what '<' becomes) are 3 bytes in UTF-8.
 */
const heavy = (n: number) => '*€<_'.repeat(Math.ceil(n / 4)).slice(0, n);
const zodMax = (key: keyof typeof RECORDED_FINDINGS): number => {
  const s = RECORDED_FINDINGS[key] as unknown as { _def: { type?: { maxLength?: number | null }; maxLength?: { value: number } }; maxLength?: number | null };
  const el = s._def.type ?? s;
  const max = (el as { maxLength?: number | null }).maxLength;
  assert.ok(typeof max === 'number', `${key} has a length limit`);
  return max;
};

const now = '2026-11-27T03:12:00.000Z';
const ID = 'IR-20261127-7K3Q';
const ACCOUNTS = 300;

const bigData = (): Record<string, unknown> => {
  const hop = (i: number) => ({
    from: { at: now, ip: heavy(64), place: heavy(200), city: heavy(200), country: heavy(8) },
    to: { at: now, ip: heavy(64), place: heavy(200), city: heavy(200), country: heavy(8) },
    distanceKm: 11_879, minutes: 50, speedKmh: 14_255, summary: `${i} ${heavy(396)}`,
  });
  return {
    subjectPrivilegedRoles: Array.from({ length: 40 }, () => heavy(zodMax('subjectPrivilegedRoles'))),
    signIns24h: 99_999, countries: Array.from({ length: 200 }, () => heavy(zodMax('countries'))),
    impossibleTravel: Array.from({ length: 100 }, (_, i) => hop(i)),
    sensitiveOperations6h: 500,
    sensitiveOperations: Array.from({ length: 300 }, () => ({ at: now, operation: `New-InboxRule ${heavy(180)}`, clientIp: heavy(64), detail: heavy(400) })),
    directoryAudits6h: 999, sessionsFound: 300, sessionsDisconnected: 300, vpnSessionsFound: 300, vpnSessionsRevoked: 300,
    switchPorts: Array.from({ length: 300 }, () => heavy(zodMax('switchPorts'))),
    matchedRules: Array.from({ length: 100 }, () => ({ firewallId: heavy(63), policyId: heavy(64), policyName: heavy(200), action: heavy(40), allows: false, implicit: false })),
    entraContainment: heavy(zodMax('entraContainment')),
    ipsBlocked: Array.from({ length: 300 }, () => heavy(zodMax('ipsBlocked'))),
    ticket: { number: heavy(60), link: heavy(500) },
    steps: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`step-${i}`, { title: heavy(200) }])),
    storm: { key: 'a'.repeat(16), detectorId: heavy(200), title: heavy(5000), minUsers: 10, windowMinutes: 10 },
    partOfStorm: 'IR-20261127-ZZZZ',
    // the storm procedure's findings at their longest: every account resolved, half of them not contained
    stormResolved: Array.from({ length: ACCOUNTS }, (_, i) => stormAccount(i)),
    stormUnresolved: Array.from({ length: ACCOUNTS }, (_, i) => ({ label: `gone${i}.${heavy(280)}`, reason: heavy(1000) })),
    stormContained: Array.from({ length: ACCOUNTS }, (_, i) => ({ label: stormLabel(i), upn: stormLabel(i), placement: 'synced', status: i % 2 ? 'failed' : 'contained', changed: ['adDisable'], already: [], ...(i % 2 ? { error: heavy(1000) } : {}) })),
    stormSessionsEnded: 99_999,
  };
};
const stormLabel = (i: number) => `user${i}.${'a'.repeat(200)}@contoso.com`;
const stormAccount = (i: number) => ({ label: stormLabel(i), upn: stormLabel(i), placement: 'synced' as const, sid: heavy(200), domain: heavy(64), objectId: heavy(64), displayName: heavy(300), enabled: true, privilegedRoles: Array.from({ length: 5 }, () => heavy(200)) });

const incident = (): IncidentRecord => ({
  id: ID, customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: heavy(1000), subjectObjectId: null,
  severity: 'high', title: heavy(5000), status: 'containing', procedure: heavy(200), createdAt: now, updatedAt: now, closedAt: null, data: bigData(),
});
const action = (i: number, status: ActionRecord['status'], over: Partial<ActionRecord> = {}): ActionRecord => ({
  id: `${ID}:step-${i}`, incidentId: ID, stepId: `step-${i}`, name: 'entra.contain', status, idempotencyKey: `${ID}:step-${i}`, attempts: 1, input: null,
  preview: null, result: { summary: heavy(5000) }, error: heavy(5000), leaseOwner: null, leaseUntil: null, notBefore: null, createdAt: now, updatedAt: now, ...over,
});
const approval = (i: number, over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: `apv_${String(i).padStart(16, '0')}`, incidentId: ID, actionId: `${ID}:step-${i}`, status: 'pending', requiredApprovers: 2, requestedAt: now,
  expiresAt: now, decidedAt: null, decidedBy: null, reason: heavy(2000), cardActivityId: null,
  votes: [{ approverName: heavy(500), approverAadObjectId: 'x', vote: 'approve', at: now } as never], ...over,
});
const timeline = (n: number): TimelineEvent[] => Array.from({ length: n }, (_, i) => ({
  incidentId: ID, seq: i + 1, at: now, source: heavy(100), kind: 'step.succeeded', summary: heavy(5000), sourceTime: null, actor: null, data: {}, prevHash: '0'.repeat(64), hash: 'a'.repeat(64),
}));
/** 300 alerts of a spray, one per account, with the longest UPNs the intake keeps. */
const stormAlerts = (): AlertRecord[] => Array.from({ length: ACCOUNTS }, (_, i) => ({
  id: `da-${i}`, incidentId: ID, customerId: 'contoso', receivedAt: now, source: 'webhook', raw: '{}',
  alert: { title: 'Password spray', detectorId: 'spray', users: [{ upn: `user${i}.${'a'.repeat(200)}@contoso.com`, objectId: null }] },
}));
const snapshot = (): IncidentSnapshot => {
  const inc = incident();
  return {
    incident: inc, findings: readFindings(inc.data), customerName: heavy(100), alerts: stormAlerts(), timeline: timeline(2000),
    actions: [
      ...Array.from({ length: 30 }, (_, i) => action(i, i % 2 ? 'failed' : 'succeeded')),
      // the first round's approval covered the first 200 accounts: 100 joined after it
      action(30, 'succeeded', { stepId: 'storm-contain', name: 'identity.containMany', input: { accounts: Array.from({ length: 200 }, (_, i) => stormAccount(i)) } }),
    ],
    approvals: Array.from({ length: 30 }, (_, i) => approval(i)),
  };
};
/** A storm's approval: one change per account, longer than any card could hold. */
const bigPreview = {
  title: heavy(2000),
  facts: Array.from({ length: 100 }, () => ({ label: heavy(200), value: heavy(2000) })),
  changes: Array.from({ length: ACCOUNTS }, (_, i) => `Disable user${i}.${heavy(100)}@contoso.com and revoke its sessions ${heavy(500)}`),
  warnings: Array.from({ length: 50 }, () => heavy(2000)),
  notChanged: Array.from({ length: 300 }, () => ({ item: heavy(500), reason: heavy(2000) })),
};

function measure(card: Record<string, unknown>, summary = ''): number {
  const bytes = activityBytes(cardActivity(card, summary ? { summary } : {}));
  assert.ok(bytes <= ACTIVITY_BUDGET_BYTES, `${bytes} bytes > ${ACTIVITY_BUDGET_BYTES}`);
  assert.deepEqual(adaptiveCardProblems(card), []);
  return bytes;
}

describe('every card fits in one Teams message (28 KB with the card)', () => {
  it('the budget leaves room for what botbuilder adds', () => {
    assert.equal(TEAMS_MESSAGE_LIMIT_BYTES, 28 * 1024);
    assert.ok(ACTIVITY_BUDGET_BYTES < TEAMS_MESSAGE_LIMIT_BYTES);
  });

  it('the timeline card of the largest incident (300 storm accounts, full findings, 2,000 events) fits and says where the rest is', () => {
    const card = renderTimelineCard(snapshot());
    measure(card, `${ID}: ${heavy(300)}`);
    const text = cardText(card);
    assert.ok(text.includes(`Accounts in this storm: ${ACCOUNTS}`), 'the count of every account');
    assert.match(text, /… and \d+ more — see the report \(@ir report IR-20261127-7K3Q\) or the operator API GET \/api\/incidents\/IR-20261127-7K3Q/);
    assert.match(text, /Timeline \(UTC, latest \d+ of 2000; all of it: the report/);
    assert.ok(text.includes('user0.'), 'the first accounts are listed');
    assert.equal(readFindings(incident().data).unreadable.length, 0, 'every value is a readable finding at its longest');
    // the storm's outcome: the count, the way to finish the failed ones, the accounts no approval covers
    assert.ok(text.includes(`Contained ${ACCOUNTS / 2} of ${ACCOUNTS} accounts; ${ACCOUNTS / 2} not — finish each with @ir contain ‹upn› contoso`), 'the contained count');
    assert.match(text, /@ir contain user1\.a+@contoso\.com contoso — not contained/);
    assert.match(text, /Not contained: … and \d+ more — see the report/);
    assert.ok(text.includes('100 accounts joined after the approval: not covered'), 'the accounts no approval covers');
  });

  it("the storm containment's own approval card (300 accounts of the longest names, all privileged) fits with the count and the first accounts", async () => {
    const containMany = createIdentityActions().find((d) => d.name === 'identity.containMany')!;
    const input = containMany.input.parse({ accounts: Array.from({ length: ACCOUNTS }, (_, i) => stormAccount(i)) });
    const preview = await containMany.preview!(input, { customer: contosoCustomer(), secrets: { get: () => '', has: () => false }, incidentId: ID, idempotencyKey: 'k', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date(now) });
    assert.equal(preview.title, `Contain ${ACCOUNTS} accounts at Contoso`);
    assert.equal(preview.changes.length, ACCOUNTS);
    const card = renderApprovalCard({ approval: approval(1), incident: incident(), customerName: heavy(100), action: action(1, 'awaiting_approval', { name: 'identity.containMany', preview: preview as never }) });
    measure(card);
    const text = cardText(card);
    assert.ok(text.includes(`Contain ${ACCOUNTS} accounts at Contoso`));
    assert.ok(text.includes(`What will change (${ACCOUNTS})`), 'the count of what changes');
    assert.ok(text.includes(`${ACCOUNTS} privileged accounts`), 'the privileged accounts are called out');
    assert.ok(text.includes('user0.'), 'the first accounts are listed');
    assert.match(text, /… and \d+ more — see the operator API GET \/api\/incidents\/IR-20261127-7K3Q/);
  });

  it("the release card of the largest storm (300 accounts in round 1, 60 further rounds, 30 that contained nothing, half the accounts failed) fits with each round's count, its first accounts and … and K more", () => {
    const decl = createIdentityActions().find((d) => d.name === 'identity.containMany')!.inverse as Extract<InverseDecl, { action: string }>;
    let next = 0;
    // each round's undo as the plan makes it: identity.containMany's own inverse declaration applied to a round's input and output
    const round = (stepId: string, title: string, n: number) => {
      const accounts = Array.from({ length: n }, () => stormAccount(next++));
      const out: ContainManyOutput = {
        total: n, contained: Math.ceil(n / 2), failed: Math.floor(n / 2),
        accounts: accounts.map((a, k) => (k % 2
          ? { label: a.label, upn: a.upn, placement: a.placement, status: 'failed' as const, changed: [], already: [], error: heavy(500) }
          : { label: a.label, upn: a.upn, placement: a.placement, status: 'contained' as const, changed: ['adDisable'], already: [], steps: [{ step: 'adDisable', changed: true }] })),
      };
      const inverseInput = decl.input({ accounts }, out) as { accounts: Array<{ label: string; upn: string }> };
      return {
        kind: 'inverse' as const, stepId, title, forwardAction: 'identity.containMany', inverseAction: decl.action, inverseInput, note: decl.note,
        // identity.releaseMany's preview: one line per account
        changes: inverseInput.accounts.map((a) => `${a.label}: Enable in AD — Enable ${heavy(64)} (${heavy(200)}): userAccountControl ${heavy(20)}`),
        notChanged: decl.notUndone!({ accounts }, out), warnings: [heavy(300)], accounts: inverseInput.accounts.length,
      };
    };
    const plan = [
      ...Array.from({ length: 60 }, (_, r) => round(`storm-contain-${r + 2}`, `Contain the 5 accounts that joined the storm (round ${r + 2})`, 5)),
      round('storm-contain', "Contain the storm's accounts where they live", ACCOUNTS),
      ...Array.from({ length: 30 }, (_, r) => ({ kind: 'nothing' as const, stepId: `storm-contain-${r + 62}`, title: `Contain the 5 accounts that joined the storm (round ${r + 62})`, forwardAction: 'identity.containMany', reason: `rejected (${heavy(200)}): its 5 accounts were not contained, nothing to undo` })),
    ];
    const input = releaseGateInput.parse({
      reason: heavy(500), classification: 'falsePositive', requestedBy: { name: heavy(200), aadObjectId: 'x' }, plan,
      selected: plan.filter((i) => i.kind === 'inverse').map((i) => i.stepId), followThrough: [heavy(300), heavy(300)],
    });
    const preview = releasePreview(input, ID);
    const card = renderReleaseCard({ approval: approval(1), incident: incident(), customerName: heavy(100), action: action(1, 'awaiting_approval', { stepId: 'release', name: 'release.start', preview: preview as never }), notice: heavy(400) });
    measure(card);
    const text = cardText(card);
    // the first rounds in full: the count, the first accounts, then how many more and where they are
    assert.ok(text.includes('Contain the 5 accounts that joined the storm (round 2) — 3 accounts to release: user0.'), 'a round with its count and first accounts');
    // (names this long are cut on the last levels; each line is cut on its own, so the count stays)
    assert.match(text, new RegExp(`— 3 accounts to release: user0\\.a+[^;]*; user2\\.a+[^;]*; … and 1 more — see GET /api/incidents/${ID} \\(step release\\)`));
    // every round's count stays, on its tick (round 1: half of its 300 accounts were contained)
    assert.ok(text.includes(`storm-contain — ${ACCOUNTS / 2} accounts to release`), 'round 1 with its count');
    for (let r = 2; r <= 61; r++) assert.ok(text.includes(`storm-contain-${r} — 3 accounts to release`), `round ${r} with its count`);
    // the accounts never contained, and the rounds that contained nothing, are named (the first ones, then counted)
    assert.match(text, /user1\.a+…: its containment failed, nothing to undo \(/);
    assert.match(text, /… and \d+ more: see the report \(@ir report IR-20261127-7K3Q\)/);
    assert.match(text, /… and \d+ more — see GET \/api\/incidents\/IR-20261127-7K3Q \(step release\): the undos are listed under "changes"/);
    const body = card.body as Array<{ id?: string; choices?: Array<{ value: string }>; value?: string }>;
    const choice = body.find((b) => b.id === 'selected')!;
    assert.equal(choice.choices!.length, 61, 'every round keeps its tick');
    assert.equal(choice.value, input.selected.join(','));
    assert.deepEqual((card.actions as Array<{ verb: string }>).map((a) => a.verb), ['ir.approve', 'ir.reject']);
  });

  it('an open approval with 300 changes keeps Approve/Reject, the count and where the full list is', () => {
    const inc = incident();
    const card = renderApprovalCard({ approval: approval(1), incident: inc, customerName: heavy(100), action: action(1, 'awaiting_approval', { preview: bigPreview }), notice: heavy(2000) });
    measure(card);
    const actions = card.actions as Array<{ verb: string; data: Record<string, unknown> }>;
    assert.deepEqual(actions.map((a) => a.verb), ['ir.approve', 'ir.reject']);
    assert.deepEqual(actions[0].data, { approvalId: approval(1).id }, 'the click binds to the approval, hence to the stored preview');
    const text = cardText(card);
    assert.ok(text.includes(`What will change (${ACCOUNTS})`), 'the count of what changes');
    assert.match(text, /… and \d+ more — see the operator API GET \/api\/incidents\/IR-20261127-7K3Q \(the step's "changes"\); this approval applies to all 300 as stored/);
    assert.ok(text.includes('Disable user0.'), 'the first changes are listed');
  });

  it('an approval whose changes fit shorter is shown whole: no change is left out while lines can shrink', () => {
    const preview = { ...bigPreview, changes: Array.from({ length: 40 }, (_, i) => `Disable user${i}.${'a'.repeat(40)}@contoso.com and revoke its sign-in sessions (enabled now)`) };
    const card = renderApprovalCard({ approval: approval(1), incident: incident(), customerName: 'Contoso', action: action(1, 'awaiting_approval', { preview }) });
    measure(card);
    const text = cardText(card);
    for (let i = 0; i < 40; i++) assert.ok(text.includes(`Disable user${i}.`), `change ${i}`);
    assert.ok(!text.includes('this approval applies to all'));
  });

  it('the decided approval card with the longest result fits', () => {
    const card = renderApprovalCard({
      approval: approval(1, { status: 'approved', decidedBy: heavy(500), decidedAt: now }), incident: incident(), customerName: heavy(100),
      action: action(1, 'succeeded', { preview: bigPreview }),
    });
    measure(card);
  });

  it('the status card with 50 open incidents of the longest values fits', () => {
    const rows = Array.from({ length: 50 }, () => ({ incident: incident(), customerName: heavy(100), current: heavy(2000), pending: Array.from({ length: 30 }, () => heavy(200)) }));
    const card = renderStatusCard(rows, heavy(500), new Date(now));
    measure(card);
    assert.match(cardText(card), /… and \d+ more — see the operator API GET \/api\/incidents\?status=open/);
  });

  it('the handoff card with 200 incidents fits', () => {
    const h: HandoffData = {
      shiftKey: 'k', shiftName: heavy(200), timeZone: 'Europe/Lisbon', localStart: '08:00', localDate: '2026-11-27', startsAt: now, postedAt: now,
      late: { minutes: 30, notice: heavy(1000) }, mention: { name: heavy(300), aadObjectId: 'a', upn: 'a@b.c' }, outgoing: { name: heavy(300), aadObjectId: 'b' },
      incidents: Array.from({ length: 200 }, (_, i) => ({
        id: `IR-20261127-${String(i).padStart(4, '0')}`, customerName: heavy(100), subjectUpn: heavy(300), title: heavy(1000), severity: 'high', status: 'open', openedAt: now,
        pendingApprovals: Array.from({ length: 30 }, () => heavy(200)), left: Array.from({ length: 30 }, () => heavy(500)),
        links: { thread: `https://teams.microsoft.com/l/message/${'x'.repeat(400)}`, report: `https://bot.example/reports/${'y'.repeat(400)}`, ticket: `https://sn.example/${'z'.repeat(400)}`, ticketNumber: heavy(60) },
      })),
      summary: heavy(500),
    };
    const card = renderHandoffCard(h);
    measure(card, heavy(300));
    assert.match(cardText(card), /\d+ more open incidents: @ir status, or the operator API/);
  });

  it('the CISO email draft with the longest plain-text body an approver may send fits', () => {
    // 20,000 characters is the draft's bound (src/evidence/actions.ts); a generated draft is ASCII text with line breaks.
    const body = Array.from({ length: 400 }, (_, i) => `Line ${i}: ${'a'.repeat(40)}`).join('\n').slice(0, 20_000);
    const card = renderEmailDraftCard({
      approvalId: 'apv_1', incidentId: ID, customerName: heavy(100), open: true, notice: heavy(1000), warnings: Array.from({ length: 20 }, () => heavy(1000)),
      draft: { to: [`ciso@${'c'.repeat(200)}.com`], cc: [`oncall@${'c'.repeat(200)}.com`], subject: heavy(255), body },
    });
    measure(card);
    const nodes = JSON.stringify(card);
    assert.ok(nodes.includes(JSON.stringify(body).slice(1, -1)), 'the body goes out exactly as drafted');
  });

  it('a step evidence reply of the longest lines fits and says how many lines were left out', () => {
    const lines = Array.from({ length: 40 }, () => heavy(2000)).map((l) => l.slice(0, 500).replace(/[*_]/g, (c) => `\\${c}`));
    const msg = fitTextMessage(lines, '\n\n', 'the report');
    assert.ok(activityBytes(msg) <= ACTIVITY_BUDGET_BYTES);
    assert.match(String(msg.text), /… and \d+ more lines — see the report$/);
    const small = fitTextMessage(['one', 'two'], '\n\n', 'the report');
    assert.equal(small.text, 'one\n\ntwo');
  });

  it('the channel measures what it is about to send and refuses an oversized message before any call', async () => {
    let queued = 0;
    const channel = new TeamsChannel({} as never, 'app', {} as never, { enqueue: async () => { queued++; return undefined as never; } }, { info() {}, warn() {} } as never);
    const tooBig = { attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'x'.repeat(30_000) }] } }] };
    await assert.rejects(channel.reply('c', tooBig), CardTooLargeError);
    await assert.rejects(channel.update('c', 'a', tooBig), CardTooLargeError);
    await assert.rejects(channel.startThread(tooBig), CardTooLargeError);
    assert.equal(queued, 0, 'nothing was sent');
    assert.doesNotThrow(() => assertActivityFits(cardActivity(renderTimelineCard(snapshot()))));
  });
});
