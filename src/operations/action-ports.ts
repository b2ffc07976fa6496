import type { CustomerConfig } from '../config/customers';
import { createThreatFeed } from '../connectors/threat-feed/registry';
import type { ActionPorts } from '../connectors/types';
import { storedReports } from '../evidence/stored-reports';
import type { Store } from '../store/store';
import type { GraphTenants } from '../connectors/graph/graph-tenants';

/**
 * The ports an action's context carries, per customer: the store stays behind them, so no
 * connector imports it. The composition root and the test harnesses give this to the engine.
 */
export function actionPorts(store: Store, shared: { graph?: GraphTenants } = {}): (customer: CustomerConfig) => ActionPorts {
  const reports = storedReports(store);
  return (customer) => ({ threatFeed: createThreatFeed(customer, { entries: store }), reports, graph: shared.graph });
}
