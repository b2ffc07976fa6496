import type { Alert } from '../domain/alert';
import type { CustomerConfig } from '../config/customers';
import type { Store, TimelineEventInput } from '../store/store';
import type { Logger } from '../log';
import { normalizeAlertBody, AlertValidationError } from './normalize-alert';
import { withFreshIncidentId } from '../domain/incident-id';
import { describeIdentifier, subjectIdentityFrom, subjectLabel, type SubjectIdentity } from '../domain/subject-identity';
import type { IntakeScope } from './intake-credentials';
import { alertAccount, countStorm, isStormSubject, stormKeyOf, stormSubject } from './storm';

export type AlertSource = 'webhook' | 'sentinel' | 'poller' | 'manual';

export class UnknownTenantError extends Error {
  constructor(readonly tenantId: string) {
    super(`tenantId ${tenantId} is not a customer of this MSP`);
    this.name = 'UnknownTenantError';
  }
}

/**
 * The credential's tenant is not the alert's: answered like a tenant that is no customer at all, so
 * a customer's credential cannot probe which other tenants the MSP serves.
 */
export class ForbiddenTenantError extends Error {
  constructor(readonly tenantId: string) {
    super(`this credential may not post alerts for tenant ${tenantId}`);
    this.name = 'ForbiddenTenantError';
  }
}

export interface IntakeResult {
  alertId: string;
  incidentId: string;
  created: boolean;
  duplicate: boolean;
}

export interface IntakeDeps {
  store: Store;
  customerByTenant(tenantId: string): CustomerConfig | undefined;
  /** called once per new incident, after it is stored: the engine starts the procedure */
  onIncidentCreated?(incidentId: string): void;
  /** called when an existing incident received a new alert */
  onIncidentChanged?(incidentId: string): void;
  now?(): Date;
  /** tests: the id a new incident gets (default: newIncidentId) */
  newIncidentId?(now: Date): string;
  log: Logger;
}

/**
 * Alert intake: validate everything first (a refused request stores nothing), then record each
 * alert in one transaction: the same alert id twice for one customer is a no-op (another
 * customer's alert with that id is its own), a new alert for a user with an open incident joins
 * it, anything else opens a new incident.
 */
export class IntakeService {
  constructor(private readonly deps: IntakeDeps) {}

  /**
   * `scope` is whom the sender's credential (or the poller's customer) speaks for: an alert whose
   * tenant is not in it is refused (ForbiddenTenantError), and then nothing of the batch is stored.
   * `beforeStoring` runs once the whole body is known to be acceptable, before the first write (the
   * HTTP intake spends a signature there: a refused body spends none).
   */
  async receive(body: unknown, source: AlertSource, scope: IntakeScope, rawText?: string, opts: { beforeStoring?: () => Promise<void> } = {}): Promise<IntakeResult[]> {
    const alerts = normalizeAlertBody(body);
    // Resolve every tenant before writing anything, so a batch with one unknown tenant stores nothing.
    const customers = alerts.map((a) => {
      const c = this.deps.customerByTenant(a.tenantId);
      if (scope.kind === 'customers' && (!c || !scope.customerIds.has(c.id))) throw new ForbiddenTenantError(a.tenantId);
      if (!c) throw new UnknownTenantError(a.tenantId);
      return c;
    });
    await opts.beforeStoring?.();
    const results: IntakeResult[] = [];
    for (let i = 0; i < alerts.length; i++) {
      const raw = alerts.length === 1 && rawText !== undefined ? rawText : JSON.stringify((body as { value?: unknown[] }).value?.[i] ?? body);
      results.push(await this.record(alerts[i], customers[i], source, raw));
    }
    return results;
  }

  /** Tails of the per-storm-key chains: see record(). */
  private readonly stormLanes = new Map<string, Promise<unknown>>();
  /** Storms this process has seen on, until their window has passed since it last counted. */
  private readonly knownStorms = new Map<string, { until: number; users: number }>();

  /**
   * With storms on, the alerts of one customer and storm key are counted and recorded one at a time
   * in this process: otherwise a burst that arrives all at once would be counted before any of it is
   * committed and open a thread per account. Across replicas the threshold may be passed by at most
   * one alert per replica, which then keeps its own incident.
   */
  private record(alert: Alert, customer: CustomerConfig, source: AlertSource, raw: string): Promise<IntakeResult> {
    const key = customer.storm?.enabled ? stormKeyOf(alert) : undefined;
    if (!key) return this.recordNow(alert, customer, source, raw);
    const lane = `${customer.id}:${key}`;
    // Once a storm is on, its alerts need no count and no turn: the storm subject's unique index
    // puts concurrent ones in the one storm incident.
    const now = (this.deps.now ?? (() => new Date()))();
    const known = this.knownStorms.get(lane);
    if (known && known.until > now.getTime() && alertAccount(alert)) {
      return this.recordInStorm(alert, customer, source, raw, now, { key, users: known.users, singles: [] });
    }
    const run = (this.stormLanes.get(lane) ?? Promise.resolve()).then(() => this.recordNow(alert, customer, source, raw));
    const tail = run.then(() => undefined, () => undefined);
    this.stormLanes.set(lane, tail);
    void tail.then(() => { if (this.stormLanes.get(lane) === tail) this.stormLanes.delete(lane); });
    return run;
  }

  private async recordNow(alert: Alert, customer: CustomerConfig, source: AlertSource, raw: string): Promise<IntakeResult> {
    const now = (this.deps.now ?? (() => new Date()))();
    const storm = await this.stormOf(alert, customer, now);
    if (storm) {
      this.knownStorms.set(`${customer.id}:${storm.key}`, { until: now.getTime() + customer.storm.windowMinutes * 60_000, users: storm.users });
      return this.recordInStorm(alert, customer, source, raw, now, storm);
    }
    const identity = subjectOf(alert, customer);
    const r = await this.withFreshId(now, (incidentId) => this.deps.store.recordAlert({
      alert: alertRow(alert, customer, source, raw, now),
      newIncident: {
        id: incidentId,
        customerId: customer.id,
        tenantId: customer.tenantId,
        subjectUpn: subjectLabel(identity),
        subjectObjectId: identity.objectId,
        subjectIdentity: identity,
        severity: alert.severity,
        title: alert.title,
        status: 'open',
        procedure: null,
        createdAt: now.toISOString(),
        data: { alertWebUrl: alert.alertWebUrl },
      },
      events: (joined, joinedBy) => alertEvents(alert, customer, source, joined, identity, joinedBy),
    }));
    if (r.created) this.deps.onIncidentCreated?.(r.incidentId);
    else if (!r.duplicate) this.deps.onIncidentChanged?.(r.incidentId);
    this.deps.log.info({ alertId: alert.id, incidentId: r.incidentId, created: r.created, duplicate: r.duplicate, customer: customer.id }, 'alert received');
    return { alertId: alert.id, ...r };
  }

  /** Records with a new incident id, drawing another when the one drawn is taken (the alert is still not stored then). */
  private withFreshId<T>(now: Date, record: (incidentId: string) => Promise<T>): Promise<T> {
    return withFreshIncidentId(now, record, {
      draw: this.deps.newIncidentId,
      onTaken: (attempt) => this.deps.log.info({ attempt }, 'the new incident id drawn was taken: drawing another'),
    });
  }

  /**
   * Is this alert part of a storm? Counted from the store (every replica's alerts), so the threshold
   * holds across processes; replicas racing at the threshold may each open one more incident of
   * its own, which only moves where the storm starts, never loses or doubles an alert.
   */
  private async stormOf(alert: Alert, customer: CustomerConfig, now: Date): Promise<{ key: string; users: number; singles: string[] } | undefined> {
    const cfg = customer.storm;
    const key = stormKeyOf(alert);
    const account = alertAccount(alert);
    if (!cfg?.enabled || !key || !account) return undefined;
    const since = new Date(now.getTime() - cfg.windowMinutes * 60_000).toISOString();
    const recent = await this.deps.store.listRecentAlerts(customer.id, since, 5000);
    // The same alert again is a duplicate wherever it went: recordAlert answers it as such.
    const c = countStorm(recent.filter((r) => r.id !== alert.id), key, account);
    return c.users >= cfg.minUsers ? { key, users: c.users, singles: c.singleIncidents } : undefined;
  }

  private async recordInStorm(alert: Alert, customer: CustomerConfig, source: AlertSource, raw: string, now: Date, storm: { key: string; users: number; singles: string[] }): Promise<IntakeResult> {
    const subject = stormSubject(customer.id, storm.key);
    const account = alertAccount(alert)!;
    const r = await this.withFreshId(now, (incidentId) => this.deps.store.recordAlert({
      alert: alertRow(alert, customer, source, raw, now),
      newIncident: {
        id: incidentId,
        customerId: customer.id,
        tenantId: customer.tenantId,
        subjectUpn: subject,
        subjectObjectId: null,
        severity: alert.severity,
        title: `Alert storm: ${alert.title}`,
        status: 'open',
        procedure: null,
        createdAt: now.toISOString(),
        data: { alertWebUrl: alert.alertWebUrl, storm: { key: storm.key, detectorId: alert.detectorId, title: alert.title, minUsers: customer.storm.minUsers, windowMinutes: customer.storm.windowMinutes } },
      },
      events: (joined) => [{
        source: 'defender',
        kind: joined ? 'storm.alertJoined' : 'storm.started',
        summary: joined
          ? `Storm alert for ${account}: ${alert.title} — severity ${alert.severity}`
          : `Alert storm at ${customer.name}: ${storm.users} accounts got "${alert.title}" within ${customer.storm.windowMinutes} min (threshold ${customer.storm.minUsers}); further alerts of it join this incident`,
        sourceTime: alert.createdDateTime ?? alert.firstActivityDateTime,
        data: { alertId: alert.id, source, detectorId: alert.detectorId, account },
      }],
    }));
    if (r.created) await this.markEarlierIncidents(r.incidentId, storm.singles, customer);
    // A new storm incident starts the storm procedure (src/procedures/storm-containment.yaml); an
    // alert joining it changes its card (and its uncovered accounts: src/engine/storm-rounds.ts).
    if (r.created) this.deps.onIncidentCreated?.(r.incidentId);
    else if (!r.duplicate) this.deps.onIncidentChanged?.(r.incidentId);
    this.deps.log.info({ alertId: alert.id, incidentId: r.incidentId, created: r.created, duplicate: r.duplicate, customer: customer.id, storm: storm.key }, 'storm alert received');
    return { alertId: alert.id, ...r };
  }

  /** The incidents opened before the threshold keep their alerts and say on their cards that they are part of the storm. */
  private async markEarlierIncidents(stormId: string, incidentIds: string[], customer: CustomerConfig): Promise<void> {
    for (const id of incidentIds) {
      try {
        const inc = await this.deps.store.getIncident(id);
        if (!inc || inc.id === stormId || isStormSubject(inc.subjectUpn) || inc.customerId !== customer.id) continue;
        await this.deps.store.updateIncident(id, { data: { partOfStorm: stormId } }, [
          { source: 'bot', kind: 'storm.member', summary: `This incident is part of the alert storm ${stormId}: the same alert reached ${customer.storm.minUsers} or more accounts within ${customer.storm.windowMinutes} min` },
        ]);
        this.deps.onIncidentChanged?.(id);
      } catch (e) {
        // One incident that cannot be marked does not stop the others; the storm is recorded either way.
        this.deps.log.warn({ err: e, incidentId: id, storm: stormId }, 'incident not marked as part of the storm');
      }
    }
  }
}

function alertRow(alert: Alert, customer: CustomerConfig, source: AlertSource, raw: string, now: Date) {
  return {
    id: alert.id,
    customerId: customer.id,
    receivedAt: now.toISOString(),
    source,
    alert: alert as unknown as Record<string, unknown>,
    raw,
  };
}

/** The subject: the alert's first account, placed among the customer's AD domains (customers file). */
function subjectOf(alert: Alert, customer: CustomerConfig): SubjectIdentity {
  const u = alert.users[0];
  const { identity } = subjectIdentityFrom(
    { upn: u.upn, objectId: u.objectId, sid: u.sid, samAccountName: u.samAccountName, domain: u.domain },
    customer.activeDirectory?.domains ?? [],
  );
  // normalizeAlertBody keeps only accounts with at least one valid identifier, so there is one
  return identity!;
}

function alertEvents(alert: Alert, customer: CustomerConfig, source: AlertSource, joined: boolean, identity: SubjectIdentity, joinedBy?: string): TimelineEventInput[] {
  const ips = alert.ips.map((i) => `${i.ip}${i.countryLetterCode ? ` (${i.countryLetterCode})` : ''}`).join(', ');
  // joinedBy: the alert names the account otherwise than the incident does (a SID where the incident
  // has a UPN …) and met it by that identifier: say so, since the labels differ
  const heading = !joined ? 'Defender alert' : joinedBy ? `Another alert on the same account (matched by ${describeIdentifier(joinedBy)})` : 'Another alert for this user';
  const events: TimelineEventInput[] = [{
    source: 'defender',
    kind: joined ? 'alert.joined' : 'alert.received',
    summary: `${heading}: ${alert.title} — severity ${alert.severity}, ${customer.name}, ${subjectLabel(identity)}${ips ? `, IPs ${ips}` : ''}`,
    sourceTime: alert.createdDateTime ?? alert.firstActivityDateTime,
    data: { alertId: alert.id, source, detectorId: alert.detectorId, serviceSource: alert.serviceSource, ...(joinedBy ? { joinedBy } : {}) },
  }];
  if (!joined && (identity.sid || identity.samAccountName || !identity.placed)) {
    const ids = [identity.sid && `SID ${identity.sid}`, identity.samAccountName && `sAMAccountName ${identity.samAccountName}`, identity.domain && `domain ${identity.domain}`,
      identity.upn && `UPN ${identity.upn}`, identity.objectId && `object id ${identity.objectId}`].filter(Boolean).join(', ');
    events.push({
      source: 'defender', kind: identity.placed ? 'alert.subjectPlaced' : 'alert.subjectNotPlaced',
      summary: identity.placed ? `The account (${ids}) is in ${identity.placement}` : `The bot cannot place the account (${ids}): ${identity.placement}. The incident is open; the lookup says what it finds`,
      data: { alertId: alert.id, placed: identity.placed },
    });
  }
  for (const ig of alert.ignoredEvidence) {
    events.push({ source: 'defender', kind: 'alert.evidenceIgnored', summary: `Evidence not used (${ig.type}): ${ig.reason}`, data: { alertId: alert.id } });
  }
  return events;
}

export { AlertValidationError };
