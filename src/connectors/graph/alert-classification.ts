import { z } from 'zod';
import type { ActionDef, RawPayload } from '../types';
import { GraphSession, segment } from './graph-session';
import { addAlertComment, getAlert } from './defender';
import { mapBounded, STORM_CONCURRENCY } from '../storm/each-account';

/**
 * The release's follow-through (issue 14): the incident's Defender alerts (alerts_v2) are
 * classified as the approver chose on the release card, with a comment saying why. Graph:
 * PATCH /security/alerts_v2/{id} { classification, determination } and
 * POST /security/alerts_v2/{id}/comments (both SecurityAlert.ReadWrite.All). Each alert is read
 * first: one already classified so, or already carrying our comment (a retry after a crash), is
 * not written again. One alert that fails does not stop the others; the action fails at the end
 * naming it, so a retry re-reads and finishes only what is missing.
 */

const write = ['SecurityAlert.ReadWrite.All'];
/** The determination that goes with each classification (alertDetermination: notMalicious, confirmedActivity). */
export const DETERMINATION_FOR = { falsePositive: 'notMalicious', informationalExpectedActivity: 'confirmedActivity' } as const;

const alertId = z.string().regex(/^[A-Za-z0-9_\-:.]{1,128}$/, 'not a Defender alert id');
const input = z.object({
  // a storm incident has one alert per account (300 in a spray): its release classifies them all
  alertIds: z.array(alertId).min(1).max(5000),
  classification: z.enum(['falsePositive', 'informationalExpectedActivity']),
  comment: z.string().trim().min(1).max(1000),
}).strict();
type Input = z.infer<typeof input>;
interface Outcome { alertId: string; outcome: 'classified' | 'already classified' | 'failed'; commented: boolean; error?: string }

export const alertsClassify: ActionDef<Input, { alerts: Outcome[] }> = {
  name: 'alerts.classify',
  risk: 'change',
  description: 'Classify the Defender alerts (falsePositive or informationalExpectedActivity) with a comment',
  input,
  async run(i, ctx) {
    const s = new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now, tenants: ctx.ports?.graph });
    const determination = DETERMINATION_FOR[i.classification];
    const raw: RawPayload[] = [];
    // a few at a time (a storm's 300 alerts are 900 calls), in the order given
    const alerts = await mapBounded(i.alertIds, STORM_CONCURRENCY, async (id): Promise<Outcome> => {
      try {
        const before = await getAlert(s, id);
        raw.push(...before.raw);
        const done = before.alert.classification === i.classification && before.alert.determination === determination;
        if (!done) {
          const r = await s.call<Record<string, unknown>>('PATCH', `/v1.0/security/alerts_v2/${segment(id)}`, {
            source: 'graph.alertClassify', body: { classification: i.classification, determination },
            op: { does: 'classify the Defender alert', permissions: write, object: `alert ${id}` },
          });
          raw.push(...r.raw);
        }
        const comments = Array.isArray(before.alert.comments) ? (before.alert.comments as Array<{ comment?: unknown }>) : [];
        const commented = comments.some((c) => c.comment === i.comment);
        if (!commented) raw.push(...(await addAlertComment(s, id, i.comment)).raw);
        return { alertId: id, outcome: done ? 'already classified' : 'classified', commented: true };
      } catch (e) {
        return { alertId: id, outcome: 'failed', commented: false, error: (e as Error).message.slice(0, 300) };
      }
    }, ctx.signal);
    const failed = alerts.filter((a) => a.outcome === 'failed');
    if (failed.length) throw new Error(`${failed.map((f) => `${f.alertId}: ${f.error}`).join('; ')} (${alerts.length - failed.length} of ${alerts.length} classified)`);
    return {
      output: { alerts },
      raw,
      summary: `${alerts.length} Defender alert(s) classified ${i.classification} (${determination}) with a comment${alerts.some((a) => a.outcome === 'already classified') ? `; ${alerts.filter((a) => a.outcome === 'already classified').map((a) => a.alertId).join(', ')} already were` : ''}`,
    };
  },
};
