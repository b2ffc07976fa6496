import { z } from 'zod';
import type { ActionDef, Preview } from '../connectors/types';
import type { InverseItem, PlanItem } from './release-plan';

/**
 * The release's one approval (issue 14) is put to this action, like a destructive step's approval
 * is put to its action: its input is the whole plan as it was previewed, the reason, the chosen
 * classification and the steps the approver keeps ticked (a partial release). The approver may
 * change those two on the card; the vote re-validates them. Running it changes nothing outside:
 * it keeps the approved plan as evidence (hashed) before any inverse runs.
 */

export const RELEASE_GATE_ACTION = 'release.start';
export const RELEASE_GATE_STEP = 'release';
export const CLASSIFICATIONS = ['falsePositive', 'informationalExpectedActivity'] as const;
export type ReleaseClassification = (typeof CLASSIFICATIONS)[number];

const itemSchema = z.union([
  z.object({
    kind: z.literal('inverse'), stepId: z.string(), title: z.string(), forwardAction: z.string(), inverseAction: z.string(),
    inverseInput: z.record(z.unknown()), note: z.string().optional(), changes: z.array(z.string()), notChanged: z.array(z.object({ item: z.string(), reason: z.string() })),
    warnings: z.array(z.string()), accounts: z.number().int().min(0).optional(), nothingToDo: z.boolean().optional(), previewError: z.string().optional(),
  }),
  z.object({ kind: z.literal('kept'), stepId: z.string(), title: z.string(), forwardAction: z.string(), reason: z.string() }),
  z.object({ kind: z.literal('nothing'), stepId: z.string(), title: z.string(), forwardAction: z.string(), reason: z.string() }),
]);

/** A card's multi-select answers "a,b,c"; the API sends a list. */
const stepList = z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.string().max(80)).max(100));

export const releaseGateInput = z.object({
  reason: z.string().trim().min(1, 'the reason is required').max(500),
  classification: z.enum(CLASSIFICATIONS),
  requestedBy: z.object({ name: z.string().max(200), aadObjectId: z.string().max(64) }),
  // a storm adds one item per containment round to the procedure's steps
  plan: z.array(itemSchema).max(100),
  selected: stepList,
  /** what follows the undos besides the classification (the ticket note, the CISO follow-up draft), as the card says it */
  followThrough: z.array(z.string().max(300)).max(5).optional(),
}).strict().superRefine((v, c) => {
  const inverses = new Set(v.plan.filter((i) => i.kind === 'inverse').map((i) => i.stepId));
  const unknown = v.selected.filter((s) => !inverses.has(s));
  if (unknown.length) c.addIssue({ code: z.ZodIssueCode.custom, path: ['selected'], message: `${unknown.slice(0, 5).join(', ')} cannot be undone by this release (it can undo: ${[...inverses].join(', ') || 'nothing'})` });
  if (inverses.size > 0 && v.selected.length === 0) c.addIssue({ code: z.ZodIssueCode.custom, path: ['selected'], message: 'tick at least one step to undo' });
});
export type ReleaseGateInput = z.infer<typeof releaseGateInput>;

export function chosenInverses(input: ReleaseGateInput): InverseItem[] {
  const chosen = new Set(input.selected);
  return (input.plan as PlanItem[]).filter((i): i is InverseItem => i.kind === 'inverse' && chosen.has(i.stepId));
}

/** " — 12 accounts to release" for an undo over a list of accounts (a storm round), else nothing. */
export function countOf(i: InverseItem): string {
  return i.accounts === undefined ? '' : ` — ${i.accounts} account${i.accounts === 1 ? '' : 's'} to release`;
}

export function releasePreview(input: ReleaseGateInput, incidentId: string): Preview {
  const chosen = chosenInverses(input);
  const chosenIds = new Set(chosen.map((i) => i.stepId));
  const plan = input.plan as PlanItem[];
  const changes = chosen.map((i) => {
    if (i.previewError) return `${i.title}: undo with ${i.inverseAction} (what it changes could not be read now: ${i.previewError}; it re-reads before acting)`;
    if (i.nothingToDo) return `${i.title}: nothing to undo now (${i.notChanged.map((n) => `${n.item}: ${n.reason}`).join('; ') || 'already undone'})`;
    return `${i.title}${countOf(i)}: ${i.changes.join('; ') || `undo with ${i.inverseAction}`}`;
  });
  const notChanged = [
    ...chosen.flatMap((i) => i.notChanged.map((n) => ({ item: n.item, reason: n.reason }))),
    ...plan.filter((i) => i.kind === 'kept' || i.kind === 'nothing').map((i) => ({ item: i.title, reason: (i as { reason: string }).reason })),
    ...plan.filter((i) => i.kind === 'inverse' && !chosenIds.has(i.stepId)).map((i) => ({ item: i.title, reason: 'not part of this release: it stays in place' })),
  ];
  return {
    title: `Release the containment of ${incidentId}`,
    facts: [
      { label: 'Reason', value: input.reason },
      { label: 'Requested by', value: input.requestedBy.name },
      { label: 'Defender alerts classified as', value: input.classification },
    ],
    changes: [...changes, `Classify the incident's Defender alerts as ${input.classification}, with a comment`, ...(input.followThrough ?? [])],
    // what the inverses themselves cannot undo (the password stays reset, sessions stay revoked)
    warnings: [...chosen.flatMap((i) => [...(i.note ? [i.note] : []), ...i.warnings])],
    notChanged,
    data: { release: true, classification: input.classification, selected: input.selected, plan },
  };
}

export const releaseGate: ActionDef<ReleaseGateInput, { selected: string[]; classification: ReleaseClassification; reason: string }> = {
  name: RELEASE_GATE_ACTION,
  risk: 'destructive',
  description: 'Start the approved release: keep the approved plan as evidence, then the inverses run one by one',
  input: releaseGateInput,
  editable: ['classification', 'selected'],
  shownForEdit(preview) {
    const d = preview?.data as { classification?: unknown; selected?: unknown } | undefined;
    return d ? { classification: d.classification, selected: d.selected } : undefined;
  },
  async preview(input, ctx) {
    // adHoc: the runner runs this row without a procedure step (an approver's edit re-makes the preview)
    return { ...releasePreview(input, ctx.incidentId), adHoc: true } as Preview;
  },
  async run(input, ctx) {
    const chosen = chosenInverses(input);
    const body = Buffer.from(JSON.stringify({ incidentId: ctx.incidentId, reason: input.reason, classification: input.classification, requestedBy: input.requestedBy, selected: input.selected, plan: input.plan }, null, 2));
    return {
      output: { selected: input.selected, classification: input.classification, reason: input.reason },
      summary: `release approved: ${chosen.length ? `undo ${chosen.map((i) => i.stepId).join(', ')}` : 'nothing to undo'}; alerts to be classified ${input.classification}`,
      raw: [{ source: 'engine.releasePlan', contentType: 'application/json', body, collectedAt: ctx.now().toISOString(), note: 'the release plan as approved' }],
    };
  },
};
