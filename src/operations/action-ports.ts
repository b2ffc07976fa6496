import type { CustomerConfig } from '../config/customers';
import { createThreatFeed } from '../connectors/threat-feed/registry';
import type { ActionPorts, BlockHolds, CrashPause } from '../connectors/types';
import { storedReports } from '../evidence/stored-reports';
import type { Store } from '../store/store';
import type { GraphTenants } from '../connectors/graph/graph-tenants';

/**
 * The ports an action's context carries, per customer: the store stays behind them, so no
 * connector imports it. The composition root and the test harnesses give this to the engine.
 */
export function actionPorts(store: Store, opts: { crashPause?: CrashPause; graph?: GraphTenants } = {}): (customer: CustomerConfig) => ActionPorts {
  const reports = storedReports(store);
  const crashPause = opts.crashPause ? { crashPause: opts.crashPause } : {};
  return (customer) => ({ threatFeed: createThreatFeed(customer, { entries: store }), reports, blockHolds: storedBlockHolds(store, customer.id), graph: opts.graph, ...crashPause });
}

/** The customer's block holds, kept in the store (migration 0006). */
export function storedBlockHolds(store: Pick<Store, 'holdBlocks' | 'releaseBlockHolds' | 'blockHolders'>, customerId: string): BlockHolds {
  return {
    customerId,
    async hold(incidentId, ips, at) { await store.holdBlocks(customerId, incidentId, ips, at); },
    release: (incidentId, ips, at) => store.releaseBlockHolds(customerId, incidentId, ips, at),
    holders: (ip, exceptIncidentId) => store.blockHolders(customerId, ip, exceptIncidentId),
  };
}
