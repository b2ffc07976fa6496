import type { ActionContext, Preview } from '../connectors/types';
import type { ActionRecord } from '../store/store';
import type { ActionRegistry } from './action-registry';
import type { Procedure } from './procedure';
import { topologicalOrder } from './transitions';

/**
 * The way back from a containment (issue 14), derived from what actually happened: the incident's
 * action rows as the store holds them. Only SUCCEEDED steps are undone; each forward action
 * declares its inverse next to its definition (ActionDef.inverse), nothing is guessed here.
 */

/** A succeeded step the release undoes: the inverse action and the input built from the forward call. */
export interface InverseItem {
  kind: 'inverse';
  stepId: string;
  title: string;
  forwardAction: string;
  inverseAction: string;
  inverseInput: Record<string, unknown>;
  note?: string;
  /** the inverse's preview when the plan was made: what it changes now */
  changes: string[];
  notChanged: Array<{ item: string; reason: string }>;
  warnings: string[];
  /** the inverse's preview found nothing to undo (someone already did it by hand) */
  nothingToDo?: boolean;
  previewError?: string;
}

/** A succeeded step that stays as it is, and why (shown on the card as "cannot be undone"). */
export interface KeptItem {
  kind: 'kept';
  stepId: string;
  title: string;
  forwardAction: string;
  reason: string;
}

export type PlanItem = InverseItem | KeptItem;

export interface ReleasePlan {
  /** in the order they run: the reverse of the procedure's dependency order */
  items: PlanItem[];
}

/** The release step id of a forward step (its action row is `<incident>:release-<step>`). */
export function releaseStepId(stepId: string): string {
  return `release-${stepId}`;
}

/**
 * The plan, without previews. `actions` must be read from the store (the cache may lag a crash);
 * steps that did not succeed, or succeeded with nothing to do, changed nothing and are left out;
 * read-only steps change nothing either.
 */
export function buildReleasePlan(proc: Procedure, actions: readonly ActionRecord[], registry: ActionRegistry): ReleasePlan {
  const byStep = new Map(actions.map((a) => [a.stepId, a]));
  const items: PlanItem[] = [];
  for (const step of [...topologicalOrder(proc)].reverse()) {
    const a = byStep.get(step.id);
    if (!a || a.status !== 'succeeded' || a.result?.nothingToDo === true) continue;
    const def = registry.get(a.name);
    const base = { stepId: step.id, title: step.title, forwardAction: a.name };
    if (!def) {
      items.push({ kind: 'kept', ...base, reason: `${a.name} is not registered in this process: undo it by hand` });
      continue;
    }
    const decl = def.inverse;
    if (!decl) {
      // read-only and reporting steps change nothing worth undoing; a destructive one without a declaration is named
      if (def.risk === 'destructive') items.push({ kind: 'kept', ...base, reason: `${a.name} declares no inverse: undo it by hand` });
      continue;
    }
    if ('none' in decl) {
      items.push({ kind: 'kept', ...base, reason: decl.none });
      continue;
    }
    if (!registry.has(decl.action)) {
      items.push({ kind: 'kept', ...base, reason: `its inverse ${decl.action} is not registered in this process: undo it by hand` });
      continue;
    }
    let inverseInput: Record<string, unknown>;
    try {
      inverseInput = decl.input(a.input ?? {}, (a.result as { output?: unknown } | null)?.output ?? null);
    } catch (e) {
      items.push({ kind: 'kept', ...base, reason: `the inverse input could not be built (${(e as Error).message.slice(0, 200)}): undo it by hand` });
      continue;
    }
    const parsed = registry.get(decl.action)!.input.safeParse(inverseInput);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      items.push({ kind: 'kept', ...base, reason: `the inverse input does not fit ${decl.action} (${issue.path.join('.') || 'input'}: ${issue.message}): undo it by hand` });
      continue;
    }
    items.push({
      kind: 'inverse', ...base, inverseAction: decl.action, inverseInput: JSON.parse(JSON.stringify(inverseInput)) as Record<string, unknown>,
      ...(decl.note ? { note: decl.note } : {}), changes: [], notChanged: [], warnings: [],
    });
  }
  return { items };
}

/**
 * Asks each inverse what it would change now (state is re-read by the inverse's own preview: an
 * account already enabled, an IP another incident still blocks). A preview that fails is shown as
 * such; the inverse still re-reads its target when it runs.
 */
export async function previewReleasePlan(plan: ReleasePlan, registry: ActionRegistry, ctxFor: (item: InverseItem) => ActionContext): Promise<ReleasePlan> {
  const items: PlanItem[] = [];
  for (const item of plan.items) {
    if (item.kind !== 'inverse') {
      items.push(item);
      continue;
    }
    const def = registry.get(item.inverseAction)!;
    if (!def.preview) {
      items.push({ ...item, changes: [`${def.description}`] });
      continue;
    }
    try {
      const p: Preview = await def.preview(def.input.parse(item.inverseInput), ctxFor(item));
      items.push({ ...item, changes: p.changes, notChanged: p.notChanged ?? [], warnings: p.warnings, ...(p.nothingToDo ? { nothingToDo: true } : {}) });
    } catch (e) {
      items.push({ ...item, changes: [], previewError: (e as Error).message.slice(0, 300) });
    }
  }
  return { items };
}

/**
 * The subset an approver chose (a partial release: only the firewall). Unknown step ids are an
 * error, not ignored: the approver must see exactly what runs. Empty means "every inverse".
 */
export function selectInverses(plan: ReleasePlan, stepIds: readonly string[]): { ok: true; items: InverseItem[] } | { ok: false; reason: string } {
  const inverses = plan.items.filter((i): i is InverseItem => i.kind === 'inverse');
  if (stepIds.length === 0) return { ok: true, items: inverses };
  const known = new Set(inverses.map((i) => i.stepId));
  const unknown = stepIds.filter((s) => !known.has(s));
  if (unknown.length) return { ok: false, reason: `${unknown.slice(0, 5).map((s) => `"${s.slice(0, 60)}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a step this release can undo (it can undo: ${[...known].join(', ') || 'nothing'})` };
  const chosen = new Set(stepIds);
  return { ok: true, items: inverses.filter((i) => chosen.has(i.stepId)) };
}
