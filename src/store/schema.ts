import type { Generated } from 'kysely';

/**
 * The tables as kysely sees them. Portable column types only: timestamps are ISO-8601 UTC text of
 * fixed width (`Date#toISOString()`), so text order is time order on both dialects; JSON is text;
 * payload bytes are blob (SQLite) / bytea (PostgreSQL).
 */
export interface IncidentsTable {
  id: string;
  customer_id: string;
  tenant_id: string;
  subject_upn: string;
  /** lower-cased UPN, computed in code (SQLite's lower() folds ASCII only): the correlation key */
  subject_key: string;
  subject_object_id: string | null;
  /** JSON SubjectIdentity (every identifier the alert gave); null for incidents from before migration 0003 */
  subject_identity: string | null;
  severity: string;
  title: string;
  status: string;
  procedure: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  data: string;
}

/** primary key (customer_id, id): alert ids are unique within one customer's tenant only */
export interface AlertsTable {
  id: string;
  customer_id: string;
  incident_id: string;
  received_at: string;
  source: string;
  alert: string;
  raw: string;
}

export interface TimelineEventsTable {
  incident_id: string;
  seq: number;
  at: string;
  source: string;
  kind: string;
  summary: string;
  source_time: string | null;
  actor: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface ActionsTable {
  id: string;
  incident_id: string;
  step_id: string;
  name: string;
  status: string;
  idempotency_key: string;
  attempts: number;
  input: string | null;
  preview: string | null;
  result: string | null;
  error: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  not_before: string | null;
  /** 1: a person approved this step; claimed before read-only work (0008) */
  priority: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface ApprovalsTable {
  id: string;
  incident_id: string;
  action_id: string;
  status: string;
  required_approvers: number;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
  card_activity_id: string | null;
}

export interface ApprovalVotesTable {
  approval_id: string;
  approver_id: string;
  approver_name: string;
  vote: string;
  at: string;
}

export interface EvidenceTable {
  id: Generated<number>;
  incident_id: string;
  action_id: string | null;
  source: string;
  content_type: string;
  collected_at: string;
  range_from: string | null;
  range_to: string | null;
  record_count: number | null;
  note: string | null;
  /** null while a stream is still being written: such rows are invisible to readers */
  sha256: string | null;
  /** bigint: PostgreSQL hands it back as a string */
  size: number | string;
  chunk_count: number;
}

export interface EvidenceChunksTable {
  evidence_id: number;
  seq: number;
  bytes: Buffer;
}

export interface RefsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface StateTable {
  key: string;
  value: string;
  updated_at: string;
}

/** single-use values (webhook signatures) until they expire */
export interface SeenOnceTable {
  key: string;
  expires_at: string;
}

export interface FeedEntriesTable {
  id: Generated<number>;
  customer_id: string;
  ip: string;
  incident_id: string;
  added_at: string;
  expires_at: string;
  removed_at: string | null;
  /** who is taking the entry off the devices: 'expiry' or 'release:<incident>' (0006) */
  unblock_claim: string | null;
}

/** an incident's hold on a blocked IP of its customer (0006): released by its release */
export interface BlockHoldsTable {
  id: Generated<number>;
  customer_id: string;
  ip: string;
  incident_id: string;
  held_at: string;
  released_at: string | null;
}

/** Teams send slots shared by the replicas (0007): one row per limiter key */
export interface SendRatesTable {
  key: string;
  /** JSON array of epoch milliseconds of the granted sends within the longest window, oldest first */
  sent: string;
  /** ISO time until which a server's Retry-After holds the key */
  held_until: string | null;
  updated_at: string;
}

/** Every identifier known for an incident's subject (migration 0004): `sid:…`, `upn:…`, `sam:dom\\name`. */
export interface SubjectIdentifiersTable {
  incident_id: string;
  customer_id: string;
  identifier: string;
  added_at: string;
}

export interface Database {
  incidents: IncidentsTable;
  alerts: AlertsTable;
  timeline_events: TimelineEventsTable;
  actions: ActionsTable;
  approvals: ApprovalsTable;
  approval_votes: ApprovalVotesTable;
  evidence: EvidenceTable;
  evidence_chunks: EvidenceChunksTable;
  refs: RefsTable;
  state: StateTable;
  seen_once: SeenOnceTable;
  feed_entries: FeedEntriesTable;
  block_holds: BlockHoldsTable;
  subject_identifiers: SubjectIdentifiersTable;
  send_rates: SendRatesTable;
}
