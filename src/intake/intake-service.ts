import type { Alert } from '../domain/alert';
import type { CustomerConfig } from '../config/customers';
import type { Store, TimelineEventInput } from '../store/store';
import type { Logger } from '../log';
import { normalizeAlertBody, AlertValidationError } from './normalize-alert';
import { newIncidentId } from '../domain/incident-id';
import { describeIdentifier, subjectIdentityFrom, subjectLabel, type SubjectIdentity } from '../domain/subject-identity';
import type { IntakeScope } from './intake-credentials';

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
   */
  async receive(body: unknown, source: AlertSource, scope: IntakeScope, rawText?: string): Promise<IntakeResult[]> {
    const alerts = normalizeAlertBody(body);
    // Resolve every tenant before writing anything, so a batch with one unknown tenant stores nothing.
    const customers = alerts.map((a) => {
      const c = this.deps.customerByTenant(a.tenantId);
      if (scope.kind === 'customers' && (!c || !scope.customerIds.has(c.id))) throw new ForbiddenTenantError(a.tenantId);
      if (!c) throw new UnknownTenantError(a.tenantId);
      return c;
    });
    const results: IntakeResult[] = [];
    for (let i = 0; i < alerts.length; i++) {
      const raw = alerts.length === 1 && rawText !== undefined ? rawText : JSON.stringify((body as { value?: unknown[] }).value?.[i] ?? body);
      results.push(await this.record(alerts[i], customers[i], source, raw));
    }
    return results;
  }

  private async record(alert: Alert, customer: CustomerConfig, source: AlertSource, raw: string): Promise<IntakeResult> {
    const now = (this.deps.now ?? (() => new Date()))();
    const identity = subjectOf(alert, customer);
    const incidentId = newIncidentId(now);
    const r = await this.deps.store.recordAlert({
      alert: {
        id: alert.id,
        customerId: customer.id,
        receivedAt: now.toISOString(),
        source,
        alert: alert as unknown as Record<string, unknown>,
        raw,
      },
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
    });
    if (r.created) this.deps.onIncidentCreated?.(r.incidentId);
    else if (!r.duplicate) this.deps.onIncidentChanged?.(r.incidentId);
    this.deps.log.info({ alertId: alert.id, incidentId: r.incidentId, created: r.created, duplicate: r.duplicate, customer: customer.id }, 'alert received');
    return { alertId: alert.id, ...r };
  }
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
