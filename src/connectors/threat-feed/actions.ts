import { z } from 'zod';
import { InvalidInputError, parseIp } from '../../domain/net';
import { releaseClaim, EXPIRY_CLAIM } from '../../domain/feed-entry';
import { actionList, ConnectorError, type ActionContext, type ActionDef, type Preview } from '../types';

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
  inverse: {
    action: 'threatFeed.unlist',
    input: (fwdIn, fwdOut) => {
      const out = fwdOut as Partial<ListOnFeedOutput> | undefined;
      const ips = out?.ips ?? ((fwdIn as Partial<ListOnFeedInput> | undefined)?.entries ?? []).map((e) => e.ip);
      return { ips };
    },
  },
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

export const unlistInput = z.object({ ips: z.array(z.string().max(64)).max(100) });
export type UnlistInput = z.infer<typeof unlistInput>;
export interface UnlistOutput {
  unlisted: string[];
  /** another open incident holds it: still served */
  stillListed: Array<{ ip: string; heldBy: string[] }>;
  /** not taken off by this release, and why (expired and removed, the expiry job has it, never listed) */
  notChanged: Array<{ ip: string; reason: string }>;
}

function unlistPorts(ctx: ActionContext) {
  const feed = ctx.ports?.threatFeed;
  if (!feed) throw new ConnectorError('no threat feed was given to this action', { source: 'threatFeed' });
  const holds = ctx.ports?.blockHolds;
  if (!holds) throw new ConnectorError('no block holds were given to this action: whether another incident still lists the IPs cannot be told, so nothing is unlisted', { source: 'threatFeed' });
  return { feed, holds };
}

function parseUnlist(input: unknown): string[] {
  const parsed = unlistInput.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(parsed.error.issues[0].path.join('.') || 'ips', parsed.error.issues[0].message);
  return [...new Set(parsed.data.ips.map((ip) => parseIp(ip, 'ips') as string))];
}

/**
 * `threatFeed.unlist`: a release's undo of threatFeed.list. Takes the incident's IPs off the
 * customer's feed unless another open incident holds them; an entry already expired and removed is
 * not removed again, and one the expiry job has claimed is left to it (one conditional update in
 * the store decides, so the two never both unblock).
 */
export const unlistFromFeedAction: ActionDef<UnlistInput, UnlistOutput> = {
  name: 'threatFeed.unlist',
  risk: 'change',
  description: "Takes the incident's IPs off the customer's threat feed, unless another open incident still holds them.",
  input: unlistInput,
  async preview(input, ctx): Promise<Preview> {
    const ips = parseUnlist(input);
    const { feed, holds } = unlistPorts(ctx);
    const listed = new Map((await feed.listed(ctx.now())).map((e) => [e.ip, e]));
    const changes: string[] = [];
    const notChanged: Array<{ item: string; reason: string }> = [];
    for (const ip of ips) {
      const others = await holds.holders(ip, ctx.incidentId);
      if (others.length) notChanged.push({ item: ip, reason: `still blocked for ${others.join(', ')}` });
      else if (listed.has(ip)) changes.push(`Take ${ip} off ${ctx.customer.name}'s threat feed (listed until ${listed.get(ip)!.expiresAt})`);
      else notChanged.push({ item: ip, reason: 'not on the feed now (expired or removed)' });
    }
    return {
      title: `Take ${changes.length} IP(s) off ${ctx.customer.name}'s threat feed`,
      facts: [{ label: 'IPs', value: ips.join(', ') || 'none' }], changes, notChanged, warnings: [], nothingToDo: changes.length === 0,
    };
  },
  async run(input, ctx) {
    const ips = parseUnlist(input);
    const { feed, holds } = unlistPorts(ctx);
    const now = ctx.now();
    const claimant = releaseClaim(ctx.incidentId);
    const out: UnlistOutput = { unlisted: [], stillListed: [], notChanged: [] };
    const claims: unknown[] = [];
    for (const ip of ips) {
      const heldBy = await holds.holders(ip, ctx.incidentId);
      if (heldBy.length) { out.stillListed.push({ ip, heldBy }); continue; }
      const claim = await feed.claimUnblock(ip, claimant, now);
      claims.push({ ip, ...claim });
      if (claim.outcome === 'notListed') out.notChanged.push({ ip, reason: 'never listed on the feed' });
      else if (claim.outcome === 'removed') out.notChanged.push({ ip, reason: `expired (${claim.entry.expiresAt}) and already removed at ${claim.entry.removedAt}: not removed again` });
      else if (claim.outcome === 'claimedByOther') out.notChanged.push({ ip, reason: claim.by === EXPIRY_CLAIM ? `expired (${claim.entry.expiresAt}): the expiry job takes it off` : `${claim.by} takes it off` });
      else if (claim.entry.removedAt) out.notChanged.push({ ip, reason: `already taken off by this release at ${claim.entry.removedAt}` });
      else if (await feed.markRemovedBy(ip, claimant, now)) out.unlisted.push(ip);
      else out.notChanged.push({ ip, reason: 'taken off by someone else meanwhile' });
    }
    const parts = [
      out.unlisted.length ? `Took ${out.unlisted.join(', ')} off ${ctx.customer.name}'s threat feed` : `Nothing taken off ${ctx.customer.name}'s threat feed`,
      ...out.stillListed.map((s) => `${s.ip} still listed for ${s.heldBy.join(', ')}`),
      ...out.notChanged.map((n) => `${n.ip}: ${n.reason}`),
    ];
    return {
      output: out, summary: parts.join('; '),
      raw: [{
        source: 'threatFeed.unlist', contentType: 'application/json', collectedAt: now.toISOString(), recordCount: ips.length,
        body: Buffer.from(JSON.stringify({ customerId: ctx.customer.id, incidentId: ctx.incidentId, ...out, claims }, null, 2)), note: 'feed entries taken off by the release',
      }],
    };
  },
};

export const threatFeedActions: ActionDef[] = actionList(listOnFeedAction, unlistFromFeedAction);
