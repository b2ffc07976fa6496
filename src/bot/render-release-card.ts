import type { InverseItem, PlanItem } from '../engine/release-plan';
import { expandCard } from './card-templates';
import { inert, utc } from './inert-text';
import { subjectDisplay } from '../domain/subject-display';
import { pendingApprovalLine, type ApprovalView } from './render-cards';

/**
 * The release card (issue 14): ONE card for `@ir release` and the approval in the incident's thread.
 * Every inverse with what it changes now, what cannot be undone (the inverses' notes: the password
 * stays reset and how the user gets a new one, revoked sessions stay revoked; the steps without an
 * inverse: RADIUS sessions reconnect by themselves), a tick per inverse (a partial release), the
 * classification, Approve/Reject. Read from the release row's stored preview: the card shows what
 * the approval decides, nothing recomputed. Every value from a device or alert goes through inert().
 */
interface ReleasePreview {
  title?: string;
  facts?: Array<{ label: string; value: string }>;
  data?: { plan?: PlanItem[]; selected?: string[] | string; classification?: string };
}

export function renderReleaseCard(v: ApprovalView): Record<string, unknown> {
  const { approval: a, incident: inc, action } = v;
  const p = (action.preview ?? {}) as ReleasePreview;
  const plan = p.data?.plan ?? [];
  const selectedRaw = p.data?.selected ?? [];
  const selected = Array.isArray(selectedRaw) ? selectedRaw : String(selectedRaw).split(',').filter(Boolean);
  const open = a.status === 'pending';
  const inverses = plan.filter((i): i is InverseItem => i.kind === 'inverse');
  const line = (i: InverseItem) => {
    if (i.previewError) return `${i.title}: undo with ${i.inverseAction} (its state could not be read now: ${i.previewError}; it re-reads before acting)`;
    if (i.nothingToDo) return `${i.title}: nothing to undo now (${i.notChanged.map((n) => `${n.item}: ${n.reason}`).join('; ') || 'already undone'})`;
    return `${i.title}: ${i.changes.join('; ') || `undo with ${i.inverseAction}`}`;
  };
  const chosen = open ? inverses : inverses.filter((i) => selected.includes(i.stepId));
  let outcome = '';
  let outcomeColor = 'Default';
  if (open) outcome = pendingApprovalLine(a);
  if (a.status === 'approved') { outcome = `Approved by ${a.decidedBy} at ${utc(a.decidedAt)}; the incident is ${inc.status}`; outcomeColor = 'Good'; }
  if (a.status === 'rejected') { outcome = `Rejected by ${a.decidedBy} at ${utc(a.decidedAt)}${a.reason ? `: ${a.reason}` : ''}: the containment stays`; outcomeColor = 'Attention'; }
  if (a.status === 'expired') { outcome = `Expired at ${utc(a.expiresAt)} without an answer: ask again with release`; outcomeColor = 'Warning'; }
  if (a.status === 'superseded') outcome = 'Superseded: this request is no longer current.';
  return expandCard('release', {
    notice: inert(v.notice ?? '', 400),
    headerStyle: open ? 'warning' : a.status === 'approved' ? 'good' : 'default',
    heading: inert(`${open ? 'Approval needed' : 'Release'}: release the containment · ${inc.id}`),
    title: inert(p.title ?? `Release ${subjectDisplay(inc.subjectUpn)}`, 300),
    facts: [{ label: 'Customer', value: inert(v.customerName) }, { label: 'Account', value: inert(subjectDisplay(inc.subjectUpn), 200) }, ...(p.facts ?? []).map((f) => ({ label: inert(f.label, 60), value: inert(f.value, 300) }))],
    changesHeading: open ? 'What the release changes now' : 'What this release undoes',
    inverses: chosen.map((i) => ({ stepId: i.stepId, line: inert(line(i), 500), choiceTitle: inert(i.title, 120) })),
    selected: (open ? selected : chosen.map((i) => i.stepId)).join(','),
    followThrough: inert(`Then: the Defender alerts are classified ${p.data?.classification ?? 'falsePositive'} with a comment, and the incident ends released.`, 300),
    cannotUndo: [
      ...inverses.filter((i) => i.note).map((i) => ({ line: inert(`${i.title}: ${i.note}`, 400) })),
      ...plan.filter((i) => i.kind === 'kept').map((i) => ({ line: inert(`${i.title}: ${(i as { reason: string }).reason}`, 400) })),
    ],
    notChanged: [
      // what an undo leaves as it is (an IP another open incident still holds stays blocked): the
      // approver sees it before approving; a nothing-to-do undo says it on its own line already
      ...chosen.filter((i) => !i.nothingToDo && !i.previewError).flatMap((i) => i.notChanged.map((n) => ({ item: inert(n.item, 120), reason: inert(n.reason, 300) }))),
      ...inverses.filter((i) => !selected.includes(i.stepId)).map((i) => ({ item: inert(i.title, 120), reason: 'not part of this release: it stays in place' })),
    ],
    classification: p.data?.classification ?? 'falsePositive',
    open,
    outcome: inert(outcome, 400),
    outcomeColor,
    footer: `Requested ${utc(a.requestedAt)} · expires ${utc(a.expiresAt)} · step ${action.stepId}`,
    approvalId: a.id,
  });
}
