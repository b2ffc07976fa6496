import type { SubjectIdentity } from '../domain/subject-identity';
/**
 * The Store port: everything the bot remembers. Two adapters implement it (SQLite by default,
 * PostgreSQL when STORE_URL=postgres://...), and the same test suite runs against both.
 * Every method is a single transaction: a state change is durable when the promise resolves.
 * Open one with openStore(url) from ./open-store. Deliberate refusals throw the errors of ./errors
 * (NotFoundError, ConflictError, StoreInputError, IntegrityError); times are ISO-8601 UTC strings
 * with milliseconds (`Date#toISOString()`), and timestamps passed in are normalised to that form.
 */

/**
 * `releasing`: an approved release (issue 14) is undoing the containment; `released`: it has, the
 * incident ended as a false positive (closedAt is set, as for closed and cancelled).
 */
export type IncidentStatus = 'open' | 'containing' | 'contained' | 'releasing' | 'released' | 'closed' | 'cancelled';
// Defined with the alert in the domain; the store keeps what the domain says.
export type { Severity } from '../domain/alert';
import type { Severity } from '../domain/alert';

export interface IncidentRecord {
  id: string;                      // 'IR-20261127-7K3Q'
  customerId: string;
  tenantId: string;
  subjectUpn: string;
  subjectObjectId: string | null;
  /**
   * Every identifier the alert gave for the subject (SID, DOMAIN\\sAMAccountName, UPN, object id)
   * and where the customers file placed it; subjectUpn is then its label (the UPN when there is one).
   * Optional on input; null on incidents from before it existed.
   */
  subjectIdentity?: SubjectIdentity | null;
  severity: Severity;
  title: string;
  status: IncidentStatus;
  procedure: string | null;        // the procedure name + version used
  createdAt: string;               // ISO UTC
  updatedAt: string;
  closedAt: string | null;
  data: Record<string, unknown>;   // findings shown on the card (counts, ticket number, ...)
}

export interface AlertRecord {
  id: string;                      // the Defender alert id
  customerId: string;
  incidentId: string;
  receivedAt: string;
  source: 'webhook' | 'sentinel' | 'poller' | 'manual';
  /** the normalised Alert as JSON */
  alert: Record<string, unknown>;
  /** the alert exactly as received */
  raw: string;
}

export interface TimelineEventInput {
  source: string;                  // 'defender', 'entra', 'radius', 'fortigate', 'bot', 'engine', ...
  kind: string;                    // 'alert.received', 'step.approved', 'finding.impossibleTravel', ...
  summary: string;                 // one line for people
  sourceTime?: string | null;      // the source's own timestamp, when it has one
  actor?: string | null;           // who did it (aadObjectId / name) for approvals
  data?: Record<string, unknown>;
}

export interface TimelineEvent extends Required<Omit<TimelineEventInput, 'data'>> {
  incidentId: string;
  seq: number;                     // 1, 2, ... per incident
  at: string;                      // when we recorded it (UTC)
  data: Record<string, unknown>;
  prevHash: string;                // hash of seq-1 ('' x64 zeros for the first)
  hash: string;                    // sha256(prevHash + canonical JSON of this event without hash)
}

export type ActionStatus =
  | 'waiting'            // its needs are not done yet
  | 'ready'              // may run (read-only steps) / approval granted
  | 'awaiting_approval'
  | 'running'            // claimed with a lease; the intent is recorded
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'skipped'
  | 'expired'
  | 'cancelled';

export interface ActionRecord {
  id: string;                      // `${incidentId}:${stepId}`
  incidentId: string;
  stepId: string;
  name: string;                    // 'entra.containUser'
  status: ActionStatus;
  idempotencyKey: string;
  attempts: number;
  input: Record<string, unknown> | null;
  preview: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  notBefore: string | null;        // back-off: not to be retried before this time
  createdAt: string;
  updatedAt: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded';

export interface ApprovalRecord {
  id: string;                      // random, carried in the card's data: a forged id matches nothing
  incidentId: string;
  actionId: string;
  status: ApprovalStatus;
  requiredApprovers: number;       // 1 or 2
  requestedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;        // comma-joined names of the deciders
  reason: string | null;           // the decision's reason; while pending, why earlier votes were reset
  cardActivityId: string | null;
  votes: Array<{ approverId: string; approverName: string; vote: 'approve' | 'reject'; at: string }>;
}

export interface EvidenceRecord {
  id: number;
  incidentId: string;
  actionId: string | null;
  source: string;
  contentType: string;
  collectedAt: string;
  rangeFrom: string | null;
  rangeTo: string | null;
  recordCount: number | null;
  note: string | null;
  sha256: string;
  size: number;
}

// the feed entry is a domain value (the threat-feed port and the renderer use it without the store)
import type { FeedEntry, FeedUnblockClaim } from '../domain/feed-entry';
export type { FeedEntry, FeedUnblockClaim };

/**
 * `leaseOwner`, when given, also requires the action's current lease to be held by that owner: a
 * worker whose lease expired (and whose action was re-claimed) cannot then overwrite the result.
 * Any move to a status other than 'running' releases the lease.
 */
export type Transition = { from: ActionStatus[]; to: ActionStatus; leaseOwner?: string };

export type VoteRefusal = 'not_found' | 'not_pending' | 'expired' | 'already_voted';

/**
 * A vote that changes what is being approved (an approver's edits of the CISO email). In the
 * vote's transaction the action's input and preview are replaced (the action must still be
 * awaiting approval, else the vote is refused as not_pending) and every earlier vote is void:
 * its approvers approved something else. When there were earlier votes, `reset(voided)` says what
 * to keep: `note` is stored as the pending approval's `reason` (its card shows it), `events` go on
 * the timeline.
 */
export interface ProposalRevision {
  input: Record<string, unknown>;
  preview: Record<string, unknown> | null;
  reset(voided: ApprovalRecord['votes']): { note: string; events: TimelineEventInput[] };
}

/** One key of a shared send-rate limiter (0007) and its sliding windows: at most `max` sends in any `windowMs`. */
export interface SendRateKey {
  key: string;
  windows: ReadonlyArray<{ windowMs: number; max: number }>;
}

export type SendSlot = { granted: true } | { granted: false; retryAt: Date };

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  /** Rejects within a few seconds when the database cannot be reached (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Wake-ups between processes sharing the store: PostgreSQL LISTEN/NOTIFY. Only a hint to look at
   * the store sooner (a lost notification is found by the poll); a no-op on SQLite. `channel` is a
   * lower-case identifier; the returned function stops listening.
   */
  subscribe(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;

  // --- incidents and alerts -------------------------------------------------------------
  /**
   * Records an alert. In one transaction: if the customer already has this alert id (alert identity
   * is (customer, alert id): another customer's alert with the same id is a different alert), returns its incident
   * (created=false, nothing written); else if an incident for the same customer and subject is
   * open (not closed/cancelled), attaches the alert to it; else creates `newIncident`.
   * The timeline events given are appended to whichever incident receives the alert.
   */
  recordAlert(input: {
    alert: AlertRecord & { incidentId?: never } | Omit<AlertRecord, 'incidentId'>;
    newIncident: Omit<IncidentRecord, 'updatedAt' | 'closedAt'>;
    /** joinedBy: the identifier (`sid:…`, `upn:…`) by which the alert met an open incident under another label */
    events: (joined: boolean, joinedBy?: string) => TimelineEventInput[];
  }): Promise<{ incidentId: string; created: boolean; duplicate: boolean }>;
  /**
   * Adds identifiers (`sid:…`, `upn:…`, `sam:dom\\name`; src/domain/subject-identity.ts)
   * to the incident's subject, so that an alert naming the account by any of them joins it while it
   * is open. Returns the ones that were new. NotFoundError when the incident does not exist.
   */
  addSubjectIdentifiers(incidentId: string, identifiers: readonly string[]): Promise<string[]>;
  listSubjectIdentifiers(incidentId: string): Promise<string[]>;
  /** Throws ConflictError if the id exists or the subject already has an open incident. */
  createIncident(incident: Omit<IncidentRecord, 'updatedAt' | 'closedAt'>, events: TimelineEventInput[]): Promise<void>;
  getIncident(id: string): Promise<IncidentRecord | undefined>;
  /** Newest first; `open: false` lists closed/cancelled ones; limit defaults to 100 (at most 1000). */
  listIncidents(filter?: { open?: boolean; customerId?: string; limit?: number }): Promise<IncidentRecord[]>;
  /**
   * Changes status and/or shallow-merges `data`; appends the events in the same transaction.
   * Closing/cancelling sets closedAt; reopening clears it (ConflictError if the subject has another
   * open incident by then). NotFoundError when the incident does not exist.
   */
  updateIncident(id: string, patch: { status?: IncidentStatus; data?: Record<string, unknown>; subjectObjectId?: string; procedure?: string }, events?: TimelineEventInput[]): Promise<IncidentRecord>;
  listAlerts(incidentId: string): Promise<AlertRecord[]>;
  /** A customer's alerts received at or after `since` (ISO), oldest first, at most `limit` (default 1000, at most 5000). */
  listRecentAlerts(customerId: string, since: string, limit?: number): Promise<AlertRecord[]>;

  // --- timeline (append-only, hash-chained) -------------------------------------------
  /** Check a listed timeline with verifyChain() from src/domain/timeline-hash. */
  appendTimeline(incidentId: string, events: TimelineEventInput[]): Promise<TimelineEvent[]>;
  listTimeline(incidentId: string): Promise<TimelineEvent[]>;

  // --- actions (exactly once) -----------------------------------------------------------
  /** Inserts the actions that do not exist yet (by id); existing ones are left as they are. */
  ensureActions(actions: Array<Pick<ActionRecord, 'id' | 'incidentId' | 'stepId' | 'name' | 'status' | 'idempotencyKey' | 'input'>>): Promise<void>;
  getAction(id: string): Promise<ActionRecord | undefined>;
  listActions(incidentId: string): Promise<ActionRecord[]>;
  /**
   * Compare-and-set: moves the action to `to` only if its status is one of `from`;
   * returns the updated record, or undefined when another writer got there first.
   * `events` are appended in the same transaction.
   */
  transitionAction(id: string, t: Transition, patch?: Partial<Pick<ActionRecord, 'input' | 'preview' | 'result' | 'error' | 'notBefore'>>, events?: TimelineEventInput[]): Promise<ActionRecord | undefined>;
  /**
   * Claims a runnable action with a lease (status ready → running, attempts+1), or re-claims a
   * `running` one whose lease has expired (a crashed worker). Returns undefined when none.
   * Approved steps (priority set by the approving vote) first, then the oldest. `approvedOnly`:
   * only those approved steps, of any incident unless `incidentId` is given.
   */
  claimAction(owner: string, leaseMs: number, now: Date, filter?: { incidentId?: string; approvedOnly?: boolean }): Promise<ActionRecord | undefined>;
  renewLease(id: string, owner: string, leaseMs: number, now: Date): Promise<boolean>;

  // --- approvals ------------------------------------------------------------------------
  /**
   * The action must belong to the incident. A pending approval of the same action is superseded
   * in the same transaction, so an older card can never decide.
   */
  createApproval(a: Omit<ApprovalRecord, 'votes' | 'decidedAt' | 'decidedBy' | 'reason' | 'cardActivityId' | 'status'>, events?: TimelineEventInput[]): Promise<ApprovalRecord>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  listApprovals(filter: { incidentId?: string; status?: ApprovalStatus }): Promise<ApprovalRecord[]>;
  setApprovalCard(id: string, activityId: string): Promise<void>;
  /**
   * Records one vote atomically. Refuses (returns {ok:false, reason}) when the approval is not
   * pending, expired at `now`, or the approver already voted. When the vote decides the approval
   * (a reject, or enough approves) the approval status changes in the same transaction and the
   * action moves awaiting_approval → ready / rejected. `reason` is a sentence for the person;
   * `code` is for the program.
   */
  voteApproval(id: string, vote: { approverId: string; approverName: string; vote: 'approve' | 'reject'; reason?: string }, now: Date, events?: TimelineEventInput[], revision?: ProposalRevision): Promise<
    { ok: true; decided: boolean; approval: ApprovalRecord } | { ok: false; reason: string; code: VoteRefusal; approval?: ApprovalRecord }>;
  /** Pending approvals whose expiry passed become expired; their actions awaiting_approval → expired. */
  expireApprovals(now: Date): Promise<ApprovalRecord[]>;

  // --- evidence (raw bytes, hashed) -----------------------------------------------------
  putEvidence(e: Omit<EvidenceRecord, 'id' | 'sha256' | 'size'> & { body: Buffer }): Promise<EvidenceRecord>;
  /** For large payloads (a busy day of accounting): stored in chunks, hashed while streaming. */
  putEvidenceStream(e: Omit<EvidenceRecord, 'id' | 'sha256' | 'size'>, body: AsyncIterable<Buffer>): Promise<EvidenceRecord>;
  listEvidence(incidentId: string): Promise<EvidenceRecord[]>;
  getEvidenceBody(id: number): Promise<Buffer>;
  /**
   * The stored bytes in order, chunk by chunk (1 MiB), in bounded memory. Throws NotFoundError for
   * an unknown id, and IntegrityError at the end if the bytes no longer match sha256/size.
   */
  readEvidence(id: number): AsyncIterable<Buffer>;

  // --- Teams references -----------------------------------------------------------------
  putRef(key: string, value: Record<string, unknown>): Promise<void>;
  getRef(key: string): Promise<Record<string, unknown> | undefined>;

  // --- key/value state: poller watermarks, handoff shifts, ... ---------------------------
  getState(key: string): Promise<string | undefined>;
  /** Sets key only if its current value equals `expected` (undefined = absent). */
  casState(key: string, expected: string | undefined, value: string): Promise<boolean>;
  setState(key: string, value: string): Promise<void>;
  /**
   * Remembers `key` until `expiresAt`: true the first time, false while it is remembered (a replayed
   * webhook signature). Shared by every replica on the store; expired keys are pruned on the way.
   */
  claimOnce(key: string, expiresAt: Date, now: Date): Promise<boolean>;
  /** Every state entry whose key starts with `prefix` (at most 1000), in key order. */
  listState(prefix: string): Promise<Array<{ key: string; value: string }>>;
  /**
   * Open incidents (oldest first, at most `limit`, default 1000) whose state row `<prefix><incident id>` is
   * missing or holds a value starting with `posting:`, with that value: the card sweep's work list, read in
   * one query however many incidents are open (a list of the newest N left older ones unswept).
   */
  listOpenIncidentsWithoutState(prefix: string, limit?: number): Promise<Array<{ id: string; value: string | undefined }>>;
  /** Deletes `key` only if its value is still `expected`; false when it was absent or changed. */
  deleteState(key: string, expected: string): Promise<boolean>;

  // --- shared send rate (0007) -----------------------------------------------------------------
  /**
   * Takes a send slot at `now` on every key, or on none: granted when no key is held at `now` and
   * each has had fewer than `max` granted sends in every one of its windows ending at `now`; then
   * `now` is recorded on every key. Refused: nothing is recorded, and `retryAt` is the earliest
   * time at which every refusal reason found has lifted (ask again then). One transaction whose
   * rows are locked, so every replica on the store shares the same count. Bad keys or windows:
   * StoreInputError.
   */
  takeSendSlot(keys: readonly SendRateKey[], now: Date): Promise<SendSlot>;
  /** Holds `key` until `until` (a server's Retry-After) for every replica; an existing later hold is kept. */
  holdSendKey(key: string, until: Date): Promise<void>;

  // --- threat feed ----------------------------------------------------------------------
  /**
   * IPs are validated and stored in canonical form (InvalidInputError otherwise). An IP already
   * active for the customer keeps its row and gets the later of the two expiries. Returns how
   * many entries are new.
   */
  addFeedEntries(entries: Array<Omit<FeedEntry, 'removedAt'>>): Promise<number>;
  /** active entries: not removed and not yet expired at `now` */
  listFeed(customerId: string, now: Date): Promise<FeedEntry[]>;
  /** entries whose expiry passed and that are not yet removed */
  listExpiredFeed(now: Date): Promise<FeedEntry[]>;
  markFeedRemoved(customerId: string, ip: string, now: Date): Promise<void>;
  /**
   * Claims the customer's feed entry of `ip` for taking it off the devices (see FeedUnblockClaim):
   * one conditional update, so the expiry job and a release never both unblock.
   */
  claimFeedUnblock(customerId: string, ip: string, claimant: string, now: Date): Promise<FeedUnblockClaim>;
  /** marks the active entry removed if it is unclaimed or claimed by `claimant`; false when it was not */
  markFeedRemovedBy(customerId: string, ip: string, claimant: string, now: Date): Promise<boolean>;

  // --- block holds (0006) -------------------------------------------------------------------
  /** records that the incident holds each IP of its customer (an active hold is kept, never doubled); returns how many are new */
  holdBlocks(customerId: string, incidentId: string, ips: string[], at: Date): Promise<number>;
  /** releases the incident's holds; per IP, the other OPEN incidents of the customer that still hold it */
  releaseBlockHolds(customerId: string, incidentId: string, ips: string[], at: Date): Promise<Array<{ ip: string; heldBy: string[] }>>;
  /** the open incidents other than `exceptIncidentId` that hold the IP */
  blockHolders(customerId: string, ip: string, exceptIncidentId: string): Promise<string[]>;
}
