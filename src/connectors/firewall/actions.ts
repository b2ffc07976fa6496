import { z } from 'zod';
import type { FirewallConfig } from '../../config/customers';
import { cidrContains, InvalidInputError, ipFamily, parseCidr, parseIp, type IpAddress } from '../../domain/net';
import { EXPIRY_CLAIM, releaseClaim, type FeedEntry } from '../../domain/feed-entry';
import { ConnectorError, type ActionContext, type ActionDef, type Preview, type RawPayload, actionList } from '../types';
import type { FirewallDriver, FirewallDriverFactory, FlowSession, PolicyMatch, PolicyQuery, SkippedVpnSession, VpnSession } from './driver';
import { addressObjectName, parseIncidentId, parseVpnUser } from './cli-values';
import { createFirewallDriver, firewallDrivers } from './registry';

// --- inputs: validated (and canonicalised) before any device is contacted ------------------------

const asValidated = <T>(parse: (v: unknown, field: string) => T, field: string) => z.unknown().transform((v, ctx) => {
  try {
    return parse(v, field);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});

const ips = z.array(asValidated(parseIp, 'ip')).min(1).max(100)
  .transform((list) => [...new Set(list)] as IpAddress[]);
const user = asValidated(parseVpnUser, 'user');
const incidentId = asValidated(parseIncidentId, 'incidentId');
// The block needs only the IPs: a user name that cannot be looked up on a device costs the VPN
// cut (skipped, with the reason), never the block. So it is checked in run(), not here.
const blockUser = z.string().max(1024);

export const blockInput = z.object({ ips, user: blockUser.optional(), incidentId: incidentId.optional() });
export const vpnSessionsInput = z.object({ user });
export const sessionsInput = z.object({ ips });
/**
 * Which rule let it in: the suspicious IPs as sources, towards `destination:port/protocol` (the
 * published server or VPN portal); each firewall's `policyLookup` gives the defaults.
 */
export const matchedPolicyInput = z.object({
  ips,
  destination: asValidated(parseIp, 'destination').optional(),
  port: z.number().int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).optional(),
});
export type MatchedPolicyInput = z.infer<typeof matchedPolicyInput>;
export const unblockExpiredInput = z.object({ ip: asValidated(parseIp, 'ip'), expiresAt: z.string().datetime() });
export type UnblockExpiredInput = z.infer<typeof unblockExpiredInput>;
export type BlockInput = z.infer<typeof blockInput>;
/** The release's undo of firewall.block: the IPs the block held for this incident (none: nothing to undo). */
export const unblockInput = z.object({
  ips: z.array(asValidated(parseIp, 'ip')).max(100).transform((list) => [...new Set(list)] as IpAddress[]),
  incidentId: incidentId.optional(),
});
export type UnblockInput = z.infer<typeof unblockInput>;

/** Re-validates inside the action: run() may be reached without the engine's parse. */
function validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InvalidInputError(issue.path.join('.') || 'input', issue.message.replace(/^[a-zA-Z]+: /, ''));
  }
  return r.data;
}

// --- outputs ------------------------------------------------------------------------------------

export interface DeviceBlockOutcome {
  firewallId: string;
  kind: FirewallConfig['kind'];
  added: IpAddress[];
  alreadyBlocked: IpAddress[];
  vpnSessionsCut: VpnSession[];
  /** rows of this device the bot could not cut, each with the reason */
  vpnSessionsSkipped: SkippedVpnSession[];
}
export interface BlockOutput {
  devices: DeviceBlockOutcome[];
  /** IPs inside the customer's own egress ranges: never blocked */
  excluded: Array<{ ip: IpAddress; reason: string }>;
  /** what the threat-feed step (threatFeed.list) lists, and when the expiry job takes the objects off the devices */
  feedEntries: Array<Omit<FeedEntry, 'removedAt'>>;
  /** what was not done and why (one line each on the timeline); the rest of the action went on */
  skipped: Array<{ firewallId?: string; item: string; reason: string }>;
}

export interface UnblockOutput {
  devices: Array<{ firewallId: string; kind: FirewallConfig['kind']; removed: IpAddress[]; notBlocked: IpAddress[] }>;
  /** IPs another open incident still holds: left blocked */
  stillHeld: Array<{ ip: IpAddress; heldBy: string[] }>;
  /** IPs whose feed entry the expiry job has (or had): left to it */
  notTouched: Array<{ ip: IpAddress; reason: string }>;
}

function needHolds(ctx: ActionContext) {
  const holds = ctx.ports?.blockHolds;
  if (!holds) throw new ConnectorError('no block holds were given to this action: whether another incident still blocks the IPs cannot be told, so nothing is unblocked', { source: 'firewall' });
  return holds;
}

// --- running on every firewall of the customer -----------------------------------------------------

export interface FirewallActionDeps {
  drivers?: Record<string, FirewallDriverFactory>;
}

/**
 * Runs `op` on every firewall of THE CONTEXT'S CUSTOMER (never any other), in parallel, closing
 * every session. Fails if any device failed, naming each one, after all have finished.
 */
async function onEachFirewall<T>(ctx: ActionContext, deps: FirewallActionDeps, what: string, op: (d: FirewallDriver) => Promise<T>): Promise<Array<{ config: FirewallConfig; value: T }>> {
  const firewalls = ctx.customer.firewalls;
  const drivers = firewalls.map((f) => createFirewallDriver(f, { secrets: ctx.secrets, log: ctx.log }, deps.drivers ?? firewallDrivers));
  try {
    const settled = await Promise.allSettled(drivers.map((d) => op(d)));
    const failed = settled.map((s, i) => (s.status === 'rejected' ? `${firewalls[i].id}: ${(s.reason as Error).message}` : undefined)).filter(Boolean);
    if (failed.length) {
      const ok = firewalls.filter((_, i) => settled[i].status === 'fulfilled').map((f) => f.id);
      throw new ConnectorError(`${what} failed on ${failed.length} of ${firewalls.length} firewall(s): ${failed.join('; ')}${ok.length ? ` (done on ${ok.join(', ')})` : ''}`, {
        retryable: settled.some((s) => s.status === 'rejected' && (s.reason as ConnectorError).retryable),
        source: 'firewall',
      });
    }
    return settled.map((s, i) => ({ config: firewalls[i], value: (s as PromiseFulfilledResult<T>).value }));
  } finally {
    await Promise.all(drivers.map((d) => d.close().catch(() => undefined)));
  }
}

function excludedByEgress(ctx: ActionContext, list: IpAddress[]): { keep: IpAddress[]; excluded: BlockOutput['excluded'] } {
  const ranges = ctx.customer.egressRanges.map((r) => parseCidr(r, 'egressRanges'));
  const excluded: BlockOutput['excluded'] = [];
  const keep: IpAddress[] = [];
  for (const ip of list) {
    const hit = ranges.find((r) => cidrContains(r, ip));
    if (hit) excluded.push({ ip, reason: `inside ${ctx.customer.name}'s own egress range ${hit.text}` });
    else keep.push(ip);
  }
  return { keep, excluded };
}

/** The user whose VPN sessions are cut, or why there is none to look up (the block goes on). */
function vpnUserOf(value: string | undefined): { user?: string; problem?: string } {
  if (value === undefined) return {};
  try {
    return { user: parseVpnUser(value) };
  } catch (e) {
    return { problem: `VPN sessions not cut: ${(e as Error).message}` };
  }
}

function feedExpiry(ctx: ActionContext): { addedAt: string; expiresAt: string; days: number } {
  const now = ctx.now();
  const days = ctx.customer.threatFeed?.ttlDays ?? 7;
  return { addedAt: now.toISOString(), expiresAt: new Date(now.getTime() + days * 86_400_000).toISOString(), days };
}

const describeVpn = (s: VpnSession) => {
  const kind = s.kind === 'sslvpn-tunnel' ? 'SSL-VPN tunnel' : s.kind === 'sslvpn-web' ? 'SSL-VPN web login' : s.kind === 'ipsec-dialup' ? 'IPsec dial-up connection' : 'GlobalProtect session';
  const where = s.kind === 'globalprotect' ? `gateway ${s.handle.gateway}${s.handle.computer ? `, computer ${s.handle.computer}` : ''}`
    : s.kind === 'ipsec-dialup' ? `IKE gateway ${s.handle.gateway}` : `index ${s.handle.index}`;
  return `${kind} of ${s.user}${s.sourceIp ? ` from ${s.sourceIp}` : ''} (${where})`;
};

/** The flows to ask one firewall about, or why none can be asked. */
function policyQueries(config: FirewallConfig, inp: MatchedPolicyInput, list: IpAddress[]): { queries: PolicyQuery[]; problem?: string; mismatched: Array<{ ip: IpAddress; reason: string }> } {
  const dst = inp.destination ?? (config.policyLookup?.destination ? parseIp(config.policyLookup.destination) : undefined);
  if (!dst) return { queries: [], mismatched: [], problem: `no destination to look up: give one or set policyLookup.destination for ${config.id}` };
  const dstPort = inp.port ?? config.policyLookup?.port ?? 443;
  const protocol = inp.protocol ?? config.policyLookup?.protocol ?? 'tcp';
  // an IPv6 source never reaches an IPv4 destination (and back): no flow to ask about
  const same = list.filter((src) => ipFamily(src) === ipFamily(dst));
  const mismatched = list.filter((src) => ipFamily(src) !== ipFamily(dst)).map((ip) => ({ ip, reason: `the destination ${dst} is IPv${ipFamily(dst)}: no IPv${ipFamily(ip)} flow to look up` }));
  return { queries: same.map((src) => ({ src, dst, dstPort, protocol })), mismatched };
}

/** `rule 5 "WAN-to-DMZ-HTTPS" (accept)` (FortiOS policy id / PAN-OS rule index), `interzone-default (deny)`. */
export const describeRule = (m: PolicyMatch) => (m.implicit
  ? `${m.policyName ?? 'the implicit rule'} (${m.action})`
  : `${m.policyId !== null ? `rule ${m.policyId} ` : 'rule '}${m.policyName !== null ? JSON.stringify(m.policyName) : '(unnamed)'} (${m.action})`);

/** The timeline line for one lookup: `203.0.113.7 → 198.51.100.1:443/tcp on contoso-fgt-1 (from wan1): policy 5 "…" (accept)`. */
export const describeMatch = (m: PolicyMatch) => `${m.query.src} → ${m.query.dst}:${m.query.dstPort}/${m.query.protocol} on ${m.firewallId} (${m.context}): ${describeRule(m)}`;

export function createFirewallActions(deps: FirewallActionDeps = {}): ActionDef[] {
  const vpnSessions: ActionDef<z.infer<typeof vpnSessionsInput>, { sessions: VpnSession[] }> = {
    name: 'firewall.vpnSessions',
    risk: 'read',
    description: "Lists the user's remote-access VPN sessions (FortiGate SSL-VPN, GlobalProtect) on every firewall of the customer.",
    input: vpnSessionsInput,
    async run(input, ctx) {
      const { user: u } = validate(vpnSessionsInput, input);
      const results = await onEachFirewall(ctx, deps, 'listing VPN sessions', (d) => d.listVpnSessions(u));
      const sessions = results.flatMap((r) => r.value.sessions);
      return {
        output: { sessions },
        summary: `${sessions.length} VPN session(s) of ${u} on ${results.length} firewall(s)`,
        raw: results.map((r) => r.value.transcript),
      };
    },
  };

  const sessions: ActionDef<z.infer<typeof sessionsInput>, { sessions: FlowSession[] }> = {
    name: 'firewall.sessions',
    risk: 'read',
    description: 'Reads the firewall session table for the given IPs (as source and as destination), for forensics.',
    input: sessionsInput,
    async run(input, ctx) {
      const { ips: list } = validate(sessionsInput, input);
      const results = await onEachFirewall(ctx, deps, 'reading the session table', (d) => d.sessionTable(list));
      const flows = results.flatMap((r) => r.value.sessions);
      return {
        output: { sessions: flows },
        summary: `${flows.length} session(s) involving ${list.join(', ')} on ${results.length} firewall(s)`,
        raw: results.map((r) => r.value.transcript),
      };
    },
  };

  const matchedPolicy: ActionDef<MatchedPolicyInput, { matches: PolicyMatch[]; skipped: Array<{ firewallId: string; item: string; reason: string }> }> = {
    name: 'firewall.matchedPolicy',
    risk: 'read',
    description: 'Asks every firewall of the customer which policy matches traffic from each IP (FortiOS policy lookup, PAN-OS security-policy-match): the rule that let it in.',
    input: matchedPolicyInput,
    async run(input, ctx) {
      const inp = validate(matchedPolicyInput, input);
      const results = await onEachFirewall(ctx, deps, 'looking up the matching policy', async (d) => {
        const { queries, problem, mismatched } = policyQueries(d.config, inp, inp.ips);
        if (problem) return { matches: [] as PolicyMatch[], skipped: inp.ips.map((ip) => ({ firewallId: d.config.id, item: ip, reason: problem })), raw: [] as RawPayload[] };
        const r = queries.length ? await d.matchedPolicy(queries) : undefined;
        return {
          matches: r?.matches ?? [],
          skipped: [...mismatched.map((k) => ({ firewallId: d.config.id, item: k.ip, reason: k.reason })), ...(r?.skipped ?? []).map((k) => ({ firewallId: d.config.id, item: k.query.src, reason: k.reason }))],
          raw: r?.transcript.recordCount ? [r.transcript] : [],
        };
      });
      const matches = results.flatMap((r) => r.value.matches);
      const skipped = results.flatMap((r) => r.value.skipped);
      const lines = [...matches.map(describeMatch), ...skipped.map((k) => `${k.item} on ${k.firewallId}: not looked up (${k.reason})`)];
      return {
        output: { matches, skipped },
        summary: lines.length ? lines.join('; ') : `no firewall to ask for ${inp.ips.join(', ')}`,
        raw: results.flatMap((r) => r.value.raw),
      };
    },
  };

  const block: ActionDef<BlockInput, BlockOutput> = {
    name: 'firewall.block',
    risk: 'destructive',
    description: "Blocks IPs on every firewall of the customer (address object in the block group) and cuts the user's VPN sessions.",
    input: blockInput,
    inverse: {
      action: 'firewall.unblock',
      // the IPs the block kept (own egress ranges were never blocked); the incident it held them for
      input: (fwdIn, fwdOut) => {
        const out = fwdOut as Partial<BlockOutput> | undefined;
        const inp = fwdIn as Partial<BlockInput> | undefined;
        const ips = out?.feedEntries ? out.feedEntries.map((e) => e.ip) : (inp?.ips ?? []);
        return { ips, ...(inp?.incidentId ? { incidentId: inp.incidentId } : {}) };
      },
      note: 'The VPN sessions that were cut stay cut: the user connects again',
    },
    async preview(input, ctx): Promise<Preview> {
      const inp = validate(blockInput, input);
      const vpn = vpnUserOf(inp.user);
      const { keep, excluded } = excludedByEgress(ctx, inp.ips);
      const expiry = feedExpiry(ctx);
      const firewalls = ctx.customer.firewalls;
      const preview: Preview = {
        title: `Block ${keep.length} IP(s) on ${firewalls.length} ${ctx.customer.name} firewall(s)${vpn.user ? ` and cut ${vpn.user}'s VPN sessions` : ''}`,
        facts: [
          { label: 'IPs', value: inp.ips.join(', ') },
          { label: 'Firewalls', value: firewalls.map((f) => `${f.id} (${f.kind})`).join(', ') || 'none configured' },
          { label: 'Feed expiry', value: `${expiry.expiresAt} (${expiry.days} days)` },
        ],
        changes: [],
        warnings: [],
        notChanged: excluded.map((e) => ({ item: e.ip, reason: e.reason })),
      };
      if (!firewalls.length) preview.warnings.push(`${ctx.customer.name} has no firewall configured: nothing can be blocked at the perimeter`);
      if (vpn.problem) preview.warnings.push(vpn.problem);
      const results = await onEachFirewall(ctx, deps, 'reading the block groups', async (d) => ({
        blocked: keep.length ? (await d.listBlocked()).ips : [],
        vpn: vpn.user ? (await d.listVpnSessions(vpn.user)).sessions : [],
        rules: await rulesInFront(d, keep),
      }));
      let toBlock = 0;
      for (const { config, value } of results) {
        for (const ip of keep) {
          if (value.blocked.includes(ip)) preview.notChanged!.push({ item: `${ip} on ${config.id}`, reason: `already in ${config.blockGroup}` });
          else {
            toBlock++;
            const rule = value.rules.matches.find((m) => m.query.src === ip);
            const front = rule ? (rule.allows
              ? `; the deny goes in front of ${describeRule(rule)}, which lets ${ip} reach ${rule.query.dst}:${rule.query.dstPort}/${rule.query.protocol} today`
              : `; ${describeRule(rule)} already refuses ${ip} towards ${rule.query.dst}:${rule.query.dstPort}/${rule.query.protocol}`) : '';
            preview.changes.push(`Block ${ip} on ${config.id} (${config.kind}): address object ${addressObjectName(ip)} in group ${config.blockGroup}, listed on the threat feed until ${expiry.expiresAt}${front}`);
          }
        }
        if (value.rules.problem) preview.warnings.push(`${config.id}: which rule lets the IPs in was not looked up: ${value.rules.problem}`);
        for (const s of value.vpn) preview.changes.push(`Cut the ${describeVpn(s)} on ${config.id}`);
      }
      // An IP another open incident blocked already changes nothing on the devices, but this
      // incident must hold it too: else releasing the other one would unblock an IP this one still
      // needs blocked. So the block still runs (and records the hold) for such an IP.
      let toHold = 0;
      const holds = ctx.ports?.blockHolds;
      const incidentId = inp.incidentId ?? ctx.incidentId;
      if (holds && incidentId) {
        for (const ip of keep) {
          if (!results.some((r) => r.value.blocked.includes(ip))) continue;
          const others = await holds.holders(ip, incidentId);
          // '' excepts no incident: every open holder, this one included when it holds it already
          if (!others.length || (await holds.holders(ip, '')).includes(incidentId)) continue;
          toHold++;
          preview.changes.push(`Hold ${ip} for ${incidentId} too: it is already blocked for ${others.join(', ')}, and stays blocked while either incident is open`);
        }
      }
      const vpnCount = results.reduce((n, r) => n + r.value.vpn.length, 0);
      if (vpn.user && !vpnCount) preview.notChanged!.push({ item: `VPN sessions of ${vpn.user}`, reason: 'none connected' });
      preview.nothingToDo = toBlock === 0 && vpnCount === 0 && toHold === 0;
      preview.data = { ipsToBlock: toBlock, ipsToHold: toHold, vpnSessionsToCut: vpnCount, excluded: excluded.length, firewalls: firewalls.length };
      return preview;
    },
    async run(input, ctx) {
      const inp = validate(blockInput, input);
      const incident = parseIncidentId(inp.incidentId ?? ctx.incidentId);
      const vpn = vpnUserOf(inp.user);
      const { keep, excluded } = excludedByEgress(ctx, inp.ips);
      // blockIps always reads the group before writing, so a retry after a crash (ctx.mayHaveRun)
      // adds only what is missing and never appends a member twice.
      const results = await onEachFirewall(ctx, deps, 'blocking', async (d) => {
        const raw: RawPayload[] = [];
        const b = keep.length ? await d.blockIps(keep, { incidentId: incident }) : { added: [], alreadyBlocked: [] as IpAddress[], transcript: undefined };
        if (b.transcript) raw.push(b.transcript);
        const cut = vpn.user ? await d.revokeVpnSessions(vpn.user) : undefined;
        if (cut) raw.push(cut.transcript);
        return { added: b.added, alreadyBlocked: b.alreadyBlocked, vpnSessionsCut: cut?.revoked ?? [], vpnSessionsSkipped: cut?.skipped ?? [], raw };
      });
      const expiry = feedExpiry(ctx);
      const feedEntries = keep.map((ip) => ({ customerId: ctx.customer.id, ip, incidentId: incident, addedAt: expiry.addedAt, expiresAt: expiry.expiresAt }));
      // This incident now holds each IP (also one another incident had blocked already): a release
      // takes an IP off only when no other open incident holds it. Saved before the step ends.
      if (keep.length) await ctx.ports?.blockHolds?.hold(incident, keep, ctx.now());
      const devices = results.map(({ config, value }) => ({ firewallId: config.id, kind: config.kind, added: value.added, alreadyBlocked: value.alreadyBlocked, vpnSessionsCut: value.vpnSessionsCut, vpnSessionsSkipped: value.vpnSessionsSkipped }));
      const skipped: BlockOutput['skipped'] = [
        ...(vpn.problem ? [{ item: `VPN sessions of ${JSON.stringify(inp.user)}`, reason: vpn.problem }] : []),
        ...devices.flatMap((d) => d.vpnSessionsSkipped.map((k) => ({ firewallId: d.firewallId, item: describeVpn(k.session), reason: k.reason }))),
      ];
      const added = devices.reduce((n, d) => n + d.added.length, 0);
      const already = devices.reduce((n, d) => n + d.alreadyBlocked.length, 0);
      const cut = devices.reduce((n, d) => n + d.vpnSessionsCut.length, 0);
      const skippedText = skipped.length ? `; skipped ${skipped.length}: ${skipped.map((k) => `${k.firewallId ? `${k.firewallId}: ` : ''}${k.item}: ${k.reason}`).join('; ')}` : '';
      return {
        output: { devices, excluded, feedEntries, skipped },
        summary: `Blocked ${keep.length} IP(s) on ${devices.length} firewall(s) (${added} added, ${already} already blocked${excluded.length ? `, ${excluded.length} excluded as own egress` : ''})${vpn.user ? `; cut ${cut} VPN session(s) of ${vpn.user}` : ''}${skippedText}`,
        raw: results.flatMap((r) => r.value.raw),
      };
    },
  };

  // Run by the engine for the hourly expiry job (never by a procedure step): one per expired feed
  // entry, under the incident that listed it, so the rollback has its action row and evidence.
  const unblockExpired: ActionDef<UnblockExpiredInput, { ip: IpAddress; expiresAt: string; firewalls: Array<{ firewallId: string; removed: IpAddress[]; notPresent: IpAddress[] }> }> = {
    name: 'firewall.unblockExpired',
    risk: 'change',
    description: 'Takes an expired block off every firewall of the customer (out of the group, then deleted) and off the threat feed.',
    input: unblockExpiredInput,
    async run(input, ctx) {
      const { ip, expiresAt } = validate(unblockExpiredInput, input);
      if (Date.parse(expiresAt) > ctx.now().getTime()) throw new InvalidInputError('expiresAt', `the block of ${ip} runs until ${expiresAt}: not expired yet`);
      const feed = ctx.ports?.threatFeed;
      if (!feed) throw new ConnectorError('no threat feed was given to this action: the entry cannot be marked removed', { source: 'firewall' });
      // The expiry job and a release never both unblock: one conditional update in the store says
      // who takes the entry off; a release that has it leaves the devices to the release.
      const claim = await feed.claimUnblock(ip, EXPIRY_CLAIM, ctx.now());
      if (claim.outcome === 'claimedByOther' || claim.outcome === 'removed') {
        const why = claim.outcome === 'claimedByOther'
          ? `${claim.by.startsWith('release:') ? `the release of ${claim.by.slice('release:'.length)}` : claim.by} takes it off`
          : `already removed at ${claim.entry.removedAt}`;
        return {
          output: { ip, expiresAt, firewalls: [] },
          summary: `Block expired: ${ip} not touched (${why})`,
          raw: [{ source: 'threatFeed.claim', contentType: 'application/json', collectedAt: ctx.now().toISOString(), body: Buffer.from(JSON.stringify({ ip, claimant: EXPIRY_CLAIM, ...claim })), note: `feed expiry: ${why}` }],
        };
      }
      // unblockIps reads the group first: a re-run after a crash removes only what is still there.
      const results = await onEachFirewall(ctx, deps, 'removing the expired block', (d) => d.unblockIps([ip]));
      await feed.markRemovedBy(ip, EXPIRY_CLAIM, ctx.now());
      const firewalls = results.map(({ config, value }) => ({ firewallId: config.id, removed: value.removed, notPresent: value.notPresent }));
      const where = ctx.customer.firewalls.map((f) => `${f.blockGroup} on ${f.id}`).join(', ') || 'the threat feed (no firewall configured)';
      return {
        output: { ip, expiresAt, firewalls },
        summary: `Block expired: removed ${ip} from ${where}`,
        raw: results.map((r) => ({ ...r.value.transcript, note: `feed expiry: ${r.value.transcript.note ?? r.config.id}` })),
      };
    },
  };


  const unblock: ActionDef<UnblockInput, UnblockOutput> = {
    name: 'firewall.unblock',
    risk: 'change',
    description: "A release's undo of firewall.block: takes the incident's IPs out of every firewall's block group (and off the feed), unless another open incident still holds them.",
    input: unblockInput,
    async preview(input, ctx): Promise<Preview> {
      const inp = validate(unblockInput, input);
      const incident = parseIncidentId(inp.incidentId ?? ctx.incidentId);
      const holds = needHolds(ctx);
      const notChanged: Array<{ item: string; reason: string }> = [];
      const free: IpAddress[] = [];
      for (const ip of inp.ips) {
        const others = await holds.holders(ip, incident);
        if (others.length) notChanged.push({ item: ip, reason: `still blocked for ${others.join(', ')}` });
        else free.push(ip);
      }
      const results = await onEachFirewall(ctx, deps, 'reading the block groups', async (d) => (free.length ? (await d.listBlocked()).ips : []));
      const changes: string[] = [];
      for (const { config, value } of results) {
        for (const ip of free) {
          if (value.includes(ip)) changes.push(`Unblock ${ip} on ${config.id} (${config.kind}): take ${addressObjectName(ip)} out of ${config.blockGroup} and delete it; off the threat feed`);
          else notChanged.push({ item: `${ip} on ${config.id}`, reason: `not blocked (not in ${config.blockGroup})` });
        }
      }
      return {
        title: `Unblock ${free.length} IP(s) on ${ctx.customer.firewalls.length} ${ctx.customer.name} firewall(s)`,
        facts: [{ label: 'IPs', value: inp.ips.join(', ') || 'none' }, { label: 'Incident', value: incident }, { label: 'Firewalls', value: ctx.customer.firewalls.map((f) => `${f.id} (${f.kind})`).join(', ') || 'none configured' }],
        changes, notChanged, warnings: [], nothingToDo: changes.length === 0,
        data: { ipsToUnblock: free.length, stillHeld: inp.ips.length - free.length },
      };
    },
    async run(input, ctx) {
      const inp = validate(unblockInput, input);
      const incident = parseIncidentId(inp.incidentId ?? ctx.incidentId);
      const holds = needHolds(ctx);
      const feed = ctx.ports?.threatFeed;
      const now = ctx.now();
      const claimant = releaseClaim(incident);
      const stillHeld: UnblockOutput['stillHeld'] = [];
      const notTouched: UnblockOutput['notTouched'] = [];
      const toRemove: IpAddress[] = [];
      const claims: unknown[] = [];
      // Gives this incident's holds back first (saved), then decides per IP; a retry after a crash
      // finds the holds released and the claims its own, and removes only what is still there.
      for (const { ip, heldBy } of await holds.release(incident, inp.ips, now)) {
        const addr = parseIp(ip);
        if (heldBy.length) { stillHeld.push({ ip: addr, heldBy }); continue; }
        if (!feed) { toRemove.push(addr); continue; }
        const claim = await feed.claimUnblock(addr, claimant, now);
        claims.push({ ip: addr, ...claim });
        if (claim.outcome === 'claimed' || claim.outcome === 'notListed') toRemove.push(addr);
        else if (claim.outcome === 'claimedByOther') notTouched.push({ ip: addr, reason: claim.by === EXPIRY_CLAIM ? `its block expired (${claim.entry.expiresAt}): the expiry job takes it off` : `${claim.by} takes it off` });
        else notTouched.push({ ip: addr, reason: `its block expired (${claim.entry.expiresAt}) and it was already removed at ${claim.entry.removedAt}: not removed again` });
      }
      const results = toRemove.length ? await onEachFirewall(ctx, deps, 'unblocking', (d) => d.unblockIps(toRemove)) : [];
      // off the feed too once it is off the devices (the feed is what the firewalls pull)
      if (feed) for (const ip of toRemove) await feed.markRemovedBy(ip, claimant, now);
      const devices = results.map(({ config, value }) => ({ firewallId: config.id, kind: config.kind, removed: value.removed, notBlocked: value.notPresent }));
      const removed = devices.reduce((n, d) => n + d.removed.length, 0);
      const notBlocked = devices.reduce((n, d) => n + d.notBlocked.length, 0);
      const parts = [
        `Unblocked ${toRemove.length} IP(s) on ${devices.length} firewall(s) (${removed} removed, ${notBlocked} not blocked)`,
        ...stillHeld.map((h) => `${h.ip} still blocked for ${h.heldBy.join(', ')}`),
        ...notTouched.map((n) => `${n.ip}: ${n.reason}`),
      ];
      const raw: RawPayload[] = results.map((r) => r.value.transcript);
      raw.push({
        source: 'firewall.blockHolds', contentType: 'application/json', collectedAt: now.toISOString(), recordCount: inp.ips.length,
        body: Buffer.from(JSON.stringify({ incidentId: incident, customerId: ctx.customer.id, stillHeld, claims }, null, 2)), note: 'block holds released and feed claims',
      });
      return { output: { devices, stillHeld, notTouched }, summary: parts.join('; '), raw };
    },
  };

  return actionList(vpnSessions, sessions, matchedPolicy, block, unblockExpired, unblock);
}

/**
 * For the block preview: the rule each IP matches today on this firewall, when its policyLookup
 * says where to look. A lookup that fails is a warning on the card, never a failed preview.
 */
async function rulesInFront(d: FirewallDriver, list: IpAddress[]): Promise<{ matches: PolicyMatch[]; problem?: string }> {
  if (!list.length || !d.config.policyLookup) return { matches: [] };
  const { queries, problem } = policyQueries(d.config, {} as MatchedPolicyInput, list);
  if (problem) return { matches: [], problem };
  if (!queries.length) return { matches: [] };
  try {
    const r = await d.matchedPolicy(queries);
    return { matches: r.matches, problem: r.skipped.length ? r.skipped.map((k) => `${k.query.src}: ${k.reason}`).join('; ') : undefined };
  } catch (e) {
    return { matches: [], problem: (e as Error).message };
  }
}

/** The firewall actions with the built-in drivers; feed entries are returned in the output for the threat-feed step. */
export const firewallActions: ActionDef[] = createFirewallActions();
