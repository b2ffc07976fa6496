import { createHash } from 'node:crypto';
import { Migrator, sql, type Kysely, type MigrationProvider, type Selectable } from 'kysely';
import { parseIp } from '../domain/net';
import { subjectIdentifiers } from '../domain/subject-identity';
import type { Logger } from '../log';
import { isBusyError, isConnectionError, isRetryablePgError, isUniqueViolation, type Dialect } from './dialect';
import { assertChannelName, type PgWakeChannel } from './pg-wake-channel';
import { ConflictError, IncidentIdTakenError, IntegrityError, NewerSchemaError, NotFoundError, StoreInputError } from './errors';
import { rechunk, splitBuffer } from './evidence-chunks';
import { migrationProvider } from './migrations';
import {
  addMs, isoOrNull, isoUtc, nowIso, nullableObjectToJson, objectToJson, OPEN_EXCLUDED_STATUSES, requireActionStatus,
  requireIncidentStatus, requireOneOf, requireSeverity, requireString, toAction, toAlert, toApproval, toEvidence,
  toFeedEntry, toIncident, toTimelineEvent,
} from './rows';
import type { AlertsTable, ApprovalVotesTable, Database, EvidenceTable, IncidentsTable } from './schema';
import type {
  ActionRecord, AlertRecord, ApprovalRecord, ApprovalStatus, EvidenceRecord, FeedEntry, FeedUnblockClaim, IncidentRecord, IncidentStatus,
  ProposalRevision, SendRateKey, SendSlot, Store, TimelineEvent, TimelineEventInput, Transition, VoteRefusal,
} from './store';
import { StorableTextPlugin } from './storable-text-plugin';
import { appendEvents } from './timeline-writer';
import { checkSendRateKeys, earliestSlot, parseSent, trimmedSent } from './send-slots';

type Db = Kysely<Database>;
type NewIncident = Omit<IncidentRecord, 'updatedAt' | 'closedAt'>;
type EvidenceMeta = Omit<EvidenceRecord, 'id' | 'sha256' | 'size'>;

/** How long a writer keeps retrying while another connection holds SQLite's write lock. */
const BUSY_DEADLINE_MS = 15_000;
/** Unique-constraint races (two processes recording one alert) resolve on the next attempt. */
const UNIQUE_RETRIES = 4;
/** /readyz must answer while the database hangs: the ping gives up after this. */
const PING_TIMEOUT_MS = 2_000;
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/**
 * The Store over kysely, one implementation for SQLite and PostgreSQL. Dialect differences are
 * confined to row locks (PostgreSQL FOR UPDATE [SKIP LOCKED]; SQLite takes the database write
 * lock at BEGIN IMMEDIATE) and to which errors are worth retrying.
 */
export class KyselyStore implements Store {
  /** For migrations tooling and tests (raw SQL); application code goes through the port. */
  readonly db: Db;

  constructor(
    db: Db,
    readonly dialect: Dialect,
    private readonly log?: Logger,
    /** PostgreSQL's LISTEN connection (subscribe/notify); absent on SQLite */
    private readonly wake?: PgWakeChannel,
  ) {
    this.db = db.withPlugin(new StorableTextPlugin());
  }

  /**
   * Brings the schema up to date. A database that has migrations this code lacks (a newer replica
   * migrated it) is left as it is, with a NewerSchemaError naming them: kysely's own check would
   * fail the same way, but with a message that does not say what to do. `provider` is the code's
   * migrations (tests pass a shorter list to play an older build).
   */
  async migrate(provider: MigrationProvider = migrationProvider(this.dialect)): Promise<void> {
    const known = Object.keys(await provider.getMigrations());
    const newer = async () => (await this.appliedMigrations()).filter((name) => !known.includes(name));
    const ahead = await newer();
    if (ahead.length) throw new NewerSchemaError(ahead);
    const migrator = new Migrator({ db: this.db, provider });
    // Two processes starting at once can race creating kysely's own bookkeeping tables.
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await migrator.migrateToLatest();
      if (!error) {
        for (const r of results ?? []) this.log?.info({ migration: r.migrationName, status: r.status }, 'store migration applied');
        return;
      }
      // A newer replica migrated between the check above and kysely's own.
      const aheadNow = await newer().catch(() => []);
      if (aheadNow.length) throw new NewerSchemaError(aheadNow);
      if (attempt >= 3 || !(isUniqueViolation(error) || isBusyError(error) || (error as { code?: string }).code === '42P07')) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new Error(`store migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
      }
      await sleep(50 * attempt);
    }
  }

  /** Names of the migrations the database has recorded (none before the first migration). */
  private async appliedMigrations(): Promise<string[]> {
    try {
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(this.db);
      return rows.map((r) => r.name);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (e.code === '42P01' || /no such table/i.test(e.message ?? '')) return [];
      throw error;
    }
  }

  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the store did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([sql`select 1`.execute(this.db), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.wake?.close();
    await this.db.destroy();
  }

  async subscribe(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    assertChannelName(channel);
    if (!this.wake) return async () => undefined;
    return this.wake.subscribe(channel, handler);
  }

  async notify(channel: string, payload: string): Promise<void> {
    assertChannelName(channel);
    if (this.dialect !== 'postgres') return;
    await sql`select pg_notify(${channel}, ${payload})`.execute(this.db);
  }

  // --- transactions ----------------------------------------------------------------------

  /**
   * Runs `fn` in one transaction, again from the start when the database asks for a retry, or when
   * the connection to PostgreSQL was lost before COMMIT was sent (then nothing was written). A
   * connection lost during COMMIT is not retried here: whether it landed is unknown, so the caller
   * gets the error (an HTTP sender a 503, and sends again; every write it can repeat is idempotent).
   */
  private async tx<T>(fn: (db: Db) => Promise<T>, opts: { retryOnUnique?: boolean } = {}): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      try {
        return await this.db.transaction().execute(async (db) => {
          const result = await fn(db);
          committing = true;
          return result;
        });
      } catch (error) {
        const lostBeforeCommit = this.dialect === 'postgres' && !committing && isConnectionError(error);
        const transient = this.dialect === 'sqlite' ? isBusyError(error) : isRetryablePgError(error) || lostBeforeCommit;
        const raced = opts.retryOnUnique === true && isUniqueViolation(error) && attempt <= UNIQUE_RETRIES;
        if (!(transient && Date.now() - started < BUSY_DEADLINE_MS) && !raced) throw error;
        await sleep(lostBeforeCommit ? reconnectPauseMs(attempt) : backoffMs(attempt));
      }
    }
  }

  /** A read outside a transaction; retried on SQLite lock contention (WAL recovery) and on a lost PostgreSQL connection. */
  private async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(this.db);
      } catch (error) {
        const lost = this.dialect === 'postgres' && isConnectionError(error);
        if (!((isBusyError(error) || lost) && Date.now() - started < BUSY_DEADLINE_MS)) throw error;
        await sleep(lost ? reconnectPauseMs(attempt) : backoffMs(attempt));
      }
    }
  }

  // --- incidents and alerts -----------------------------------------------------------------

  async recordAlert(input: {
    alert: Omit<AlertRecord, 'incidentId'>;
    newIncident: NewIncident;
    events: (joined: boolean, joinedBy?: string) => TimelineEventInput[];
  }): Promise<{ incidentId: string; created: boolean; duplicate: boolean }> {
    const a = input.alert;
    const alertId = requireString(a.id, 'alert.id');
    const customerId = requireString(a.customerId, 'alert.customerId');
    if (input.newIncident.customerId !== customerId) {
      throw new StoreInputError(`newIncident.customerId ${JSON.stringify(input.newIncident.customerId)} differs from the alert's customer ${JSON.stringify(customerId)}`);
    }
    const alertRow = {
      id: alertId,
      customer_id: customerId,
      received_at: isoUtc(a.receivedAt, 'alert.receivedAt'),
      source: requireOneOf(a.source, ['webhook', 'sentinel', 'poller', 'manual'] as const, 'alert.source'),
      alert: objectToJson(a.alert, 'alert.alert'),
      raw: requireString(a.raw, 'alert.raw', { empty: true }),
    };
    const incidentRow = this.newIncidentRow(input.newIncident);

    // A concurrent writer recording the same alert (or opening an incident for the same subject)
    // surfaces as a unique violation; the retry then sees its committed rows and joins/deduplicates.
    try {
      return await this.recordAlertOnce(alertId, customerId, alertRow, incidentRow, identifiersOf(input.newIncident), input.events);
    } catch (error) {
      // still refused after the retries: not a race but a lasting clash, most likely a reused incident id
      if (isUniqueViolation(error) && (await this.getIncident(incidentRow.id))) {
        throw new IncidentIdTakenError(`incident id ${incidentRow.id} is already taken by another incident; generate a new one`);
      }
      throw error;
    }
  }

  private recordAlertOnce(
    alertId: string,
    customerId: string,
    alertRow: Omit<AlertsTable, 'incident_id'>,
    incidentRow: IncidentsTable,
    identifiers: string[],
    events: (joined: boolean, joinedBy?: string) => TimelineEventInput[],
  ): Promise<{ incidentId: string; created: boolean; duplicate: boolean }> {
    return this.tx(async (db) => {
      const known = await db.selectFrom('alerts').select('incident_id')
        .where('customer_id', '=', customerId).where('id', '=', alertId).executeTakeFirst();
      if (known) return { incidentId: known.incident_id, created: false, duplicate: true };

      let openQuery = db
        .selectFrom('incidents')
        .select('id')
        .where('customer_id', '=', customerId)
        .where('subject_key', '=', incidentRow.subject_key)
        .where('status', 'not in', OPEN_EXCLUDED_STATUSES);
      if (this.dialect === 'postgres') openQuery = openQuery.forUpdate();
      let open: { id: string; joinedBy?: string } | undefined = await openQuery.executeTakeFirst();
      // Not open under this label: the same account under another of its identifiers (issue 11).
      if (!open && identifiers.length) {
        let byId = db.selectFrom('subject_identifiers as si')
          .innerJoin('incidents as i', 'i.id', 'si.incident_id')
          .select(['i.id as id', 'si.identifier as identifier'])
          .where('si.customer_id', '=', customerId)
          .where('si.identifier', 'in', identifiers)
          .where('i.status', 'not in', OPEN_EXCLUDED_STATUSES)
          .orderBy('i.created_at').orderBy('i.id').limit(1);
        if (this.dialect === 'postgres') byId = byId.forUpdate();
        const hit = await byId.executeTakeFirst();
        if (hit) open = { id: hit.id, joinedBy: hit.identifier };
      }

      const joined = open !== undefined;
      const incidentId = open ? open.id : incidentRow.id;
      if (!open) await db.insertInto('incidents').values(incidentRow).execute();
      await db.insertInto('alerts').values({ ...alertRow, incident_id: incidentId }).execute();
      // the alert's identifiers join the subject's: a later alert by any of them finds it too
      await insertIdentifiers(db, incidentId, customerId, identifiers);
      await appendEvents(db, this.dialect, incidentId, events(joined, open?.joinedBy));
      return { incidentId, created: !joined, duplicate: false };
    }, { retryOnUnique: true });
  }

  async createIncident(incident: NewIncident, events: TimelineEventInput[]): Promise<void> {
    const row = this.newIncidentRow(incident);
    try {
      await this.tx(async (db) => {
        await db.insertInto('incidents').values(row).execute();
        await insertIdentifiers(db, row.id, row.customer_id, identifiersOf(incident));
        await appendEvents(db, this.dialect, row.id, events);
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (await this.getIncident(row.id)) throw new IncidentIdTakenError(`incident ${row.id} already exists`);
      const open = await this.findOpenIncident(row.customer_id, row.subject_key);
      throw new ConflictError(
        `${row.subject_upn} of customer ${row.customer_id} already has an open incident${open ? ` (${open})` : ''}; attach to it or close it first`,
      );
    }
  }

  async addSubjectIdentifiers(incidentId: string, identifiers: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(identifiers.map((x) => requireString(x, 'identifier')))];
    if (wanted.length === 0) return [];
    return this.tx(async (db) => {
      const inc = await db.selectFrom('incidents').select(['id', 'customer_id']).where('id', '=', incidentId).executeTakeFirst();
      if (!inc) throw new NotFoundError('incident', incidentId);
      const have = new Set((await db.selectFrom('subject_identifiers').select('identifier').where('incident_id', '=', incidentId).execute()).map((r) => r.identifier));
      const added = wanted.filter((x) => !have.has(x));
      await insertIdentifiers(db, incidentId, inc.customer_id, added);
      return added;
    }, { retryOnUnique: true });
  }

  async listSubjectIdentifiers(incidentId: string): Promise<string[]> {
    const rows = await this.read((db) => db.selectFrom('subject_identifiers').select('identifier').where('incident_id', '=', incidentId).orderBy('identifier').execute());
    return rows.map((r) => r.identifier);
  }

  private async findOpenIncident(customerId: string, subjectKey: string): Promise<string | undefined> {
    const r = await this.read((db) => db.selectFrom('incidents').select('id')
      .where('customer_id', '=', customerId).where('subject_key', '=', subjectKey)
      .where('status', 'not in', OPEN_EXCLUDED_STATUSES).executeTakeFirst());
    return r?.id;
  }

  private newIncidentRow(i: NewIncident): IncidentsTable {
    const createdAt = isoUtc(i.createdAt, 'incident.createdAt');
    const status = requireIncidentStatus(i.status);
    return {
      id: requireString(i.id, 'incident.id'),
      customer_id: requireString(i.customerId, 'incident.customerId'),
      tenant_id: requireString(i.tenantId, 'incident.tenantId'),
      subject_upn: requireString(i.subjectUpn, 'incident.subjectUpn'),
      subject_key: i.subjectUpn.toLowerCase(),
      subject_object_id: i.subjectObjectId ?? null,
      subject_identity: i.subjectIdentity ? objectToJson(i.subjectIdentity as unknown as Record<string, unknown>, 'incident.subjectIdentity') : null,
      severity: requireSeverity(i.severity),
      title: requireString(i.title, 'incident.title', { empty: true }),
      status,
      procedure: i.procedure ?? null,
      created_at: createdAt,
      updated_at: createdAt,
      closed_at: OPEN_EXCLUDED_STATUSES.includes(status) ? createdAt : null,
      data: objectToJson(i.data ?? {}, 'incident.data'),
    };
  }

  async getIncident(id: string): Promise<IncidentRecord | undefined> {
    const r = await this.read((db) => db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst());
    return r && toIncident(r);
  }

  async listIncidents(filter: { open?: boolean; customerId?: string; limit?: number } = {}): Promise<IncidentRecord[]> {
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT)), MAX_LIST_LIMIT);
    const rows = await this.read((db) => {
      let q = db.selectFrom('incidents').selectAll();
      if (filter.open === true) q = q.where('status', 'not in', OPEN_EXCLUDED_STATUSES);
      if (filter.open === false) q = q.where('status', 'in', OPEN_EXCLUDED_STATUSES);
      if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
      return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    });
    return rows.map(toIncident);
  }

  async updateIncident(
    id: string,
    patch: { status?: IncidentStatus; data?: Record<string, unknown>; subjectObjectId?: string; procedure?: string },
    events?: TimelineEventInput[],
  ): Promise<IncidentRecord> {
    const status = patch.status === undefined ? undefined : requireIncidentStatus(patch.status);
    if (patch.data !== undefined) objectToJson(patch.data, 'patch.data');
    try {
      return await this.tx(async (db) => {
        let q = db.selectFrom('incidents').selectAll().where('id', '=', id);
        if (this.dialect === 'postgres') q = q.forUpdate();
        const current = await q.executeTakeFirst();
        if (!current) throw new NotFoundError('incident', id);
        const now = nowIso();
        const next: Partial<IncidentsTable> = { updated_at: now };
        if (status !== undefined && status !== current.status) {
          next.status = status;
          next.closed_at = OPEN_EXCLUDED_STATUSES.includes(status) ? (current.closed_at ?? now) : null;
        }
        if (patch.data !== undefined) next.data = objectToJson({ ...JSON.parse(current.data), ...patch.data }, 'patch.data');
        if (patch.subjectObjectId !== undefined) next.subject_object_id = patch.subjectObjectId;
        if (patch.procedure !== undefined) next.procedure = patch.procedure;
        const updated = await db.updateTable('incidents').set(next).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        await appendEvents(db, this.dialect, id, events);
        return toIncident(updated);
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ConflictError(`incident ${id} cannot be reopened: its subject already has another open incident`);
    }
  }

  async listAlerts(incidentId: string): Promise<AlertRecord[]> {
    const rows = await this.read((db) => db.selectFrom('alerts').selectAll().where('incident_id', '=', incidentId)
      .orderBy('received_at').orderBy('id').execute());
    return rows.map(toAlert);
  }

  async listRecentAlerts(customerId: string, since: string, limit = 1000): Promise<AlertRecord[]> {
    const from = isoUtc(since, 'since');
    const n = Math.min(Math.max(1, Math.floor(limit)), 5000);
    const rows = await this.read((db) => db.selectFrom('alerts').selectAll().where('customer_id', '=', requireString(customerId, 'customerId'))
      .where('received_at', '>=', from).orderBy('received_at').orderBy('id').limit(n).execute());
    return rows.map(toAlert);
  }

  // --- timeline ---------------------------------------------------------------------------------

  async appendTimeline(incidentId: string, events: TimelineEventInput[]): Promise<TimelineEvent[]> {
    return this.tx((db) => appendEvents(db, this.dialect, incidentId, events));
  }

  async listTimeline(incidentId: string): Promise<TimelineEvent[]> {
    const rows = await this.read((db) => db.selectFrom('timeline_events').selectAll().where('incident_id', '=', incidentId)
      .orderBy('seq').execute());
    return rows.map(toTimelineEvent);
  }

  // --- actions ------------------------------------------------------------------------------------

  async ensureActions(actions: Array<Pick<ActionRecord, 'id' | 'incidentId' | 'stepId' | 'name' | 'status' | 'idempotencyKey' | 'input'>>): Promise<void> {
    if (actions.length === 0) return;
    const now = nowIso();
    const rows = actions.map((a, i) => ({
      id: requireString(a.id, `actions[${i}].id`),
      incident_id: requireString(a.incidentId, `actions[${i}].incidentId`),
      step_id: requireString(a.stepId, `actions[${i}].stepId`),
      name: requireString(a.name, `actions[${i}].name`),
      status: requireActionStatus(a.status, `actions[${i}].status`),
      idempotency_key: requireString(a.idempotencyKey, `actions[${i}].idempotencyKey`),
      attempts: 0,
      input: nullableObjectToJson(a.input, `actions[${i}].input`),
      created_at: now,
      updated_at: now,
    }));
    // Only an existing id is "already there"; the same idempotency key under another id is a bug
    // and must fail loudly rather than be skipped.
    await this.tx(async (db) => {
      for (const row of rows) {
        await db.insertInto('actions').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
      }
    }, { retryOnUnique: true });
  }

  async getAction(id: string): Promise<ActionRecord | undefined> {
    const r = await this.read((db) => db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst());
    return r && toAction(r);
  }

  async listActions(incidentId: string): Promise<ActionRecord[]> {
    const rows = await this.read((db) => db.selectFrom('actions').selectAll().where('incident_id', '=', incidentId)
      .orderBy('created_at').orderBy('id').execute());
    return rows.map(toAction);
  }

  async transitionAction(
    id: string,
    t: Transition,
    patch: Partial<Pick<ActionRecord, 'input' | 'preview' | 'result' | 'error' | 'notBefore'>> = {},
    events?: TimelineEventInput[],
  ): Promise<ActionRecord | undefined> {
    const to = requireActionStatus(t.to, 'transition.to');
    const from = t.from.map((s) => requireActionStatus(s, 'transition.from'));
    if (from.length === 0) return undefined;
    const set: Record<string, unknown> = { status: to, updated_at: nowIso() };
    if (patch.input !== undefined) set.input = nullableObjectToJson(patch.input, 'patch.input');
    if (patch.preview !== undefined) set.preview = nullableObjectToJson(patch.preview, 'patch.preview');
    if (patch.result !== undefined) set.result = nullableObjectToJson(patch.result, 'patch.result');
    if (patch.error !== undefined) set.error = patch.error;
    if (patch.notBefore !== undefined) set.not_before = isoOrNull(patch.notBefore, 'patch.notBefore');
    if (to !== 'running') Object.assign(set, { lease_owner: null, lease_until: null });

    return this.tx(async (db) => {
      let q = db.updateTable('actions').set(set).where('id', '=', id).where('status', 'in', from);
      if (t.leaseOwner !== undefined) q = q.where('lease_owner', '=', t.leaseOwner);
      const updated = await q.returningAll().executeTakeFirst();
      if (!updated) return undefined;
      await appendEvents(db, this.dialect, updated.incident_id, events);
      return toAction(updated);
    });
  }

  async claimAction(owner: string, leaseMs: number, now: Date, filter: { incidentId?: string; approvedOnly?: boolean } = {}): Promise<ActionRecord | undefined> {
    requireString(owner, 'owner');
    const at = isoUtc(now, 'now');
    const leaseUntil = addMs(now, leaseMs);
    return this.tx(async (db) => {
      // The candidate is picked and taken in one statement. PostgreSQL: SKIP LOCKED lets
      // concurrent workers pass over a row another one is claiming; SQLite: the immediate
      // transaction already excludes every other writer.
      const claimed = await db
        .updateTable('actions')
        .set({
          status: 'running',
          attempts: sql<number>`attempts + 1`,
          lease_owner: owner,
          lease_until: leaseUntil,
          updated_at: nowIso(),
        })
        .where('id', '=', (eb) => {
          let pick = eb
            .selectFrom('actions')
            .select('id')
            .where((w) => w.or([
              w.and([w('status', '=', 'ready'), w.or([w('not_before', 'is', null), w('not_before', '<=', at)])]),
              w.and([w('status', '=', 'running'), w('lease_until', '<', at)]),
            ]))
            // approved steps first (0008): an analyst's containment does not queue behind a storm's scoping
            .orderBy('priority', 'desc')
            .orderBy('created_at')
            .orderBy('id')
            .limit(1);
          if (filter.incidentId !== undefined) pick = pick.where('incident_id', '=', filter.incidentId);
          if (filter.approvedOnly) pick = pick.where('priority', '>', 0);
          if (this.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
          return pick;
        })
        .returningAll()
        .executeTakeFirst();
      return claimed && toAction(claimed);
    });
  }

  async renewLease(id: string, owner: string, leaseMs: number, now: Date): Promise<boolean> {
    const leaseUntil = addMs(now, leaseMs);
    const r = await this.tx((db) => db.updateTable('actions')
      .set({ lease_until: leaseUntil, updated_at: nowIso() })
      .where('id', '=', id).where('lease_owner', '=', owner).where('status', '=', 'running')
      .executeTakeFirst());
    return Number(r.numUpdatedRows) === 1;
  }

  // --- approvals -------------------------------------------------------------------------------------

  async createApproval(
    a: Omit<ApprovalRecord, 'votes' | 'decidedAt' | 'decidedBy' | 'reason' | 'cardActivityId' | 'status'>,
    events?: TimelineEventInput[],
  ): Promise<ApprovalRecord> {
    if (!Number.isInteger(a.requiredApprovers) || a.requiredApprovers < 1) {
      throw new StoreInputError(`requiredApprovers must be a positive integer, got ${a.requiredApprovers}`);
    }
    const row = {
      id: requireString(a.id, 'approval.id'),
      incident_id: requireString(a.incidentId, 'approval.incidentId'),
      action_id: requireString(a.actionId, 'approval.actionId'),
      status: 'pending',
      required_approvers: a.requiredApprovers,
      requested_at: isoUtc(a.requestedAt, 'approval.requestedAt'),
      expires_at: isoUtc(a.expiresAt, 'approval.expiresAt'),
      decided_at: null,
      decided_by: null,
      reason: null,
      card_activity_id: null,
    };
    return this.tx(async (db) => {
      const action = await db.selectFrom('actions').select('incident_id').where('id', '=', row.action_id).executeTakeFirst();
      if (!action) throw new NotFoundError('action', row.action_id);
      if (action.incident_id !== row.incident_id) {
        throw new StoreInputError(`action ${row.action_id} belongs to incident ${action.incident_id}, not ${row.incident_id}`);
      }
      // A new request for the same action retires the older card: only one can ever decide.
      await db.updateTable('approvals').set({ status: 'superseded', decided_at: nowIso() })
        .where('action_id', '=', row.action_id).where('status', '=', 'pending').execute();
      await db.insertInto('approvals').values(row).execute();
      await appendEvents(db, this.dialect, row.incident_id, events);
      return toApproval(row, []);
    });
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.read(async (db) => {
      const r = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toApproval(r, await this.votesOf(db, id));
    });
  }

  private votesOf(db: Db, approvalId: string): Promise<Array<Selectable<ApprovalVotesTable>>> {
    return db.selectFrom('approval_votes').selectAll().where('approval_id', '=', approvalId)
      .orderBy('at').orderBy('approver_id').execute();
  }

  async listApprovals(filter: { incidentId?: string; status?: ApprovalStatus }): Promise<ApprovalRecord[]> {
    return this.read(async (db) => {
      let q = db.selectFrom('approvals').selectAll();
      if (filter.incidentId !== undefined) q = q.where('incident_id', '=', filter.incidentId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      const rows = await q.orderBy('requested_at').orderBy('id').limit(MAX_LIST_LIMIT).execute();
      if (rows.length === 0) return [];
      const votes = await db.selectFrom('approval_votes').selectAll().where('approval_id', 'in', rows.map((r) => r.id))
        .orderBy('at').orderBy('approver_id').execute();
      return rows.map((r) => toApproval(r, votes.filter((v) => v.approval_id === r.id)));
    });
  }

  async setApprovalCard(id: string, activityId: string): Promise<void> {
    requireString(activityId, 'activityId');
    const r = await this.tx((db) => db.updateTable('approvals').set({ card_activity_id: activityId }).where('id', '=', id).executeTakeFirst());
    if (Number(r.numUpdatedRows) !== 1) throw new NotFoundError('approval', id);
  }

  async voteApproval(
    id: string,
    vote: { approverId: string; approverName: string; vote: 'approve' | 'reject'; reason?: string },
    now: Date,
    events?: TimelineEventInput[],
    revision?: ProposalRevision,
  ): Promise<{ ok: true; decided: boolean; approval: ApprovalRecord } | { ok: false; reason: string; code: VoteRefusal; approval?: ApprovalRecord }> {
    const approverId = requireString(vote.approverId, 'vote.approverId');
    const approverName = requireString(vote.approverName, 'vote.approverName', { empty: true });
    const choice = requireOneOf(vote.vote, ['approve', 'reject'] as const, 'vote.vote');
    const at = isoUtc(now, 'now');
    const refuse = (code: VoteRefusal, reason: string, approval?: ApprovalRecord) => ({ ok: false as const, code, reason, approval });

    return this.tx(async (db) => {
      // Serialises every vote on this approval (SQLite: the immediate transaction already does).
      let q = db.selectFrom('approvals').selectAll().where('id', '=', id);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const row = await q.executeTakeFirst();
      if (!row) return refuse('not_found', 'This approval request does not exist.');
      let votes = await this.votesOf(db, id);
      const current = toApproval(row, votes);
      if (row.status !== 'pending') {
        return refuse('not_pending', `This request was already ${row.status}${row.decided_by ? ` by ${row.decided_by}` : ''}.`, current);
      }
      if (row.expires_at <= at) return refuse('expired', `This request expired at ${row.expires_at}; ask for a new one.`, current);
      if (votes.some((v) => v.approver_id === approverId)) return refuse('already_voted', 'You already voted on this request.', current);

      let approvalRow = row;
      const resetEvents: TimelineEventInput[] = [];
      if (revision) {
        const revised = await db.updateTable('actions')
          .set({ input: objectToJson(revision.input, 'revision.input'), preview: nullableObjectToJson(revision.preview, 'revision.preview'), updated_at: nowIso() })
          .where('id', '=', row.action_id).where('status', '=', 'awaiting_approval')
          .executeTakeFirst();
        if (Number(revised.numUpdatedRows) !== 1) return refuse('not_pending', 'This request is no longer waiting for approval.', current);
        if (votes.length > 0) {
          // the earlier approvers approved the old proposal, not this one
          const { note, events: said } = revision.reset(current.votes);
          await db.deleteFrom('approval_votes').where('approval_id', '=', id).execute();
          approvalRow = await db.updateTable('approvals').set({ reason: requireString(note, 'revision note', { empty: true }) })
            .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
          resetEvents.push(...said);
          votes = [];
        }
      }

      const newVote = { approval_id: id, approver_id: approverId, approver_name: approverName, vote: choice, at };
      await db.insertInto('approval_votes').values(newVote).execute();
      const allVotes = [...votes, newVote];
      const approvers = allVotes.filter((v) => v.vote === 'approve');
      const decided = choice === 'reject' || approvers.length >= row.required_approvers;
      if (decided) {
        const status = choice === 'reject' ? 'rejected' : 'approved';
        approvalRow = await db.updateTable('approvals')
          .set({
            status,
            decided_at: at,
            decided_by: choice === 'reject' ? approverName : approvers.map((v) => v.approver_name).join(', '),
            reason: vote.reason ?? null,
          })
          .where('id', '=', id).where('status', '=', 'pending')
          .returningAll().executeTakeFirstOrThrow();
        await db.updateTable('actions')
          .set({ status: status === 'approved' ? 'ready' : 'rejected', ...(status === 'approved' ? { priority: 1 } : {}), updated_at: nowIso() })
          .where('id', '=', row.action_id).where('status', '=', 'awaiting_approval')
          .execute();
      }
      await appendEvents(db, this.dialect, row.incident_id, [...(events ?? []), ...resetEvents]);
      return { ok: true as const, decided, approval: toApproval(approvalRow, allVotes) };
    }, { retryOnUnique: true });
  }

  async expireApprovals(now: Date): Promise<ApprovalRecord[]> {
    const at = isoUtc(now, 'now');
    return this.tx(async (db) => {
      let q = db.selectFrom('approvals').selectAll().where('status', '=', 'pending').where('expires_at', '<=', at);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const rows = await q.orderBy('expires_at').execute();
      const out: ApprovalRecord[] = [];
      for (const row of rows) {
        const updated = await db.updateTable('approvals').set({ status: 'expired', decided_at: at })
          .where('id', '=', row.id).where('status', '=', 'pending').returningAll().executeTakeFirstOrThrow();
        await db.updateTable('actions').set({ status: 'expired', updated_at: nowIso() })
          .where('id', '=', row.action_id).where('status', '=', 'awaiting_approval').execute();
        out.push(toApproval(updated, await this.votesOf(db, row.id)));
      }
      return out;
    });
  }

  // --- evidence ---------------------------------------------------------------------------------------

  private evidenceRow(e: EvidenceMeta) {
    if (e.recordCount !== null && e.recordCount !== undefined && !Number.isInteger(e.recordCount)) {
      throw new StoreInputError('evidence.recordCount must be an integer or null');
    }
    return {
      incident_id: requireString(e.incidentId, 'evidence.incidentId'),
      action_id: e.actionId ?? null,
      source: requireString(e.source, 'evidence.source'),
      content_type: requireString(e.contentType, 'evidence.contentType'),
      collected_at: isoUtc(e.collectedAt, 'evidence.collectedAt'),
      range_from: isoOrNull(e.rangeFrom, 'evidence.rangeFrom'),
      range_to: isoOrNull(e.rangeTo, 'evidence.rangeTo'),
      record_count: e.recordCount ?? null,
      note: e.note ?? null,
    };
  }

  async putEvidence(e: EvidenceMeta & { body: Buffer }): Promise<EvidenceRecord> {
    if (!Buffer.isBuffer(e.body)) throw new StoreInputError('evidence.body must be a Buffer');
    const meta = this.evidenceRow(e);
    const sha256 = createHash('sha256').update(e.body).digest('hex');
    const chunks = splitBuffer(e.body);
    return this.tx(async (db) => {
      const row = await db.insertInto('evidence')
        .values({ ...meta, sha256, size: e.body.length, chunk_count: chunks.length })
        .returningAll().executeTakeFirstOrThrow();
      for (let seq = 0; seq < chunks.length; seq++) {
        await db.insertInto('evidence_chunks').values({ evidence_id: Number(row.id), seq, bytes: chunks[seq] }).execute();
      }
      return toEvidence(row);
    });
  }

  /**
   * Each chunk is written in its own short transaction, so a slow source never holds the write
   * lock; the row stays invisible (sha256 null) until the last chunk is in and the hash sealed.
   */
  async putEvidenceStream(e: EvidenceMeta, body: AsyncIterable<Buffer>): Promise<EvidenceRecord> {
    const meta = this.evidenceRow(e);
    const { id } = await this.tx((db) => db.insertInto('evidence')
      .values({ ...meta, sha256: null, size: 0, chunk_count: 0 }).returning('id').executeTakeFirstOrThrow());
    const evidenceId = Number(id);
    try {
      const hash = createHash('sha256');
      let size = 0;
      let seq = 0;
      for await (const chunk of rechunk(body)) {
        hash.update(chunk);
        size += chunk.length;
        const n = seq++;
        await this.tx((db) => db.insertInto('evidence_chunks').values({ evidence_id: evidenceId, seq: n, bytes: chunk }).execute());
      }
      const sealed = await this.tx((db) => db.updateTable('evidence')
        .set({ sha256: hash.digest('hex'), size, chunk_count: seq })
        .where('id', '=', evidenceId).returningAll().executeTakeFirstOrThrow());
      return toEvidence(sealed);
    } catch (error) {
      await this.tx(async (db) => {
        await db.deleteFrom('evidence_chunks').where('evidence_id', '=', evidenceId).execute();
        await db.deleteFrom('evidence').where('id', '=', evidenceId).execute();
      }).catch((cleanup: unknown) => this.log?.warn({ evidenceId, err: (cleanup as Error).message }, 'could not remove a half-written evidence stream'));
      throw error;
    }
  }

  async listEvidence(incidentId: string): Promise<EvidenceRecord[]> {
    const rows = await this.read((db) => db.selectFrom('evidence').selectAll().where('incident_id', '=', incidentId)
      .where('sha256', 'is not', null).orderBy('id').execute());
    return rows.map(toEvidence);
  }

  async getEvidenceBody(id: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.readEvidence(id)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  /** Fetches one chunk a query; the hash and size are checked against the record at the end. */
  async *readEvidence(id: number): AsyncGenerator<Buffer> {
    const row: Selectable<EvidenceTable> | undefined = await this.read((db) => db.selectFrom('evidence').selectAll()
      .where('id', '=', id).where('sha256', 'is not', null).executeTakeFirst());
    if (!row) throw new NotFoundError('evidence', id);
    const hash = createHash('sha256');
    let size = 0;
    for (let seq = 0; seq < Number(row.chunk_count); seq++) {
      const chunk = await this.read((db) => db.selectFrom('evidence_chunks').select('bytes')
        .where('evidence_id', '=', id).where('seq', '=', seq).executeTakeFirst());
      if (!chunk) throw new IntegrityError(`evidence ${id}: chunk ${seq} of ${row.chunk_count} is missing`);
      const bytes = Buffer.isBuffer(chunk.bytes) ? chunk.bytes : Buffer.from(chunk.bytes);
      hash.update(bytes);
      size += bytes.length;
      yield bytes;
    }
    if (size !== Number(row.size) || hash.digest('hex') !== row.sha256) {
      throw new IntegrityError(`evidence ${id}: the stored bytes no longer match the recorded sha256/size`);
    }
  }

  // --- Teams references ------------------------------------------------------------------------------

  async putRef(key: string, value: Record<string, unknown>): Promise<void> {
    const row = { key: requireString(key, 'ref key'), value: objectToJson(value, 'ref value'), updated_at: nowIso() };
    await this.tx((db) => db.insertInto('refs').values(row)
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at })).execute());
  }

  async getRef(key: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.read((db) => db.selectFrom('refs').select('value').where('key', '=', key).executeTakeFirst());
    return r && (JSON.parse(r.value) as Record<string, unknown>);
  }

  // --- key/value state ---------------------------------------------------------------------------------

  async getState(key: string): Promise<string | undefined> {
    const r = await this.read((db) => db.selectFrom('state').select('value').where('key', '=', key).executeTakeFirst());
    return r?.value;
  }

  async casState(key: string, expected: string | undefined, value: string): Promise<boolean> {
    requireString(key, 'state key');
    requireString(value, 'state value', { empty: true });
    const updatedAt = nowIso();
    return this.tx(async (db) => {
      if (expected === undefined) {
        const r = await db.insertInto('state').values({ key, value, updated_at: updatedAt })
          .onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
        return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
      }
      const r = await db.updateTable('state').set({ value, updated_at: updatedAt })
        .where('key', '=', key).where('value', '=', expected).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  async setState(key: string, value: string): Promise<void> {
    const row = { key: requireString(key, 'state key'), value: requireString(value, 'state value', { empty: true }), updated_at: nowIso() };
    await this.tx((db) => db.insertInto('state').values(row)
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at })).execute());
  }

  async claimOnce(key: string, expiresAt: Date, now: Date): Promise<boolean> {
    requireString(key, 'key');
    const row = { key, expires_at: isoUtc(expiresAt, 'expiresAt') };
    const at = isoUtc(now, 'now');
    return this.tx(async (db) => {
      await db.deleteFrom('seen_once').where('expires_at', '<=', at).execute();
      const r = await db.insertInto('seen_once').values(row).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    });
  }

  async listState(prefix: string): Promise<Array<{ key: string; value: string }>> {
    requireString(prefix, 'state key prefix');
    // substr, not LIKE: a prefix may hold % or _ and the two dialects escape differently
    const rows = await this.read((db) => db.selectFrom('state').select(['key', 'value'])
      .where(sql<string>`substr(key, 1, ${prefix.length})`, '=', prefix).orderBy('key').limit(MAX_LIST_LIMIT).execute());
    return rows.map((r) => ({ key: r.key, value: r.value }));
  }

  async listOpenIncidentsWithoutState(prefix: string, limit = MAX_LIST_LIMIT): Promise<Array<{ id: string; value: string | undefined }>> {
    requireString(prefix, 'state key prefix');
    const n = Math.min(Math.max(1, Math.floor(limit)), MAX_LIST_LIMIT);
    const rows = await this.read((db) => db.selectFrom('incidents')
      .leftJoin('state', (j) => j.on('state.key', '=', sql<string>`${prefix} || incidents.id`))
      .select(['incidents.id as id', 'state.value as value'])
      .where('incidents.status', 'not in', OPEN_EXCLUDED_STATUSES)
      .where((eb) => eb.or([eb('state.value', 'is', null), eb(sql<string>`substr(state.value, 1, 8)`, '=', 'posting:')]))
      .orderBy('incidents.created_at').orderBy('incidents.id').limit(n).execute());
    return rows.map((r) => ({ id: r.id, value: r.value ?? undefined }));
  }

  async deleteState(key: string, expected: string): Promise<boolean> {
    requireString(key, 'state key');
    requireString(expected, 'expected state value', { empty: true });
    return this.tx(async (db) => {
      const r = await db.deleteFrom('state').where('key', '=', key).where('value', '=', expected).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  // --- shared send rate -------------------------------------------------------------------------------

  async takeSendSlot(keys: readonly SendRateKey[], now: Date): Promise<SendSlot> {
    const sorted = checkSendRateKeys(keys);
    const at = isoUtc(now, 'now');
    const nowMs = Date.parse(at);
    return this.tx(async (db) => {
      // Lock the keys' rows in key order. A key's first send creates its row first (then locks
      // again): one statement fewer for every later send, which holds the app key's lock shorter.
      const lock = () => {
        let q = db.selectFrom('send_rates').select(['key', 'sent', 'held_until']).where('key', 'in', sorted.map((k) => k.key)).orderBy('key');
        if (this.dialect === 'postgres') q = q.forUpdate();
        return q.execute();
      };
      let found = await lock();
      if (found.length < sorted.length) {
        const have = new Set(found.map((r) => r.key));
        await db.insertInto('send_rates').values(sorted.filter((k) => !have.has(k.key)).map((k) => ({ key: k.key, sent: '[]', held_until: null, updated_at: at })))
          .onConflict((oc) => oc.column('key').doNothing()).execute();
        found = await lock();
      }
      const rows = new Map(found.map((r) => [r.key, r]));
      let slot = nowMs;
      const logs = sorted.map((k) => {
        const row = rows.get(k.key);
        const sent = parseSent(row?.sent);
        const held = row?.held_until ? Date.parse(row.held_until) : undefined;
        slot = Math.max(slot, earliestSlot(k, sent, held, nowMs));
        return { key: k.key, sent: JSON.stringify(trimmedSent(k, sent, nowMs)) };
      });
      if (slot > nowMs) return { granted: false, retryAt: new Date(slot) };
      // every key's new log in one statement
      const value = sql<string>`case ${sql.join(logs.map((l) => sql`when key = ${l.key} then ${l.sent}`), sql` `)} end`;
      await db.updateTable('send_rates').set({ sent: value, updated_at: at }).where('key', 'in', logs.map((l) => l.key)).execute();
      return { granted: true };
    });
  }

  async holdSendKey(key: string, until: Date): Promise<void> {
    requireString(key, 'send-rate key');
    const held = isoUtc(until, 'until');
    const at = nowIso();
    await this.tx(async (db) => {
      await db.insertInto('send_rates').values({ key, sent: '[]', held_until: held, updated_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ held_until: held, updated_at: at })
          // ISO text of fixed width: text order is time order; a later hold already there stays
          .where((eb) => eb.or([eb('send_rates.held_until', 'is', null), eb('send_rates.held_until', '<', held)])))
        .execute();
    });
  }

  // --- threat feed --------------------------------------------------------------------------------------

  async addFeedEntries(entries: Array<Omit<FeedEntry, 'removedAt'>>): Promise<number> {
    const rows = entries.map((e, i) => ({
      customer_id: requireString(e.customerId, `feed[${i}].customerId`),
      // canonical text, so 10.0.0.1 and its spellings are one entry and the feed serves clean lines
      ip: parseIp(e.ip, `feed[${i}].ip`) as string,
      incident_id: requireString(e.incidentId, `feed[${i}].incidentId`),
      added_at: isoUtc(e.addedAt, `feed[${i}].addedAt`),
      expires_at: isoUtc(e.expiresAt, `feed[${i}].expiresAt`),
    }));
    if (rows.length === 0) return 0;
    return this.tx(async (db) => {
      let added = 0;
      for (const row of rows) {
        const active = await db.selectFrom('feed_entries').select(['id', 'expires_at'])
          .where('customer_id', '=', row.customer_id).where('ip', '=', row.ip).where('removed_at', 'is', null)
          .executeTakeFirst();
        if (!active) {
          await db.insertInto('feed_entries').values(row).execute();
          added++;
        } else if (row.expires_at > active.expires_at) {
          await db.updateTable('feed_entries').set({ expires_at: row.expires_at }).where('id', '=', active.id).execute();
        }
      }
      return added;
    }, { retryOnUnique: true });
  }

  async listFeed(customerId: string, now: Date): Promise<FeedEntry[]> {
    const at = isoUtc(now, 'now');
    const rows = await this.read((db) => db.selectFrom('feed_entries').selectAll()
      .where('customer_id', '=', customerId).where('removed_at', 'is', null).where('expires_at', '>', at)
      .orderBy('added_at').orderBy('id').execute());
    return rows.map(toFeedEntry);
  }

  async listExpiredFeed(now: Date): Promise<FeedEntry[]> {
    const at = isoUtc(now, 'now');
    const rows = await this.read((db) => db.selectFrom('feed_entries').selectAll()
      .where('removed_at', 'is', null).where('expires_at', '<=', at)
      .orderBy('expires_at').orderBy('id').limit(MAX_LIST_LIMIT).execute());
    return rows.map(toFeedEntry);
  }

  async markFeedRemoved(customerId: string, ip: string, now: Date): Promise<void> {
    const at = isoUtc(now, 'now');
    const canonical = parseIp(ip, 'ip') as string;
    await this.tx((db) => db.updateTable('feed_entries').set({ removed_at: at })
      .where('customer_id', '=', customerId).where('ip', '=', canonical).where('removed_at', 'is', null).execute());
  }

  async claimFeedUnblock(customerId: string, ip: string, claimant: string, now: Date): Promise<FeedUnblockClaim> {
    requireString(customerId, 'customerId');
    requireString(claimant, 'claimant');
    isoUtc(now, 'now');
    const canonical = parseIp(ip, 'ip') as string;
    return this.tx(async (db) => {
      const active = await db.selectFrom('feed_entries').selectAll()
        .where('customer_id', '=', customerId).where('ip', '=', canonical).where('removed_at', 'is', null).executeTakeFirst();
      if (!active) {
        const last = await db.selectFrom('feed_entries').selectAll()
          .where('customer_id', '=', customerId).where('ip', '=', canonical)
          .orderBy('removed_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
        if (!last) return { outcome: 'notListed' } as const;
        // a claimant that already took it off the feed (a release's unlist before its unblock) keeps its claim
        if (last.unblock_claim === claimant) return { outcome: 'claimed', entry: toFeedEntry(last) } as const;
        return { outcome: 'removed', entry: toFeedEntry(last) } as const;
      }
      // The one conditional update that decides: whoever sets the claim first takes it off.
      const r = await db.updateTable('feed_entries').set({ unblock_claim: claimant })
        .where('id', '=', active.id)
        .where((eb) => eb.or([eb('unblock_claim', 'is', null), eb('unblock_claim', '=', claimant)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return { outcome: 'claimed', entry: toFeedEntry(active) } as const;
      const now2 = await db.selectFrom('feed_entries').select('unblock_claim').where('id', '=', active.id).executeTakeFirstOrThrow();
      return { outcome: 'claimedByOther', entry: toFeedEntry(active), by: now2.unblock_claim ?? 'unknown' } as const;
    });
  }

  async markFeedRemovedBy(customerId: string, ip: string, claimant: string, now: Date): Promise<boolean> {
    const at = isoUtc(now, 'now');
    requireString(claimant, 'claimant');
    const canonical = parseIp(ip, 'ip') as string;
    return this.tx(async (db) => {
      const r = await db.updateTable('feed_entries').set({ removed_at: at, unblock_claim: claimant })
        .where('customer_id', '=', customerId).where('ip', '=', canonical).where('removed_at', 'is', null)
        .where((eb) => eb.or([eb('unblock_claim', 'is', null), eb('unblock_claim', '=', claimant)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  // --- block holds -------------------------------------------------------------------------------------

  async holdBlocks(customerId: string, incidentId: string, ips: string[], at: Date): Promise<number> {
    requireString(customerId, 'customerId');
    requireString(incidentId, 'incidentId');
    const heldAt = isoUtc(at, 'at');
    const canonical = [...new Set(ips.map((ip, i) => parseIp(ip, `ips[${i}]`) as string))];
    if (!canonical.length) return 0;
    return this.tx(async (db) => {
      let added = 0;
      for (const ip of canonical) {
        const active = await db.selectFrom('block_holds').select('id')
          .where('customer_id', '=', customerId).where('ip', '=', ip).where('incident_id', '=', incidentId).where('released_at', 'is', null)
          .executeTakeFirst();
        if (active) continue;
        await db.insertInto('block_holds').values({ customer_id: customerId, ip, incident_id: incidentId, held_at: heldAt, released_at: null }).execute();
        added++;
      }
      return added;
    }, { retryOnUnique: true });
  }

  async releaseBlockHolds(customerId: string, incidentId: string, ips: string[], at: Date): Promise<Array<{ ip: string; heldBy: string[] }>> {
    requireString(customerId, 'customerId');
    requireString(incidentId, 'incidentId');
    const releasedAt = isoUtc(at, 'at');
    const canonical = [...new Set(ips.map((ip, i) => parseIp(ip, `ips[${i}]`) as string))];
    return this.tx(async (db) => {
      const out: Array<{ ip: string; heldBy: string[] }> = [];
      for (const ip of canonical) {
        await db.updateTable('block_holds').set({ released_at: releasedAt })
          .where('customer_id', '=', customerId).where('ip', '=', ip).where('incident_id', '=', incidentId).where('released_at', 'is', null)
          .execute();
        out.push({ ip, heldBy: await openHolders(db, customerId, ip, incidentId) });
      }
      return out;
    });
  }

  async blockHolders(customerId: string, ip: string, exceptIncidentId: string): Promise<string[]> {
    const canonical = parseIp(ip, 'ip') as string;
    return this.read((db) => openHolders(db, customerId, canonical, exceptIncidentId));
  }
}

/** Incidents that count as holding a block: not closed, cancelled or released. */
const HOLD_ENDED_STATUSES = [...OPEN_EXCLUDED_STATUSES, 'released'] as IncidentStatus[];

async function openHolders(db: Db, customerId: string, ip: string, exceptIncidentId: string): Promise<string[]> {
  const rows = await db.selectFrom('block_holds').innerJoin('incidents', 'incidents.id', 'block_holds.incident_id')
    .select('block_holds.incident_id')
    .where('block_holds.customer_id', '=', customerId).where('block_holds.ip', '=', ip)
    .where('block_holds.released_at', 'is', null).where('block_holds.incident_id', '!=', exceptIncidentId)
    .where('incidents.status', 'not in', HOLD_ENDED_STATUSES)
    .orderBy('block_holds.held_at').orderBy('block_holds.id').execute();
  return [...new Set(rows.map((r) => r.incident_id))];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** While PostgreSQL restarts: 100, 200 ... capped at 1 s between attempts to reconnect. */
function reconnectPauseMs(attempt: number): number {
  return Math.min(1_000, 100 * attempt);
}

/** 2, 4, 8 ... capped at 100 ms, with jitter so competing writers do not retry in lockstep. */
function backoffMs(attempt: number): number {
  const base = Math.min(100, 2 ** Math.min(attempt, 7));
  return base / 2 + Math.random() * base;
}

/** The subject's correlation keys from the identity the intake placed (and its UPN / object id). */
function identifiersOf(i: { subjectUpn: string; subjectObjectId?: string | null; subjectIdentity?: unknown }): string[] {
  const id = (i.subjectIdentity ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return subjectIdentifiers({
    upn: str(id.upn) ?? (i.subjectUpn.includes('@') ? i.subjectUpn : null),
    objectId: str(id.objectId) ?? i.subjectObjectId ?? null,
    sid: str(id.sid), samAccountName: str(id.samAccountName), netbios: str(id.netbios),
  });
}

/** Adds identifiers to an incident's subject; ones it already has are left as they are. */
async function insertIdentifiers(db: Db, incidentId: string, customerId: string, identifiers: readonly string[]): Promise<void> {
  if (identifiers.length === 0) return;
  const at = nowIso();
  await db.insertInto('subject_identifiers')
    .values(identifiers.map((identifier) => ({ incident_id: incidentId, customer_id: customerId, identifier, added_at: at })))
    .onConflict((oc) => oc.columns(['incident_id', 'identifier']).doNothing())
    .execute();
}
