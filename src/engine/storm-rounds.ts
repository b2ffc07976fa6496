import { actionIdOf } from '../domain/incident-id';
import { roundStepId, stormCoverage, STORM_CONTAIN_ACTION as CONTAIN_ACTION, STORM_CONTAIN_STEP, STORM_RESOLVE_ACTION as RESOLVE_ACTION, STORM_RESOLVE_STEP } from '../domain/storm-coverage';
import { stormRoundEndings, STORM_ROUND_NOTE_ACTION, TICKET_OPEN_ACTION } from '../domain/storm-round-notes';
import { isStormSubject, stormAccountIdentities } from '../intake/storm';
import type { ActionRecord, IncidentRecord } from '../store/store';
import { ENDED, errorText, LIVE_INCIDENT, Room, toJson } from './engine-core';
import type { ProcedureStep } from './procedure';
import { RELEASE_GATE_STEP } from './release-gate';

/** A release request that no longer stands: the rounds go on. */
const RELEASE_GONE = new Set(['rejected', 'expired', 'failed', 'cancelled']);

/**
 * Further rounds of a storm incident (issue 13 part 4). storm-contain's approval covers exactly the
 * accounts its card listed. Accounts whose alerts join the storm later are looked up at once
 * (`storm-accounts-<n>`, read-only, no approval), and as soon as the previous containment round has
 * been decided (and has ended) ONE further approval is asked for every looked-up account that no
 * round has asked about (`storm-contain-<n>`, with its count). Each row is an action row
 * `<incident>:<step>` created once, claimed under a lease and run by the runner like a procedure
 * step, so a crash resumes it and a replay never runs it twice. Everything is re-read from the
 * store on every call (the scheduler's pass), so any replica continues where another stopped.
 * A release (src/engine/release.ts) undoes every round that ran; while one is asked, no new
 * containment round is asked. A round that ends after the storm's ticket was opened is noted on the
 * ticket (noteOnTicket), so the ticket never says fewer accounts are contained than are.
 */
export class StormRounds extends Room {

  /** Moves the storm's further rounds along; returns how many rows it changed. */
  async advance(incident: IncidentRecord): Promise<number> {
    if (!isStormSubject(incident.subjectUpn) || !LIVE_INCIDENT.has(incident.status) || !incident.procedure) return 0;
    if (!this.registry.has(RESOLVE_ACTION) || !this.registry.has(CONTAIN_ACTION)) return 0;
    const actions = await this.store.listActions(incident.id);
    const first = actions.find((a) => a.stepId === STORM_RESOLVE_STEP);
    // the procedure's own round takes every account there is when it runs: nothing to add before
    if (first?.status !== 'succeeded') return 0;
    const alerts = await this.store.listAlerts(incident.id);
    const customer = this.customerOf(incident);
    const identities = stormAccountIdentities(alerts, customer.activeDirectory?.domains ?? []);
    const cov = stormCoverage(actions, identities.map((i) => i.label));
    let changed = await this.recordRounds(incident, cov.resolveRows, cov.containRows);
    changed += await this.noteOnTicket(incident, actions);

    // --- look-up: the next round once the last one succeeded and accounts no round took exist
    const lastResolve = cov.resolveRows.at(-1)!;
    if (lastResolve.round > 1 && lastResolve.status === 'waiting') changed += await this.makeReady(incident, lastResolve, lookUpTitle(lastResolve.round, labelCount(lastResolve.input)));
    else if (lastResolve.status === 'succeeded' && cov.notLookedAt.length) {
      const round = lastResolve.round + 1;
      const accounts = identities.filter((i) => cov.notLookedAt.includes(i.label));
      const row = await this.ensureRow(incident, roundStepId(STORM_RESOLVE_STEP, round), RESOLVE_ACTION, { accounts });
      if (row.status === 'waiting') changed += await this.makeReady(incident, row, lookUpTitle(round, accounts.length));
    }

    // --- containment: one further approval for what the look-ups resolved and no round asked about
    const lastContain = cov.containRows.at(-1);
    if (!lastContain) return changed;
    // A release asked (or approved) undoes exactly the rounds its card listed: no new round is asked
    // meanwhile (the later accounts are looked up, not contained), and a round's card asked at the
    // same moment as the release is withdrawn. A rejected or expired release lets the rounds go on.
    const gate = actions.find((a) => a.stepId === RELEASE_GATE_STEP);
    if (gate && !RELEASE_GONE.has(gate.status)) return changed + (await this.withdraw(incident, cov.containRows.filter((r) => r.round > 1)));
    if (lastContain.round > 1 && lastContain.status === 'awaiting_approval') {
      await this.rooms.approvals.ensureApproval(incident, customer, pseudoStep(lastContain.stepId, String(lastContain.preview?.title ?? 'Contain the accounts that joined the storm')), lastContain);
      return changed;
    }
    if (lastContain.round > 1 && lastContain.status === 'waiting') return changed + (await this.askApproval(incident, lastContain));
    if (!ENDED.has(lastContain.status) || cov.resolvedNotAsked.length === 0) return changed;
    const round = lastContain.round + 1;
    const row = await this.ensureRow(incident, roundStepId(STORM_CONTAIN_STEP, round), CONTAIN_ACTION, { accounts: cov.resolvedNotAsked });
    if (row.status === 'waiting') changed += await this.askApproval(incident, row);
    return changed;
  }

  /** Cancels the further rounds not started yet (waiting, ready, awaiting approval): a release was asked. */
  private async withdraw(incident: IncidentRecord, rounds: ActionRecord[]): Promise<number> {
    let changed = 0;
    for (const a of rounds.filter((r) => ['waiting', 'ready', 'awaiting_approval'].includes(r.status))) {
      const moved = await this.store.transitionAction(a.id, { from: [a.status], to: 'cancelled' }, { error: 'a release of the storm was asked: this round is not run' }, [
        { source: 'engine', kind: 'step.cancelled', summary: `${a.stepId}: cancelled (a release of the storm was asked)`, data: { step: a.stepId, stormRound: true } },
      ]);
      if (!moved) continue;
      changed++;
      for (const ap of await this.store.listApprovals({ incidentId: incident.id, status: 'pending' })) if (ap.actionId === a.id) this.notify((n) => n.approvalDecided(ap));
    }
    if (changed) this.notify((n) => n.incidentChanged(incident.id));
    return changed;
  }

  /**
   * The storm findings over every round (the procedure's `record:` writes its first round's only):
   * recomputed from the rows each time and written when they differ, so a crash loses nothing.
   */
  private async recordRounds(incident: IncidentRecord, resolveRows: ActionRecord[], containRows: ActionRecord[]): Promise<number> {
    if (resolveRows.length < 2 && containRows.length < 2) return 0;
    const outputs = (rows: ActionRecord[], key: string) => rows.filter((r) => r.status === 'succeeded')
      .flatMap((r) => { const v = ((r.result?.output ?? null) as Record<string, unknown> | null)?.[key]; return Array.isArray(v) ? v : []; });
    const data: Record<string, unknown> = {
      stormResolved: outputs(resolveRows, 'accounts'),
      stormUnresolved: outputs(resolveRows, 'unresolved'),
      ...(containRows.some((r) => r.status === 'succeeded') ? { stormContained: outputs(containRows, 'accounts') } : {}),
    };
    const current = incident.data as Record<string, unknown>;
    const differs = Object.entries(data).some(([k, v]) => JSON.stringify(current[k] ?? null) !== JSON.stringify(v));
    if (!differs) return 0;
    await this.store.updateIncident(incident.id, { data });
    this.notify((n) => n.incidentChanged(incident.id));
    return 1;
  }

  /**
   * A further round that ended after the storm's ticket was opened: one work note on the ticket per
   * ending (src/domain/storm-round-notes.ts), as a row of its own `<incident>:storm-ticket-note-<n>`
   * (its id the idempotency key), so a crash, a retry or a replay never notes it twice. A round the
   * ticket's description already told (ticket.open's stormRoundsCounted) gets none; no ticket yet:
   * nothing here, the ticket counts the round when it is opened.
   */
  private async noteOnTicket(incident: IncidentRecord, actions: ActionRecord[]): Promise<number> {
    if (!this.registry.has(STORM_ROUND_NOTE_ACTION)) return 0;
    const ticket = actions.find((a) => a.name === TICKET_OPEN_ACTION && a.status === 'succeeded');
    if (!ticket) return 0;
    const counted = ((ticket.result?.output ?? null) as { stormRoundsCounted?: unknown } | null)?.stormRoundsCounted;
    const told = new Set(Array.isArray(counted) ? counted.filter((x): x is string => typeof x === 'string') : []);
    let changed = 0;
    for (const e of stormRoundEndings(actions)) {
      if (told.has(e.noteStepId)) continue;
      const existing = actions.find((a) => a.stepId === e.noteStepId);
      if (existing && existing.status !== 'waiting') continue;
      const row = existing ?? (await this.ensureRow(incident, e.noteStepId, STORM_ROUND_NOTE_ACTION, { round: e.round, approvalRound: e.approvalRound }));
      if (row.status === 'waiting') changed += await this.makeReady(incident, row, noteTitle(e.round, e.status));
    }
    return changed;
  }

  /** The row `<incident>:<stepId>`, created once whoever gets here first (ensureActions keeps the first). */
  private async ensureRow(incident: IncidentRecord, stepId: string, action: string, input: Record<string, unknown>): Promise<ActionRecord> {
    const id = actionIdOf(incident.id, stepId);
    await this.store.ensureActions([{ id, incidentId: incident.id, stepId, name: action, status: 'waiting', idempotencyKey: id, input: toJson(input) as Record<string, unknown> }]);
    return (await this.store.getAction(id))!;
  }

  private async makeReady(incident: IncidentRecord, a: ActionRecord, title: string): Promise<number> {
    const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'ready' }, { preview: { adHoc: true, title }, error: null, notBefore: null }, [
      { source: 'engine', kind: 'step.ready', summary: `${title}: ready`, data: { step: a.stepId, stormRound: true } },
    ]);
    if (moved) this.kick(incident.id);
    return moved ? 1 : 0;
  }

  /** The further round's card: the containment preview of exactly the accounts in the row's input. */
  private async askApproval(incident: IncidentRecord, a: ActionRecord): Promise<number> {
    const customer = this.customerOf(incident);
    const def = this.registry.get(CONTAIN_ACTION)!;
    const count = labelCount(a.input);
    const title = `Contain the ${count} account${count === 1 ? '' : 's'} that joined the storm after the last approval`;
    let preview: Record<string, unknown>;
    try {
      preview = toJson(await def.preview!(def.input.parse(a.input), this.actionContext(incident, customer, a, false))) as Record<string, unknown>;
    } catch (e) {
      const error = errorText(e);
      const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'failed' }, { preview: { adHoc: true, title }, error: `could not prepare the approval: ${error}` }, [
        { source: 'engine', kind: 'step.failed', summary: `${title}: failed (could not prepare the approval: ${error})`, data: { step: a.stepId, stormRound: true } },
      ]);
      return moved ? 1 : 0;
    }
    // a retried round (expired, then @ir retry) gets its own approval, as a procedure step does
    const approvalRound = (await this.store.listApprovals({ incidentId: incident.id })).filter((x) => x.actionId === a.id).length;
    const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'awaiting_approval' }, { preview: { ...preview, adHoc: true, title, approvalRound }, error: null, notBefore: null }, [
      { source: 'engine', kind: 'step.awaitingApproval', summary: `${title}: waiting for approval: ${String(preview.title ?? '')}`, data: { step: a.stepId, stormRound: true, accounts: count } },
    ]);
    if (!moved) return 0;
    await this.rooms.approvals.ensureApproval(incident, customer, pseudoStep(a.stepId, title), moved, true);
    this.notify((n) => n.incidentChanged(incident.id));
    return 1;
  }
}

function labelCount(input: Record<string, unknown> | null): number {
  const list = input?.accounts;
  return Array.isArray(list) ? list.length : 0;
}

function lookUpTitle(round: number, n: number): string {
  return `Look up the ${n} account${n === 1 ? '' : 's'} that joined the storm (round ${round})`;
}

function noteTitle(round: number, status: string): string {
  return `Note round ${round} of the storm (${status}) on the ServiceNow ticket`;
}

/** The approval machinery reads only these fields of a step (as for a release's pseudo-steps). */
function pseudoStep(id: string, title: string): ProcedureStep {
  return { id, title, action: CONTAIN_ACTION, needs: [], after: [], followUp: false, with: {}, record: {}, approval: { twoPerson: false } };
}
