import type { ReportSource } from '../connectors/types';
import type { Store } from '../store/store';
import { latestReport, reportFileName } from './report';

/** The latest stored forensic report of an incident, as actions read it through their context. */
export function storedReports(store: Pick<Store, 'listEvidence' | 'getEvidenceBody'>): ReportSource {
  return {
    async latest(incidentId) {
      const ev = await latestReport(store as Store, incidentId);
      if (!ev) return undefined;
      return { name: reportFileName(incidentId), bytes: await store.getEvidenceBody(ev.id), sha256: ev.sha256, evidenceId: ev.id };
    },
  };
}
