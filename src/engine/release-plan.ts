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
  /** an inverse over a list of accounts (a storm round's undo): how many, for the card's count */
  accounts?: number;
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

/**
 * A containment round of a storm that contained nothing (rejected, expired, failed, cancelled): its
 * accounts were never changed, so there is nothing to undo; the card says so rather than leave the
 * analyst wondering why they are not listed.
 */
export interface NothingItem {
  kind: 'nothing';
  stepId: string;
  title: string;
  forwardAction: string;
  reason: string;
}

export type PlanItem = InverseItem | KeptItem | NothingItem;

/**
 * Rows that are not procedure steps but stand with one: a storm's further containment rounds
 * (`storm-contain-<n>`, src/engine/storm-rounds.ts) stand with `storm-contain`. For such a step the
 * plan takes every round (the step's own row first), undoes each that succeeded and names each
 * that contained nothing.
 */
export interface StepRounds {
  /** every round of the step, the step's own row included, in round order */
  rows: ActionRecord[];
  title(row: ActionRecord): string;
}

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
 * read-only steps change nothing either. A step with rounds (`roundsOf`) gives one item per round,
 * and a round that contained nothing says so ('nothing').
 */
export function buildReleasePlan(proc: Procedure, actions: readonly ActionRecord[], registry: ActionRegistry, roundsOf: (stepId: string) => StepRounds | undefined = () => undefined): ReleasePlan {
  const byStep = new Map(actions.map((a) => [a.stepId, a]));
  const items: PlanItem[] = [];
  for (const step of [...topologicalOrder(proc)].reverse()) {
    const rounds = roundsOf(step.id);
    if (!rounds) {
      const a = byStep.get(step.id);
      const item = a && itemOf(a, step.title, registry);
      if (item) items.push(item);
      continue;
    }
    // the later rounds first: the reverse of the order they ran in, as for the steps
    for (const a of [...rounds.rows].reverse()) {
      const title = rounds.title(a);
      if (NOTHING_DONE.has(a.status)) {
        const n = listLength(a.input?.accounts);
        const its = n === undefined ? 'its accounts' : `its ${n} account${n === 1 ? '' : 's'}`;
        // a round that failed may have stopped half-way (a lost lease): what it did is not on record
        const reason = a.status === 'failed'
          ? `failed${a.error ? ` (${a.error.slice(0, 200)})` : ''}: none of ${its} is recorded as contained, so none is released; check them by hand if it stopped half-way`
          : `${a.status}${a.error ? ` (${a.error.slice(0, 200)})` : ''}: ${its} ${n === 1 ? 'was' : 'were'} not contained, nothing to undo`;
        items.push({ kind: 'nothing', stepId: a.stepId, title, forwardAction: a.name, reason });
        continue;
      }
      const item = itemOf(a, title, registry);
      if (item) items.push(item);
    }
  }
  return { items };
}

/** A round that ended without changing anything. */
const NOTHING_DONE = new Set(['rejected', 'expired', 'failed', 'cancelled']);

function listLength(v: unknown): number | undefined {
  return Array.isArray(v) ? v.length : undefined;
}

/** The plan item of one row: undefined when it changed nothing worth undoing (not succeeded, read-only). */
function itemOf(a: ActionRecord, title: string, registry: ActionRegistry): PlanItem | undefined {
  if (a.status !== 'succeeded' || a.result?.nothingToDo === true) return undefined;
  const def = registry.get(a.name);
  const base = { stepId: a.stepId, title, forwardAction: a.name };
  if (!def) return { kind: 'kept', ...base, reason: `${a.name} is not registered in this process: undo it by hand` };
  const decl = def.inverse;
  if (!decl) {
    // read-only and reporting steps change nothing worth undoing; a destructive one without a declaration is named
    return def.risk === 'destructive' ? { kind: 'kept', ...base, reason: `${a.name} declares no inverse: undo it by hand` } : undefined;
  }
  if ('none' in decl) return { kind: 'kept', ...base, reason: decl.none };
  if (!registry.has(decl.action)) return { kind: 'kept', ...base, reason: `its inverse ${decl.action} is not registered in this process: undo it by hand` };
  const fwdOut = (a.result as { output?: unknown } | null)?.output ?? null;
  let inverseInput: Record<string, unknown>;
  try {
    inverseInput = decl.input(a.input ?? {}, fwdOut);
  } catch (e) {
    return { kind: 'kept', ...base, reason: `the inverse input could not be built (${(e as Error).message.slice(0, 200)}): undo it by hand` };
  }
  const parsed = registry.get(decl.action)!.input.safeParse(inverseInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'kept', ...base, reason: `the inverse input does not fit ${decl.action} (${issue.path.join('.') || 'input'}: ${issue.message}): undo it by hand` };
  }
  const accounts = listLength(inverseInput.accounts);
  return {
    kind: 'inverse', ...base, inverseAction: decl.action, inverseInput: JSON.parse(JSON.stringify(inverseInput)) as Record<string, unknown>,
    ...(decl.note ? { note: decl.note } : {}), changes: [],
    // what the forward action itself did not change (a storm account whose containment failed): nothing to undo there
    notChanged: decl.notUndone ? decl.notUndone(a.input ?? {}, fwdOut) : [],
    warnings: [], ...(accounts !== undefined ? { accounts } : {}),
  };
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
      items.push({ ...item, changes: p.changes, notChanged: [...item.notChanged, ...(p.notChanged ?? [])], warnings: p.warnings, ...(p.nothingToDo ? { nothingToDo: true } : {}) });
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

/**
 * The accounts an undo over many accounts did not release (identity.releaseMany: one account
 * failing does not stop the others, and the row succeeds when any was released). The release is
 * not complete while there are any: it names them and `@ir retry` re-runs the row, which re-reads
 * every account and changes only the ones still to release.
 */
export function accountsLeft(row: Pick<ActionRecord, 'status' | 'result'>): Array<{ label: string; error: string }> {
  if (row.status !== 'succeeded') return [];
  const accounts = ((row.result?.output ?? null) as { accounts?: unknown } | null)?.accounts;
  if (!Array.isArray(accounts)) return [];
  return accounts.flatMap((a) => (a && typeof a === 'object' && (a as { status?: unknown }).status === 'failed'
    ? [{ label: String((a as { label?: unknown }).label ?? '?'), error: String((a as { error?: unknown }).error ?? 'failed') }] : []));
}
