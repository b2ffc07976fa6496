import type { CustomerConfig } from '../../config/customers';
import { addAlertComment, getAlert, setAlertStatus } from '../graph/defender';
import { GraphSession } from '../graph/graph-session';
import type { AlertSource, AlertSourceDeps } from './alert-source';

/** Defender XDR alerts (Graph alerts_v2) in the customer's own tenant. */
export class DefenderAlertSource implements AlertSource {
  readonly kind = 'defender';
  private readonly graph: GraphSession;

  constructor(customer: CustomerConfig, deps: AlertSourceDeps, graph?: GraphSession) {
    this.graph = graph ?? new GraphSession(customer, deps.secrets, { signal: deps.signal, now: deps.now, tenants: deps.graphTenants });
  }

  get(alertId: string) {
    return getAlert(this.graph, alertId);
  }

  comment(alertId: string, text: string) {
    return addAlertComment(this.graph, alertId, text);
  }

  async resolve(alertId: string) {
    const r = await setAlertStatus(this.graph, alertId, { status: 'resolved' });
    return { raw: r.raw };
  }
}
