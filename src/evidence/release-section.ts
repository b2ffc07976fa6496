import type { ActionRecord, ApprovalRecord, EvidenceRecord, IncidentRecord, TimelineEvent } from '../store/store';
import { cell, code, table, text, utc } from './markdown';

/**
 * The report's release section (issue 14): what the release undid, by whom and when, each undo
 * with the hashes of the payloads its target answered; what it left in place and why. Read from
 * the release's own action rows (`release`, `release-<step>`), its approval and its timeline lines,
 * never from the cache. `releaseProblems` is what `verify` checks of the same rows.
 */

const isReleaseRow = (a: ActionRecord) => a.stepId === 'release' || a.stepId.startsWith('release-');
const evidenceIdsOf = (a: ActionRecord): number[] => {
  const ids = (a.result as { evidenceIds?: unknown } | null)?.evidenceIds;
  return Array.isArray(ids) ? ids.filter((x): x is number => typeof x === 'number') : [];
};

export function releaseSection(d: { incident: IncidentRecord; actions: ActionRecord[]; approvals: ApprovalRecord[]; timeline: TimelineEvent[]; evidence: EvidenceRecord[] }): string {
  const gate = d.actions.find((a) => a.stepId === 'release');
  if (!gate) return '';
  const input = (gate.input ?? {}) as { reason?: unknown; classification?: unknown; requestedBy?: { name?: unknown }; plan?: Array<{ kind?: unknown; stepId?: unknown; title?: unknown; reason?: unknown }>; selected?: unknown };
  const approval = d.approvals.filter((a) => a.actionId === gate.id).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt)).at(-1);
  const requested = d.timeline.filter((e) => e.kind === 'release.requested').at(-1);
  const released = d.timeline.find((e) => e.kind === 'incident.released');
  const byId = new Map(d.evidence.map((e) => [e.id, e]));
  const parts = ['## Release\n\n'];
  parts.push(`The containment was released as ${code(input.classification ?? 'unknown')}: ${text(String(input.reason ?? ''))}\n\n`);
  parts.push(`- Requested by ${text(String(input.requestedBy?.name ?? 'unknown'))}${requested ? ` at ${utc(requested.at)} (timeline event ${requested.seq})` : ''}\n`);
  parts.push(approval
    ? `- Approval: ${code(approval.status)}${approval.decidedBy ? ` by ${text(approval.decidedBy)}` : ''}${approval.decidedAt ? ` at ${utc(approval.decidedAt)}` : ''}\n`
    : '- Approval: none recorded\n');
  parts.push(released ? `- Released at ${utc(released.at)} (timeline event ${released.seq}, SHA-256 ${code(released.hash)})\n\n` : `- The incident is ${code(d.incident.status)}: the release has not ended\n\n`);
  const rows = d.actions.filter((a) => isReleaseRow(a) && a.stepId !== 'release').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  parts.push('### What was undone\n\n');
  parts.push(rows.length
    ? table(['Step', 'Action', 'Status', 'Ended (UTC)', 'Result', 'Evidence (SHA-256)'], rows.map((a) => [
      cell(a.stepId, 80), cell(a.name, 60), cell(a.status), ['succeeded', 'failed'].includes(a.status) ? utc(a.updatedAt) : '—',
      cell(a.status === 'failed' ? `error: ${a.error ?? ''}` : a.status === 'skipped' ? `skipped: ${a.error ?? ''}` : String((a.result as { summary?: unknown } | null)?.summary ?? ''), 400),
      evidenceIdsOf(a).map((id) => `#${id} ${byId.get(id)?.sha256 ?? '(missing)'}`).join('<br>') || '—',
    ]))
    : 'Nothing has been undone yet.\n');
  // an approver's edit is stored as the card sent it ("a,b"); the API's as a list
  const selected = new Set(Array.isArray(input.selected) ? input.selected.map(String) : typeof input.selected === 'string' ? input.selected.split(',').map((x) => x.trim()) : []);
  // 'nothing': a storm's containment round that contained nothing (rejected, failed …): nothing to undo
  const left = (input.plan ?? []).filter((i) => i.kind === 'kept' || i.kind === 'nothing' || (i.kind === 'inverse' && !selected.has(String(i.stepId))));
  parts.push('\n### Left in place\n\n');
  parts.push(left.length ? left.map((i) => `- ${text(String(i.title ?? i.stepId))}: ${text(i.kind === 'inverse' ? 'not part of this release' : String(i.reason ?? ''))}\n`).join('') : '- Nothing.\n');
  const planEvidence = evidenceIdsOf(gate).map((id) => byId.get(id)).filter((e): e is EvidenceRecord => !!e);
  if (planEvidence.length) parts.push(`\nThe approved plan is kept as evidence ${planEvidence.map((e) => `#${e.id} (SHA-256 ${code(e.sha256)})`).join(', ')}.\n`);
  return `${parts.join('')}\n`;
}

/**
 * What `verify` checks of a release beyond the hashes: every payload its rows name is still stored
 * (a deleted evidence row leaves no hash to fail), a release that ran had an approved approval, and
 * a released incident has its release on the timeline.
 */
export function releaseProblems(incident: IncidentRecord, actions: ActionRecord[], approvals: ApprovalRecord[], timeline: TimelineEvent[], evidence: EvidenceRecord[]): string[] {
  const gate = actions.find((a) => a.stepId === 'release');
  if (!gate) return incident.status === 'released' || incident.status === 'releasing' ? [`the incident is ${incident.status} but has no release row`] : [];
  const out: string[] = [];
  const stored = new Set(evidence.map((e) => e.id));
  for (const a of actions.filter(isReleaseRow)) {
    for (const id of evidenceIdsOf(a)) if (!stored.has(id)) out.push(`${a.stepId} names payload #${id}, which is no longer stored`);
  }
  const ran = actions.some((a) => isReleaseRow(a) && a.stepId !== 'release' && a.status !== 'waiting');
  if ((gate.status === 'succeeded' || ran) && !approvals.some((p) => p.actionId === gate.id && p.status === 'approved')) out.push('the release ran without an approved approval');
  if (incident.status === 'released' && !timeline.some((e) => e.kind === 'incident.released')) out.push('the incident is released but the timeline has no release event');
  return out;
}
