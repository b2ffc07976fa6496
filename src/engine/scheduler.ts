import type { ActionRecord, AlertRecord, IncidentRecord } from '../store/store';
import { BLOCKING, ENDED, LIVE_INCIDENT, Room } from './engine-core';
import { topologicalOrder } from './transitions';

export interface TickReport {
  /** actions whose status the scheduler changed */
  scheduled: number;
  /** actions claimed and run */
  ran: number;
  /** approvals expired */
  expired: number;
}

/**
 * When things run: the round loop (on an interval and right after every change), claiming
 * runnable actions under a lease within this process's concurrency, and the pass that moves one
 * incident's steps along. It decides nothing about a step itself: the transitions do.
 */
export class Scheduler extends Room {
  private readonly inFlight = new Set<Promise<void>>();
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  /** the next round looks at everything: the interval, start(), a change whose incident is not known */
  private wholeRound = false;
  /** incidents this process changed since the last round: the next round schedules only these */
  private readonly changedIncidents = new Set<string>();
  /** a round found more runnable actions than free slots: the next free slot claims from every incident */
  private backlog = false;


  /** Runs ticks on an interval and right after every change. Resumes whatever the store holds. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Deliberately not unref'd: a started engine keeps a worker process alive until stop().
    this.timer = setInterval(() => this.kick(), this.core.tickIntervalMs);
    this.kick();
  }

  /** Stops scheduling and waits for the actions in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /** One round: expire approvals, schedule every live incident, claim and run what is runnable; waits for those runs. */
  async tick(): Promise<TickReport> {
    return this.round(true);
  }

  /** Ticks until nothing changes and nothing runs (tests and scripts). */
  async settle(maxRounds = 200): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      const r = await this.tick();
      if (r.scheduled === 0 && r.ran === 0 && r.expired === 0 && this.inFlight.size === 0) return;
    }
    throw new Error(`engine did not settle within ${maxRounds} rounds`);
  }

  /**
   * Asks for a round soon. With an incident id (a change this process just made to it) the round
   * schedules that incident only and claims its runnable steps at once; without one (the interval,
   * start()) it is a whole round: expire approvals, schedule every live incident, claim from all,
   * which is also what picks up other processes' changes, passed back-offs and expired leases.
   */
  override kick(incidentId?: string): void {
    if (!this.started) return;
    if (incidentId === undefined) this.wholeRound = true;
    else this.changedIncidents.add(incidentId);
    this.drain();
  }

  private drain(): void {
    if (this.loop || !this.started) return;
    this.loop = (async () => {
      while (this.started && (this.wholeRound || this.changedIncidents.size > 0)) {
        const only = this.wholeRound ? undefined : [...this.changedIncidents];
        this.wholeRound = false;
        this.changedIncidents.clear();
        try {
          await this.round(false, only);
        } catch (err) {
          this.log.error({ err }, 'engine round failed; retrying on the next tick');
        }
      }
    })().finally(() => {
      this.loop = undefined;
      // a kick that came between the last check and here must not wait for the interval
      if (this.wholeRound || this.changedIncidents.size > 0) this.drain();
    });
  }

  /** `only`: the incidents a targeted round schedules (see kick); a whole round otherwise. */
  private async round(awaitRuns: boolean, only?: readonly string[]): Promise<TickReport> {
    const started: Promise<void>[] = [];
    const expired = only ? 0 : await this.rooms.approvals.expireApprovals();
    // Oldest first: the slots go to incidents in the order they came in.
    const incidents = only ? await this.incidentsByIds(only) : (await this.store.listIncidents({ open: true, limit: 1000 })).reverse();
    let scheduled = 0;
    for (const incident of incidents) {
      if (incident.status === 'releasing') {
        try {
          scheduled += await this.rooms.release.advance(incident);
          await this.claimRunnable(incident, started);
        } catch (err) {
          this.log.error({ err, incidentId: incident.id }, 'the release could not be moved along for this incident');
        }
        continue;
      }
      if (!LIVE_INCIDENT.has(incident.status)) continue;
      try {
        scheduled += await this.scheduleIncident(incident, started);
      } catch (err) {
        this.log.error({ err, incidentId: incident.id }, 'scheduling failed for this incident');
      }
    }
    // Whatever the passes did not claim: other processes' steps, passed back-offs, expired leases.
    if (!only || this.backlog) await this.claimRunnable(undefined, started);
    if (awaitRuns) await Promise.all(started);
    return { scheduled, ran: started.length, expired };
  }

  private async incidentsByIds(ids: readonly string[]): Promise<IncidentRecord[]> {
    const out: IncidentRecord[] = [];
    for (const id of ids) {
      const incident = await this.store.getIncident(id);
      if (incident) out.push(incident);
    }
    return out;
  }

  /**
   * Claims runnable actions (of one incident, or of any; at most `max`) while this process has free
   * slots, and starts each. Returns the claimed records; `started` collects the runs for tick().
   */
  private async claimRunnable(incident: IncidentRecord | undefined, started: Promise<void>[], max = Infinity): Promise<ActionRecord[]> {
    const claimed: ActionRecord[] = [];
    while (claimed.length < max) {
      if (this.inFlight.size >= this.core.concurrency) {
        this.backlog = true;
        break;
      }
      const action = await this.store.claimAction(this.workerId, this.core.leaseMs, this.clock.now(), incident ? { incidentId: incident.id } : {});
      if (!action) {
        if (!incident) this.backlog = false;
        break;
      }
      claimed.push(action);
      started.push(this.launch(action, incident));
    }
    return claimed;
  }

  /**
   * Claims the incident's runnable actions until `actionId` (an earlier one runs as it would anyway)
   * and waits for the runs it started: an ad-hoc action's caller waits for its result.
   */
  async claimAndRunUntil(incident: IncidentRecord, actionId: string): Promise<void> {
    const started: Promise<void>[] = [];
    for (;;) {
      const claimed = await this.store.claimAction(this.workerId, this.core.leaseMs, this.clock.now(), { incidentId: incident.id });
      if (!claimed) break;
      started.push(this.launch(claimed, incident));
      if (claimed.id === actionId) break;
    }
    await Promise.all(started);
  }

  /** Runs a claimed action in the background; when it ends, its incident is scheduled again. */
  private launch(action: ActionRecord, incident?: IncidentRecord): Promise<void> {
    const run: Promise<void> = this.rooms.runner.runClaimed(action, incident)
      .catch((err) => this.log.error({ err, actionId: action.id }, 'running the action failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(run);
        this.kick(action.incidentId);
      });
    this.inFlight.add(run);
    return run;
  }


  /**
   * Moves the incident's steps along; returns how many actions changed. Runnable steps are claimed
   * and started within the pass (`started` collects the runs): one already ready (an approval just
   * granted) first, one this pass makes ready right after its transition, and follow-up steps only
   * after the incident's status is recorded (the contained status is not kept waiting on them).
   */
  private async scheduleIncident(incident: IncidentRecord, started: Promise<void>[]): Promise<number> {
    if (!incident.procedure) {
      if (this.deps.autoStart === false || incident.status !== 'open') return 0;
      await this.rooms.commands.startIncident(incident.id);
      incident = (await this.store.getIncident(incident.id))!;
      if (!incident.procedure) return 0;
    }
    const proc = this.procedureOf(incident);
    const customer = this.customerOf(incident);
    let actions = await this.store.listActions(incident.id);
    if (proc.steps.some((s) => !actions.some((a) => a.stepId === s.id))) {
      await this.rooms.transitions.ensureActionRows(incident);
      actions = await this.store.listActions(incident.id);
    }
    const byStep = new Map(actions.map((a) => [a.stepId, a]));
    const now = this.clock.now();
    let changed = 0;
    let alerts: Promise<AlertRecord[]> | undefined;
    const alertsOnce = () => (alerts ??= this.store.listAlerts(incident.id));
    const runnable = () => [...byStep.values()].filter((a) => a.status === 'ready' && (!a.notBefore || new Date(a.notBefore) <= now)).length;
    const claimNow = async (max: number) => {
      for (const c of await this.claimRunnable(incident, started, max)) byStep.set(c.stepId, c);
    };
    if (runnable() > 0) await claimNow(runnable());

    for (const step of topologicalOrder(proc)) {
      const a = byStep.get(step.id)!;
      let next: ActionRecord | undefined;
      if (a.status === 'waiting') {
        if (a.notBefore && new Date(a.notBefore) > now) continue;
        const needs = step.needs.map((n) => byStep.get(n)!);
        const blocked = needs.find((n) => BLOCKING.has(n.status));
        if (!step.after.every((n) => ENDED.has(byStep.get(n)!.status))) continue;
        if (blocked) {
          next = await this.rooms.transitions.skip(a, step, `${blocked.stepId} ${blocked.status === 'skipped' ? 'was skipped' : `is ${blocked.status}`}`, { kind: 'dependency', step: blocked.stepId });
        } else if (needs.every((n) => n.status === 'succeeded')) {
          next = await this.rooms.transitions.prepare(incident, customer, step, a, [...byStep.values()], alertsOnce);
        }
      } else if (a.status === 'awaiting_approval') {
        next = await this.rooms.approvals.ensureApproval(incident, customer, step, a);
      }
      if (next && next !== a) {
        byStep.set(step.id, next);
        changed++;
        if (next.status === 'ready' && !step.followUp) await claimNow(1);
      }
    }

    // A storm's accounts that joined after its approval was asked: their look-up and one further approval.
    const rounds = await this.rooms.stormRounds.advance(incident);
    if (rounds > 0) changed += rounds;
    // Re-read: a vote or a cancel may have changed the status while this pass ran.
    const fresh = (await this.store.getIncident(incident.id))!;
    const dataChanged = await this.rooms.transitions.refreshIncident(fresh, proc, byStep);
    if (changed > 0 || dataChanged) this.notify((n) => n.incidentChanged(incident.id));
    if (runnable() > 0) await claimNow(runnable());
    // an approved release of a contained incident starts here (then the releasing branch of round)
    if (fresh.status === 'contained') {
      const released = await this.rooms.release.advance(fresh);
      if (released > 0) await this.claimRunnable(fresh, started);
      changed += released;
    }
    return changed;
  }
}
