/** One address on a customer's threat feed: listed by an incident, taken off the firewalls when it expires. */
export interface FeedEntry {
  customerId: string;
  ip: string;
  incidentId: string;
  addedAt: string;
  expiresAt: string;
  removedAt: string | null;
}

/**
 * Who takes a feed entry off the devices, decided by one conditional update in the store: the
 * expiry job (`expiry`) or a release (`release:<incident>`), never both.
 *   claimed        this claimant takes it off (also when it had claimed it before: a retry);
 *   claimedByOther the other one is taking or took it off (`by`): leave the devices alone;
 *   removed        already off the feed (expired and removed before any claim): not re-removed;
 *   notListed      the customer's feed never listed the IP.
 */
export type FeedUnblockClaim =
  | { outcome: 'claimed'; entry: FeedEntry }
  | { outcome: 'claimedByOther'; entry: FeedEntry; by: string }
  | { outcome: 'removed'; entry: FeedEntry }
  | { outcome: 'notListed' };

export const EXPIRY_CLAIM = 'expiry';
export const releaseClaim = (incidentId: string) => `release:${incidentId}`;
