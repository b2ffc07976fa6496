import { actionList } from '../types';
import { z } from 'zod';
import type { ActionDef, RawPayload } from '../types';
import type { AlertSourceFactory } from './alert-source';
import { alertSources, createAlertSource } from './registry';

export const resolveAlertsInput = z.object({ alertIds: z.array(z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'not an alert id')).min(1).max(50) });
export type ResolveAlertsInput = z.infer<typeof resolveAlertsInput>;
export interface ResolveAlertsOutput { resolved: string[]; failed: Array<{ alertId: string; error: string }> }

/**
 * `alerts.resolve`: sets the incident's alerts to resolved at their source (run by the engine when
 * an approver closes the incident). An alert that cannot be resolved is reported, not retried: the
 * incident is closed already, someone resolves it by hand.
 */
export function createAlertSourceActions(deps: { sources?: Record<string, AlertSourceFactory> } = {}): ActionDef[] {
  const resolve: ActionDef<ResolveAlertsInput, ResolveAlertsOutput> = {
    name: 'alerts.resolve',
    risk: 'change',
    description: "Sets the incident's alerts to resolved where they came from (Defender XDR).",
    input: resolveAlertsInput,
    async run(input, ctx) {
      const { alertIds } = resolveAlertsInput.parse(input);
      const source = createAlertSource(ctx.customer, { secrets: ctx.secrets, signal: ctx.signal, now: () => ctx.now(), graphTenants: ctx.ports?.graph }, deps.sources ?? alertSources);
      const raw: RawPayload[] = [];
      const resolved: string[] = [];
      const failed: ResolveAlertsOutput['failed'] = [];
      for (const alertId of alertIds) {
        try {
          raw.push(...(await source.resolve(alertId)).raw);
          resolved.push(alertId);
        } catch (e) {
          raw.push(...((e as { opts?: { raw?: RawPayload[] } }).opts?.raw ?? []));
          failed.push({ alertId, error: (e as Error).message.split('\n')[0].slice(0, 300) });
        }
      }
      const summary = failed.length === 0
        ? `${resolved.length} alert(s) set to resolved: ${resolved.join(', ')}`
        : `${resolved.length} of ${alertIds.length} alert(s) resolved; NOT resolved: ${failed.map((f) => `${f.alertId} (${f.error})`).join('; ')}`;
      return { output: { resolved, failed }, summary, raw };
    },
  };
  return actionList(resolve);
}

export const alertSourceActions: ActionDef[] = createAlertSourceActions();
