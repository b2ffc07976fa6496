import type { SubjectIdentity } from '../domain/subject-identity';
import type { Selectable } from 'kysely';
import type {
  ActionRecord, ActionStatus, AlertRecord, ApprovalRecord, ApprovalStatus, EvidenceRecord, FeedEntry,
  IncidentRecord, IncidentStatus, Severity, TimelineEvent,
} from './store';
import type {
  ActionsTable, AlertsTable, ApprovalsTable, ApprovalVotesTable, EvidenceTable, FeedEntriesTable, IncidentsTable,
  TimelineEventsTable,
} from './schema';
import { StoreInputError } from './errors';
import { wellFormedJson } from '../domain/storable-text';

/** Row <-> record conversion and the checks every value passes before it is written. */

export const OPEN_EXCLUDED_STATUSES: IncidentStatus[] = ['closed', 'cancelled', 'released'];

export const ACTION_STATUSES: readonly ActionStatus[] = [
  'waiting', 'ready', 'awaiting_approval', 'running', 'succeeded', 'failed', 'rejected', 'skipped', 'expired', 'cancelled',
];
const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'containing', 'contained', 'releasing', 'released', 'closed', 'cancelled'];
const SEVERITIES: readonly Severity[] = ['unknown', 'informational', 'low', 'medium', 'high'];

export function nowIso(): string {
  return new Date().toISOString();
}

/** ISO-8601 UTC with milliseconds, the only time format stored: fixed width, so it sorts as text. */
export function isoUtc(value: string | Date, field: string): string {
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new StoreInputError(`${field}: not a valid timestamp: ${JSON.stringify(String(value)).slice(0, 80)}`);
  const iso = d.toISOString();
  // years outside 0000..9999 widen the string and would break text ordering
  if (iso.length !== 24) throw new StoreInputError(`${field}: timestamp out of range: ${iso}`);
  return iso;
}

export function isoOrNull(value: string | Date | null | undefined, field: string): string | null {
  return value === null || value === undefined ? null : isoUtc(value, field);
}

export function addMs(now: Date, ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) throw new StoreInputError(`lease length must be a positive number of ms, got ${ms}`);
  return isoUtc(new Date(now.getTime() + ms), 'leaseUntil');
}

export function requireString(value: unknown, field: string, { empty = false } = {}): string {
  if (typeof value !== 'string' || (!empty && value.length === 0)) {
    throw new StoreInputError(`${field}: expected a${empty ? '' : ' non-empty'} string`);
  }
  return value;
}

export function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T)) throw new StoreInputError(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

export const requireIncidentStatus = (v: unknown) => requireOneOf(v, INCIDENT_STATUSES, 'incident.status');
export const requireSeverity = (v: unknown) => requireOneOf(v, SEVERITIES, 'incident.severity');
export const requireActionStatus = (v: unknown, field = 'action.status') => requireOneOf(v, ACTION_STATUSES, field);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON object as stored text. Round-tripping through JSON here means the value we hash and the
 * value we read back are the same (undefined dropped, Dates as strings).
 */
export function objectToJson(value: unknown, field: string): string {
  if (!isPlainObject(value)) throw new StoreInputError(`${field}: expected a JSON object`);
  // well-formed text inside too, so what is read back (and hashed) has no lone surrogates either
  try {
    return JSON.stringify(wellFormedJson(value));
  } catch (error) {
    if (error instanceof RangeError) throw new StoreInputError(`${field}: ${error.message}`);
    throw error;
  }
}

export function nullableObjectToJson(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : objectToJson(value, field);
}

export function normaliseObject(value: unknown, field: string): Record<string, unknown> {
  return JSON.parse(objectToJson(value ?? {}, field)) as Record<string, unknown>;
}

function parseObject(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

function parseNullableObject(text: string | null): Record<string, unknown> | null {
  return text === null ? null : parseObject(text);
}

export function toIncident(r: Selectable<IncidentsTable>): IncidentRecord {
  return {
    id: r.id,
    customerId: r.customer_id,
    tenantId: r.tenant_id,
    subjectUpn: r.subject_upn,
    subjectObjectId: r.subject_object_id,
    subjectIdentity: r.subject_identity ? (JSON.parse(r.subject_identity) as SubjectIdentity) : null,
    severity: r.severity as Severity,
    title: r.title,
    status: r.status as IncidentStatus,
    procedure: r.procedure,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    closedAt: r.closed_at,
    data: parseObject(r.data),
  };
}

export function toAlert(r: Selectable<AlertsTable>): AlertRecord {
  return {
    id: r.id,
    customerId: r.customer_id,
    incidentId: r.incident_id,
    receivedAt: r.received_at,
    source: r.source as AlertRecord['source'],
    alert: parseObject(r.alert),
    raw: r.raw,
  };
}

export function toTimelineEvent(r: Selectable<TimelineEventsTable>): TimelineEvent {
  let data: Record<string, unknown>;
  try {
    data = parseObject(r.data);
  } catch {
    // A row edited into invalid JSON must still be listable so verifyChain can name its seq.
    data = { $unparseable: r.data };
  }
  return {
    incidentId: r.incident_id,
    seq: Number(r.seq),
    at: r.at,
    source: r.source,
    kind: r.kind,
    summary: r.summary,
    sourceTime: r.source_time,
    actor: r.actor,
    data,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function toAction(r: Selectable<ActionsTable>): ActionRecord {
  return {
    id: r.id,
    incidentId: r.incident_id,
    stepId: r.step_id,
    name: r.name,
    status: r.status as ActionStatus,
    idempotencyKey: r.idempotency_key,
    attempts: Number(r.attempts),
    input: parseNullableObject(r.input),
    preview: parseNullableObject(r.preview),
    result: parseNullableObject(r.result),
    error: r.error,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    notBefore: r.not_before,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toApproval(r: Selectable<ApprovalsTable>, votes: Array<Selectable<ApprovalVotesTable>>): ApprovalRecord {
  return {
    id: r.id,
    incidentId: r.incident_id,
    actionId: r.action_id,
    status: r.status as ApprovalStatus,
    requiredApprovers: Number(r.required_approvers),
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    reason: r.reason,
    cardActivityId: r.card_activity_id,
    votes: votes.map((v) => ({
      approverId: v.approver_id,
      approverName: v.approver_name,
      vote: v.vote as 'approve' | 'reject',
      at: v.at,
    })),
  };
}

export function toEvidence(r: Selectable<EvidenceTable>): EvidenceRecord {
  return {
    id: Number(r.id),
    incidentId: r.incident_id,
    actionId: r.action_id,
    source: r.source,
    contentType: r.content_type,
    collectedAt: r.collected_at,
    rangeFrom: r.range_from,
    rangeTo: r.range_to,
    recordCount: r.record_count === null ? null : Number(r.record_count),
    note: r.note,
    sha256: r.sha256 ?? '',
    size: Number(r.size),
  };
}

export function toFeedEntry(r: Selectable<FeedEntriesTable>): FeedEntry {
  return {
    customerId: r.customer_id,
    ip: r.ip,
    incidentId: r.incident_id,
    addedAt: r.added_at,
    expiresAt: r.expires_at,
    removedAt: r.removed_at,
  };
}
