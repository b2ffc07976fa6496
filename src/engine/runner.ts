import { ConnectorError, type ActionDef, type RawPayload } from '../connectors/types';
import { formatUtc } from '../domain/approval-policy';
import type { ActionRecord, IncidentRecord } from '../store/store';
import { backoffMs } from './backoff';
import { errorText, Room, toJson } from './engine-core';
import { readResultPath } from './input-references';
import { recordPayloads } from './record-payloads';
import { adHocTitle } from './ad-hoc';
import type { ProcedureStep } from './procedure';

/**
 * Runs one claimed action: the intent on the timeline, the call under a renewed lease, the raw
 * payloads kept as evidence, the result (or a retry with back-off, or the failure) recorded, and
 * the step's findings written to the incident.
 */
export class Runner extends Room {

  /** `known`: the incident as the scheduling pass that claimed the action has just read it. */
  async runClaimed(a: ActionRecord, known?: IncidentRecord): Promise<void> {
    const incident = known?.id === a.incidentId ? known : await this.store.getIncident(a.incidentId);
    if (!incident) return;
    // an ad-hoc row needs no procedure (the incident's may be closed and its file retired)
    const adHoc = adHocTitle(a);
    const step = adHoc ? undefined : this.procedureOf(incident).steps.find((s) => s.id === a.stepId);
    const def = this.registry.get(a.name);
    const title = step?.title ?? adHoc ?? a.stepId;
    const own = { leaseOwner: this.workerId };
    if (!def || (!step && !adHoc)) {
      await this.store.transitionAction(a.id, { from: ['running'], to: 'failed', ...own }, { error: `action ${a.name} is not registered in this process` }, [
        { source: 'engine', kind: 'step.failed', summary: `${title}: failed (action ${a.name} is not registered)` },
      ]);
      return;
    }
    const customer = this.customerOf(incident);
    const roundAttempts = a.attempts - Number((a.result as { retriedAfterAttempts?: number } | null)?.retriedAfterAttempts ?? 0);
    // Any earlier attempt (a crashed worker, a timeout) may have reached the target.
    const mayHaveRun = a.attempts > 1;
    await this.store.appendTimeline(incident.id, [
      {
        source: 'engine',
        kind: 'step.started',
        summary: `${title}: calling ${a.name}${mayHaveRun ? ` (attempt ${a.attempts}; an earlier attempt may have reached the target, so the action re-reads its state first)` : ''}`,
        data: { step: a.stepId, attempt: a.attempts, worker: this.workerId },
      },
    ]);

    const abort = new AbortController();
    const renew = setInterval(() => {
      this.store.renewLease(a.id, this.workerId, this.core.leaseMs, this.clock.now()).then(
        (ok) => {
          if (!ok) {
            this.log.warn({ actionId: a.id }, 'lost the lease on a running action; another worker may take it over');
            abort.abort(new Error('lease lost'));
          }
        },
        (err) => this.log.warn({ err, actionId: a.id }, 'could not renew the lease'),
      );
    }, Math.max(50, Math.floor(this.core.leaseMs / 3)));
    renew.unref?.();

    let result: { output: unknown; summary: string; raw: RawPayload[] };
    try {
      const input = def.input.parse(a.input ?? {});
      result = await def.run(input, {
        ...this.actionContext(incident, customer, a, mayHaveRun), intentAt: await this.intentAt(a, def), signal: abort.signal,
        wait: (ms) => this.rooms.scheduler.waitOutsideSlot(ms, abort.signal),
      });
    } catch (e) {
      clearInterval(renew);
      await this.recordFailure(incident, a, title, e, roundAttempts);
      return;
    }
    clearInterval(renew);

    const { evidenceIds, evidenceErrors } = await recordPayloads(this.store, { incidentId: incident.id, actionId: a.id }, result.raw ?? [], this.log);
    const output = toJson(result.output ?? null);
    const summary = String(result.summary ?? '').slice(0, 1000);
    const moved = await this.store.transitionAction(
      a.id,
      { from: ['running'], to: 'succeeded', ...own },
      { result: { output, summary, evidenceIds, ...(evidenceErrors.length ? { evidenceErrors } : {}) }, error: null, notBefore: null },
      [
        {
          source: this.sourceOf(a.name),
          kind: 'step.succeeded',
          summary: `${title}: ${summary}`,
          sourceTime: sourceTimeOf(result.output, result.raw ?? []),
          data: { step: a.stepId, evidenceIds, ...(evidenceErrors.length ? { evidenceErrors } : {}) },
        },
      ],
    );
    if (!moved) {
      this.log.warn({ actionId: a.id }, 'finished an action whose lease another worker had taken; its result is that worker\'s to record');
      return;
    }
    if (step) await this.recordFindings(incident, step, { output, summary });
    this.notify((n) => n.stepEvidence(incident.id, a.stepId, summary));
    this.notify((n) => n.incidentChanged(incident.id));
  }

  private async recordFailure(incident: IncidentRecord, a: ActionRecord, title: string, e: unknown, roundAttempts: number): Promise<void> {
    const message = errorText(e);
    const own = { leaseOwner: this.workerId };
    if (e instanceof ConnectorError && e.retryable && roundAttempts < this.retryPolicy.maxAttempts) {
      const notBefore = new Date(this.clock.now().getTime() + backoffMs(roundAttempts, this.retryPolicy)).toISOString();
      await this.store.transitionAction(a.id, { from: ['running'], to: 'ready', ...own }, { error: message, notBefore }, [
        { source: this.sourceOf(a.name), kind: 'step.retrying', summary: `${title}: ${message}; trying again after ${formatUtc(notBefore)} (attempt ${roundAttempts} of ${this.retryPolicy.maxAttempts})`, data: { step: a.stepId, attempt: a.attempts } },
      ]);
    } else {
      await this.store.transitionAction(a.id, { from: ['running'], to: 'failed', ...own }, { error: message, notBefore: null }, [
        { source: this.sourceOf(a.name), kind: 'step.failed', summary: `${title}: failed: ${message}`, data: { step: a.stepId, attempt: a.attempts, retryable: true } },
      ]);
    }
    this.notify((n) => n.incidentChanged(incident.id));
  }

  /** The step's `record:` mapping into incident.data (subjectObjectId goes to the incident itself). */
  private async recordFindings(incident: IncidentRecord, step: ProcedureStep, result: { output: unknown; summary: string }): Promise<void> {
    const data: Record<string, unknown> = {};
    let subjectObjectId: string | undefined;
    for (const [key, path] of Object.entries(step.record)) {
      const v = readResultPath(path, result);
      if (v === undefined) continue;
      if (key === 'subjectObjectId') {
        if (typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v) && !incident.subjectObjectId) subjectObjectId = v.toLowerCase();
        continue;
      }
      if (key === 'subjectIdentifiers') {
        // the store's correlation keys: a later alert naming the account by any of them joins this incident
        const keys = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && /^(upn|oid|sid|sam):/.test(x) && x.length <= 400) : [];
        if (keys.length) await this.store.addSubjectIdentifiers(incident.id, keys);
      }
      data[key] = v;
    }
    if (Object.keys(data).length === 0 && !subjectObjectId) return;
    await this.store.updateIncident(incident.id, { data, ...(subjectObjectId ? { subjectObjectId } : {}) });
  }

  /**
   * The earliest moment the action could have reached its target: when its approval was granted
   * (a destructive step cannot run before), else when the step was created. A connector that
   * re-checks after a crash treats a change after this time as its own earlier attempt.
   */
  private async intentAt(a: ActionRecord, def: ActionDef): Promise<Date> {
    // Only destructive actions are ever put to an approval (see prepare): no need to look for one.
    if (def.risk !== 'destructive') return new Date(a.createdAt);
    const approved = (await this.store.listApprovals({ incidentId: a.incidentId, status: 'approved' })).filter((p) => p.actionId === a.id && p.decidedAt);
    const at = approved.map((p) => p.decidedAt!).sort().at(-1) ?? a.createdAt;
    return new Date(at);
  }
}

function sourceTimeOf(output: unknown, raw: RawPayload[]): string | null {
  const t = (output as { sourceTime?: unknown } | null)?.sourceTime;
  if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return t;
  const ends = raw.map((r) => r.rangeTo).filter((x): x is string => typeof x === 'string').sort();
  return ends.length ? ends[ends.length - 1] : null;
}
