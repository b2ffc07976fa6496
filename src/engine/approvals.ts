import { randomUUID } from 'node:crypto';
import { actionIdOf, stepIdOf } from '../domain/incident-id';
import { checkApprover, describeAnswered, type PolicyVerdict, formatUtc, hasVoted, isApprover, isApproverById, isSubject, requiredApprovers, type Clicker } from '../domain/approval-policy';
import type { CustomerConfig } from '../config/customers';
import { readFindings } from '../domain/incident-findings';
import type { ActionRecord, ApprovalRecord, IncidentRecord, ProposalRevision, TimelineEventInput } from '../store/store';
import { LIVE_INCIDENT, Room } from './engine-core';
import type { ProcedureStep } from './procedure';
import { refusal, type CommandResult, type DecideResult, type RefusalCode } from './results';
import type { Preview } from '../connectors/types';
import { isStormSubject, stormAccountIdentities } from '../intake/storm';

/** An approver's edits, saved by their vote: the new proposal and the timeline lines saying so. */
interface Revision {
  revision: ProposalRevision;
  events: TimelineEventInput[];
}

/**
 * Who may do what to an incident, and the approvals of destructive steps: requesting one per
 * request round, votes (with an approver's edits), refusals on the timeline, expiry.
 */
export class Approvals extends Room {

  async decide(req: { approvalId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string; edits?: Record<string, unknown> }): Promise<DecideResult> {
    const { clicker, vote } = req;
    const now = this.clock.now();
    let approval: ApprovalRecord | undefined;
    try {
      approval = typeof req.approvalId === 'string' && req.approvalId.length <= 100 ? await this.store.getApproval(req.approvalId) : undefined;
    } catch {
      approval = undefined;
    }
    if (!approval) {
      // No incident to put it on: the log keeps the attempt.
      this.log.warn({ approvalId: String(req.approvalId).slice(0, 100), clicker: clicker.aadObjectId }, 'vote on an unknown approval id refused');
      return refusal('not-found', 'this approval request is not known (the card may be forged or from another installation)');
    }
    const incident = (await this.store.getIncident(approval.incidentId))!;
    const action = await this.store.getAction(approval.actionId);
    const stepId = action?.stepId ?? stepIdOf(approval.actionId);
    const about = { incidentId: incident.id, stepId };
    const refuse = async (code: RefusalCode, reason: string): Promise<DecideResult> => {
      await this.store.appendTimeline(incident.id, [
        { source: 'engine', kind: 'approval.refused', summary: `${clicker.name} tried to ${vote} ${stepId}: refused (${reason})`, actor: clicker.aadObjectId, data: { approvalId: approval!.id, vote } },
      ]);
      return refusal(code, reason, about);
    };

    if (approval.status !== 'pending') return refuse(answeredCode(approval), describeAnswered(approval, undefined, now));
    if (new Date(approval.expiresAt).getTime() <= now.getTime()) {
      await this.expireApprovals();
      return refuse('expired', `this request expired at ${formatUtc(approval.expiresAt, now)}`);
    }
    // a releasing incident's own cards (the CISO follow-up, release-<step>) are still answered
    const releaseCard = incident.status === 'releasing' && stepId.startsWith('release-');
    if (!LIVE_INCIDENT.has(incident.status) && !releaseCard) return refuse('incident-closed', `this request is no longer current: ${incident.id} is ${incident.status}`);
    if (!action || action.status !== 'awaiting_approval') {
      // Another click may have decided it between our two reads: say who, not just "not current".
      const fresh = await this.store.getApproval(approval.id);
      if (fresh && fresh.status !== 'pending') return refuse(answeredCode(fresh), describeAnswered(fresh, undefined, now));
      return refuse('not-pending', `this request is no longer current: ${stepId} is ${action?.status ?? 'gone'}`);
    }
    const allowed = await this.checkPerson(incident, clicker, vote, false);
    if (!allowed.ok) return refuse(allowed.code, allowed.reason);
    if (hasVoted(approval, clicker.aadObjectId)) return refuse('already-voted', `${clicker.name} has already voted on this request; a second, different approver is needed`);
    let edited: Revision | undefined;
    if (vote === 'approve' && req.edits && Object.keys(req.edits).length) {
      const applied = await this.reviseProposal(incident, action, approval.id, req.edits, clicker);
      if (!applied.ok) return refuse('edit-refused', applied.reason);
      edited = applied.revision;
    }

    const verb = vote === 'approve' ? 'approved' : 'rejected';
    const r = await this.store.voteApproval(
      approval.id,
      { approverId: clicker.aadObjectId, approverName: clicker.name, vote, ...(req.reason ? { reason: req.reason.slice(0, 500) } : {}) },
      now,
      [
        ...(edited?.events ?? []),
        { source: 'engine', kind: `approval.${vote}`, summary: `${clicker.name} ${verb} ${stepId}${edited ? ' as edited' : ''}${req.reason ? `: ${req.reason.slice(0, 200)}` : ''}`, actor: clicker.aadObjectId, data: { approvalId: approval.id } },
      ],
      edited?.revision,
    );
    if (!r.ok) {
      const fresh = r.approval ?? (await this.store.getApproval(approval.id));
      if (fresh && fresh.status !== 'pending') return refuse(answeredCode(fresh), describeAnswered(fresh, undefined, now));
      if (r.code === 'expired') return refuse('expired', `this request expired at ${formatUtc(approval.expiresAt, now)}`);
      if (r.code === 'already_voted') return refuse('already-voted', `${clicker.name} has already voted on this request; a second, different approver is needed`);
      return refuse('changed', r.reason);
    }
    if (r.decided) {
      if (r.approval.status === 'approved') {
        const inc = await this.store.getIncident(incident.id);
        if (inc?.status === 'open') {
          await this.store.updateIncident(incident.id, { status: 'containing' }, [{ source: 'engine', kind: 'incident.containing', summary: `Containment started: ${stepId} approved by ${r.approval.decidedBy}` }]);
        }
      }
      this.notify((n) => n.approvalDecided(r.approval));
    } else {
      this.notify((n) => n.approvalVoted?.(r.approval));
    }
    this.notify((n) => n.incidentChanged(incident.id));
    this.kick(incident.id);
    return { ok: true, decided: r.decided, approval: r.approval };
  }

  /**
   * An approver's edits of an editable input (the CISO email's subject, body, recipients): only the
   * fields the action declares editable, and only if the whole input still validates. Unchanged
   * fields are not edits. The new input is saved by the vote itself (one transaction), which also
   * voids every earlier vote: in a two-person approval the first approver agreed to the old text,
   * so the edited one needs two approvals again.
   */
  private async reviseProposal(
    incident: IncidentRecord, action: ActionRecord, approvalId: string, edits: Record<string, unknown>, clicker: Clicker,
  ): Promise<{ ok: true; revision?: Revision } | { ok: false; reason: string }> {
    const def = this.registry.get(action.name);
    const editable = new Set(def?.editable ?? []);
    const current = (action.input ?? {}) as Record<string, unknown>;
    // Compared with what the card showed: a click sends every field back, changed or not.
    const shown = { ...current, ...def?.shownForEdit?.(action.preview as Preview | null) };
    const changed = Object.entries(edits).filter(([k, v]) => editable.has(k) && JSON.stringify(shown[k]) !== JSON.stringify(v));
    const refused = Object.keys(edits).filter((k) => !editable.has(k));
    if (refused.length) return { ok: false, reason: `${refused.slice(0, 5).join(', ')} cannot be changed on this card` };
    if (!changed.length || !def) return { ok: true };
    const merged = { ...current, ...Object.fromEntries(changed) };
    const parsed = def.input.safeParse(merged);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return { ok: false, reason: `the edited ${i.path.join('.') || 'input'} is not valid: ${i.message}` };
    }
    const customer = this.customerOf(incident);
    const fresh = def.preview ? await def.preview(parsed.data, this.actionContext(incident, customer, action, false)) : action.preview;
    // an ad-hoc row (a release's CISO follow-up) keeps what marks it as one: its title and approval round
    const before = action.preview as { adHoc?: unknown; title?: unknown; approvalRound?: unknown } | null;
    const preview = fresh && before?.adHoc === true ? { ...fresh, adHoc: true, title: before.title, approvalRound: before.approvalRound } : fresh;
    const fields = changed.map(([k]) => k);
    return {
      ok: true,
      revision: {
        events: [{ source: 'engine', kind: 'step.edited', summary: `${clicker.name} edited ${fields.join(', ')} of ${action.stepId} before approving`, actor: clicker.aadObjectId, data: { fields } }],
        revision: {
          input: merged,
          preview: preview as Record<string, unknown> | null,
          reset: (voided) => {
            const names = [...new Set(voided.map((v) => v.approverName || v.approverId))].join(', ');
            const note = `Earlier approvals were reset: ${clicker.name} changed ${fields.join(', ')} after ${names} voted, so the edited version needs its own approvals.`;
            return {
              note,
              events: [{ source: 'engine', kind: 'approval.reset', summary: `${note}`, actor: clicker.aadObjectId, data: { approvalId, voided: voided.map((v) => v.approverId), fields } }],
            };
          },
        },
      },
    };
  }

  /** Text fallback `@ir approve <incident> <step>`: votes on the step's pending approval. */
  async decideByStep(req: { incidentId: string; stepId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string }): Promise<DecideResult> {
    const incident = await this.store.getIncident(req.incidentId);
    if (!incident) return refusal('not-found', `no incident ${req.incidentId.slice(0, 40)}`);
    const actionId = actionIdOf(incident.id, req.stepId);
    const mine = (await this.store.listApprovals({ incidentId: incident.id })).filter((a) => a.actionId === actionId).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    const pending = mine.filter((a) => a.status === 'pending').pop();
    if (pending) return this.decide({ approvalId: pending.id, vote: req.vote, clicker: req.clicker, reason: req.reason });
    const latest = mine.pop();
    const action = await this.store.getAction(actionId);
    const [code, reason]: [RefusalCode, string] = latest
      ? [answeredCode(latest), describeAnswered(latest, undefined, this.clock.now())]
      : action
        ? ['not-pending', `${req.stepId} is not waiting for approval (it is ${action.status})`]
        : ['not-found', `${incident.id} has no step "${req.stepId.slice(0, 48)}"`];
    await this.store.appendTimeline(incident.id, [
      { source: 'engine', kind: 'approval.refused', summary: `${req.clicker.name} tried to ${req.vote} ${req.stepId.slice(0, 48)}: refused (${reason})`, actor: req.clicker.aadObjectId },
    ]);
    return refusal(code, reason, action ? { incidentId: incident.id, stepId: req.stepId } : { incidentId: incident.id });
  }


  /**
   * Makes sure an awaiting_approval step has its approval. Each request round (the first request,
   * each retry) has one approval id, fixed by a compare-and-set in the store before the approval is
   * written: two processes, or a process resuming after a crash between the transition and the
   * request, create one approval, not two.
   */
  async ensureApproval(incident: IncidentRecord, customer: CustomerConfig, step: ProcedureStep, a: ActionRecord, justRequested = false): Promise<ActionRecord | undefined> {
    const round = Number((a.preview as { approvalRound?: number } | null)?.approvalRound ?? 0);
    const key = `engine:approval:${a.id}:${round}`;
    // Right after this process moved the step to awaiting_approval the id is almost never fixed yet:
    // go straight to the compare-and-set, which stays the authority either way.
    let id = justRequested ? undefined : await this.store.getState(key);
    let justFixed = false;
    if (!id) {
      const fresh = randomUUID();
      justFixed = await this.store.casState(key, undefined, fresh);
      id = justFixed ? fresh : await this.store.getState(key);
    }
    // An id this call has just fixed cannot have an approval yet: no need to look it up.
    const existing = justFixed ? undefined : await this.store.getApproval(id!);
    if (existing) {
      // Expired while nobody moved its step (a crash right after expireApprovals).
      if (existing.status === 'expired') return (await this.markExpired(existing)) ?? a;
      return a;
    }
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.core.approvalTtlMs).toISOString();
    const required = requiredApprovers({ id: step.id, action: step.action, twoPerson: step.approval?.twoPerson }, customer);
    try {
      const approval = await this.store.createApproval(
        { id: id!, incidentId: incident.id, actionId: a.id, requiredApprovers: required, requestedAt: now.toISOString(), expiresAt },
        [
          {
            source: 'engine',
            kind: 'approval.requested',
            summary: `Approval requested for ${step.title}${required === 2 ? ' (two approvers)' : ''}; expires at ${formatUtc(expiresAt)}`,
            data: { approvalId: id, step: step.id, requiredApprovers: required },
          },
        ],
      );
      this.notify((n) => n.approvalRequested(approval));
    } catch (e) {
      // Another process created this round's approval between our read and our write.
      if (!(await this.store.getApproval(id!))) throw e;
    }
    return a;
  }

  async expireApprovals(): Promise<number> {
    const expired = await this.store.expireApprovals(this.clock.now());
    for (const ap of expired) await this.markExpired(ap);
    return expired.length;
  }

  private async markExpired(ap: ApprovalRecord): Promise<ActionRecord | undefined> {
    const action = await this.store.getAction(ap.actionId);
    const stepId = action?.stepId ?? stepIdOf(ap.actionId);
    const event: TimelineEventInput = {
      source: 'engine',
      kind: 'step.expired',
      // No chat syntax on the hash-chained timeline: the bot adds the retry command when it shows this.
      summary: `${stepId}: nobody answered before ${formatUtc(ap.expiresAt)}`,
      data: { approvalId: ap.id, step: stepId, retryable: true },
    };
    // The store may already have moved the step with the approval (one transaction); the event still belongs on the timeline.
    let moved = await this.store.transitionAction(ap.actionId, { from: ['awaiting_approval'], to: 'expired' }, { error: `approval expired at ${formatUtc(ap.expiresAt)}` }, [event]);
    if (!moved && action?.status === 'expired') {
      moved = await this.store.transitionAction(ap.actionId, { from: ['expired'], to: 'expired' }, { error: `approval expired at ${formatUtc(ap.expiresAt)}` }, [event]);
    }
    this.notify((n) => n.approvalDecided(ap));
    this.notify((n) => n.incidentChanged(ap.incidentId));
    return moved;
  }


  /** Whether a person may act on an incident as its customer's approver (close, report); refusals go on the timeline. */
  async authorize(incidentId: string, who: Clicker, doing: string): Promise<CommandResult> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) return refusal('not-found', `no incident ${incidentId.slice(0, 40)}`);
    return this.checkPerson(incident, who, doing);
  }

  /** A storm's own refusal (one of its accounts, or one not looked up yet), else the approver rules with no single subject. */
  private async stormVerdict(incident: IncidentRecord, who: Clicker, vote: boolean): Promise<PolicyVerdict | undefined> {
    const customer = this.customerOf(incident);
    const accounts = stormAccountIdentities(await this.store.listAlerts(incident.id), customer.activeDirectory?.domains ?? []);
    return stormSubjectVerdict(incident, who, accounts, vote);
  }

  /**
   * Whether the person is the incident's customer's approver now, for a vote or a command that
   * changes something (approve, reject, retry, cancel, release, close). Group membership is asked
   * of the directory at this moment, never from a cache: someone removed from the approvers' group
   * is refused at once. A directory that does not answer refuses too (fail closed), with its own code.
   */
  async checkPerson(incident: IncidentRecord, who: Clicker, doing: string, logRefusal = true): Promise<CommandResult> {
    const customer = this.customerOf(incident);
    // The subject is refused whatever their groups: no need to ask.
    const groups = isSubject(who, incident) ? { groups: new Set<string>() } : await this.approverGroupsNow(customer, who);
    const vote = doing === 'approve' || doing === 'reject';
    const storm = isStormSubject(incident.subjectUpn) ? await this.stormVerdict(incident, who, vote) : undefined;
    const verdict = storm ?? checkApprover({
      customer, incident, clicker: who, clickerGroups: groups.groups, requireKnownSubject: vote && !isStormSubject(incident.subjectUpn),
      subjectPlacement: readFindings(incident.data).subjectPlacement,
    });
    if (verdict.ok) return { ok: true, message: '' };
    // Only "not an approver" can rest on the missing answer; the subject rules stand without it.
    const [code, reason]: [RefusalCode, string] = verdict.code === 'not-approver' && groups.unconfirmed ? ['role-unconfirmed', groups.unconfirmed] : [verdict.code, verdict.reason];
    if (logRefusal) {
      await this.store.appendTimeline(incident.id, [{ source: 'engine', kind: `${doing}.refused`, summary: `${who.name} tried to ${doing}: refused (${reason})`, actor: who.aadObjectId }]);
    }
    return refusal(code, reason, { incidentId: incident.id });
  }

  /** `@ir contain`: there is no incident yet; the person must be the customer's approver now (as checkPerson). */
  async checkApproverOf(customer: CustomerConfig, who: Clicker): Promise<CommandResult> {
    const groups = await this.approverGroupsNow(customer, who);
    if (isApprover(customer, who, groups.groups)) return { ok: true, message: '' };
    if (groups.unconfirmed) return refusal('role-unconfirmed', groups.unconfirmed);
    return refusal('not-approver', `${who.name} is not an approver for ${customer.name}`);
  }

  /**
   * The customer's approver groups the person is in, asked of the directory now. An approver listed
   * by object id needs no call; without a directory (no MSP Graph app) nobody is in a group.
   * `unconfirmed` is the refusal's sentence when the directory did not answer.
   */
  private async approverGroupsNow(customer: CustomerConfig, who: Clicker): Promise<{ groups: ReadonlySet<string>; unconfirmed?: string }> {
    const directory = this.deps.groupMembership;
    if (!directory || !customer.approvers.groupIds.length || isApproverById(customer, who)) return { groups: new Set() };
    try {
      return { groups: await directory.memberOfNow(who.aadObjectId, customer.approvers.groupIds) };
    } catch (err) {
      this.log.warn({ err, objectId: who.aadObjectId, customerId: customer.id }, 'approver groups not confirmed by the directory: the request is refused');
      return { groups: new Set(), unconfirmed: `could not confirm ${who.name}'s approver role for ${customer.name} with Microsoft Graph just now; nothing was done, try again` };
    }
  }
}

/**
 * A storm incident has many subjects: none of its accounts may approve, cancel or release it. The
 * clicker is compared with every account's Entra object id and UPN (as the alerts gave them and as
 * the look-ups resolved them). A vote waits while an account is known by neither an object id nor a
 * look-up (its further round's look-up runs at once, without approval), as a single incident's vote
 * waits for its account lookup: otherwise that account's owner could approve their own containment.
 */
function stormSubjectVerdict(incident: IncidentRecord, who: Clicker, accounts: Array<{ label: string; identity: { upn?: string | null; objectId?: string | null } | null }>, vote: boolean): PolicyVerdict | undefined {
  const f = readFindings(incident.data);
  const same = (a: string | null | undefined, b: string | null | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();
  const ids = [...accounts.map((a) => a.identity?.objectId), ...(f.stormResolved ?? []).map((a) => a.objectId)];
  const upns = [...accounts.flatMap((a) => [a.label, a.identity?.upn]), ...(f.stormResolved ?? []).flatMap((a) => [a.label, a.upn])];
  const mine = accounts.find((a) => same(a.identity?.objectId, who.aadObjectId) || same(a.label, who.upn) || same(a.identity?.upn, who.upn))?.label
    ?? (f.stormResolved ?? []).find((a) => same(a.objectId, who.aadObjectId) || same(a.upn, who.upn))?.label;
  if (mine || ids.some((id) => same(id, who.aadObjectId)) || upns.some((u) => same(u, who.upn))) {
    return { ok: false, code: 'subject', reason: `${who.name} is one of the accounts of the storm ${incident.id}${mine ? ` (${mine})` : ''}: nobody may approve the containment of their own account` };
  }
  if (!vote) return undefined;
  const looked = new Set([...(f.stormResolved ?? []).map((a) => a.label), ...(f.stormUnresolved ?? []).map((a) => a.label)]);
  const unknown = accounts.filter((a) => !a.identity?.objectId && !looked.has(a.label));
  if (unknown.length) {
    return { ok: false, code: 'subject-unknown', reason: `${unknown.length} of the storm's accounts (${unknown.slice(0, 3).map((a) => a.label).join(', ')}${unknown.length > 3 ? ', …' : ''}) are not looked up yet, so nobody can be sure they are not approving their own containment; wait for the look-up` };
  }
  return undefined;
}

/** An approval answered before this click: expired ones can be asked again, the others are decided. */
function answeredCode(approval: ApprovalRecord): RefusalCode {
  return approval.status === 'expired' ? 'expired' : 'already-decided';
}
