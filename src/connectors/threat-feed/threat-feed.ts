import type { CustomerConfig } from '../../config/customers';
import type { FeedEntry, FeedUnblockClaim } from '../../domain/feed-entry';

/**
 * One customer's threat feed: the addresses its firewalls pull as a block list, each with the
 * incident that listed it and when it expires (the expiry job takes it off the devices then).
 * Actions reach it through their context (`ctx.ports.threatFeed`), never through the store.
 */
export interface ThreatFeed {
  readonly customerId: string;
  /** lists the addresses; an address already listed keeps one entry, with the later expiry */
  add(entries: Array<Omit<FeedEntry, 'customerId' | 'removedAt'>>): Promise<number>;
  /** what the feed serves at `now` (not removed, not expired) */
  listed(now: Date): Promise<FeedEntry[]>;
  /** the address is off the devices: the feed stops listing it */
  markRemoved(ip: string, now: Date): Promise<void>;
  /** claims the entry for taking it off the devices: the expiry job and a release never both do (FeedUnblockClaim) */
  claimUnblock(ip: string, claimant: string, now: Date): Promise<FeedUnblockClaim>;
  /** marks the entry removed unless another claimant has it; false when nothing was marked */
  markRemovedBy(ip: string, claimant: string, now: Date): Promise<boolean>;
}

/** Where feed entries are kept (the store satisfies this; the connector does not import it). */
export interface FeedEntries {
  addFeedEntries(entries: Array<Omit<FeedEntry, 'removedAt'>>): Promise<number>;
  listFeed(customerId: string, now: Date): Promise<FeedEntry[]>;
  listExpiredFeed(now: Date): Promise<FeedEntry[]>;
  markFeedRemoved(customerId: string, ip: string, now: Date): Promise<void>;
  claimFeedUnblock(customerId: string, ip: string, claimant: string, now: Date): Promise<FeedUnblockClaim>;
  markFeedRemovedBy(customerId: string, ip: string, claimant: string, now: Date): Promise<boolean>;
}

export interface ThreatFeedDeps { entries: FeedEntries }
export type ThreatFeedFactory = (customer: CustomerConfig, deps: ThreatFeedDeps) => ThreatFeed;

/** The bot's own feed, served at /feeds/<customer>/blocklist.txt from the kept entries. */
export class ServedThreatFeed implements ThreatFeed {
  readonly customerId: string;
  constructor(customer: CustomerConfig, private readonly deps: ThreatFeedDeps) {
    this.customerId = customer.id;
  }

  add(entries: Array<Omit<FeedEntry, 'customerId' | 'removedAt'>>): Promise<number> {
    return this.deps.entries.addFeedEntries(entries.map((e) => ({ ...e, customerId: this.customerId })));
  }

  listed(now: Date): Promise<FeedEntry[]> {
    return this.deps.entries.listFeed(this.customerId, now);
  }

  markRemoved(ip: string, now: Date): Promise<void> {
    return this.deps.entries.markFeedRemoved(this.customerId, ip, now);
  }

  claimUnblock(ip: string, claimant: string, now: Date): Promise<FeedUnblockClaim> {
    return this.deps.entries.claimFeedUnblock(this.customerId, ip, claimant, now);
  }

  markRemovedBy(ip: string, claimant: string, now: Date): Promise<boolean> {
    return this.deps.entries.markFeedRemovedBy(this.customerId, ip, claimant, now);
  }
}
