import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { ActionContext, ActionPorts } from '../connectors/types';
import type { GroupMembership } from '../domain/approval-policy';
import { log as rootLog, type Logger } from '../log';
import type { ActionRecord, ActionStatus, IncidentRecord, Store } from '../store/store';
import type { ActionRegistry } from './action-registry';
import { DEFAULT_RETRY, type RetryPolicy } from './backoff';
import { silentNotifier, type Notifier } from './notifier';
import type { Procedure, ProcedureCatalog } from './procedure';
import type { Approvals } from './approvals';
import type { IncidentCommands } from './incident-commands';
import type { Runner } from './runner';
import type { Scheduler } from './scheduler';
import type { Transitions } from './transitions';
import type { AdHocActions } from './ad-hoc';
import type { Release } from './release';
import type { StormRounds } from './storm-rounds';
import { isStormSubject } from '../intake/storm';

/**
 * What every room of the engine shares: its dependencies, its settings, and the few helpers all
 * of them use. Each room (scheduler, approvals, transitions, runner, incident commands) is a
 * Room over one EngineCore, and reaches the others through `rooms`.
 */

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

/** Statuses after which a step's dependents cannot run (until `retry` revives the step). */
export const BLOCKING: ReadonlySet<ActionStatus> = new Set(['failed', 'rejected', 'skipped', 'cancelled', 'expired']);
/** A step has ended, whatever its outcome, in these (for `after:`). */
export const ENDED: ReadonlySet<ActionStatus> = new Set(['succeeded', 'failed', 'rejected', 'skipped', 'cancelled', 'expired']);
/** A destructive step has "ended" for the incident's contained status in these. */
export const ENDED_FOR_CONTAINMENT: ReadonlySet<ActionStatus> = new Set(['succeeded', 'skipped', 'rejected']);
export const RETRYABLE_BY_PERSON: ActionStatus[] = ['expired', 'failed', 'rejected'];
export const LIVE_INCIDENT = new Set(['open', 'containing', 'contained']);

export interface Rooms {
  scheduler: Scheduler;
  approvals: Approvals;
  transitions: Transitions;
  runner: Runner;
  commands: IncidentCommands;
  adHoc: AdHocActions;
  release: Release;
  stormRounds: StormRounds;
}

export class EngineCore {
  readonly store: Store;
  readonly registry: ActionRegistry;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly log: Logger;
  readonly workerId: string;
  readonly leaseMs: number;
  readonly approvalTtlMs: number;
  readonly concurrency: number;
  readonly retryPolicy: RetryPolicy;
  readonly tickIntervalMs: number;
  /** set once by the Engine after it has built every room */
  rooms!: Rooms;

  constructor(readonly deps: EngineDeps) {
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

  /** The procedure the incident runs: the name@version it recorded when it started. */
  procedureOf(incident: IncidentRecord): Procedure {
    const proc = incident.procedure ? this.deps.procedures.get(incident.procedure)
      : isStormSubject(incident.subjectUpn) ? this.deps.procedures.forStorm(incident.customerId) : this.deps.procedures.forCustomer(incident.customerId);
    if (!proc && !incident.procedure) throw new Error(`${incident.id} is a storm incident and this process has loaded no storm procedure (src/procedures/storm-containment.yaml)`);
    if (!proc) throw new Error(`${incident.id} runs procedure ${incident.procedure}, which this process has not loaded (keep that version in the procedures' versions/ folder until its incidents are closed)`);
    return proc;
  }

  customerOf(incident: IncidentRecord): CustomerConfig {
    const c = this.deps.customers(incident.customerId);
    if (!c) throw new Error(`${incident.id} belongs to customer "${incident.customerId}", which is not in the customers file`);
    return c;
  }

  /** The timeline source of an action's events: its connector (`entra.contain` → `entra`). */
  sourceOf(action: string): string {
    return action.split('.')[0];
  }

  actionContext(incident: IncidentRecord, customer: CustomerConfig, a: ActionRecord, mayHaveRun: boolean): ActionContext {
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

  /** Tells the notifier; its failures are logged, never thrown into the engine. */
  notify(f: (n: Notifier) => void | Promise<void> | undefined): void {
    try {
      Promise.resolve(f(this.notifier)).catch((err) => this.log.warn({ err }, 'notifier failed'));
    } catch (err) {
      this.log.warn({ err }, 'notifier failed');
    }
  }

  /** Asks the scheduler for a round soon (see Scheduler.kick). */
  kick(incidentId?: string): void {
    this.rooms.scheduler.kick(incidentId);
  }
}

/** One room of the engine: the shared core's dependencies and helpers under short names. */
export abstract class Room {
  constructor(protected readonly core: EngineCore) {}
  protected get deps(): EngineDeps { return this.core.deps; }
  protected get store(): Store { return this.core.store; }
  protected get registry(): ActionRegistry { return this.core.registry; }
  protected get clock(): Clock { return this.core.clock; }
  protected get log(): Logger { return this.core.log; }
  protected get workerId(): string { return this.core.workerId; }
  protected get retryPolicy(): RetryPolicy { return this.core.retryPolicy; }
  protected get rooms(): Rooms { return this.core.rooms; }
  protected procedureOf(incident: IncidentRecord): Procedure { return this.core.procedureOf(incident); }
  protected customerOf(incident: IncidentRecord): CustomerConfig { return this.core.customerOf(incident); }
  protected sourceOf(action: string): string { return this.core.sourceOf(action); }
  protected actionContext(incident: IncidentRecord, customer: CustomerConfig, a: ActionRecord, mayHaveRun: boolean): ActionContext {
    return this.core.actionContext(incident, customer, a, mayHaveRun);
  }
  protected notify(f: (n: Notifier) => void | Promise<void> | undefined): void { this.core.notify(f); }
  protected kick(incidentId?: string): void { this.core.kick(incidentId); }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.slice(0, 500) || e.name;
  return String(e).slice(0, 500);
}

/** JSON round trip: what is stored is exactly what a later read returns (no Dates, no Buffers by reference). */
export function toJson(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}
