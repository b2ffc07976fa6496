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
  /** each customer's cached Graph (token, connections, throttle gate), released when idle */
  graph?: GraphTenants;
}

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
}

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
