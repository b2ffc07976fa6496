import type { ActionStatus, ActionRecord } from '../store/store';
import { actionIdOf } from '../domain/incident-id';
import { Room, toJson } from './engine-core';

/** An action run for an incident outside its procedure (see AdHocActions.run). */
export interface AdHocRequest { stepId: string; action: string; input: Record<string, unknown>; title: string }
export interface AdHocOutcome { status: ActionStatus; output: unknown; summary: string | null; error: string | null }

/** The title an ad-hoc row carries in its preview, or undefined for a procedure step's row. */
export function adHocTitle(a: ActionRecord): string | undefined {
  const p = a.preview as { adHoc?: unknown; title?: unknown } | null;
  return p?.adHoc === true && typeof p.title === 'string' ? p.title : undefined;
}

/**
 * Side effects outside a procedure step (the feed expiry's unblock, the alert resolution on close)
 * still get an action row, their evidence and their timeline: the row `<incident>:<stepId>` is
 * created once (the same stepId is the same action: exactly once, as for procedure steps), claimed
 * with a lease and run here. A row that already succeeded is not run again; a failed one is run
 * again (its action re-reads the target first). Ad-hoc actions are never put to an approval: the
 * caller is the decision (an approver's close, the expiry of an approved block). Bad input throws
 * and changes nothing.
 */
export class AdHocActions extends Room {
  async run(incidentId: string, req: AdHocRequest): Promise<AdHocOutcome> {
    const incident = await this.store.getIncident(incidentId);
    if (!incident) throw new Error(`incident ${incidentId} does not exist`);
    const def = this.registry.get(req.action);
    if (!def) throw new Error(`action ${req.action} is not registered in this process`);
    if (!/^[a-z][a-z0-9-]*(\/[A-Za-z0-9.:@_-]+)*$/.test(req.stepId) || req.stepId.length > 200) throw new Error(`"${req.stepId.slice(0, 60)}" is not an ad-hoc step id`);
    const proc = incident.procedure ? this.deps.procedures.get(incident.procedure) : undefined;
    if (proc?.steps.some((s) => s.id === req.stepId)) throw new Error(`${req.stepId} is a step of ${incident.procedure}, not an ad-hoc action`);
    const parsed = def.input.safeParse(req.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`input does not fit ${req.action}: ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    }
    const id = actionIdOf(incident.id, req.stepId);
    await this.store.ensureActions([{ id, incidentId: incident.id, stepId: req.stepId, name: req.action, status: 'waiting', idempotencyKey: id, input: toJson(req.input) as Record<string, unknown> }]);
    let a = (await this.store.getAction(id))!;
    if (a.name !== req.action) throw new Error(`${id} is already an action ${a.name}, not ${req.action}`);
    if (a.status === 'waiting' || a.status === 'failed') {
      a = (await this.store.transitionAction(
        id,
        { from: [a.status], to: 'ready' },
        { preview: { adHoc: true, title: req.title.slice(0, 200) }, error: null, notBefore: null, ...(a.status === 'failed' ? { result: { retriedAfterAttempts: a.attempts } } : {}) },
        [{ source: 'engine', kind: 'step.ready', summary: `${req.title.slice(0, 200)}: ready`, data: { step: req.stepId, adHoc: true } }],
      )) ?? (await this.store.getAction(id))!;
    }
    if (a.status === 'ready') {
      // Claims this incident's runnable actions until ours (an earlier one runs as it would anyway).
      await this.rooms.scheduler.claimAndRunUntil(incident, id);
      a = (await this.store.getAction(id))!;
    }
    return { status: a.status, output: a.result?.output ?? null, summary: typeof a.result?.summary === 'string' ? a.result.summary : null, error: a.error };
  }
}
