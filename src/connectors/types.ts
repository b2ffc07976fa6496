import type { z } from 'zod';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { Logger } from '../log';
import type { ThreatFeed } from './threat-feed/threat-feed';
import type { GraphTenants } from './graph/graph-tenants';

/**
 * A raw payload exactly as a source returned it (bytes as received), kept as evidence and hashed.
 * `rangeFrom`/`rangeTo` are the source's own time range for the records (source timestamps).
 */
export interface RawPayload {
  source: string;               // 'graph.signIns', 'radius.coa', 'fortigate.cli', ...
  contentType: string;          // 'application/json', 'text/plain', 'application/octet-stream'
  body: Buffer;
  collectedAt: string;          // ISO time we received it
  rangeFrom?: string;
  rangeTo?: string;
  recordCount?: number;
  note?: string;                // e.g. 'GET /v1.0/auditLogs/signIns page 2'
}

/** What the approval card shows: each line says exactly what will change. */
export interface Preview {
  title: string;                              // 'Contain adele.vance@contoso.com in Entra'
  facts: Array<{ label: string; value: string }>;
  changes: string[];                          // 'Disable the account (enabled now)'
  warnings: string[];                         // 'Global Administrator: a privileged account'
  notChanged?: Array<{ item: string; reason: string }>;
  /** true when there is nothing to do (already contained): the step completes without asking */
  nothingToDo?: boolean;
  data?: Record<string, unknown>;             // machine-readable counts for the timeline card
}

export interface ActionResult<O = unknown> {
  output: O;
  summary: string;                            // one line for the timeline
  raw: RawPayload[];
}

export interface ActionContext {
  customer: CustomerConfig;
  secrets: SecretStore;
  incidentId: string;
  /** stable per action run: connectors pass it on where the far side supports one (e.g. ServiceNow correlation) */
  idempotencyKey: string;
  /** true when a previous attempt may have reached the target: the action re-reads state before acting */
  mayHaveRun: boolean;
  /** when the intent to run this action was first recorded: a re-check after a crash compares against it */
  intentAt?: Date;
  log: Logger;
  now(): Date;
  signal?: AbortSignal;
  /**
   * Waits `ms` (a poll's interval) without holding one of the engine's run slots: other actions run
   * meanwhile, and this one keeps its claim and lease. Rejects when `signal` aborts. Given by the
   * engine's runner; without it an action waits on a plain timer.
   */
  wait?(ms: number): Promise<void>;
  /** what an action reads or writes beyond its vendor: given by the engine, never built by the action */
  ports?: ActionPorts;
}

/** The incident's stored forensic report, byte for byte (what a ticket attaches). */
export interface StoredReport { name: string; bytes: Buffer; sha256: string; evidenceId: number }
export interface ReportSource {
  latest(incidentId: string): Promise<StoredReport | undefined>;
}

/**
 * The engine's "run this action for that incident now, with its action row, evidence and
 * timeline" (Engine.runAdHoc), as a job or a command that causes a side effect needs it.
 */
export type RunAdHoc = (incidentId: string, req: { stepId: string; action: string; input: Record<string, unknown>; title: string }) => Promise<{ status: string; output: unknown; summary: string | null; error: string | null }>;

/** Ports the engine puts into an action's context for the context's customer. */
export interface ActionPorts {
  threatFeed?: ThreatFeed;
  reports?: ReportSource;
  /**
   * Test-only: holds an action at a named point between two of its calls, so that a crash test can
   * SIGKILL the process exactly there (src/sandbox/crash-pause-points.ts). Absent in production and
   * everywhere IR_CRASH_PAUSE is unset: actions call it as `await ctx.ports?.crashPause?.at(…)`.
   */
  crashPause?: CrashPause;
  /** which incidents hold which blocked IPs of this customer (reference counting for a release) */
  blockHolds?: BlockHolds;
  /** each customer's cached Graph (token, connections, throttle gate), released when idle */
  graph?: GraphTenants;
}

/**
 * The block holds of one customer: firewall.block records that its incident holds each IP, a
 * release gives the incident's holds back. The block group and the feed are shared per customer,
 * so an IP leaves them only when no other open incident holds it.
 */
export interface BlockHolds {
  readonly customerId: string;
  /** records that `incidentId` holds each IP (an active hold is kept, never doubled) */
  hold(incidentId: string, ips: string[], at: Date): Promise<void>;
  /**
   * Releases the incident's holds on the IPs and says, per IP, which other open incidents still
   * hold it (empty: nobody; the IP may come off).
   */
  release(incidentId: string, ips: string[], at: Date): Promise<Array<{ ip: string; heldBy: string[] }>>;
  /** the other open incidents holding the IP, without changing anything (for a preview) */
  holders(ip: string, exceptIncidentId: string): Promise<string[]>;
}

/** A named point an action passes; `at` returns at once unless the test asked to hold there (then never). */
export interface CrashPause {
  at(point: CrashPausePoint): Promise<void>;
}

/** The points actions announce (one list, so a test cannot ask for a point nothing passes). */
export const CRASH_PAUSE_POINTS = [
  /** identity.contain: the account is disabled in AD, its password not reset yet */
  'identity.contain:after-ad-disable',
  /** identity.contain: the AD password is reset, nothing after it done and the step not recorded */
  'identity.contain:after-ad-reset',
] as const;
export type CrashPausePoint = (typeof CRASH_PAUSE_POINTS)[number];

export type Risk = 'read' | 'change' | 'destructive';

export interface ActionDef<I = unknown, O = unknown> {
  name: `${string}.${string}`;
  risk: Risk;
  description: string;
  input: z.ZodType<I, z.ZodTypeDef, unknown>;
  /**
   * Input fields the approver may change on the approval card before approving (e.g. an email's
   * subject and body). The edited input is validated by `input` again and the preview re-made.
   */
  editable?: readonly string[];
  /**
   * The editable fields as the approval card shows them, read from the stored preview. A card sends
   * every input back on a click, so a field whose value is what the card showed is not an edit
   * (without this, an unset input field would count as edited by an approver who changed nothing).
   */
  shownForEdit?(preview: Preview | null): Record<string, unknown> | undefined;
  preview?(input: I, ctx: ActionContext): Promise<Preview>;
  run(input: I, ctx: ActionContext): Promise<ActionResult<O>>;
  /**
   * How a release undoes this action (issue 14): the inverse action and its input made from this
   * action's input and output, or why nothing can be undone. Required in practice for 'destructive'
   * (test/connectors/inverse-declarations.test.ts walks the registry).
   */
  inverse?: InverseDecl;
}

/** The inverse of an action: another registered action, or the reason there is none (shown on the release card). */
export type InverseDecl =
  | {
    action: `${string}.${string}`; input(forwardInput: unknown, forwardOutput: unknown): Record<string, unknown>; note?: string;
    /** what the forward call left unchanged, so the inverse leaves it too (an account whose containment failed), shown on the release card */
    notUndone?(forwardInput: unknown, forwardOutput: unknown): Array<{ item: string; reason: string }>;
  }
  | { none: string };           // why it cannot be undone, shown on the release card

/**
 * The list a connector registers. Each action is typed by its own input and output; the list erases
 * them. That is sound because the engine parses every input with the action's own `input` schema
 * before `preview` or `run` sees it; TypeScript cannot see it on its own (an ActionDef is
 * contravariant in its input), so this is the one place that says so.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function actionList(...defs: Array<ActionDef<any, any>>): ActionDef[] {
  return defs;
}

/** An error a person can act on; `retryable` says whether the engine may back off and try again. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly opts: { retryable?: boolean; status?: number; source?: string; cause?: unknown; raw?: RawPayload[] } = {},
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
  get retryable(): boolean {
    return this.opts.retryable ?? false;
  }
}
