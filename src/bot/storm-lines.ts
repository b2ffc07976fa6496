import type { IncidentFindings } from '../domain/incident-findings';
import { stormCoverage, type RoundRow } from '../domain/storm-coverage';
import { firstOf } from './card-budget';

/**
 * What a storm incident's timeline card says about its accounts beyond the list (issue 13 part 4):
 * how many were contained of how many, how to finish each one that was not (the existing
 * per-account command), the ones no look-up could resolve, and the accounts that joined after the
 * approval was asked and no approval covers yet. Counts first: the lists are cut to `rows` with a
 * pointer to where the whole of them is.
 */
export function stormLines(f: IncidentFindings, rows: readonly RoundRow[], accounts: readonly string[], opts: { customerId: string; botName: string; rows: number; where: string }): string[] {
  if (!f.storm) return [];
  // each line leads with what must survive the card's shortening: the count, the command
  const out: string[] = [];
  const contained = f.stormContained ?? [];
  if (contained.length) {
    const failed = contained.filter((a) => a.status === 'failed');
    out.push(`Contained ${contained.length - failed.length} of ${contained.length} accounts${failed.length ? `; ${failed.length} not — finish each with @${opts.botName} contain <upn> ${opts.customerId}:` : ''}`);
    const shown = firstOf(failed, opts.rows, opts.where);
    // the command first: a long connector error is cut to the card's line length, the way out must not be
    for (const a of shown.shown) out.push(`@${opts.botName} contain ${a.upn ?? a.label} ${opts.customerId} — not contained${a.error ? `: ${a.error}` : ''}`);
    if (shown.more) out.push(`Not contained: ${shown.more}`);
  }
  const unresolved = firstOf(f.stormUnresolved ?? [], opts.rows, opts.where);
  if (unresolved.shown.length) out.push(`Not resolved, nothing contained there (${(f.stormUnresolved ?? []).length}): ${unresolved.shown.map((u) => `${u.label} (${u.reason})`).join('; ')}${unresolved.more ? `; ${unresolved.more}` : ''}`);
  const cov = stormCoverage(rows, accounts);
  // before the first card is asked nobody has been asked about anything: no "not covered" yet
  const asked = cov.containRows.some((r) => r.input && Array.isArray(r.input.accounts));
  if (asked && cov.uncovered.length) {
    const pending = cov.containRows.at(-1)?.status === 'awaiting_approval' || cov.containRows.at(-1)?.status === 'waiting' || cov.containRows.at(-1)?.status === 'ready' || cov.containRows.at(-1)?.status === 'running';
    out.push(`${cov.uncovered.length} account${cov.uncovered.length === 1 ? '' : 's'} joined after the approval: not covered${pending ? '; one further approval is asked for them once the current one is decided' : '; one further approval is being prepared for them'}`);
  }
  if (f.stormSessionsEnded !== undefined) out.push(`RADIUS sessions ended across the storm's accounts: ${f.stormSessionsEnded}`);
  return out;
}
