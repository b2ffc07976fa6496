/** One address on a customer's threat feed: listed by an incident, taken off the firewalls when it expires. */
export interface FeedEntry {
  customerId: string;
  ip: string;
  incidentId: string;
  addedAt: string;
  expiresAt: string;
  removedAt: string | null;
}
