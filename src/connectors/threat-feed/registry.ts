import type { CustomerConfig } from '../../config/customers';
import { ServedThreatFeed, type ThreatFeed, type ThreatFeedDeps, type ThreatFeedFactory } from './threat-feed';

/**
 * One line per kind of feed. Every customer has the served feed today: its entries are also the
 * schedule on which blocks leave the firewalls, whether or not the customer's devices pull the list.
 */
export const threatFeeds: Record<'served', ThreatFeedFactory> = {
  served: (customer, deps) => new ServedThreatFeed(customer, deps),
};

export function createThreatFeed(customer: CustomerConfig, deps: ThreatFeedDeps, registry: Record<string, ThreatFeedFactory> = threatFeeds): ThreatFeed {
  return registry.served(customer, deps);
}
