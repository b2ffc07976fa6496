import { parseUpn, upnDomain } from '../domain/identity';
import type { Clicker } from '../domain/approval-policy';
import { actionIdOf, withFreshIncidentId } from '../domain/incident-id';
import type { TimelineEventInput } from '../store/store';
import { LIVE_INCIDENT, RETRYABLE_BY_PERSON, Room } from './engine-core';
import { accountsLeft } from './release-plan';
import { ipSelectionFor } from './incident-context';
import { refusal, type CommandResult, type StartResult } from './results';
import { isStormSubject } from '../intake/storm';

/**
 * A live holder of a start claim is never overtaken: its two statements, each retried for at most
 * 15 s through a database restart, end well within a minute.
 */
const START_CLAIM_STALE_MS = 60_000;

/** What a person (or intake) asks of a whole incident: start its procedure, contain an account, cancel, retry a step. */
export class IncidentCommands extends Room {

  /** Starts the customer's procedure on an incident intake created. Idempotent. */
  async startIncident(incidentId: string): Promise<void> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) throw new Error(`incident ${incidentId} does not exist`);
    const customer = this.customerOf(incident);
    // A storm incident (src/intake/storm.ts) stands for many accounts: it runs the storm procedure
    // (one approval per action across its accounts), never the per-account one on the storm's name.
    const storm = isStormSubject(incident.subjectUpn);
    const proc = storm ? this.deps.procedures.forStorm(customer.id) : this.deps.procedures.forCustomer(customer.id);
    if (!proc) {
      // a process built without the storm procedure (tests with their own catalog): say so once, run nothing
      if (!incident.procedure && (await this.store.casState(`engine:start:${incidentId}`, undefined, this.workerId))) {
        await this.store.appendTimeline(incidentId, [{ source: 'engine', kind: 'procedure.none', summary: 'No storm procedure is loaded in this process: contain each account on its own' }]);
      }
      return;
    }
    // One process records the start, however many are told to start it.
    if (!incident.procedure && (await this.claimStart(incidentId))) {
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
    await this.rooms.transitions.ensureActionRows((await this.store.getIncident(incidentId))!);
    this.notify((n) => n.incidentChanged(incidentId));
    this.kick(incidentId);
  }

  /**
   * The claim to record an incident's start (`engine:start:<id>` = "<worker> <ISO time>"). A holder
   * writes the start within a few statements of its claim, so a claim older than START_CLAIM_STALE_MS
   * on an incident that still has no procedure is a holder that died between the two (a SIGKILL in
   * the storm test left such an incident unstarted for good); another worker takes it over, by
   * compare-and-set, so one of them does. A claim of the older form (the worker id alone) has no
   * time and is never taken over.
   */
  private async claimStart(incidentId: string): Promise<boolean> {
    const key = `engine:start:${incidentId}`;
    const now = this.clock.now();
    const held = await this.store.getState(key);
    if (held !== undefined) {
      const at = Date.parse(held.slice(held.lastIndexOf(' ') + 1));
      if (!held.includes(' ') || !Number.isFinite(at) || now.getTime() - at < START_CLAIM_STALE_MS) return false;
      this.log.warn({ incidentId, claim: held }, 'the start of this incident was claimed by a worker that never recorded it; taking it over');
    }
    return this.store.casState(key, held, `${this.workerId} ${now.toISOString()}`);
  }

  /** `@ir contain <upn> [customer]`: an incident without an alert, with the same approvals. */
  async startForAccount(req: { customerId: string; upn: string; requestedBy: Clicker }): Promise<StartResult> {
    const customer = this.deps.customers(req.customerId);
    if (!customer) return refusal('invalid-request', `unknown customer "${req.customerId.slice(0, 64)}"`);
    let upn: string;
    try {
      upn = parseUpn(req.upn);
    } catch (e) {
      return refusal('invalid-request', (e as Error).message);
    }
    if (!customer.domains.some((d) => d.toLowerCase() === upnDomain(upn as never))) {
      return refusal('invalid-request', `${upn} is not in ${customer.name}'s domains (${customer.domains.join(', ')})`);
    }
    // The only check this command gets besides the bot's (cached) roles: it starts a containment.
    const allowed = await this.rooms.approvals.checkApproverOf(customer, req.requestedBy);
    if (!allowed.ok) return allowed;
    const open = (await this.store.listIncidents({ open: true, customerId: customer.id })).find((i) => i.subjectUpn.toLowerCase() === upn && LIVE_INCIDENT.has(i.status));
    if (open) {
      await this.store.appendTimeline(open.id, [{ source: 'bot', kind: 'incident.containRequested', summary: `${req.requestedBy.name} asked to contain ${upn}; this incident is already open for it`, actor: req.requestedBy.aadObjectId }]);
      await this.startIncident(open.id);
      return { ok: true, incidentId: open.id, created: false };
    }
    const now = this.clock.now();
    const id = await withFreshIncidentId(now, async (drawn) => {
      await this.createRequested(drawn, customer, upn, req.requestedBy, now);
      return drawn;
    });
    await this.startIncident(id);
    return { ok: true, incidentId: id, created: true };
  }

  private async createRequested(id: string, customer: { id: string; tenantId: string }, upn: string, by: Clicker, now: Date): Promise<void> {
    await this.store.createIncident(
      {
        id,
        customerId: customer.id,
        tenantId: customer.tenantId,
        subjectUpn: upn,
        subjectObjectId: null,
        severity: 'high',
        title: `Containment of ${upn} requested by ${by.name}`,
        status: 'open',
        procedure: null,
        createdAt: now.toISOString(),
        data: { requestedBy: { name: by.name, aadObjectId: by.aadObjectId } },
      },
      [{ source: 'bot', kind: 'incident.requested', summary: `${by.name} asked to contain ${upn} (no alert)`, actor: by.aadObjectId }],
    );
  }

  /** Stops an incident: waiting and ready steps are cancelled, pending approvals become stale. */
  async cancel(incidentId: string, by: Clicker): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return refusal('not-found', `no incident ${incidentId.slice(0, 40)}`);
    if (!LIVE_INCIDENT.has(incident.status)) return refusal('incident-closed', `${incidentId} is already ${incident.status}`);
    const allowed = await this.rooms.approvals.checkPerson(incident, by, 'cancel');
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


  /** Re-requests an expired, failed or rejected step (approvers only); its skipped dependents wait again. */
  async retry(incidentId: string, stepId: string, by: Clicker): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return refusal('not-found', `no incident ${incidentId.slice(0, 40)}`);
    const action = await this.store.getAction(actionIdOf(incident.id, stepId));
    if (!action) return refusal('not-found', `${incident.id} has no step "${stepId.slice(0, 48)}"`, { incidentId: incident.id });
    const allowed = await this.rooms.approvals.checkPerson(incident, by, 'retry');
    if (!allowed.ok) return allowed;
    // a releasing incident's failed undo (release-<step>, release-classify) is retried like a step: the release then goes on
    const releaseRow = incident.status === 'releasing' && stepId.startsWith('release-');
    if (!LIVE_INCIDENT.has(incident.status) && !releaseRow) return refusal('incident-closed', `${incident.id} is ${incident.status}`);
    // an undo over many accounts that succeeded for some is retried for the rest (it re-reads each)
    const leftAccounts = releaseRow && accountsLeft(action).length > 0;
    if (!RETRYABLE_BY_PERSON.includes(action.status) && !leftAccounts) {
      return refusal('not-pending', `${stepId} is ${action.status}; only a failed, expired or rejected step (or an undo that left accounts) can be retried`, { incidentId: incident.id, stepId });
    }
    const moved = await this.store.transitionAction(
      action.id,
      { from: [action.status], to: 'waiting' },
      { error: null, notBefore: null, preview: null, result: { retriedAfterAttempts: action.attempts } },
      [{ source: 'engine', kind: 'step.retryRequested', summary: `${by.name} asked to retry ${stepId} (it was ${action.status})`, actor: by.aadObjectId }],
    );
    if (!moved) return refusal('changed', `${stepId} changed while you asked; look at the card again`, { incidentId: incident.id, stepId });
    const revived = releaseRow ? [] : await this.rooms.transitions.reviveDependents(incident, stepId);
    this.notify((n) => n.incidentChanged(incident.id));
    this.kick(incident.id);
    return { ok: true, message: `${stepId} will be tried again${revived.length ? `; ${revived.join(', ')} wait for it again` : ''}` };
  }
}

function describeSelection(sel: { block: string[]; notBlocked: Array<{ ip: string; reason: string }> }): string {
  const block = sel.block.length ? `Blocking proposed for ${sel.block.join(', ')}` : 'No IP from the alert is proposed for blocking';
  const not = sel.notBlocked.map((n) => `${n.ip} (${n.reason})`).join('; ');
  return not ? `${block}; not blocking ${not}` : block;
}
