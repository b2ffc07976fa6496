import type { CustomerConfig } from '../config/customers';
import { actionIdOf } from '../domain/incident-id';
import { ConnectorError, type ActionDef, type Preview } from '../connectors/types';
import { formatUtc } from '../domain/approval-policy';
import type { StepKind } from '../domain/incident-findings';
import type { ActionRecord, ActionStatus, AlertRecord, IncidentRecord } from '../store/store';
import { backoffMs } from './backoff';
import { connectorAvailability } from './customer-capabilities';
import { ENDED_FOR_CONTAINMENT, errorText, Room, toJson } from './engine-core';
import { buildReferenceContext } from './incident-context';
import { resolveInputs, UnresolvedReferenceError } from './input-references';
import type { Procedure, ProcedureStep } from './procedure';

export interface SkipCause {
  kind: 'dependency' | 'connector' | 'empty';
  step?: string;
}

/**
 * How a step moves before it runs, each move a compare-and-set in the store with its timeline
 * event: waiting → ready, awaiting_approval, skipped or failed; a retried step's dependents back
 * to waiting; and the incident's step list and contained status kept in line with its actions.
 */
export class Transitions extends Room {

  async ensureActionRows(incident: IncidentRecord): Promise<void> {
    const proc = this.procedureOf(incident);
    await this.store.ensureActions(
      proc.steps.map((s) => ({ id: actionIdOf(incident.id, s.id), incidentId: incident.id, stepId: s.id, name: s.action, status: 'waiting' as const, idempotencyKey: actionIdOf(incident.id, s.id), input: null })),
    );
  }


  async skip(a: ActionRecord, step: ProcedureStep, why: string, cause: SkipCause): Promise<ActionRecord | undefined> {
    return this.store.transitionAction(a.id, { from: ['waiting'], to: 'skipped' }, { error: `skipped: ${why}`, result: { skippedBecause: cause } }, [
      { source: 'engine', kind: 'step.skipped', summary: `${step.title}: skipped (${why})`, data: { step: step.id, cause } },
    ]);
  }

  private async failBeforeRun(a: ActionRecord, step: ProcedureStep, why: string): Promise<ActionRecord | undefined> {
    return this.store.transitionAction(a.id, { from: ['waiting'], to: 'failed' }, { error: why }, [
      { source: 'engine', kind: 'step.failed', summary: `${step.title}: failed (${why})`, data: { step: step.id } },
    ]);
  }

  /** A step whose needs all succeeded: resolve its inputs, then make it ready or ask for approval. */
  async prepare(
    incident: IncidentRecord,
    customer: CustomerConfig,
    step: ProcedureStep,
    a: ActionRecord,
    actions: ActionRecord[],
    alerts: () => Promise<AlertRecord[]> = () => this.store.listAlerts(incident.id),
  ): Promise<ActionRecord | undefined> {
    const def = this.registry.get(step.action);
    if (!def) return this.failBeforeRun(a, step, `action ${step.action} is not registered in this process`);
    const available = connectorAvailability(step.action, customer);
    if (!available.ok) return this.skip(a, step, available.reason, { kind: 'connector' });

    let input: Record<string, unknown>;
    try {
      const ctx = buildReferenceContext(incident, customer, await alerts(), actions);
      input = resolveInputs(step.with, ctx) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof UnresolvedReferenceError) return this.failBeforeRun(a, step, `input not available: ${e.message}`);
      throw e;
    }
    if (step.skipIfEmpty && Array.isArray(input[step.skipIfEmpty]) && (input[step.skipIfEmpty] as unknown[]).length === 0) {
      return this.skip(a, step, `nothing to act on: "${step.skipIfEmpty}" is empty`, { kind: 'empty' });
    }
    const parsed = def.input.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.failBeforeRun(a, step, `input does not fit ${step.action}: ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    }
    const jsonInput = toJson(input) as Record<string, unknown>;

    if (def.risk !== 'destructive') {
      return this.store.transitionAction(a.id, { from: ['waiting'], to: 'ready' }, { input: jsonInput, error: null }, [
        { source: 'engine', kind: 'step.ready', summary: `${step.title}: ready`, data: { step: step.id } },
      ]);
    }

    let preview: Preview;
    try {
      preview = def.preview ? await def.preview(parsed.data, this.actionContext(incident, customer, a, false)) : genericPreview(step, def);
    } catch (e) {
      const failures = Number((a.preview as { previewFailures?: number } | null)?.previewFailures ?? 0) + 1;
      const message = errorText(e);
      if (e instanceof ConnectorError && e.retryable && failures < this.retryPolicy.maxAttempts) {
        const notBefore = new Date(this.clock.now().getTime() + backoffMs(failures, this.retryPolicy)).toISOString();
        return this.store.transitionAction(a.id, { from: ['waiting'], to: 'waiting' }, { preview: { previewFailures: failures }, notBefore, error: message }, [
          { source: 'engine', kind: 'step.previewRetry', summary: `${step.title}: could not prepare the approval (${message}); trying again at ${formatUtc(notBefore)}` },
        ]);
      }
      return this.failBeforeRun(a, step, `could not prepare the approval: ${message}`);
    }

    if (preview.nothingToDo) {
      const summary = `nothing to do: ${preview.title}${preview.notChanged?.length ? ` (${preview.notChanged.map((n) => `${n.item}: ${n.reason}`).join('; ')})` : ''}`;
      return this.store.transitionAction(a.id, { from: ['waiting'], to: 'succeeded' }, { input: jsonInput, preview: toJson(preview) as Record<string, unknown>, result: { output: null, summary, nothingToDo: true } }, [
        { source: this.sourceOf(step.action), kind: 'step.succeeded', summary: `${step.title}: ${summary}`, data: { step: step.id, nothingToDo: true } },
      ]);
    }
    // Each request round gets its own approval (see ensureApproval); a retry starts a new round.
    const approvalRound = (await this.store.listApprovals({ incidentId: incident.id })).filter((x) => x.actionId === a.id).length;
    const moved = await this.store.transitionAction(a.id, { from: ['waiting'], to: 'awaiting_approval' }, { input: jsonInput, preview: { ...(toJson(preview) as Record<string, unknown>), approvalRound }, error: null, notBefore: null }, [
      { source: 'engine', kind: 'step.awaitingApproval', summary: `${step.title}: waiting for approval: ${preview.changes.join('; ') || preview.title}`, data: { step: step.id } },
    ]);
    if (!moved) return undefined;
    return (await this.rooms.approvals.ensureApproval(incident, customer, step, moved, true)) ?? moved;
  }

  /** Keeps incident.data.steps and the incident status in line with the actions. */
  async refreshIncident(incident: IncidentRecord, proc: Procedure, byStep: Map<string, ActionRecord>): Promise<boolean> {
    const steps: Record<string, { title: string; action: string; kind: StepKind; status: ActionStatus; summary: string | null; error: string | null }> = {};
    for (const s of proc.steps) {
      const a = byStep.get(s.id)!;
      // the kind lets the readers (CISO email, report) list what was contained apart from the look-ups
      const kind: StepKind = s.followUp ? 'followUp' : this.registry.get(s.action)?.risk === 'destructive' ? 'containment' : 'lookup';
      steps[s.id] = { title: s.title, action: s.action, kind, status: a.status, summary: typeof a.result?.summary === 'string' ? a.result.summary : null, error: a.error };
    }
    const stepsChanged = JSON.stringify(incident.data.steps) !== JSON.stringify(steps);
    // Follow-up steps (the CISO email) are approved like destructive ones but do not contain anything.
    const destructive = proc.steps.filter((s) => !s.followUp && this.registry.get(s.action)?.risk === 'destructive').map((s) => byStep.get(s.id)!);
    const contained =
      (incident.status === 'open' || incident.status === 'containing') &&
      destructive.length > 0 &&
      destructive.every((a) => ENDED_FOR_CONTAINMENT.has(a.status)) &&
      destructive.some((a) => a.status === 'succeeded');
    if (!stepsChanged && !contained) return false;
    // One transaction for the step list and the contained status (with its event) when both change.
    const parts = destructive.map((a) => `${a.stepId} ${a.status}`).join(', ');
    await this.store.updateIncident(
      incident.id,
      { ...(stepsChanged ? { data: { steps } } : {}), ...(contained ? { status: 'contained' as const } : {}) },
      contained ? [{ source: 'engine', kind: 'incident.contained', summary: `Contained: ${parts}` }] : [],
    );
    return true;
  }

  /** A retried step's dependents that were skipped because of it (directly or not) wait again. */
  async reviveDependents(incident: IncidentRecord, stepId: string): Promise<string[]> {
    const proc = this.procedureOf(incident);
    const revived: string[] = [];
    const reviving = new Set([stepId]);
    for (const s of topologicalOrder(proc)) {
      if (!s.needs.some((n) => reviving.has(n))) continue;
      const a = await this.store.getAction(actionIdOf(incident.id, s.id));
      if (a?.status !== 'skipped' || (a.result?.skippedBecause as SkipCause | undefined)?.kind !== 'dependency') continue;
      const moved = await this.store.transitionAction(a.id, { from: ['skipped'], to: 'waiting' }, { error: null, result: null }, [
        { source: 'engine', kind: 'step.waiting', summary: `${s.title}: waits again for ${stepId}` },
      ]);
      if (moved) {
        reviving.add(s.id);
        revived.push(s.id);
      }
    }
    return revived;
  }
}

const orderCache = new WeakMap<Procedure, ProcedureStep[]>();
/** Steps with every step after the ones it needs (stable: declaration order otherwise). */
export function topologicalOrder(proc: Procedure): ProcedureStep[] {
  const cached = orderCache.get(proc);
  if (cached) return cached;
  const out: ProcedureStep[] = [];
  const done = new Set<string>();
  const byId = new Map(proc.steps.map((s) => [s.id, s]));
  const visit = (s: ProcedureStep): void => {
    if (done.has(s.id)) return;
    done.add(s.id);
    for (const n of [...s.needs, ...s.after]) visit(byId.get(n)!);
    out.push(s);
  };
  proc.steps.forEach(visit);
  orderCache.set(proc, out);
  return out;
}

function genericPreview(step: ProcedureStep, def: ActionDef): Preview {
  return { title: step.title, facts: [], changes: [def.description], warnings: [] };
}
