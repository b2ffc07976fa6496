import type { Clicker } from '../domain/approval-policy';
import { Approvals } from './approvals';
import { EngineCore, type EngineDeps } from './engine-core';
import { IncidentCommands } from './incident-commands';
import type { CommandResult, DecideResult, StartResult } from './results';
import { Runner } from './runner';
import { Scheduler, type TickReport } from './scheduler';
import { Transitions } from './transitions';
import { AdHocActions, type AdHocOutcome, type AdHocRequest } from './ad-hoc';
import { StormRounds } from './storm-rounds';
import { Release, type ReleaseRequestResult } from './release';
import { releaseGate } from './release-gate';

export type { Clicker, GroupMembership } from '../domain/approval-policy';
export { systemClock, type Clock, type CustomerLookup, type EngineDeps } from './engine-core';
export type { CommandResult, DecideResult, StartResult } from './results';
export type { TickReport } from './scheduler';
export type { AdHocOutcome, AdHocRequest } from './ad-hoc';
export type { ReleaseRequestResult } from './release';
export { topologicalOrder } from './transitions';

/**
 * Runs procedures against incidents. Every transition goes to the store before the effect it
 * allows (the intent, then the call, then the result), so any process can die at any point and a
 * new one resumes from the store: leases expire and are re-claimed with `mayHaveRun`, approvals
 * survive, and a destructive call is never made twice for the same idempotency key.
 *
 * This class is the engine's one door; the work is done in its rooms: the scheduler (when things
 * run), the transitions (how a step moves), the approvals (who decides), the runner (the call
 * and its record), the incident commands (start, contain, cancel, retry) and the ad-hoc actions
 * (side effects outside a procedure step: the feed expiry's unblock, the alert resolution on close).
 */
export class Engine {
  private readonly core: EngineCore;
  private readonly scheduler: Scheduler;
  private readonly approvals: Approvals;
  private readonly commands: IncidentCommands;
  private readonly adHoc: AdHocActions;
  private readonly release: Release;

  constructor(deps: EngineDeps) {
    this.core = new EngineCore(deps);
    this.scheduler = new Scheduler(this.core);
    this.approvals = new Approvals(this.core);
    this.commands = new IncidentCommands(this.core);
    this.adHoc = new AdHocActions(this.core);
    this.release = new Release(this.core);
    // the release's approval is put to an action of the engine's own
    deps.registry.ensure(releaseGate);
    this.core.rooms = { release: this.release, scheduler: this.scheduler, approvals: this.approvals, commands: this.commands, transitions: new Transitions(this.core), runner: new Runner(this.core), adHoc: this.adHoc, stormRounds: new StormRounds(this.core) };
  }

  /** unique per process: the lease owner */
  get workerId(): string {
    return this.core.workerId;
  }

  /** Runs ticks on an interval and right after every change. Resumes whatever the store holds. */
  start(): void {
    this.scheduler.start();
  }

  /** Stops scheduling and waits for the actions in flight to finish and be recorded. */
  stop(): Promise<void> {
    return this.scheduler.stop();
  }

  /** One round: expire approvals, schedule every live incident, claim and run what is runnable; waits for those runs. */
  tick(): Promise<TickReport> {
    return this.scheduler.tick();
  }

  /** Ticks until nothing changes and nothing runs (tests and scripts). */
  settle(maxRounds = 200): Promise<void> {
    return this.scheduler.settle(maxRounds);
  }

  /** Starts the customer's procedure on an incident intake created. Idempotent. */
  startIncident(incidentId: string): Promise<void> {
    return this.commands.startIncident(incidentId);
  }

  /** `contain <upn> [customer]`: an incident without an alert, with the same approvals. */
  startForAccount(req: { customerId: string; upn: string; requestedBy: Clicker }): Promise<StartResult> {
    return this.commands.startForAccount(req);
  }

  /** Stops an incident: waiting and ready steps are cancelled, pending approvals become stale. */
  cancel(incidentId: string, by: Clicker): Promise<CommandResult> {
    return this.commands.cancel(incidentId, by);
  }

  /** Re-requests an expired, failed or rejected step (approvers only); its skipped dependents wait again. */
  retry(incidentId: string, stepId: string, by: Clicker): Promise<CommandResult> {
    return this.commands.retry(incidentId, stepId, by);
  }

  /** A vote on an approval card (with an approver's edits of an editable input). */
  decide(req: { approvalId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string; edits?: Record<string, unknown> }): Promise<DecideResult> {
    return this.approvals.decide(req);
  }

  /** Text fallback `approve <incident> <step>`: votes on the step's pending approval. */
  decideByStep(req: { incidentId: string; stepId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string }): Promise<DecideResult> {
    return this.approvals.decideByStep(req);
  }

  /** Whether a person may act on an incident as its customer's approver (close, report); refusals go on the timeline. */
  authorize(incidentId: string, who: Clicker, doing: string): Promise<CommandResult> {
    return this.approvals.authorize(incidentId, who, doing);
  }

  /** Runs one action for an incident outside its procedure, exactly once per step id (see AdHocActions). */
  runAdHoc(incidentId: string, req: AdHocRequest): Promise<AdHocOutcome> {
    return this.adHoc.run(incidentId, req);
  }

  /** `release <incident> <reason>`: the plan of inverses and its one approval (issue 14). */
  requestRelease(req: { incidentId: string; reason: string; classification?: string; by: Clicker }): Promise<ReleaseRequestResult> {
    return this.release.request(req);
  }

  /** Schedules one incident's steps now (another replica announced a change to it); the poll is the fallback. */
  wake(incidentId: string): void {
    this.scheduler.kick(incidentId);
  }
}
