import type { CustomerConfig } from '../../config/customers';
import type { FeedEntry } from '../../domain/feed-entry';
import type { Logger } from '../../log';
import type { FeedEntries } from './threat-feed';

import type { RunAdHoc } from '../types';
export type { RunAdHoc };

export interface FeedExpiryDeps {
  feed: Pick<FeedEntries, 'listExpiredFeed'>;
  customer(id: string): CustomerConfig | undefined;
  runAdHoc: RunAdHoc;
  log?: Logger;
}

export interface FeedExpiryOutcome {
  removed: Array<{ customerId: string; ip: string }>;
  failed: Array<{ customerId: string; incidentId?: string; ip?: string; error: string }>;
}

/** The ad-hoc step of one expired entry: the same entry is the same action row (run once). */
export function expiryStepId(e: Pick<FeedEntry, 'ip' | 'expiresAt'>): string {
  return `unblock-expired/${e.ip}@${e.expiresAt}`;
}

/**
 * Rolls back blocks whose week has ended. The job decides only WHAT has expired: for each expired
 * entry it asks the engine to run `firewall.unblockExpired` under the incident that listed it, so
 * the rollback has an action row (exactly once per entry), its CLI transcripts as evidence and its
 * line on the incident's timeline. An entry whose unblock fails stays listed and expired, so the
 * next run tries again (the failed row is run again).
 */
export class FeedExpiryJob {
  constructor(private readonly deps: FeedExpiryDeps) {}

  async runOnce(now: Date): Promise<FeedExpiryOutcome> {
    const outcome: FeedExpiryOutcome = { removed: [], failed: [] };
    for (const e of await this.deps.feed.listExpiredFeed(now)) {
      if (!this.deps.customer(e.customerId)) {
        outcome.failed.push({ customerId: e.customerId, incidentId: e.incidentId, ip: e.ip, error: `customer ${e.customerId} is no longer configured: the expired block of ${e.ip} must be removed by hand` });
        continue;
      }
      try {
        const r = await this.deps.runAdHoc(e.incidentId, {
          stepId: expiryStepId(e),
          action: 'firewall.unblockExpired',
          input: { ip: e.ip, expiresAt: e.expiresAt },
          title: `Expired block of ${e.ip}`,
        });
        if (r.status === 'succeeded') outcome.removed.push({ customerId: e.customerId, ip: e.ip });
        else outcome.failed.push({ customerId: e.customerId, incidentId: e.incidentId, ip: e.ip, error: r.error ?? `the unblock is ${r.status}` });
      } catch (err) {
        outcome.failed.push({ customerId: e.customerId, incidentId: e.incidentId, ip: e.ip, error: (err as Error).message });
      }
    }
    for (const f of outcome.failed) this.deps.log?.warn({ customerId: f.customerId, incidentId: f.incidentId, ip: f.ip, err: f.error }, 'feed expiry: unblock not done, will retry');
    return outcome;
  }
}
