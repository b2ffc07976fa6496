import type { RawPayload } from '../connectors/types';
import type { Logger } from '../log';
import type { Store } from '../store/store';

/**
 * The one mapping from an action's raw payloads to evidence rows, each tied to the action that
 * collected it. A payload that cannot be kept is named in `evidenceErrors`: the call has happened,
 * so its result is recorded anyway.
 */
export async function recordPayloads(
  store: Pick<Store, 'putEvidence'>, at: { incidentId: string; actionId: string }, raw: readonly RawPayload[], log: Logger,
): Promise<{ evidenceIds: number[]; evidenceErrors: string[] }> {
  const evidenceIds: number[] = [];
  const evidenceErrors: string[] = [];
  for (const p of raw) {
    try {
      const ev = await store.putEvidence({
        incidentId: at.incidentId,
        actionId: at.actionId,
        source: p.source,
        contentType: p.contentType,
        collectedAt: p.collectedAt,
        rangeFrom: p.rangeFrom ?? null,
        rangeTo: p.rangeTo ?? null,
        recordCount: p.recordCount ?? null,
        note: p.note ?? null,
        body: p.body,
      });
      evidenceIds.push(ev.id);
    } catch (err) {
      log.error({ err, actionId: at.actionId, source: p.source }, 'could not store a raw payload');
      evidenceErrors.push(`${p.source}: ${err instanceof Error ? err.message.slice(0, 500) || err.name : String(err).slice(0, 500)}`);
    }
  }
  return { evidenceIds, evidenceErrors };
}
