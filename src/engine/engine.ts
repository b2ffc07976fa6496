import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import { ConnectorError, type ActionContext, type ActionDef, type ActionPorts, type Preview, type RawPayload } from '../connectors/types';
import { checkApprover, describeAnswered, formatUtc, hasVoted, isSubject, requiredApprovers, type Clicker, type GroupMembership } from '../domain/approval-policy';
import { parseUpn, upnDomain } from '../domain/identity';
import { log as rootLog, type Logger } from '../log';
import type { ActionRecord, ActionStatus, AlertRecord, ApprovalRecord, IncidentRecord, ProposalRevision, Store, TimelineEventInput } from '../store/store';
import type { ActionRegistry } from './action-registry';
import { backoffMs, DEFAULT_RETRY, type RetryPolicy } from './backoff';
import { connectorAvailability } from './customer-capabilities';
import { buildReferenceContext, ipSelectionFor } from './incident-context';
import type { StepKind } from '../domain/incident-findings';
import { newIncidentId } from '../intake/incident-id';
import { readResultPath, resolveInputs, UnresolvedReferenceError } from './input-references';
import { recordPayloads } from './record-payloads';
import { silentNotifier, type Notifier } from './notifier';
import type { Procedure, ProcedureCatalog, ProcedureStep } from './procedure';

export type { Clicker, GroupMembership } from '../domain/approval-policy';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export type CustomerLookup = (customerId: string) => CustomerConfig | undefined;

export interface EngineDeps {
  store: Store;
  registry: ActionRegistry;
  procedures: ProcedureCatalog;
  customers: CustomerLookup;
  secrets: SecretStore;
  notifier?: Notifier;
  clock?: Clock;
  log?: Logger;
  /** unique per process: the lease owner (default host:pid:random) */
  workerId?: string;
  /** how long a claim holds before another worker may take the action over (default 60 s; renewed at a third) */
  leaseMs?: number;
  /** how long an approval card stays answerable (default 60 min) */
  approvalTtlMs?: number;
  groupMembership?: GroupMembership;
  /** actions run at the same time by this process (default 8) */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** the start() loop's period; it also runs immediately after every change (default 1 s) */
  tickIntervalMs?: number;
  /** start the procedure of an open incident that has none (intake crashed before startIncident) (default true) */
  autoStart?: boolean;
  /** the ports an action's context carries for its customer (threat feed, stored reports) */
  ports?: (customer: CustomerConfig) => ActionPorts;
}

export type DecideResult = { ok: true; decided: boolean; approval: ApprovalRecord } | { ok: false; reason: string };
export type CommandResult = { ok: true; message: string } | { ok: false; reason: string };
export type StartResult = { ok: true; incidentId: string; created: boolean } | { ok: false; reason: string };
/** An action run for an incident outside its procedure (see Engine.runAdHoc). */
export interface AdHocRequest { stepId: string; action: string; input: Record<string, unknown>; title: string }
export interface AdHocOutcome { status: ActionStatus; output: unknown; summary: string | null; error: string | null }
export interface TickReport {
  /** actions whose status the scheduler changed */
  scheduled: number;
  /** actions claimed and run */
  ran: number;
  /** approvals expired */
  expired: number;
}

/** Statuses after which a step's dependents cannot run (until `retry` revives the step). */
const BLOCKING: ReadonlySet<ActionStatus> = new Set(['failed', 'rejected', 'skipped', 'cancelled', 'expired']);
/** A step has ended, whatever its outcome, in these (for `after:`). */
const ENDED: ReadonlySet<ActionStatus> = new Set(['succeeded', 'failed', 'rejected', 'skipped', 'cancelled', 'expired']);
/** A destructive step has "ended" for the incident's contained status in these. */
const ENDED_FOR_CONTAINMENT: ReadonlySet<ActionStatus> = new Set(['succeeded', 'skipped', 'rejected']);
const RETRYABLE_BY_PERSON: ActionStatus[] = ['expired', 'failed', 'rejected'];
const LIVE_INCIDENT = new Set(['open', 'containing', 'contained']);

/** An approver's edits, saved by their vote: the new proposal and the timeline lines saying so. */
interface Revision {
  revision: ProposalRevision;
  events: TimelineEventInput[];
}

interface SkipCause {
  kind: 'dependency' | 'connector' | 'empty';
  step?: string;
}

/**
 * Runs procedures against incidents. Every transition goes to the store before the effect it
 * allows (the intent, then the call, then the result), so any process can die at any point and a
 * new one resumes from the store: leases expire and are re-claimed with `mayHaveRun`, approvals
 * survive, and a destructive call is never made twice for the same idempotency key.
 */
export class Engine {
  private readonly store: Store;
  private readonly registry: ActionRegistry;
  private readonly notifier: Notifier;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly workerId: string;
  private readonly leaseMs: number;
  private readonly approvalTtlMs: number;
  private readonly concurrency: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly tickIntervalMs: number;
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

  constructor(private readonly deps: EngineDeps) {
    this.store = deps.store;
    this.registry = deps.registry;
    this.notifier = deps.notifier ?? silentNotifier;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? rootLog;
    this.workerId = deps.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = deps.leaseMs ?? 60_000;
    this.approvalTtlMs = deps.approvalTtlMs ?? 60 * 60_000;
    this.concurrency = deps.concurrency ?? 8;
    this.retryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
    this.tickIntervalMs = deps.tickIntervalMs ?? 1_000;
  }

  // --------------------------------------------------------------------------------- lifecycle

  /** Runs ticks on an interval and right after every change. Resumes whatever the store holds. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Deliberately not unref'd: a started engine keeps a worker process alive until stop().
    this.timer = setInterval(() => this.kick(), this.tickIntervalMs);
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
  private kick(incidentId?: string): void {
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
    const expired = only ? 0 : await this.expireApprovals();
    // Oldest first: the slots go to incidents in the order they came in.
    const incidents = only ? await this.incidentsByIds(only) : (await this.store.listIncidents({ open: true, limit: 1000 })).reverse();
    let scheduled = 0;
    for (const incident of incidents) {
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
      if (this.inFlight.size >= this.concurrency) {
        this.backlog = true;
        break;
      }
      const action = await this.store.claimAction(this.workerId, this.leaseMs, this.clock.now(), incident ? { incidentId: incident.id } : {});
      if (!action) {
        if (!incident) this.backlog = false;
        break;
      }
      claimed.push(action);
      started.push(this.launch(action, incident));
    }
    return claimed;
  }

  /** Runs a claimed action in the background; when it ends, its incident is scheduled again. */
  private launch(action: ActionRecord, incident?: IncidentRecord): Promise<void> {
    const run: Promise<void> = this.runClaimed(action, incident)
      .catch((err) => this.log.error({ err, actionId: action.id }, 'running the action failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(run);
        this.kick(action.incidentId);
      });
    this.inFlight.add(run);
    return run;
  }

  // --------------------------------------------------------------------------------- starting

  /** Starts the customer's procedure on an incident intake created. Idempotent. */
  async startIncident(incidentId: string): Promise<void> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) throw new Error(`incident ${incidentId} does not exist`);
    const customer = this.customerOf(incident);
    // One process records the start, however many are told to start it.
    if (!incident.procedure && (await this.store.casState(`engine:start:${incidentId}`, undefined, this.workerId))) {
      const proc = this.deps.procedures.forCustomer(customer.id);
      const selection = ipSelectionFor(await this.store.listAlerts(incidentId), customer);
      const events: TimelineEventInput[] = [
        { source: 'engine', kind: 'procedure.started', summary: `Running ${proc.ref}: ${proc.steps.length} steps`, data: { procedure: proc.ref, steps: proc.steps.map((s) => s.id) } },
        {
          source: 'engine',
          kind: 'finding.ipSelection',
          summary: describeSelection(selection),
          data: { block: selection.block, notBlocked: selection.notBlocked },
        },
      ];
      await this.store.updateIncident(incidentId, { procedure: proc.ref, data: { ipSelection: selection } }, events);
    }
    await this.ensureActionRows((await this.store.getIncident(incidentId))!);
    this.notify((n) => n.incidentChanged(incidentId));
    this.kick(incidentId);
  }

  /** `@ir contain <upn> [customer]`: an incident without an alert, with the same approvals. */
  async startForAccount(req: { customerId: string; upn: string; requestedBy: Clicker }): Promise<StartResult> {
    const customer = this.deps.customers(req.customerId);
    if (!customer) return { ok: false, reason: `unknown customer "${req.customerId.slice(0, 64)}"` };
    let upn: string;
    try {
      upn = parseUpn(req.upn);
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    if (!customer.domains.some((d) => d.toLowerCase() === upnDomain(upn as never))) {
      return { ok: false, reason: `${upn} is not in ${customer.name}'s domains (${customer.domains.join(', ')})` };
    }
    const open = (await this.store.listIncidents({ open: true, customerId: customer.id })).find((i) => i.subjectUpn.toLowerCase() === upn && LIVE_INCIDENT.has(i.status));
    if (open) {
      await this.store.appendTimeline(open.id, [{ source: 'bot', kind: 'incident.containRequested', summary: `${req.requestedBy.name} asked to contain ${upn}; this incident is already open for it`, actor: req.requestedBy.aadObjectId }]);
      await this.startIncident(open.id);
      return { ok: true, incidentId: open.id, created: false };
    }
    const now = this.clock.now();
    const id = newIncidentId(now);
    await this.store.createIncident(
      {
        id,
        customerId: customer.id,
        tenantId: customer.tenantId,
        subjectUpn: upn,
        subjectObjectId: null,
        severity: 'high',
        title: `Containment of ${upn} requested by ${req.requestedBy.name}`,
        status: 'open',
        procedure: null,
        createdAt: now.toISOString(),
        data: { requestedBy: { name: req.requestedBy.name, aadObjectId: req.requestedBy.aadObjectId } },
      },
      [{ source: 'bot', kind: 'incident.requested', summary: `${req.requestedBy.name} asked to contain ${upn} (no alert)`, actor: req.requestedBy.aadObjectId }],
    );
    await this.startIncident(id);
    return { ok: true, incidentId: id, created: true };
  }

  /** Stops an incident: waiting and ready steps are cancelled, pending approvals become stale. */
  async cancel(incidentId: string, by: Clicker): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return { ok: false, reason: `no incident ${incidentId.slice(0, 40)}` };
    if (!LIVE_INCIDENT.has(incident.status)) return { ok: false, reason: `${incidentId} is already ${incident.status}` };
    const allowed = await this.checkPerson(incident, by, 'cancel');
    if (!allowed.ok) return allowed;
    await this.store.updateIncident(incidentId, { status: 'cancelled' }, [{ source: 'engine', kind: 'incident.cancelled', summary: `${by.name} cancelled ${incidentId}`, actor: by.aadObjectId }]);
    let cancelled = 0;
    for (const a of await this.store.listActions(incidentId)) {
      if (a.status === 'waiting' || a.status === 'ready' || a.status === 'awaiting_approval') {
        const moved = await this.store.transitionAction(a.id, { from: [a.status], to: 'cancelled' }, { error: `cancelled by ${by.name}` }, [
          { source: 'engine', kind: 'step.cancelled', summary: `${a.stepId}: cancelled by ${by.name}`, actor: by.aadObjectId },
        ]);
        if (moved) cancelled++;
      }
    }
    for (const ap of await this.store.listApprovals({ incidentId, status: 'pending' })) this.notify((n) => n.approvalDecided(ap));
    this.notify((n) => n.incidentChanged(incidentId));
    const running = (await this.store.listActions(incidentId)).filter((a) => a.status === 'running').map((a) => a.stepId);
    return {
      ok: true,
      message: `${incidentId} cancelled: ${cancelled} step(s) stopped${running.length ? `; ${running.join(', ')} already under way and will be recorded when it ends` : ''}`,
    };
  }

  // --------------------------------------------------------------------------------- approvals

  async decide(req: { approvalId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string; edits?: Record<string, unknown> }): Promise<DecideResult> {
    const { clicker, vote } = req;
    const now = this.clock.now();
    let approval: ApprovalRecord | undefined;
    try {
      approval = typeof req.approvalId === 'string' && req.approvalId.length <= 100 ? await this.store.getApproval(req.approvalId) : undefined;
    } catch {
      approval = undefined;
    }
    if (!approval) {
      // No incident to put it on: the log keeps the attempt.
      this.log.warn({ approvalId: String(req.approvalId).slice(0, 100), clicker: clicker.aadObjectId }, 'vote on an unknown approval id refused');
      return { ok: false, reason: 'this approval request is not known (the card may be forged or from another installation)' };
    }
    const incident = (await this.store.getIncident(approval.incidentId))!;
    const action = await this.store.getAction(approval.actionId);
    const stepId = action?.stepId ?? approval.actionId.split(':').pop()!;
    const hint = `@ir retry ${incident.id} ${stepId}`;
    const refuse = async (reason: string): Promise<DecideResult> => {
      await this.store.appendTimeline(incident.id, [
        { source: 'engine', kind: 'approval.refused', summary: `${clicker.name} tried to ${vote} ${stepId}: refused (${reason})`, actor: clicker.aadObjectId, data: { approvalId: approval!.id, vote } },
      ]);
      return { ok: false, reason };
    };

    if (approval.status !== 'pending') return refuse(describeAnswered(approval, hint, now));
    if (new Date(approval.expiresAt).getTime() <= now.getTime()) {
      await this.expireApprovals();
      return refuse(`this request expired at ${formatUtc(approval.expiresAt, now)}; ask for a new one with ${hint}`);
    }
    if (!LIVE_INCIDENT.has(incident.status)) return refuse(`this request is no longer current: ${incident.id} is ${incident.status}`);
    if (!action || action.status !== 'awaiting_approval') {
      // Another click may have decided it between our two reads: say who, not just "not current".
      const fresh = await this.store.getApproval(approval.id);
      if (fresh && fresh.status !== 'pending') return refuse(describeAnswered(fresh, hint, now));
      return refuse(`this request is no longer current: ${stepId} is ${action?.status ?? 'gone'}`);
    }
    const allowed = await this.checkPerson(incident, clicker, vote, false);
    if (!allowed.ok) return refuse(allowed.reason);
    if (hasVoted(approval, clicker.aadObjectId)) return refuse(`${clicker.name} has already voted on this request; a second, different approver is needed`);
    let edited: Revision | undefined;
    if (vote === 'approve' && req.edits && Object.keys(req.edits).length) {
      const applied = await this.reviseProposal(incident, action, approval.id, req.edits, clicker);
      if (!applied.ok) return refuse(applied.reason);
      edited = applied.revision;
    }

    const verb = vote === 'approve' ? 'approved' : 'rejected';
    const r = await this.store.voteApproval(
      approval.id,
      { approverId: clicker.aadObjectId, approverName: clicker.name, vote, ...(req.reason ? { reason: req.reason.slice(0, 500) } : {}) },
      now,
      [
        ...(edited?.events ?? []),
        { source: 'engine', kind: `approval.${vote}`, summary: `${clicker.name} ${verb} ${stepId}${edited ? ' as edited' : ''}${req.reason ? `: ${req.reason.slice(0, 200)}` : ''}`, actor: clicker.aadObjectId, data: { approvalId: approval.id } },
      ],
      edited?.revision,
    );
    if (!r.ok) {
      const fresh = r.approval ?? (await this.store.getApproval(approval.id));
      const reason =
        fresh && fresh.status !== 'pending'
          ? describeAnswered(fresh, hint, now)
          : r.code === 'expired'
            ? `this request expired at ${formatUtc(approval.expiresAt, now)}; ask for a new one with ${hint}`
            : r.code === 'already_voted'
              ? `${clicker.name} has already voted on this request; a second, different approver is needed`
              : r.reason;
      return refuse(reason);
    }
    if (r.decided) {
      if (r.approval.status === 'approved') {
        const inc = await this.store.getIncident(incident.id);
        if (inc?.status === 'open') {
          await this.store.updateIncident(incident.id, { status: 'containing' }, [{ source: 'engine', kind: 'incident.containing', summary: `Containment started: ${stepId} approved by ${r.approval.decidedBy}` }]);
        }
      }
      this.notify((n) => n.approvalDecided(r.approval));
    } else {
      this.notify((n) => n.approvalVoted?.(r.approval));
    }
    this.notify((n) => n.incidentChanged(incident.id));
    this.kick(incident.id);
    return { ok: true, decided: r.decided, approval: r.approval };
  }

  /**
   * An approver's edits of an editable input (the CISO email's subject, body, recipients): only the
   * fields the action declares editable, and only if the whole input still validates. Unchanged
   * fields are not edits. The new input is saved by the vote itself (one transaction), which also
   * voids every earlier vote: in a two-person approval the first approver agreed to the old text,
   * so the edited one needs two approvals again.
   */
  private async reviseProposal(
    incident: IncidentRecord, action: ActionRecord, approvalId: string, edits: Record<string, unknown>, clicker: Clicker,
  ): Promise<{ ok: true; revision?: Revision } | { ok: false; reason: string }> {
    const def = this.registry.get(action.name);
    const editable = new Set(def?.editable ?? []);
    const current = (action.input ?? {}) as Record<string, unknown>;
    const changed = Object.entries(edits).filter(([k, v]) => editable.has(k) && JSON.stringify(current[k]) !== JSON.stringify(v));
    const refused = Object.keys(edits).filter((k) => !editable.has(k));
    if (refused.length) return { ok: false, reason: `${refused.slice(0, 5).join(', ')} cannot be changed on this card` };
    if (!changed.length || !def) return { ok: true };
    const merged = { ...current, ...Object.fromEntries(changed) };
    const parsed = def.input.safeParse(merged);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return { ok: false, reason: `the edited ${i.path.join('.') || 'input'} is not valid: ${i.message}` };
    }
    const customer = this.customerOf(incident);
    const preview = def.preview ? await def.preview(parsed.data, this.actionContext(incident, customer, action, false)) : action.preview;
    const fields = changed.map(([k]) => k);
    return {
      ok: true,
      revision: {
        events: [{ source: 'engine', kind: 'step.edited', summary: `${clicker.name} edited ${fields.join(', ')} of ${action.stepId} before approving`, actor: clicker.aadObjectId, data: { fields } }],
        revision: {
          input: merged,
          preview: preview as Record<string, unknown> | null,
          reset: (voided) => {
            const names = [...new Set(voided.map((v) => v.approverName || v.approverId))].join(', ');
            const note = `Earlier approvals were reset: ${clicker.name} changed ${fields.join(', ')} after ${names} voted, so the edited version needs its own approvals.`;
            return {
              note,
              events: [{ source: 'engine', kind: 'approval.reset', summary: `${note}`, actor: clicker.aadObjectId, data: { approvalId, voided: voided.map((v) => v.approverId), fields } }],
            };
          },
        },
      },
    };
  }

  /** Text fallback `@ir approve <incident> <step>`: votes on the step's pending approval. */
  async decideByStep(req: { incidentId: string; stepId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string }): Promise<DecideResult> {
    const incident = await this.store.getIncident(req.incidentId);
    if (!incident) return { ok: false, reason: `no incident ${req.incidentId.slice(0, 40)}` };
    const actionId = `${incident.id}:${req.stepId}`;
    const mine = (await this.store.listApprovals({ incidentId: incident.id })).filter((a) => a.actionId === actionId).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    const pending = mine.filter((a) => a.status === 'pending').pop();
    if (pending) return this.decide({ approvalId: pending.id, vote: req.vote, clicker: req.clicker, reason: req.reason });
    const latest = mine.pop();
    const action = await this.store.getAction(actionId);
    const reason = latest
      ? describeAnswered(latest, `@ir retry ${incident.id} ${req.stepId}`, this.clock.now())
      : action
        ? `${req.stepId} is not waiting for approval (it is ${action.status})`
        : `${incident.id} has no step "${req.stepId.slice(0, 48)}"`;
    await this.store.appendTimeline(incident.id, [
      { source: 'engine', kind: 'approval.refused', summary: `${req.clicker.name} tried to ${req.vote} ${req.stepId.slice(0, 48)}: refused (${reason})`, actor: req.clicker.aadObjectId },
    ]);
    return { ok: false, reason };
  }

  /** Re-requests an expired, failed or rejected step (approvers only); its skipped dependents wait again. */
  async retry(incidentId: string, stepId: string, by: Clicker): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return { ok: false, reason: `no incident ${incidentId.slice(0, 40)}` };
    const action = await this.store.getAction(`${incident.id}:${stepId}`);
    if (!action) return { ok: false, reason: `${incident.id} has no step "${stepId.slice(0, 48)}"` };
    const allowed = await this.checkPerson(incident, by, 'retry');
    if (!allowed.ok) return allowed;
    if (!LIVE_INCIDENT.has(incident.status)) return { ok: false, reason: `${incident.id} is ${incident.status}` };
    if (!RETRYABLE_BY_PERSON.includes(action.status)) {
      return { ok: false, reason: `${stepId} is ${action.status}; only a failed, expired or rejected step can be retried` };
    }
    const moved = await this.store.transitionAction(
      action.id,
      { from: [action.status], to: 'waiting' },
      { error: null, notBefore: null, preview: null, result: { retriedAfterAttempts: action.attempts } },
      [{ source: 'engine', kind: 'step.retryRequested', summary: `${by.name} asked to retry ${stepId} (it was ${action.status})`, actor: by.aadObjectId }],
    );
    if (!moved) return { ok: false, reason: `${stepId} changed while you asked; look at the card again` };
    const revived = await this.reviveDependents(incident, stepId);
    this.notify((n) => n.incidentChanged(incident.id));
    this.kick(incident.id);
    return { ok: true, message: `${stepId} will be tried again${revived.length ? `; ${revived.join(', ')} wait for it again` : ''}` };
  }

  // --------------------------------------------------------------------------------- scheduling

  private async ensureActionRows(incident: IncidentRecord): Promise<void> {
    const proc = this.procedureOf(incident);
    await this.store.ensureActions(
      proc.steps.map((s) => ({ id: `${incident.id}:${s.id}`, incidentId: incident.id, stepId: s.id, name: s.action, status: 'waiting' as const, idempotencyKey: `${incident.id}:${s.id}`, input: null })),
    );
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
      await this.startIncident(incident.id);
      incident = (await this.store.getIncident(incident.id))!;
      if (!incident.procedure) return 0;
    }
    const proc = this.procedureOf(incident);
    const customer = this.customerOf(incident);
    let actions = await this.store.listActions(incident.id);
    if (proc.steps.some((s) => !actions.some((a) => a.stepId === s.id))) {
      await this.ensureActionRows(incident);
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
          next = await this.skip(a, step, `${blocked.stepId} ${blocked.status === 'skipped' ? 'was skipped' : `is ${blocked.status}`}`, { kind: 'dependency', step: blocked.stepId });
        } else if (needs.every((n) => n.status === 'succeeded')) {
          next = await this.prepare(incident, customer, step, a, [...byStep.values()], alertsOnce);
        }
      } else if (a.status === 'awaiting_approval') {
        next = await this.ensureApproval(incident, customer, step, a);
      }
      if (next && next !== a) {
        byStep.set(step.id, next);
        changed++;
        if (next.status === 'ready' && !step.followUp) await claimNow(1);
      }
    }

    // Re-read: a vote or a cancel may have changed the status while this pass ran.
    const fresh = (await this.store.getIncident(incident.id))!;
    const dataChanged = await this.refreshIncident(fresh, proc, byStep);
    if (changed > 0 || dataChanged) this.notify((n) => n.incidentChanged(incident.id));
    if (runnable() > 0) await claimNow(runnable());
    return changed;
  }

  private async skip(a: ActionRecord, step: ProcedureStep, why: string, cause: SkipCause): Promise<ActionRecord | undefined> {
    return this.store.transitionAction(a.id, { from: ['waiting'], to: 'skipped' }, { error: `skipped: ${why}`, result: { skippedBecause: cause } }, [
      { source: 'engine', kind: 'step.skipped', summary: `${step.title}: skipped (${why})`, data: { step: step.id, cause } },
    ]);
  }

  private async failBeforeRun(a: ActionRecord, step: ProcedureStep, why: string): Promise<ActionRecord | undefined> {
    return this.store.transitionAction(a.id, { from: ['waiting'], to: 'failed' }, { error: why }, [
      { source: 'engine', kind: 'step.failed', summary: `${step.title}: failed (${why})`, data: { step: step.id } },
    ]);
  }

  /** A step whose needs all succeeded: resolve its inputs, then make it ready or ask for approval. */
  private async prepare(
    incident: IncidentRecord,
    customer: CustomerConfig,
    step: ProcedureStep,
    a: ActionRecord,
    actions: ActionRecord[],
    alerts: () => Promise<AlertRecord[]> = () => this.store.listAlerts(incident.id),
  ): Promise<ActionRecord | undefined> {
    const def = this.registry.get(step.action);
    if (!def) return this.failBeforeRun(a, step, `action ${step.action} is not registered in this process`);
    const available = connectorAvailability(step.action, customer);
    if (!available.ok) return this.skip(a, step, available.reason, { kind: 'connector' });

    let input: Record<string, unknown>;
    try {
      const ctx = buildReferenceContext(incident, customer, await alerts(), actions);
      input = resolveInputs(step.with, ctx) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof UnresolvedReferenceError) return this.failBeforeRun(a, step, `input not available: ${e.message}`);
      throw e;
    }
    if (step.skipIfEmpty && Array.isArray(input[step.skipIfEmpty]) && (input[step.skipIfEmpty] as unknown[]).length === 0) {
      return this.skip(a, step, `nothing to act on: "${step.skipIfEmpty}" is empty`, { kind: 'empty' });
    }
    const parsed = def.input.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.failBeforeRun(a, step, `input does not fit ${step.action}: ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    }
    const jsonInput = toJson(input) as Record<string, unknown>;

    if (def.risk !== 'destructive') {
      return this.store.transitionAction(a.id, { from: ['waiting'], to: 'ready' }, { input: jsonInput, error: null }, [
        { source: 'engine', kind: 'step.ready', summary: `${step.title}: ready`, data: { step: step.id } },
      ]);
    }

    let preview: Preview;
    try {
      preview = def.preview ? await def.preview(parsed.data, this.actionContext(incident, customer, a, false)) : genericPreview(step, def);
    } catch (e) {
      const failures = Number((a.preview as { previewFailures?: number } | null)?.previewFailures ?? 0) + 1;
      const message = errorText(e);
      if (e instanceof ConnectorError && e.retryable && failures < this.retryPolicy.maxAttempts) {
        const notBefore = new Date(this.clock.now().getTime() + backoffMs(failures, this.retryPolicy)).toISOString();
        return this.store.transitionAction(a.id, { from: ['waiting'], to: 'waiting' }, { preview: { previewFailures: failures }, notBefore, error: message }, [
          { source: 'engine', kind: 'step.previewRetry', summary: `${step.title}: could not prepare the approval (${message}); trying again at ${formatUtc(notBefore)}` },
        ]);
      }
      return this.failBeforeRun(a, step, `could not prepare the approval: ${message}`);
    }

    if (preview.nothingToDo) {
      const summary = `nothing to do: ${preview.title}${preview.notChanged?.length ? ` (${preview.notChanged.map((n) => `${n.item}: ${n.reason}`).join('; ')})` : ''}`;
      return this.store.transitionAction(a.id, { from: ['waiting'], to: 'succeeded' }, { input: jsonInput, preview: toJson(preview) as Record<string, unknown>, result: { output: null, summary, nothingToDo: true } }, [
        { source: this.sourceOf(step.action), kind: 'step.succeeded', summary: `${step.title}: ${summary}`, data: { step: step.id, nothingToDo: true } },
      ]);
    }
    // Each request round gets its own approval (see ensureApproval); a retry starts a new round.
    const approvalRound = (await this.store.listApprovals({ incidentId: incident.id })).filter((x) => x.actionId === a.id).length;
    const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'awaiting_approval' }, { input: jsonInput, preview: { ...(toJson(preview) as Record<string, unknown>), approvalRound }, error: null, notBefore: null }, [
      { source: 'engine', kind: 'step.awaitingApproval', summary: `${step.title}: waiting for approval: ${preview.changes.join('; ') || preview.title}`, data: { step: step.id } },
    ]);
    if (!moved) return undefined;
    return (await this.ensureApproval(incident, customer, step, moved, true)) ?? moved;
  }

  /**
   * Makes sure an awaiting_approval step has its approval. Each request round (the first request,
   * each retry) has one approval id, fixed by a compare-and-set in the store before the approval is
   * written: two processes, or a process resuming after a crash between the transition and the
   * request, create one approval, not two.
   */
  private async ensureApproval(incident: IncidentRecord, customer: CustomerConfig, step: ProcedureStep, a: ActionRecord, justRequested = false): Promise<ActionRecord | undefined> {
    const round = Number((a.preview as { approvalRound?: number } | null)?.approvalRound ?? 0);
    const key = `engine:approval:${a.id}:${round}`;
    // Right after this process moved the step to awaiting_approval the id is almost never fixed yet:
    // go straight to the compare-and-set, which stays the authority either way.
    let id = justRequested ? undefined : await this.store.getState(key);
    let justFixed = false;
    if (!id) {
      const fresh = randomUUID();
      justFixed = await this.store.casState(key, undefined, fresh);
      id = justFixed ? fresh : await this.store.getState(key);
    }
    // An id this call has just fixed cannot have an approval yet: no need to look it up.
    const existing = justFixed ? undefined : await this.store.getApproval(id!);
    if (existing) {
      // Expired while nobody moved its step (a crash right after expireApprovals).
      if (existing.status === 'expired') return (await this.markExpired(existing)) ?? a;
      return a;
    }
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.approvalTtlMs).toISOString();
    const required = requiredApprovers({ id: step.id, action: step.action, twoPerson: step.approval?.twoPerson }, customer);
    try {
      const approval = await this.store.createApproval(
        { id: id!, incidentId: incident.id, actionId: a.id, requiredApprovers: required, requestedAt: now.toISOString(), expiresAt },
        [
          {
            source: 'engine',
            kind: 'approval.requested',
            summary: `Approval requested for ${step.title}${required === 2 ? ' (two approvers)' : ''}; expires at ${formatUtc(expiresAt)}`,
            data: { approvalId: id, step: step.id, requiredApprovers: required },
          },
        ],
      );
      this.notify((n) => n.approvalRequested(approval));
    } catch (e) {
      // Another process created this round's approval between our read and our write.
      if (!(await this.store.getApproval(id!))) throw e;
    }
    return a;
  }

  private async expireApprovals(): Promise<number> {
    const expired = await this.store.expireApprovals(this.clock.now());
    for (const ap of expired) await this.markExpired(ap);
    return expired.length;
  }

  private async markExpired(ap: ApprovalRecord): Promise<ActionRecord | undefined> {
    const action = await this.store.getAction(ap.actionId);
    const stepId = action?.stepId ?? '?';
    const event: TimelineEventInput = {
      source: 'engine',
      kind: 'step.expired',
      summary: `${stepId}: nobody answered before ${formatUtc(ap.expiresAt)}; ask for a new approval with @ir retry ${ap.incidentId} ${stepId}`,
      data: { approvalId: ap.id },
    };
    // The store may already have moved the step with the approval (one transaction); the event still belongs on the timeline.
    let moved = await this.store.transitionAction(ap.actionId, { from: ['awaiting_approval'], to: 'expired' }, { error: `approval expired at ${formatUtc(ap.expiresAt)}` }, [event]);
    if (!moved && action?.status === 'expired') {
      moved = await this.store.transitionAction(ap.actionId, { from: ['expired'], to: 'expired' }, { error: `approval expired at ${formatUtc(ap.expiresAt)}` }, [event]);
    }
    this.notify((n) => n.approvalDecided(ap));
    this.notify((n) => n.incidentChanged(ap.incidentId));
    return moved;
  }

  /** Keeps incident.data.steps and the incident status in line with the actions. */
  private async refreshIncident(incident: IncidentRecord, proc: Procedure, byStep: Map<string, ActionRecord>): Promise<boolean> {
    const steps: Record<string, { title: string; action: string; kind: StepKind; status: ActionStatus; summary: string | null; error: string | null }> = {};
    for (const s of proc.steps) {
      const a = byStep.get(s.id)!;
      // the kind lets the readers (CISO email, report) list what was contained apart from the look-ups
      const kind: StepKind = s.followUp ? 'followUp' : this.registry.get(s.action)?.risk === 'destructive' ? 'containment' : 'lookup';
      steps[s.id] = { title: s.title, action: s.action, kind, status: a.status, summary: typeof a.result?.summary === 'string' ? a.result.summary : null, error: a.error };
    }
    const stepsChanged = JSON.stringify(incident.data.steps) !== JSON.stringify(steps);
    // Follow-up steps (the CISO email) are approved like destructive ones but do not contain anything.
    const destructive = proc.steps.filter((s) => !s.followUp && this.registry.get(s.action)?.risk === 'destructive').map((s) => byStep.get(s.id)!);
    const contained =
      (incident.status === 'open' || incident.status === 'containing') &&
      destructive.length > 0 &&
      destructive.every((a) => ENDED_FOR_CONTAINMENT.has(a.status)) &&
      destructive.some((a) => a.status === 'succeeded');
    if (!stepsChanged && !contained) return false;
    // One transaction for the step list and the contained status (with its event) when both change.
    const parts = destructive.map((a) => `${a.stepId} ${a.status}`).join(', ');
    await this.store.updateIncident(
      incident.id,
      { ...(stepsChanged ? { data: { steps } } : {}), ...(contained ? { status: 'contained' as const } : {}) },
      contained ? [{ source: 'engine', kind: 'incident.contained', summary: `Contained: ${parts}` }] : [],
    );
    return true;
  }

  /** A retried step's dependents that were skipped because of it (directly or not) wait again. */
  private async reviveDependents(incident: IncidentRecord, stepId: string): Promise<string[]> {
    const proc = this.procedureOf(incident);
    const revived: string[] = [];
    const reviving = new Set([stepId]);
    for (const s of topologicalOrder(proc)) {
      if (!s.needs.some((n) => reviving.has(n))) continue;
      const a = await this.store.getAction(`${incident.id}:${s.id}`);
      if (a?.status !== 'skipped' || (a.result?.skippedBecause as SkipCause | undefined)?.kind !== 'dependency') continue;
      const moved = await this.store.transitionAction(a.id, { from: ['skipped'], to: 'waiting' }, { error: null, result: null }, [
        { source: 'engine', kind: 'step.waiting', summary: `${s.title}: waits again for ${stepId}` },
      ]);
      if (moved) {
        reviving.add(s.id);
        revived.push(s.id);
      }
    }
    return revived;
  }

  // --------------------------------------------------------------------------------- ad-hoc actions
  // (one block on purpose: a side effect outside a procedure step, e.g. the feed expiry's unblock or
  // the alert resolution on close, still gets an action row, its evidence and its timeline)

  /**
   * Runs one action for an incident now, outside its procedure: the row `${incidentId}:${stepId}`
   * is created once (the same stepId is the same action: exactly once, as for procedure steps),
   * claimed with a lease and run here; its evidence and timeline are recorded like a step's. A
   * row that already succeeded is not run again; a failed one is run again (its action re-reads
   * the target first). Ad-hoc actions are never put to an approval: the caller is the decision
   * (an approver's close, the expiry of an approved block). Bad input throws and changes nothing.
   */
  async runAdHoc(incidentId: string, req: AdHocRequest): Promise<AdHocOutcome> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) throw new Error(`incident ${incidentId} does not exist`);
    const def = this.registry.get(req.action);
    if (!def) throw new Error(`action ${req.action} is not registered in this process`);
    if (!/^[a-z][a-z0-9-]*(\/[A-Za-z0-9.:@_-]+)*$/.test(req.stepId) || req.stepId.length > 200) throw new Error(`"${req.stepId.slice(0, 60)}" is not an ad-hoc step id`);
    const proc = incident.procedure ? this.deps.procedures.get(incident.procedure) : undefined;
    if (proc?.steps.some((s) => s.id === req.stepId)) throw new Error(`${req.stepId} is a step of ${incident.procedure}, not an ad-hoc action`);
    const parsed = def.input.safeParse(req.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`input does not fit ${req.action}: ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    }
    const id = `${incident.id}:${req.stepId}`;
    await this.store.ensureActions([{ id, incidentId: incident.id, stepId: req.stepId, name: req.action, status: 'waiting', idempotencyKey: id, input: toJson(req.input) as Record<string, unknown> }]);
    let a = (await this.store.getAction(id))!;
    if (a.name !== req.action) throw new Error(`${id} is already an action ${a.name}, not ${req.action}`);
    if (a.status === 'waiting' || a.status === 'failed') {
      a = (await this.store.transitionAction(
        id,
        { from: [a.status], to: 'ready' },
        { preview: { adHoc: true, title: req.title.slice(0, 200) }, error: null, notBefore: null, ...(a.status === 'failed' ? { result: { retriedAfterAttempts: a.attempts } } : {}) },
        [{ source: 'engine', kind: 'step.ready', summary: `${req.title.slice(0, 200)}: ready`, data: { step: req.stepId, adHoc: true } }],
      )) ?? (await this.store.getAction(id))!;
    }
    if (a.status === 'ready') {
      // Claims this incident's runnable actions until ours (an earlier one runs as it would anyway).
      const started: Promise<void>[] = [];
      for (;;) {
        const claimed = await this.store.claimAction(this.workerId, this.leaseMs, this.clock.now(), { incidentId: incident.id });
        if (!claimed) break;
        started.push(this.launch(claimed, incident));
        if (claimed.id === id) break;
      }
      await Promise.all(started);
      a = (await this.store.getAction(id))!;
    }
    return { status: a.status, output: a.result?.output ?? null, summary: typeof a.result?.summary === 'string' ? a.result.summary : null, error: a.error };
  }

  private adHocTitle(a: ActionRecord): string | undefined {
    const p = a.preview as { adHoc?: unknown; title?: unknown } | null;
    return p?.adHoc === true && typeof p.title === 'string' ? p.title : undefined;
  }

  // --------------------------------------------------------------------------------- running

  /** `known`: the incident as the scheduling pass that claimed the action has just read it. */
  private async runClaimed(a: ActionRecord, known?: IncidentRecord): Promise<void> {
    const incident = known?.id === a.incidentId ? known : await this.store.getIncident(a.incidentId);
    if (!incident) return;
    // an ad-hoc row needs no procedure (the incident's may be closed and its file retired)
    const adHoc = this.adHocTitle(a);
    const step = adHoc ? undefined : this.procedureOf(incident).steps.find((s) => s.id === a.stepId);
    const def = this.registry.get(a.name);
    const title = step?.title ?? adHoc ?? a.stepId;
    const own = { leaseOwner: this.workerId };
    if (!def || (!step && !adHoc)) {
      await this.store.transitionAction(a.id, { from: ['running'], to: 'failed', ...own }, { error: `action ${a.name} is not registered in this process` }, [
        { source: 'engine', kind: 'step.failed', summary: `${title}: failed (action ${a.name} is not registered)` },
      ]);
      return;
    }
    const customer = this.customerOf(incident);
    const roundAttempts = a.attempts - Number((a.result as { retriedAfterAttempts?: number } | null)?.retriedAfterAttempts ?? 0);
    // Any earlier attempt (a crashed worker, a timeout) may have reached the target.
    const mayHaveRun = a.attempts > 1;
    await this.store.appendTimeline(incident.id, [
      {
        source: 'engine',
        kind: 'step.started',
        summary: `${title}: calling ${a.name}${mayHaveRun ? ` (attempt ${a.attempts}; an earlier attempt may have reached the target, so the action re-reads its state first)` : ''}`,
        data: { step: a.stepId, attempt: a.attempts, worker: this.workerId },
      },
    ]);

    const abort = new AbortController();
    const renew = setInterval(() => {
      this.store.renewLease(a.id, this.workerId, this.leaseMs, this.clock.now()).then(
        (ok) => {
          if (!ok) {
            this.log.warn({ actionId: a.id }, 'lost the lease on a running action; another worker may take it over');
            abort.abort(new Error('lease lost'));
          }
        },
        (err) => this.log.warn({ err, actionId: a.id }, 'could not renew the lease'),
      );
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    renew.unref?.();

    let result: { output: unknown; summary: string; raw: RawPayload[] };
    try {
      const input = def.input.parse(a.input ?? {});
      result = await def.run(input, { ...this.actionContext(incident, customer, a, mayHaveRun), intentAt: await this.intentAt(a, def), signal: abort.signal });
    } catch (e) {
      clearInterval(renew);
      await this.recordFailure(incident, a, title, e, roundAttempts);
      return;
    }
    clearInterval(renew);

    const { evidenceIds, evidenceErrors } = await recordPayloads(this.store, { incidentId: incident.id, actionId: a.id }, result.raw ?? [], this.log);
    const output = toJson(result.output ?? null);
    const summary = String(result.summary ?? '').slice(0, 1000);
    const moved = await this.store.transitionAction(
      a.id,
      { from: ['running'], to: 'succeeded', ...own },
      { result: { output, summary, evidenceIds, ...(evidenceErrors.length ? { evidenceErrors } : {}) }, error: null, notBefore: null },
      [
        {
          source: this.sourceOf(a.name),
          kind: 'step.succeeded',
          summary: `${title}: ${summary}`,
          sourceTime: sourceTimeOf(result.output, result.raw ?? []),
          data: { step: a.stepId, evidenceIds, ...(evidenceErrors.length ? { evidenceErrors } : {}) },
        },
      ],
    );
    if (!moved) {
      this.log.warn({ actionId: a.id }, 'finished an action whose lease another worker had taken; its result is that worker\'s to record');
      return;
    }
    if (step) await this.recordFindings(incident, step, { output, summary });
    this.notify((n) => n.stepEvidence(incident.id, a.stepId, summary));
    this.notify((n) => n.incidentChanged(incident.id));
  }

  private async recordFailure(incident: IncidentRecord, a: ActionRecord, title: string, e: unknown, roundAttempts: number): Promise<void> {
    const message = errorText(e);
    const own = { leaseOwner: this.workerId };
    if (e instanceof ConnectorError && e.retryable && roundAttempts < this.retryPolicy.maxAttempts) {
      const notBefore = new Date(this.clock.now().getTime() + backoffMs(roundAttempts, this.retryPolicy)).toISOString();
      await this.store.transitionAction(a.id, { from: ['running'], to: 'ready', ...own }, { error: message, notBefore }, [
        { source: this.sourceOf(a.name), kind: 'step.retrying', summary: `${title}: ${message}; trying again after ${formatUtc(notBefore)} (attempt ${roundAttempts} of ${this.retryPolicy.maxAttempts})`, data: { step: a.stepId, attempt: a.attempts } },
      ]);
    } else {
      await this.store.transitionAction(a.id, { from: ['running'], to: 'failed', ...own }, { error: message, notBefore: null }, [
        { source: this.sourceOf(a.name), kind: 'step.failed', summary: `${title}: failed: ${message}; @ir retry ${incident.id} ${a.stepId} to try again`, data: { step: a.stepId, attempt: a.attempts } },
      ]);
    }
    this.notify((n) => n.incidentChanged(incident.id));
  }

  /** The step's `record:` mapping into incident.data (subjectObjectId goes to the incident itself). */
  private async recordFindings(incident: IncidentRecord, step: ProcedureStep, result: { output: unknown; summary: string }): Promise<void> {
    const data: Record<string, unknown> = {};
    let subjectObjectId: string | undefined;
    for (const [key, path] of Object.entries(step.record)) {
      const v = readResultPath(path, result);
      if (v === undefined) continue;
      if (key === 'subjectObjectId') {
        if (typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v) && !incident.subjectObjectId) subjectObjectId = v.toLowerCase();
        continue;
      }
      data[key] = v;
    }
    if (Object.keys(data).length === 0 && !subjectObjectId) return;
    await this.store.updateIncident(incident.id, { data, ...(subjectObjectId ? { subjectObjectId } : {}) });
  }

  // --------------------------------------------------------------------------------- helpers

  private actionContext(incident: IncidentRecord, customer: CustomerConfig, a: ActionRecord, mayHaveRun: boolean): ActionContext {
    return {
      customer,
      secrets: this.deps.secrets,
      incidentId: incident.id,
      idempotencyKey: a.idempotencyKey,
      mayHaveRun,
      log: this.log.child({ incidentId: incident.id, step: a.stepId, action: a.name }),
      now: () => this.clock.now(),
      ports: this.deps.ports?.(customer),
    };
  }

  /**
   * The earliest moment the action could have reached its target: when its approval was granted
   * (a destructive step cannot run before), else when the step was created. A connector that
   * re-checks after a crash treats a change after this time as its own earlier attempt.
   */
  private async intentAt(a: ActionRecord, def: ActionDef): Promise<Date> {
    // Only destructive actions are ever put to an approval (see prepare): no need to look for one.
    if (def.risk !== 'destructive') return new Date(a.createdAt);
    const approved = (await this.store.listApprovals({ incidentId: a.incidentId, status: 'approved' })).filter((p) => p.actionId === a.id && p.decidedAt);
    const at = approved.map((p) => p.decidedAt!).sort().at(-1) ?? a.createdAt;
    return new Date(at);
  }

  private procedureOf(incident: IncidentRecord): Procedure {
    const proc = incident.procedure ? this.deps.procedures.get(incident.procedure) : this.deps.procedures.forCustomer(incident.customerId);
    if (!proc) throw new Error(`${incident.id} runs procedure ${incident.procedure}, which this process has not loaded (keep the old file until its incidents are closed)`);
    return proc;
  }

  private customerOf(incident: IncidentRecord): CustomerConfig {
    const c = this.deps.customers(incident.customerId);
    if (!c) throw new Error(`${incident.id} belongs to customer "${incident.customerId}", which is not in the customers file`);
    return c;
  }

  private sourceOf(action: string): string {
    return action.split('.')[0];
  }

  /** Approver (by id or group), never the subject; refusals go on the timeline. */
  /** Whether a person may act on an incident as its customer's approver (close, report); refusals go on the timeline. */
  async authorize(incidentId: string, who: Clicker, doing: string): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return { ok: false, reason: `no incident ${incidentId.slice(0, 40)}` };
    return this.checkPerson(incident, who, doing);
  }

  private async checkPerson(incident: IncidentRecord, who: Clicker, doing: string, logRefusal = true): Promise<CommandResult> {
    const customer = this.customerOf(incident);
    const groups = new Set<string>();
    if (this.deps.groupMembership && !isSubject(who, incident)) {
      for (const g of customer.approvers.groupIds) {
        try {
          if (await this.deps.groupMembership.isMember(who.aadObjectId, g)) groups.add(g);
        } catch (err) {
          this.log.warn({ err, groupId: g }, 'could not check approver group membership');
        }
      }
    }
    const verdict = checkApprover({ customer, incident, clicker: who, clickerGroups: groups, requireKnownSubject: doing === 'approve' || doing === 'reject' });
    if (verdict.ok) return { ok: true, message: '' };
    if (logRefusal) {
      await this.store.appendTimeline(incident.id, [{ source: 'engine', kind: `${doing}.refused`, summary: `${who.name} tried to ${doing}: refused (${verdict.reason})`, actor: who.aadObjectId }]);
    }
    return { ok: false, reason: verdict.reason };
  }

  private notify(f: (n: Notifier) => void | Promise<void> | undefined): void {
    try {
      Promise.resolve(f(this.notifier)).catch((err) => this.log.warn({ err }, 'notifier failed'));
    } catch (err) {
      this.log.warn({ err }, 'notifier failed');
    }
  }
}

const orderCache = new WeakMap<Procedure, ProcedureStep[]>();
/** Steps with every step after the ones it needs (stable: declaration order otherwise). */
export function topologicalOrder(proc: Procedure): ProcedureStep[] {
  const cached = orderCache.get(proc);
  if (cached) return cached;
  const out: ProcedureStep[] = [];
  const done = new Set<string>();
  const byId = new Map(proc.steps.map((s) => [s.id, s]));
  const visit = (s: ProcedureStep): void => {
    if (done.has(s.id)) return;
    done.add(s.id);
    for (const n of [...s.needs, ...s.after]) visit(byId.get(n)!);
    out.push(s);
  };
  proc.steps.forEach(visit);
  orderCache.set(proc, out);
  return out;
}

function genericPreview(step: ProcedureStep, def: ActionDef): Preview {
  return { title: step.title, facts: [], changes: [def.description], warnings: [] };
}

function describeSelection(sel: { block: string[]; notBlocked: Array<{ ip: string; reason: string }> }): string {
  const block = sel.block.length ? `Blocking proposed for ${sel.block.join(', ')}` : 'No IP from the alert is proposed for blocking';
  const not = sel.notBlocked.map((n) => `${n.ip} (${n.reason})`).join('; ');
  return not ? `${block}; not blocking ${not}` : block;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.slice(0, 500) || e.name;
  return String(e).slice(0, 500);
}

/** JSON round trip: what is stored is exactly what a later read returns (no Dates, no Buffers by reference). */
function toJson(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

function sourceTimeOf(output: unknown, raw: RawPayload[]): string | null {
  const t = (output as { sourceTime?: unknown } | null)?.sourceTime;
  if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return t;
  const ends = raw.map((r) => r.rangeTo).filter((x): x is string => typeof x === 'string').sort();
  return ends.length ? ends[ends.length - 1] : null;
}
