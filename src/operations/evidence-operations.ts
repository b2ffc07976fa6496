import type { Store } from '../store/store';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { Engine } from '../engine/engine';
import type { Logger } from '../log';
import type { EvidenceOperations } from './bot-operations';
import { ROLE_UNCONFIRMED } from '../bot/refusal-text';
import { storeReport } from '../evidence/report';
import { verifyIncident, describeVerification } from '../evidence/verify';
import { closeIncident } from '../evidence/close-incident';
import { buildHandoff, type HandoffData } from '../evidence/handoff';
import { currentShift, type ShiftsConfig } from '../config/shifts';

export interface ThreadPoster {
  replyInThread(incidentId: string, markdown: string): Promise<void>;
  incidentChanged(incidentId: string): Promise<void> | void;
  postHandoff(handoff: HandoffData): Promise<void>;
}

/**
 * `@ir report | verify | close | handoff`: the evidence service's work, posted through the bot.
 * Closing is for the customer's approvers (it resolves the Defender alert); the others are reads.
 */
export function createEvidenceOperations(deps: {
  store: Store;
  engine: Engine;
  customers: (id: string) => CustomerConfig | undefined;
  secrets: SecretStore;
  poster: () => ThreadPoster;
  reportUrl: (incidentId: string) => string;
  shifts?: ShiftsConfig;
  log: Logger;
}): EvidenceOperations {
  const known = async (id: string) => !!(await deps.store.getIncident(id));
  return {
    report: async (incidentId) => {
      if (!(await known(incidentId))) return { ok: false, reason: `no incident ${incidentId}` };
      const r = await storeReport(deps.store, incidentId, { customers: deps.customers, now: new Date() });
      await deps.store.appendTimeline(incidentId, [{ source: 'evidence', kind: 'report.generated', summary: `Forensic report regenerated on request: ${r.name} (SHA-256 ${r.evidence.sha256.slice(0, 16)}…)` }]);
      await deps.poster().replyInThread(incidentId, `**Forensic report** ${r.name}: ${r.summary}\n\nDownload (signed link, 7 days): ${deps.reportUrl(incidentId)}\n\nSHA-256 \`${r.evidence.sha256}\``);
      void deps.poster().incidentChanged(incidentId);
      return { ok: true, message: `Report for ${incidentId} regenerated and posted in its thread` };
    },
    verify: async (incidentId) => {
      if (!(await known(incidentId))) return { ok: false, reason: `no incident ${incidentId}` };
      const r = await verifyIncident(deps.store, incidentId);
      const lines = describeVerification(r);
      return r.ok ? { ok: true, message: lines.join('\n\n') } : { ok: false, reason: lines.join('\n\n') };
    },
    close: async (incidentId, reason, by) => {
      const allowed = await deps.engine.authorize(incidentId, by, 'close');
      if (!allowed.ok) return { ok: false, reason: allowed.code === 'role-unconfirmed' ? ROLE_UNCONFIRMED : allowed.reason };
      const r = await closeIncident(deps.store, incidentId, reason, by, { customers: deps.customers, runAdHoc: (id, req) => deps.engine.runAdHoc(id, req) });
      if (r.alreadyClosed) return { ok: false, reason: `${incidentId} is already closed` };
      await deps.poster().replyInThread(incidentId, r.summary).catch((e) => deps.log.warn({ err: e }, 'close summary not posted'));
      void deps.poster().incidentChanged(incidentId);
      return { ok: true, message: `Closed ${incidentId}${r.alertsFailed.length ? ` (Defender alert update failed for ${r.alertsFailed.map((a) => a.alertId).join(', ')}: see the timeline)` : ''}` };
    },
    handoff: async () => {
      if (!deps.shifts) return { ok: false, reason: 'no shifts are configured (SHIFTS_FILE): see docs/configuration.md' };
      const now = new Date();
      const data = await buildHandoff(deps.store, now, currentShift(now, deps.shifts), { config: deps.shifts, customers: deps.customers, late: null, links: { report: deps.reportUrl } });
      await deps.poster().postHandoff(data);
      return { ok: true, message: `Handoff posted: ${data.summary}` };
    },
  };
}
