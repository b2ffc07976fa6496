import { z } from 'zod';
import { InvalidInputError, parseIp } from '../../domain/net';
import { ConnectorError, type ActionDef } from '../types';

const entry = z.object({
  // the block step's output carries the customer id: it must be this context's customer
  customerId: z.string().max(64).optional(),
  ip: z.string().max(64),
  incidentId: z.string().min(1).max(64),
  addedAt: z.string().datetime(),
  expiresAt: z.string().datetime(),
});
export const listOnFeedInput = z.object({ entries: z.array(entry).max(100) });
export type ListOnFeedInput = z.infer<typeof listOnFeedInput>;
export interface ListOnFeedOutput { listed: number; ips: string[]; expiresAt: string | null }

/**
 * `threatFeed.list`: puts what the firewall block added on the customer's threat feed, with its
 * expiry (the firewall block itself never writes the feed). Runs after firewall.block with the
 * block's `feedEntries`; the entries are the expiry job's schedule for taking the blocks off again.
 */
export const listOnFeedAction: ActionDef<ListOnFeedInput, ListOnFeedOutput> = {
  name: 'threatFeed.list',
  risk: 'change',
  description: "Lists the blocked IPs on the customer's threat feed until their block expires.",
  input: listOnFeedInput,
  async run(input, ctx) {
    const parsed = listOnFeedInput.safeParse(input);
    if (!parsed.success) throw new InvalidInputError('entries', parsed.error.issues[0].message);
    const feed = ctx.ports?.threatFeed;
    if (!feed) throw new ConnectorError('no threat feed was given to this action', { source: 'threatFeed' });
    const entries = parsed.data.entries.map((e) => {
      if (e.customerId !== undefined && e.customerId !== ctx.customer.id) throw new InvalidInputError('entries.customerId', `an entry of customer ${JSON.stringify(e.customerId)} cannot go on ${ctx.customer.name}'s feed`);
      if (e.incidentId !== ctx.incidentId) throw new InvalidInputError('entries.incidentId', `an entry of ${JSON.stringify(e.incidentId)} cannot be listed by ${ctx.incidentId}`);
      if (Date.parse(e.expiresAt) <= Date.parse(e.addedAt)) throw new InvalidInputError('entries.expiresAt', 'expires before it was added');
      return { ip: parseIp(e.ip, 'entries.ip'), incidentId: e.incidentId, addedAt: e.addedAt, expiresAt: e.expiresAt };
    });
    // an address already listed keeps one entry (with the later expiry): a retry lists nothing twice
    const listed = entries.length ? await feed.add(entries) : 0;
    const ips = entries.map((e) => e.ip);
    const expiresAt = entries.map((e) => e.expiresAt).sort().at(-1) ?? null;
    return {
      output: { listed, ips, expiresAt },
      summary: ips.length ? `Listed ${ips.join(', ')} on ${ctx.customer.name}'s threat feed until ${expiresAt}` : 'Nothing to list on the threat feed',
      raw: [{
        source: 'threatFeed.list', contentType: 'application/json', collectedAt: ctx.now().toISOString(), recordCount: entries.length,
        body: Buffer.from(JSON.stringify(entries.map((e) => ({ customerId: ctx.customer.id, ...e })), null, 2)), note: 'entries put on the threat feed',
      }],
    };
  },
};

export const threatFeedActions: ActionDef[] = [listOnFeedAction as ActionDef];
