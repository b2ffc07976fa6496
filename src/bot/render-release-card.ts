import type { InverseItem, PlanItem } from '../engine/release-plan';
import { countOf } from '../engine/release-gate';
import { charsAt, firstOf, fitCard, rowsAt } from './card-budget';
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
  return fitCard('release', (level) => releaseCardAt(v, level));
}

/**
 * The card at a shrink level (src/bot/card-budget.ts): a storm's rounds list their accounts one
 * line each, 300 of them do not fit, so each undo shows its count and its first changes, then
 * "… and K more" with where the whole list is; the ticks, the classification and the buttons stay.
 */
function releaseCardAt(v: ApprovalView, level: number): Record<string, unknown> {
  const { approval: a, incident: inc, action } = v;
  const p = (action.preview ?? {}) as ReleasePreview;
  const plan = p.data?.plan ?? [];
  const selectedRaw = p.data?.selected ?? [];
  const selected = Array.isArray(selectedRaw) ? selectedRaw : String(selectedRaw).split(',').filter(Boolean);
  const open = a.status === 'pending';
  const inverses = plan.filter((i): i is InverseItem => i.kind === 'inverse');
  const where = `GET /api/incidents/${inc.id} (step ${action.stepId})`;
  const perItem = rowsAt(level, 16, 2);
  // each account's line is cut on its own, so that the count and "… and K more" always show
  const lineChars = charsAt(level, 240, 60);
  const chars = 600 + (perItem + 1) * (lineChars + 2);
  const line = (i: InverseItem) => {
    if (i.previewError) return `${i.title}${countOf(i)}: undo with ${i.inverseAction} (its state could not be read now: ${i.previewError}; it re-reads before acting)`;
    if (i.nothingToDo) return `${i.title}${countOf(i)}: nothing to undo now (${listed(i.notChanged.map((n) => `${n.item}: ${n.reason}`), perItem, where, lineChars) || 'already undone'})`;
    return `${i.title}${countOf(i)}: ${listed(i.changes, perItem, where, lineChars) || `undo with ${i.inverseAction}`}`;
  };
  const chosen = open ? inverses : inverses.filter((i) => selected.includes(i.stepId));
  let outcome = '';
  let outcomeColor = 'Default';
  if (open) outcome = pendingApprovalLine(a);
  if (a.status === 'approved') { outcome = `Approved by ${a.decidedBy} at ${utc(a.decidedAt)}; the incident is ${inc.status}`; outcomeColor = 'Good'; }
  if (a.status === 'rejected') { outcome = `Rejected by ${a.decidedBy} at ${utc(a.decidedAt)}${a.reason ? `: ${a.reason}` : ''}: the containment stays`; outcomeColor = 'Attention'; }
  if (a.status === 'expired') { outcome = `Expired at ${utc(a.expiresAt)} without an answer: ask again with release`; outcomeColor = 'Warning'; }
  if (a.status === 'superseded') outcome = 'Superseded: this request is no longer current.';
  const notChanged = [
    // what an undo leaves as it is (an IP another open incident still holds stays blocked, a storm
    // account whose containment failed): the approver sees it before approving; a nothing-to-do
    // undo says it on its own line already
    ...chosen.filter((i) => !i.nothingToDo && !i.previewError).flatMap((i) => i.notChanged.map((n) => ({ item: n.item, reason: n.reason }))),
    // a storm round that contained nothing (rejected, failed): nothing to undo
    ...plan.filter((i) => i.kind === 'nothing').map((i) => ({ item: i.title, reason: (i as { reason: string }).reason })),
    ...inverses.filter((i) => !selected.includes(i.stepId)).map((i) => ({ item: i.title, reason: 'not part of this release: it stays in place' })),
  ];
  const left = firstOf(notChanged, rowsAt(level, 40, 4), where);
  // a storm with many rounds: the first undos in full, the rest counted (each still has its tick)
  const lines = firstOf(chosen, rowsAt(level, 100, 6), `${where}: the undos are listed under "changes"`);
  return expandCard('release', {
    notice: inert(v.notice ?? '', 400),
    headerStyle: open ? 'warning' : a.status === 'approved' ? 'good' : 'default',
    heading: inert(`${open ? 'Approval needed' : 'Release'}: release the containment · ${inc.id}`),
    title: inert(p.title ?? `Release ${subjectDisplay(inc.subjectUpn)}`, 300),
    facts: [{ label: 'Customer', value: inert(v.customerName) }, { label: 'Account', value: inert(subjectDisplay(inc.subjectUpn), 200) }, ...(p.facts ?? []).map((f) => ({ label: inert(f.label, 60), value: inert(f.value, 300) }))],
    changesHeading: open ? 'What the release changes now' : 'What this release undoes',
    inverses: lines.shown.map((i) => ({ line: inert(line(i), chars) })),
    moreInverses: lines.more ? inert(lines.more, 300) : '',
    // every undo keeps its tick, however many rounds a storm had: the selection is what runs
    // (shrunk: the step id and the count, so that every round's count stays on the card)
    choices: open ? inverses.map((i) => ({ stepId: i.stepId, title: inert(`${level >= 3 ? i.stepId : i.title}${countOf(i)}`, 160) })) : [],
    selected: (open ? selected : chosen.map((i) => i.stepId)).join(','),
    followThrough: inert(`Then: the Defender alerts are classified ${p.data?.classification ?? 'falsePositive'} with a comment, and the incident ends released.`, 300),
    cannotUndo: [
      // a storm's rounds share one note: said once, not once per round
      ...[...byNote(inverses)].map(([note, items]) => ({ line: inert(`${items[0].title}${items.length > 1 ? ` (and ${items.length - 1} other round${items.length === 2 ? '' : 's'})` : ''}: ${note}`, 400) })),
      ...plan.filter((i) => i.kind === 'kept').map((i) => ({ line: inert(`${i.title}: ${(i as { reason: string }).reason}`, 400) })),
    ],
    notChanged: [
      ...left.shown.map((n) => ({ item: inert(n.item, 120), reason: inert(n.reason, charsAt(level, 300, 80)) })),
      ...(left.more ? [{ item: `… and ${notChanged.length - left.shown.length} more`, reason: inert(`see the report (@ir report ${inc.id}): every round's accounts and their outcome`, 300) }] : []),
    ],
    classification: p.data?.classification ?? 'falsePositive',
    open,
    outcome: inert(outcome, 400),
    outcomeColor,
    footer: `Requested ${utc(a.requestedAt)} · expires ${utc(a.expiresAt)} · step ${action.stepId}`,
    approvalId: a.id,
  });
}

/** The first `n` lines joined, then "… and K more — see <where>": a storm round's accounts. */
function listed(lines: readonly string[], n: number, where: string, max: number): string {
  const { shown, more } = firstOf(lines, n, where);
  return [...shown.map((l) => (l.length > max ? `${l.slice(0, max - 1)}…` : l)), ...(more ? [more] : [])].join('; ');
}

function byNote(items: readonly InverseItem[]): Map<string, InverseItem[]> {
  const m = new Map<string, InverseItem[]>();
  for (const i of items) if (i.note) m.set(i.note, [...(m.get(i.note) ?? []), i]);
  return m;
}
