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

/** how many runs per slot may wait outside their slots at once (see Scheduler.waitOutsideSlot) */
const WAITING_PER_SLOT = 8;
/** passes of different incidents run side by side in a targeted round (see passByIds) */
const PASSES_AT_ONCE = 4;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const done = () => { signal?.removeEventListener('abort', onAbort); resolve(); };
    const timer = setTimeout(done, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason ?? new Error('aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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
  /** a slot came free outside a run's end (a run began a wait): the next round claims from every incident */
  private claimAny = false;
  /** a whole round is under way: the interval asks for none meanwhile (see start) */
  private sweeping = false;
  /** claims under way (a slot each until the claim returns) */
  private claiming = 0;
  /** runs of this process in a wait (Scheduler.waitOutsideSlot): they hold their claim, not a slot */
  private waiting = 0;
  /** runs whose wait is over, queued for a slot in the order they woke (they go before new claims) */
  private readonly wakers: Array<() => void> = [];
  /**
   * An approved step (priority, set by the approving vote: migration 0008) may be ready in some
   * incident: an incident's claims look for one first (see claimRunnable). Set by every kick but a
   * run's end (a vote here, another replica's through wake) and by whole rounds (votes announced to
   * no one); cleared when that look finds none, so the extra claim is not paid on every claim.
   */
  private approvedMayWait = true;
  /** counts the settings of approvedMayWait: a look that began before one does not clear it */
  private approvedHints = 0;


  /** Runs ticks on an interval and right after every change. Resumes whatever the store holds. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Deliberately not unref'd: a started engine keeps a worker process alive until stop().
    // While a whole round is under way the interval asks for no other: on a busy store a round can
    // take longer than the interval, and back-to-back whole rounds would leave nothing between them.
    this.timer = setInterval(() => { if (!this.sweeping) this.kick(); }, this.core.tickIntervalMs);
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
    this.hintApproved();
    this.request(incidentId);
  }

  /** A round soon, for this incident (or all): what kick does, without the hint of an approval. */
  private request(incidentId?: string): void {
    if (!this.started) return;
    if (incidentId === undefined) this.wholeRound = true;
    else this.changedIncidents.add(incidentId);
    this.drain();
  }

  private drain(): void {
    if (this.loop || !this.started) return;
    this.loop = (async () => {
      while (this.started && (this.wholeRound || this.changedIncidents.size > 0 || this.claimAny)) {
        const only = this.wholeRound ? undefined : [...this.changedIncidents];
        this.wholeRound = false;
        this.changedIncidents.clear();
        if (this.claimAny) this.backlog = true;
        this.claimAny = false;
        try {
          await this.round(false, only);
        } catch (err) {
          this.log.error({ err }, 'engine round failed; retrying on the next tick');
        }
      }
    })().finally(() => {
      this.loop = undefined;
      // a kick that came between the last check and here must not wait for the interval
      if (this.wholeRound || this.changedIncidents.size > 0 || this.claimAny) this.drain();
    });
  }

  /** `only`: the incidents a targeted round schedules (see kick); a whole round otherwise. */
  private async round(awaitRuns: boolean, only?: readonly string[]): Promise<TickReport> {
    const started: Promise<void>[] = [];
    let scheduled = 0;
    let expired = 0;
    if (only) {
      scheduled += await this.passByIds(only, started);
    } else {
      this.sweeping = true;
      this.hintApproved();
      try {
        expired = await this.rooms.approvals.expireApprovals();
        // Oldest first: the slots go to incidents in the order they came in.
        const incidents = (await this.store.listIncidents({ open: true, limit: 1000 })).reverse();
        for (const incident of incidents) {
          // What changed meanwhile (a run that ended, an approval) goes first: a whole round over
          // hundreds of live incidents takes seconds, and their next steps must not wait for its end.
          if (this.changedIncidents.size > 0) scheduled += await this.passChanged(started);
          scheduled += await this.pass(incident, started);
        }
      } finally {
        this.sweeping = false;
      }
    }
    // Whatever the passes did not claim: other processes' steps, passed back-offs, expired leases.
    if (!only || this.backlog) await this.claimRunnable(undefined, started);
    if (awaitRuns) await Promise.all(started);
    return { scheduled, ran: started.length, expired };
  }

  /** The incidents kicked since the round began, in the middle of a whole round. */
  private async passChanged(started: Promise<void>[]): Promise<number> {
    const ids = [...this.changedIncidents];
    this.changedIncidents.clear();
    const scheduled = await this.passByIds(ids, started);
    if (this.backlog || this.claimAny) {
      this.claimAny = false;
      await this.claimRunnable(undefined, started);
    }
    return scheduled;
  }

  /** One incident's pass: its release moved along, or its procedure's steps. Errors are logged, not thrown. */
  private async pass(incident: IncidentRecord, started: Promise<void>[]): Promise<number> {
    if (incident.status === 'releasing') {
      try {
        const n = await this.rooms.release.advance(incident);
        await this.claimRunnable(incident, started);
        return n;
      } catch (err) {
        this.log.error({ err, incidentId: incident.id }, 'the release could not be moved along for this incident');
        return 0;
      }
    }
    if (!LIVE_INCIDENT.has(incident.status)) return 0;
    try {
      return await this.scheduleIncident(incident, started);
    } catch (err) {
      this.log.error({ err, incidentId: incident.id }, 'scheduling failed for this incident');
      return 0;
    }
  }

  /**
   * Passes of the given incidents, PASSES_AT_ONCE at a time: each pass is a chain of store round
   * trips, and one after another they bound how fast finished steps lead to the next ones. Passes
   * of different incidents are independent (every move is a compare-and-set in the store, as
   * between replicas); one incident is never passed twice at once here (the ids are distinct).
   */
  private async passByIds(ids: readonly string[], started: Promise<void>[]): Promise<number> {
    let scheduled = 0;
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(PASSES_AT_ONCE, ids.length) }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const incident = await this.store.getIncident(ids[i]);
        // (not `scheduled += await`: that reads the sum before the other passes add to it)
        const n = incident ? await this.pass(incident, started) : 0;
        scheduled += n;
      }
    }));
    return scheduled;
  }

  /**
   * Claims runnable actions (of one incident, or of any; at most `max`) while this process has free
   * slots, and starts each. Returns the claimed records of that incident (or of any); `started`
   * collects the runs for tick().
   *
   * An incident's claims first take any incident's approved steps: passes claim for their own
   * incidents before a round's claim from all (which takes approved steps first), so with scarce
   * slots an analyst's approved containment would wait behind the scoping of every incident kicked
   * meanwhile (a storm). Approved steps are few (one a vote), so the incident's own steps are
   * delayed, never starved.
   */
  private async claimRunnable(incident: IncidentRecord | undefined, started: Promise<void>[], max = Infinity): Promise<ActionRecord[]> {
    const claimed: ActionRecord[] = [];
    while (claimed.length < max) {
      // runs whose wait is over take the free slots before anything new is claimed
      // (claims under way count: passes claim side by side, see passByIds)
      if (this.inFlight.size + this.claiming - this.waiting >= this.core.concurrency || this.wakers.length > 0) {
        this.backlog = true;
        break;
      }
      if (incident && this.approvedMayWait) {
        const hints = this.approvedHints;
        const approved = await this.claimOne({ approvedOnly: true });
        if (approved) {
          // another incident's, perhaps: not among this incident's claims (its pass keeps those by step)
          started.push(this.launch(approved, approved.incidentId === incident.id ? incident : undefined));
          if (approved.incidentId === incident.id) claimed.push(approved);
          continue;
        }
        if (hints === this.approvedHints) this.approvedMayWait = false;
        continue; // the slot check again: other passes claim side by side
      }
      const action = await this.claimOne(incident ? { incidentId: incident.id } : {});
      if (!action) {
        if (!incident) this.backlog = false;
        break;
      }
      claimed.push(action);
      started.push(this.launch(action, incident));
    }
    return claimed;
  }

  private hintApproved(): void {
    this.approvedMayWait = true;
    this.approvedHints++;
  }

  /** One claim in the store, holding a slot while it is under way. */
  private async claimOne(filter: { incidentId?: string; approvedOnly?: boolean }): Promise<ActionRecord | undefined> {
    this.claiming++;
    let action: ActionRecord | undefined;
    try {
      action = await this.store.claimAction(this.workerId, this.core.leaseMs, this.clock.now(), filter);
    } finally {
      this.claiming--;
      // the slot this claim held, when it took nothing (or failed): to a run whose wait ended
      // meanwhile and queued behind the claim
      if (!action) this.wake();
    }
    return action;
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
        this.wake();
        // a run's end approves nothing: no look for approved steps on its account
        this.request(action.incidentId);
      });
    this.inFlight.add(run);
    return run;
  }

  /**
   * A run's wait that holds its claim and lease but not one of the process's slots (an audit
   * query's poll: minutes at Graph, nothing to do here meanwhile), so that other actions, an
   * approved containment among them, run in the meantime. When the wait is over the run takes a
   * slot again, before any new claim, and waits its turn if none is free. At most
   * WAITING_PER_SLOT × concurrency runs wait outside their slots (lease renewals and polls stay
   * bounded); beyond that a wait keeps its slot, as every wait did before.
   */
  async waitOutsideSlot(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.waiting >= this.core.concurrency * WAITING_PER_SLOT) return sleep(ms, signal);
    this.waiting++;
    // the slot this run leaves: to a run whose wait is over, else to a new claim
    this.wake();
    this.claimAny = true;
    this.drain();
    try {
      await sleep(ms, signal);
    } finally {
      // still counted as waiting until a slot is free for it
      if (this.inFlight.size + this.claiming - this.waiting < this.core.concurrency && this.wakers.length === 0) this.waiting--;
      else await new Promise<void>((resolve) => this.wakers.push(() => { this.waiting--; resolve(); }));
    }
  }

  /** Free slots go to the runs whose wait is over, in the order they woke. */
  private wake(): void {
    while (this.wakers.length > 0 && this.inFlight.size + this.claiming - this.waiting < this.core.concurrency) this.wakers.shift()!();
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
