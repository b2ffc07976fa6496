/**
 * Which of a storm's accounts an approval covers (issue 13 part 4). The storm procedure's first
 * round is its steps `storm-accounts` (look-up) and `storm-contain` (one approval); accounts that
 * join later get further rounds `storm-accounts-<n>` and `storm-contain-<n>` (src/engine/storm-rounds.ts).
 * An approval covers exactly the accounts in its row's input (frozen when its card was made), so the
 * coverage is read from the action rows, which the store keeps, never from a cache.
 */

export const STORM_RESOLVE_STEP = 'storm-accounts';
export const STORM_CONTAIN_STEP = 'storm-contain';
/**
 * The action types of a storm's rounds and of its email's lines, named here (their ActionDefs are in
 * src/connectors/storm/) so the engine and the evidence compare them without importing connectors.
 */
export const STORM_RESOLVE_ACTION = 'identity.resolveMany';
export const STORM_CONTAIN_ACTION = 'identity.containMany';
export const STORM_DISCONNECT_ACTION = 'radius.disconnectMany';

/** What this module reads of an action row (the store's ActionRecord has these and more). */
export interface RoundRow {
  stepId: string;
  status: string;
  input: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
}

/** The round of a storm row: 1 for the procedure's step, n for `<step>-<n>`; undefined for another step. */
export function roundOf(stepId: string, base: typeof STORM_RESOLVE_STEP | typeof STORM_CONTAIN_STEP): number | undefined {
  if (stepId === base) return 1;
  const m = new RegExp(`^${base}-(\\d{1,4})$`).exec(stepId);
  return m ? Number(m[1]) : undefined;
}

export function roundStepId(base: typeof STORM_RESOLVE_STEP | typeof STORM_CONTAIN_STEP, round: number): string {
  return round === 1 ? base : `${base}-${round}`;
}

/** The rows of every round of `base` (the procedure's step is round 1), in round order. */
export function roundRows<T extends RoundRow>(rows: readonly T[], base: typeof STORM_RESOLVE_STEP | typeof STORM_CONTAIN_STEP): Array<T & { round: number }> {
  return rowsOf(rows, base);
}

/** What a further containment round is called where it is listed (the release card, the report). */
export function containRoundTitle(round: number, accounts: number): string {
  return `Contain the ${accounts} account${accounts === 1 ? '' : 's'} that joined the storm (round ${round})`;
}

function rowsOf<T extends RoundRow>(rows: readonly T[], base: typeof STORM_RESOLVE_STEP | typeof STORM_CONTAIN_STEP): Array<T & { round: number }> {
  return rows.flatMap((r) => {
    const round = roundOf(r.stepId, base);
    return round === undefined ? [] : [{ ...r, round }];
  }).sort((a, b) => a.round - b.round);
}

function labelsIn(list: unknown): string[] {
  return Array.isArray(list) ? list.flatMap((x) => (x && typeof x === 'object' && typeof (x as { label?: unknown }).label === 'string' ? [(x as { label: string }).label] : [])) : [];
}

export interface StormCoverage<T extends RoundRow = RoundRow> {
  resolveRows: Array<T & { round: number }>;
  containRows: Array<T & { round: number }>;
  /** accounts some look-up round took (resolved or not) */
  lookedAt: Set<string>;
  /** accounts in the input of some containment round: an approval was asked (or given) for them */
  covered: Set<string>;
  /** accounts some look-up resolved, that no containment round has asked about yet */
  resolvedNotAsked: Array<Record<string, unknown>>;
  /** the storm's accounts no look-up has taken yet */
  notLookedAt: string[];
  /** the storm's accounts that no approval covers: not looked at yet, or looked at and not yet asked about (the unresolved excepted) */
  uncovered: string[];
}

/** `accounts`: the storm's account labels in order (stormAccounts of its alerts). */
export function stormCoverage<T extends RoundRow>(rows: readonly T[], accounts: readonly string[]): StormCoverage<T> {
  const resolveRows = rowsOf(rows, STORM_RESOLVE_STEP);
  const containRows = rowsOf(rows, STORM_CONTAIN_STEP);
  const lookedAt = new Set(resolveRows.flatMap((r) => labelsIn(r.input?.accounts)));
  const covered = new Set(containRows.flatMap((r) => labelsIn(r.input?.accounts)));
  const resolved = resolveRows.filter((r) => r.status === 'succeeded').flatMap((r) => {
    const out = (r.result?.output ?? null) as { accounts?: unknown } | null;
    return Array.isArray(out?.accounts) ? (out!.accounts as Array<Record<string, unknown>>) : [];
  });
  const unresolved = new Set(resolveRows.filter((r) => r.status === 'succeeded').flatMap((r) => labelsIn(((r.result?.output ?? null) as { unresolved?: unknown } | null)?.unresolved)));
  const seen = new Set<string>();
  const resolvedNotAsked = resolved.filter((a) => {
    const l = a.label as string;
    if (covered.has(l) || seen.has(l)) return false;
    seen.add(l);
    return true;
  });
  const notLookedAt = accounts.filter((a) => !lookedAt.has(a));
  const uncovered = accounts.filter((a) => !covered.has(a) && !unresolved.has(a));
  return { resolveRows, containRows, lookedAt, covered, resolvedNotAsked, notLookedAt, uncovered };
}
