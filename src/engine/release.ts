import type { CustomerConfig } from '../config/customers';
import { actionIdOf } from '../domain/incident-id';
import type { Clicker } from '../domain/approval-policy';
import type { ActionRecord, IncidentRecord } from '../store/store';
import { ENDED, Room, toJson } from './engine-core';
import type { Procedure, ProcedureStep } from './procedure';
import { accountsLeft, buildReleasePlan, previewReleasePlan, releaseStepId, type KeptItem, type PlanItem, type ReleasePlan, type StepRounds } from './release-plan';
import { readFindings } from '../domain/incident-findings';
import { FOLLOW_UP_CISO_ACTION } from '../evidence/ciso-follow-up';
import { NOTIFY_CISO_ACTION } from '../evidence/ciso-email';
import { chosenInverses, CLASSIFICATIONS, RELEASE_GATE_ACTION, RELEASE_GATE_STEP, releaseGateInput, releasePreview, type ReleaseClassification, type ReleaseGateInput } from './release-gate';
import { refusal, type Refusal } from './results';
import { isStormSubject } from '../intake/storm';
import { containRoundTitle, roundRows, STORM_CONTAIN_STEP } from '../domain/storm-coverage';

/** The follow-through after the inverses: the Defender alerts get the approver's classification. */
export const CLASSIFY_ACTION = 'alerts.classify';
export const CLASSIFY_STEP = 'release-classify';
/** Then the customer's ticket is noted and closed as a false positive, and a follow-up to the CISO is drafted for review. */
export const TICKET_UPDATE_ACTION = 'ticket.update';
export const TICKET_STEP = 'release-ticket';
export const CISO_STEP = 'release-ciso';
/**
 * A storm's follow-up goes only if its CISO email was sent (Storm containment@2 drafts one; @1 sent
 * none; a draft may have been discarded): then it goes as for one account, naming the storm and its
 * count (src/evidence/ciso-follow-up.ts); else there is nothing to follow up.
 */
const STORM_NO_FOLLOW_UP = 'the CISO was not emailed about this storm (no email step in its procedure, or its draft was not sent); the report lists every account released';

/** A release row: an undo or a follow-through; `skip` says why it is not needed, `approval` puts it to its own card. */
interface ReleaseRow { stepId: string; action: string; input: Record<string, unknown>; title: string; skip?: string; approval?: boolean }

export type ReleaseRequestResult = { ok: true; approvalId: string; plan: ReleasePlan } | Refusal;

/** The release's approval is put to a pseudo-step: it is not in the procedure, the approval machinery only reads these fields. */
const GATE_STEP: ProcedureStep = {
  id: RELEASE_GATE_STEP, title: 'Release the containment', action: RELEASE_GATE_ACTION, needs: [], after: [], followUp: false, with: {}, record: {}, approval: { twoPerson: false },
};

/**
 * Releasing a contained incident (issue 14): the request builds the plan from the succeeded action
 * rows and asks for ONE approval (the approvers of the incident's customer, never its subject);
 * once approved, `advance` (called by the scheduler on every round) makes the inverses ready one at
 * a time in the plan's order, then the alert classification, then records `released`. Each of them
 * is an action row `<incident>:release-<step>`: created once, claimed under a lease and run by the
 * runner like a forward step, so a crash resumes it and a replay never runs it twice.
 */
export class Release extends Room {

  async request(req: { incidentId: string; reason: string; classification?: string; by: Clicker }): Promise<ReleaseRequestResult> {
    const incident = await this.store.getIncident(req.incidentId);
    if (!incident) return refusal('not-found', `no incident ${req.incidentId.slice(0, 40)}`);
    const about = { incidentId: incident.id };
    const allowed = await this.rooms.approvals.checkPerson(incident, req.by, 'release');
    if (!allowed.ok) return allowed;
    const refuse = async (code: Refusal['code'], reason: string): Promise<Refusal> => {
      await this.store.appendTimeline(incident.id, [{ source: 'engine', kind: 'release.refused', summary: `${req.by.name} asked to release ${incident.id}: refused (${reason})`, actor: req.by.aadObjectId }]);
      return refusal(code, reason, about);
    };
    if (incident.status === 'releasing' || incident.status === 'released') return refuse('already-released', `${incident.id} is already ${incident.status}`);
    const gateId = actionIdOf(incident.id, RELEASE_GATE_STEP);
    const gate = await this.store.getAction(gateId);
    if (gate?.status === 'awaiting_approval') return refuse('already-released', `a release of ${incident.id} is already waiting for approval`);
    if (gate && !['rejected', 'expired', 'failed'].includes(gate.status)) return refuse('already-released', `a release of ${incident.id} is already ${gate.status === 'succeeded' ? 'approved and under way' : gate.status}`);
    if (incident.status !== 'contained') return refuse('not-contained', `${incident.id} is ${incident.status}, not contained: only a contained incident can be released`);
    const actions = await this.store.listActions(incident.id);
    const proc = this.procedureOf(incident);
    const inProcedure = new Set(proc.steps.map((s) => s.id));
    const running = actions.filter((a) => inProcedure.has(a.stepId) && !ENDED.has(a.status));
    if (running.length) return refuse('still-running', `containment is still running (${running.map((a) => `${a.stepId} ${a.status}`).join(', ')}); release it when every step has ended`);
    // A storm's further containment round (storm-contain-<n>, not a procedure step) that has not
    // ended is refused like a running step: the request changes nothing until it is approved, so it
    // does not cancel the round's card (a rejected release would leave those accounts uncovered),
    // and a round under way would contain accounts after the plan was made. Reject its card (the
    // storm is a false positive) or let it run, then ask again. Ended rounds are in the plan.
    const storm = isStormSubject(incident.subjectUpn);
    if (storm) {
      const open = roundRows(actions, STORM_CONTAIN_STEP).filter((a) => a.round > 1 && !ENDED.has(a.status));
      if (open.length) return refuse('still-running', `${incident.id} has a further containment round that has not ended (${open.map((a) => `${a.stepId} ${a.status}`).join(', ')}): approve or reject it first (reject it if the storm is a false positive), then ask the release again`);
    }
    const classification = (req.classification ?? 'falsePositive') as ReleaseClassification;
    if (!CLASSIFICATIONS.includes(classification)) return refuse('invalid-request', `"${String(req.classification).slice(0, 40)}" is not a classification (${CLASSIFICATIONS.join(' or ')})`);

    const customer = this.customerOf(incident);
    const plan = await previewReleasePlan(buildReleasePlan(proc, actions, this.registry, storm ? stormRounds(proc, actions) : undefined), this.registry, (item) =>
      this.actionContext(incident, customer, syntheticRow(incident, item.stepId), false));
    const input: ReleaseGateInput = {
      reason: req.reason, classification, requestedBy: { name: req.by.name, aadObjectId: req.by.aadObjectId },
      plan: plan.items, selected: plan.items.filter((i) => i.kind === 'inverse').map((i) => i.stepId),
      ...this.followThroughPreview(incident, customer, actions),
    };
    const parsed = releaseGateInput.safeParse(input);
    if (!parsed.success) return refuse('invalid-request', parsed.error.issues[0].message);

    await this.store.ensureActions([{ id: gateId, incidentId: incident.id, stepId: RELEASE_GATE_STEP, name: RELEASE_GATE_ACTION, status: 'waiting', idempotencyKey: gateId, input: null }]);
    const row = (await this.store.getAction(gateId))!;
    const round = (await this.store.listApprovals({ incidentId: incident.id })).filter((x) => x.actionId === gateId).length;
    const preview = { ...(toJson(releasePreview(parsed.data, incident.id)) as Record<string, unknown>), adHoc: true, approvalRound: round };
    // The compare-and-set is the guard against two requests at once: the second finds it moved.
    const moved = await this.store.transitionAction(gateId, { from: [row.status], to: 'awaiting_approval' }, { input: toJson(parsed.data) as Record<string, unknown>, preview, error: null, notBefore: null, result: row.status === 'waiting' ? null : { retriedAfterAttempts: row.attempts } }, [
      { source: 'engine', kind: 'release.requested', summary: `${req.by.name} asked to release ${incident.id}: ${req.reason.slice(0, 200)}`, actor: req.by.aadObjectId, data: { step: RELEASE_GATE_STEP, selected: parsed.data.selected, classification } },
    ]);
    if (!moved) return refusal('already-released', `a release of ${incident.id} was requested at the same moment`, about);
    await this.rooms.approvals.ensureApproval(incident, customer, GATE_STEP, moved, true);
    const approval = (await this.store.listApprovals({ incidentId: incident.id, status: 'pending' })).find((a) => a.actionId === gateId);
    this.notify((n) => n.incidentChanged(incident.id));
    return { ok: true, approvalId: approval!.id, plan };
  }

  /**
   * Moves an approved release along; returns how many rows it changed. Re-reads everything from the
   * store, so any process, after any crash, continues where the last one stopped.
   */
  async advance(incident: IncidentRecord): Promise<number> {
    if (incident.status !== 'contained' && incident.status !== 'releasing') return 0;
    const gate = await this.store.getAction(actionIdOf(incident.id, RELEASE_GATE_STEP));
    if (gate?.status !== 'succeeded') return 0;
    const parsed = releaseGateInput.safeParse(gate.input);
    if (!parsed.success) return 0;
    const input = parsed.data;
    let changed = 0;
    const approvedBy = (await this.store.listApprovals({ incidentId: incident.id, status: 'approved' })).filter((a) => a.actionId === gate.id).map((a) => a.decidedBy).at(-1) ?? 'an approver';
    if (incident.status === 'contained') {
      incident = await this.store.updateIncident(incident.id, { status: 'releasing' }, [
        { source: 'engine', kind: 'incident.releasing', summary: `Release started: approved by ${approvedBy}; undoing ${chosenInverses(input).map((i) => i.stepId).join(', ') || 'nothing'}` },
      ]);
      changed++;
    }

    const rows: ReleaseRow[] = chosenInverses(input).map((i) => ({
      stepId: releaseStepId(i.stepId), action: i.inverseAction, input: i.inverseInput, title: `Undo: ${i.title}`,
    }));
    const alerts = await this.store.listAlerts(incident.id);
    if (alerts.length && this.registry.has(CLASSIFY_ACTION)) {
      rows.push({
        stepId: CLASSIFY_STEP, action: CLASSIFY_ACTION, title: `Classify the Defender alerts as ${input.classification}`,
        input: { alertIds: alerts.map((a) => a.id), classification: input.classification, comment: `Released by the IR bot (${incident.id}): ${input.reason}` },
      });
    }
    rows.push(...this.followThrough(incident, input, approvedBy, gate.updatedAt, await this.store.listActions(incident.id)));
    // One at a time, in order: the next is made ready only once the one before has ended (a failed
    // one does not stop the rest; the release then stays `releasing` until it is retried).
    for (const r of rows) {
      const id = actionIdOf(incident.id, r.stepId);
      let a = await this.store.getAction(id);
      if (!a) {
        await this.store.ensureActions([{ id, incidentId: incident.id, stepId: r.stepId, name: r.action, status: 'waiting', idempotencyKey: id, input: toJson(r.input) as Record<string, unknown> }]);
        a = (await this.store.getAction(id))!;
      }
      if (a.status === 'waiting' && r.skip) {
        const moved = await this.store.transitionAction(id, { from: ['waiting'], to: 'skipped' }, { preview: { adHoc: true, title: r.title.slice(0, 200) }, error: r.skip }, [
          { source: 'engine', kind: 'step.skipped', summary: `${r.title.slice(0, 200)}: skipped (${r.skip})`, data: { step: r.stepId, release: true } },
        ]);
        if (moved) changed++;
        continue;
      }
      if (r.approval && (a.status === 'waiting' || a.status === 'awaiting_approval')) return changed + (await this.askApproval(incident, r, a));
      if (a.status === 'waiting') {
        const moved = await this.store.transitionAction(id, { from: ['waiting'], to: 'ready' }, { preview: { adHoc: true, title: r.title.slice(0, 200) }, error: null, notBefore: null }, [
          { source: 'engine', kind: 'step.ready', summary: `${r.title.slice(0, 200)}: ready`, data: { step: r.stepId, release: true } },
        ]);
        if (moved) changed++;
        return changed;
      }
      if (!ENDED.has(a.status)) return changed;
    }
    const ended = await Promise.all(rows.map((r) => this.store.getAction(actionIdOf(incident.id, r.stepId))));
    // skipped needed nothing; a follow-up email the approver discarded (or let expire) was a decision, not a failure
    const failed = ended.filter((a) => a && a.status !== 'succeeded' && a.status !== 'skipped' && !(a.stepId === CISO_STEP && ['rejected', 'expired'].includes(a.status))).map((a) => a!.stepId);
    // an undo over many accounts that released some and not others: what is left is named
    const partial = ended.flatMap((a) => { const left = a ? accountsLeft(a) : []; return left.length ? [{ stepId: a!.stepId, left }] : []; });
    if (failed.length || partial.length) {
      const marker = [...failed, ...partial.map((p) => `${p.stepId}/${p.left.length}`)].join(',');
      if ((incident.data as { releaseIncomplete?: string }).releaseIncomplete !== marker) {
        const lines = [
          ...(failed.length ? [`${failed.join(', ')} did not succeed`] : []),
          ...partial.map((p) => `${p.stepId} left ${p.left.length} account${p.left.length === 1 ? '' : 's'} not released: ${p.left.slice(0, 5).map((x) => `${x.label} (${x.error.slice(0, 120)})`).join('; ')}${p.left.length > 5 ? `; … and ${p.left.length - 5} more` : ''}`),
        ];
        await this.store.updateIncident(incident.id, { data: { releaseIncomplete: marker } }, [
          { source: 'engine', kind: 'release.incomplete', summary: `Release of ${incident.id} not complete: ${lines.join('; ')}; it stays releasing until they are retried (@ir retry ${incident.id} <step>)`.slice(0, 2000) },
        ]);
        changed++;
        this.notify((n) => n.incidentChanged(incident.id));
      }
      return changed;
    }
    await this.store.updateIncident(incident.id, {
      status: 'released',
      data: { releaseIncomplete: null, release: { reason: input.reason, classification: input.classification, undone: rows.map((r) => r.stepId), approvedAt: gate.updatedAt } },
    }, [{ source: 'engine', kind: 'incident.released', summary: `Released: ${input.reason.slice(0, 300)}`, data: { undone: rows.map((r) => r.stepId), classification: input.classification } }]);
    this.notify((n) => n.incidentChanged(incident.id));
    return changed + 1;
  }

  /**
   * The ServiceNow update and the CISO follow-up, each when its action is registered here; skipped
   * with the reason when the customer has no ServiceNow (or no ticket was opened) or no CISO contact.
   */
  private followThrough(incident: IncidentRecord, input: ReleaseGateInput, approvedBy: string, approvedAt: string, actions: readonly ActionRecord[]): ReleaseRow[] {
    const customer = this.customerOf(incident);
    const { undone, kept } = followThroughLines(input);
    const common = { reason: input.reason, classification: input.classification, releasedBy: approvedBy, undone, kept };
    const rows: ReleaseRow[] = [];
    if (this.registry.has(TICKET_UPDATE_ACTION)) {
      const ticket = readFindings(incident.data).ticket;
      const sysId = ticket?.sysId && /^[0-9a-f]{32}$/.test(ticket.sysId) ? ticket.sysId : undefined;
      rows.push({
        stepId: TICKET_STEP, action: TICKET_UPDATE_ACTION, title: `Note the release on ${ticket?.number ? `ServiceNow ${ticket.number}` : 'the ServiceNow ticket'}`,
        input: { incidentId: incident.id, ...common, ...(sysId ? { sysId } : {}) },
        skip: !customer.servicenow ? `${customer.name} has no ServiceNow configured` : !ticket ? 'no ServiceNow ticket was opened for this incident' : undefined,
      });
    }
    if (this.registry.has(FOLLOW_UP_CISO_ACTION)) {
      rows.push({
        stepId: CISO_STEP, action: FOLLOW_UP_CISO_ACTION, title: `Follow-up email to ${customer.name}'s CISO`, approval: true,
        input: { ...common, releasedAt: new Date(approvedAt).toISOString() },
        skip: this.stormWithoutCisoEmail(incident, actions) ? STORM_NO_FOLLOW_UP : customer.contacts?.ciso?.email ? undefined : `${customer.name} has no CISO contact`,
      });
    }
    return rows;
  }

  /** The card's lines for the ticket note and the CISO follow-up, each when it will be part of the run. */
  private stormWithoutCisoEmail(incident: IncidentRecord, actions: readonly ActionRecord[]): boolean {
    return isStormSubject(incident.subjectUpn) && !actions.some((a) => a.name === NOTIFY_CISO_ACTION && a.status === 'succeeded');
  }

  private followThroughPreview(incident: IncidentRecord, customer: CustomerConfig, actions: readonly ActionRecord[]): { followThrough?: string[] } {
    const lines: string[] = [];
    if (this.registry.has(TICKET_UPDATE_ACTION)) {
      const ticket = readFindings(incident.data).ticket;
      const sn = customer.servicenow;
      lines.push(!sn ? `No ServiceNow update: ${customer.name} has no ServiceNow configured`
        : !ticket ? 'No ServiceNow update: no ticket was opened for this incident'
          : `Note the release on ServiceNow ${ticket.number} and set state ${sn.falsePositiveState}, close code ${sn.falsePositiveCloseCode}`);
    }
    if (this.registry.has(FOLLOW_UP_CISO_ACTION) && this.stormWithoutCisoEmail(incident, actions)) lines.push(`No follow-up email: ${STORM_NO_FOLLOW_UP}`);
    else if (this.registry.has(FOLLOW_UP_CISO_ACTION) && customer.contacts?.ciso?.email) lines.push(`Draft a follow-up email to ${customer.contacts.ciso.name} (CISO), for review on its own card before it is sent`);
    return lines.length ? { followThrough: lines.map((l) => l.slice(0, 300)) } : {};
  }

  /**
   * The CISO follow-up is a draft: like the first CISO email, it waits on its own card (approvers of
   * the customer; editable) before it is sent. Its preview is the draft. Called again after a crash
   * between the two writes, ensureApproval finds or makes the one approval of this round.
   */
  private async askApproval(incident: IncidentRecord, r: ReleaseRow, a: ActionRecord): Promise<number> {
    const customer = this.customerOf(incident);
    const step: ProcedureStep = { id: r.stepId, title: r.title, action: r.action, needs: [], after: [], followUp: true, with: {}, record: {}, approval: { twoPerson: false } };
    if (a.status === 'awaiting_approval') {
      await this.rooms.approvals.ensureApproval(incident, customer, step, a);
      return 0;
    }
    const def = this.registry.get(r.action)!;
    let preview: Record<string, unknown>;
    try {
      const parsed = def.input.parse(a.input);
      preview = toJson(await def.preview!(parsed, this.actionContext(incident, customer, a, false))) as Record<string, unknown>;
    } catch (e) {
      const error = (e as Error).message.split('\n')[0].slice(0, 500);
      const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'failed' }, { preview: { adHoc: true, title: r.title.slice(0, 200) }, error }, [
        { source: 'engine', kind: 'step.failed', summary: `${r.title.slice(0, 200)}: the draft could not be made (${error})`, data: { step: r.stepId, release: true } },
      ]);
      return moved ? 1 : 0;
    }
    // a retried draft (failed, then @ir retry) gets a new approval round, as a re-requested release does
    const round = (await this.store.listApprovals({ incidentId: incident.id })).filter((x) => x.actionId === a.id).length;
    const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'awaiting_approval' }, { preview: { ...preview, adHoc: true, title: r.title.slice(0, 200), approvalRound: round }, error: null, notBefore: null }, [
      { source: 'engine', kind: 'step.awaiting_approval', summary: `${r.title.slice(0, 200)}: draft ready for review`, data: { step: r.stepId, release: true } },
    ]);
    if (!moved) return 0;
    await this.rooms.approvals.ensureApproval(incident, customer, step, moved, true);
    this.notify((n) => n.incidentChanged(incident.id));
    return 1;
  }
}

function followThroughLines(input: ReleaseGateInput): { undone: string[]; kept: string[] } {
  const chosen = chosenInverses(input);
  const chosenIds = new Set(chosen.map((i) => i.stepId));
  const plan = input.plan as PlanItem[];
  return {
    undone: chosen.map((i) => (i.changes.length ? `${i.title}: ${i.changes.join('; ')}` : i.title).slice(0, 300)),
    kept: [
      ...chosen.flatMap((i) => (i.note ? [i.note] : [])),
      ...plan.filter((i): i is KeptItem => i.kind === 'kept').map((i) => `${i.title}: ${i.reason}`),
      ...plan.filter((i) => i.kind === 'inverse' && !chosenIds.has(i.stepId)).map((i) => `${i.title}: not part of this release, it stays in place`),
    ].map((k) => k.slice(0, 500)),
  };
}

/**
 * A storm's containment rounds for the plan: storm-contain (the procedure's round, its step's
 * title) and every further round storm-contain-<n>, each undone by its own release row.
 */
function stormRounds(proc: Procedure, actions: readonly ActionRecord[]): (stepId: string) => StepRounds | undefined {
  const stepTitle = proc.steps.find((s) => s.id === STORM_CONTAIN_STEP)?.title ?? STORM_CONTAIN_STEP;
  const rows = roundRows(actions, STORM_CONTAIN_STEP);
  const round = new Map(rows.map((r) => [r.stepId, r.round]));
  return (stepId) => (stepId !== STORM_CONTAIN_STEP ? undefined : {
    rows,
    title: (a) => {
      const n = round.get(a.stepId) ?? 1;
      const accounts = a.input?.accounts;
      return n === 1 ? stepTitle : containRoundTitle(n, Array.isArray(accounts) ? accounts.length : 0);
    },
  });
}

function syntheticRow(incident: IncidentRecord, stepId: string): ActionRecord {
  const id = actionIdOf(incident.id, releaseStepId(stepId));
  return { id, incidentId: incident.id, stepId: releaseStepId(stepId), name: '', status: 'waiting', idempotencyKey: id, attempts: 0, input: null, preview: null, result: null, error: null, leaseOwner: null, leaseUntil: null, notBefore: null, createdAt: incident.createdAt, updatedAt: incident.updatedAt };
}
