import { ipFamily, type IpAddress } from '../../domain/net';
import { ConnectorError, type RawPayload } from '../types';
import type { CliShell } from '../ssh/cli-shell';
import { CliFirewallDriver, type CliRun } from '../firewall/cli-driver';
import type { BlockResult, FirewallDriver, FlowSession, PolicyMatch, PolicyQuery, RevokeResult, SkippedVpnSession, UnblockResult, VpnSession } from '../firewall/driver';
import { addressObjectName, checkedIp, checkedQuery, fortiOsQuoted, hostPrefix, ipFromObjectName, parseDeviceToken, parseIncidentId, parseVpnUser, sameVpnUser } from '../firewall/cli-values';
import { fortiOsErrorLines, parseGroupMembers, parseIkeGateways, parseIpropeLookup, parsePolicy, parseSessionList, parseSslVpnMonitor, showsEntry } from './fortios-parse';

type Run = CliRun;

/** The IPv4 and IPv6 tables of FortiOS: objects and groups live in separate tables per family. */
const TABLES = {
  4: { address: 'address', group: 'addrgrp', session: 'session' },
  6: { address: 'address6', group: 'addrgrp6', session: 'session6' },
} as const;

/**
 * FortiGate over the FortiOS CLI (SSH). The IPv6 block group is the configured group name with
 * `6` appended (IR-Block → IR-Block6 in `config firewall addrgrp6`), referenced by the IPv6 deny policy.
 */
export class FortiGateDriver extends CliFirewallDriver implements FirewallDriver {
  protected readonly source = 'fortigate.cli';

  protected errorLines(output: string): string[] {
    return fortiOsErrorLines(output);
  }

  protected async prepare(_shell: CliShell): Promise<void> {
    // Nothing to set: `config system console / set output standard` would change the console for
    // every administrator, so the shell answers the `--More--` pager instead.
  }

  private group(family: 4 | 6): string {
    return family === 4 ? this.config.blockGroup : `${this.config.blockGroup}6`;
  }

  /** Runs `body` inside the configured VDOM (`config vdom` / `edit <vdom>` ... `end`). */
  private async inVdom<T>(run: Run, body: () => Promise<T>): Promise<T> {
    if (!this.config.vdom) return body();
    await run('config vdom');
    await run(`edit ${this.config.vdom}`);
    const value = await body();
    await run('end');
    return value;
  }

  private async readMembers(run: Run, family: 4 | 6): Promise<string[]> {
    const group = this.group(family);
    const out = await run(`show firewall ${TABLES[family].group} ${group}`, { probe: true });
    const members = parseGroupMembers(out, group);
    if (!members) {
      throw new ConnectorError(`${this.device}: the block group ${group} does not exist in firewall ${TABLES[family].group}${this.config.vdom ? ` (VDOM ${this.config.vdom})` : ''}; create it and the deny policy that uses it`, { source: this.source });
    }
    return members;
  }

  async listBlocked(): Promise<{ ips: IpAddress[]; transcript: RawPayload }> {
    const { value, transcript } = await this.withCli('read the block groups', (run) => this.inVdom(run, async () => {
      const ips: IpAddress[] = [];
      for (const family of [4, 6] as const) {
        for (const m of await this.readMembers(run, family)) {
          const ip = ipFromObjectName(m);
          if (ip) ips.push(ip);
        }
      }
      return ips;
    }));
    return { ips: value, transcript };
  }

  async blockIps(ips: IpAddress[], opts: { incidentId: string }): Promise<BlockResult> {
    const incidentId = parseIncidentId(opts.incidentId);
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`block ${wanted.join(', ')} for ${incidentId}`, (run) => this.inVdom(run, async () => {
      const added: IpAddress[] = [];
      const alreadyBlocked: IpAddress[] = [];
      for (const family of [4, 6] as const) {
        const mine = wanted.filter((ip) => ipFamily(ip) === family);
        if (!mine.length) continue;
        // Read first: what a previous (maybe interrupted) run already did is not done twice.
        const members = new Set(await this.readMembers(run, family));
        const todo = mine.filter((ip) => !members.has(addressObjectName(ip)));
        alreadyBlocked.push(...mine.filter((ip) => members.has(addressObjectName(ip))));
        if (!todo.length) continue;
        await run(`config firewall ${TABLES[family].address}`);
        for (const ip of todo) {
          await run(`edit "${addressObjectName(ip)}"`);
          await run(family === 4 ? `set subnet ${hostPrefix(ip)}` : `set ip6 ${hostPrefix(ip)}`);
          await run(`set comment "incident ${incidentId} (teams-ir-bot)"`);
          await run('next');
        }
        await run('end');
        await run(`config firewall ${TABLES[family].group}`);
        await run(`edit "${this.group(family)}"`);
        await run(`append member ${todo.map((ip) => `"${addressObjectName(ip)}"`).join(' ')}`);
        await run('next');
        await run('end');
        const after = new Set(await this.readMembers(run, family));
        const missing = todo.filter((ip) => !after.has(addressObjectName(ip)));
        if (missing.length) throw new ConnectorError(`${this.device}: ${missing.join(', ')} not in ${this.group(family)} after the change`, { source: this.source });
        added.push(...todo);
      }
      return { added, alreadyBlocked };
    }));
    return { ...value, transcript };
  }

  async unblockIps(ips: IpAddress[]): Promise<UnblockResult> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`unblock ${wanted.join(', ')}`, (run) => this.inVdom(run, async () => {
      const removed: IpAddress[] = [];
      const notPresent: IpAddress[] = [];
      for (const family of [4, 6] as const) {
        const mine = wanted.filter((ip) => ipFamily(ip) === family);
        if (!mine.length) continue;
        const members = new Set(await this.readMembers(run, family));
        const inGroup = mine.filter((ip) => members.has(addressObjectName(ip)));
        if (inGroup.length) {
          // Out of the group first: FortiOS refuses to delete an object a group still uses.
          await run(`config firewall ${TABLES[family].group}`);
          await run(`edit "${this.group(family)}"`);
          await run(`unselect member ${inGroup.map((ip) => `"${addressObjectName(ip)}"`).join(' ')}`);
          await run('next');
          await run('end');
        }
        const existing: IpAddress[] = [];
        for (const ip of mine) {
          if (showsEntry(await run(`show firewall ${TABLES[family].address} ${addressObjectName(ip)}`, { probe: true }), addressObjectName(ip))) existing.push(ip);
        }
        if (existing.length) {
          await run(`config firewall ${TABLES[family].address}`);
          for (const ip of existing) await run(`delete "${addressObjectName(ip)}"`);
          await run('end');
        }
        for (const ip of mine) (inGroup.includes(ip) || existing.includes(ip) ? removed : notPresent).push(ip);
      }
      return { removed, notPresent };
    }));
    return { ...value, transcript };
  }

  /**
   * The user's SSL-VPN rows. A release without SSL-VPN (7.6.3 removed tunnel mode; a device may
   * have the feature off) refuses the command: that device simply has no SSL-VPN rows.
   */
  private async readSsl(run: Run, user: string): Promise<VpnSession[]> {
    const out = await run('get vpn ssl monitor', { probe: true });
    if (this.errorLines(out).length) return [];
    return parseSslVpnMonitor(out, this.config.id).filter((s) => sameVpnUser(s.user, user));
  }

  /** The user's IPsec dial-up instances (`diagnose vpn ike gateway list`), optionally one gateway only. */
  private async readDialup(run: Run, user: string, name?: string): Promise<VpnSession[]> {
    const out = await run(name === undefined ? 'diagnose vpn ike gateway list' : `diagnose vpn ike gateway list name ${gatewayToken(name)}`);
    return parseIkeGateways(out).filter((g) => sameVpnUser(g.user, user) && (name === undefined || g.name === name)).map((g) => ({
      firewallId: this.config.id, kind: 'ipsec-dialup' as const, user: g.user, sourceIp: g.remoteIp, tunnelIp: g.assignedIp,
      durationSeconds: g.createdSeconds, bytesIn: null, bytesOut: null,
      handle: { gateway: g.name, ...(g.ikeSa ? { ikeSa: g.ikeSa } : {}) },
    }));
  }

  private async readVpn(run: Run, user: string): Promise<VpnSession[]> {
    return [...await this.readSsl(run, user), ...await this.readDialup(run, user)];
  }

  async listVpnSessions(user: string): Promise<{ sessions: VpnSession[]; transcript: RawPayload }> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`SSL-VPN and IPsec dial-up sessions of ${wanted}`, (run) => this.inVdom(run, () => this.readVpn(run, wanted)));
    return { sessions: value, transcript };
  }

  /**
   * Cuts the user's SSL-VPN tunnels, then web logins, then IPsec dial-up instances. SSL-VPN rows
   * are addressed by index, and an index may change after any delete (the rows below move up):
   * the monitor is read again before EVERY del-tunnel/del-web and the row found again by what it
   * is (user, source, tunnel IP), never by its old index. A dial-up instance name is reused by the
   * next client that connects: before each `clear` the instance is read again and must still be
   * the same user's same IKE SA. Then everything is read once more to verify.
   */
  async revokeVpnSessions(user: string): Promise<RevokeResult> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`cut SSL-VPN and IPsec dial-up sessions of ${wanted}`, (run) => this.inVdom(run, async () => {
      const initial = await this.readVpn(run, wanted);
      const revoked: VpnSession[] = [];
      const skipped: SkippedVpnSession[] = [];
      for (const kind of ['sslvpn-tunnel', 'sslvpn-web'] as const) {
        const refused = new Map<string, number>();
        for (const target of initial.filter((x) => x.kind === kind)) {
          const id = sslIdentity(target);
          const now = (await this.readSsl(run, wanted)).filter((x) => x.kind === kind && sslIdentity(x) === id);
          const cur = now[refused.get(id) ?? 0];
          if (!cur) continue;      // it ended on its own since the first read
          const i = index(cur);
          if (i === undefined) { skipped.push({ session: cur, reason: `no usable SSL-VPN index for ${JSON.stringify(cur.user)}` }); refused.set(id, (refused.get(id) ?? 0) + 1); continue; }
          const errors = this.errorLines(await run(`execute vpn sslvpn ${kind === 'sslvpn-tunnel' ? 'del-tunnel' : 'del-web'} ${i}`, { probe: true }));
          if (errors.length) {
            skipped.push({ session: cur, reason: `${this.device} refused to end index ${i}: ${JSON.stringify(errors[0])}` });
            refused.set(id, (refused.get(id) ?? 0) + 1);
          } else revoked.push(cur);
        }
      }
      for (const target of initial.filter((x) => x.kind === 'ipsec-dialup')) {
        const name = target.handle.gateway!;
        let token: string;
        try {
          token = gatewayToken(name);
        } catch (e) {
          skipped.push({ session: target, reason: (e as Error).message });
          continue;
        }
        const cur = (await this.readDialup(run, wanted, name)).find((x) => sameInstance(x, target));
        if (!cur) continue;        // gone, or the name now belongs to another connection: not ours to clear
        const errors = this.errorLines(await run(`diagnose vpn ike gateway clear name ${token}`, { probe: true }));
        if (errors.length) skipped.push({ session: cur, reason: `${this.device} refused to clear IKE gateway ${name}: ${JSON.stringify(errors[0])}` });
        else revoked.push(cur);
      }
      if (revoked.length) {
        const after = await this.readVpn(run, wanted);
        // An SSL-VPN identity may be listed as often as its skipped rows (one user twice from one
        // address); a dial-up instance is still there when its name shows the same IKE SA.
        const count = (list: VpnSession[], r: VpnSession) => list.filter((x) => x.kind === r.kind && sslIdentity(x) === sslIdentity(r)).length;
        const stillThere = revoked.filter((r) => (r.kind === 'ipsec-dialup'
          ? after.some((a) => a.kind === r.kind && sameInstance(a, r))
          : count(after, r) > count(skipped.map((k) => k.session), r)));
        if (stillThere.length) {
          throw new ConnectorError(`${this.device}: ${stillThere.length} session(s) of ${wanted} still listed after the cut: ${stillThere.map((x) => (x.kind === 'ipsec-dialup' ? `IKE gateway ${x.handle.gateway}` : `${x.kind} from ${x.sourceIp ?? '?'}`)).join(', ')}`, { source: this.source });
        }
      }
      return { revoked, skipped };
    }));
    return { ...value, transcript };
  }

  /**
   * `diagnose firewall iprope lookup <src> 0 <dst> <dport> <proto> <interface>` per flow (the
   * documented form; source port 0 as in Fortinet's examples), then `show firewall policy <id>`
   * for the rule's name and action. Policy id 0 is the implicit deny.
   */
  async matchedPolicy(queries: PolicyQuery[]): Promise<{ matches: PolicyMatch[]; skipped: Array<{ query: PolicyQuery; reason: string }>; transcript: RawPayload }> {
    const checked = queries.map(checkedQuery);
    const intf = this.config.policyLookup?.sourceInterface;
    const skipped: Array<{ query: PolicyQuery; reason: string }> = [];
    if (!intf) {
      return { matches: [], skipped: checked.map((query) => ({ query, reason: `${this.config.id} has no policyLookup.sourceInterface configured (the interface the attacker's traffic arrives on)` })), transcript: emptyTranscript(this.source, this.config.id) };
    }
    const dev = parseDeviceToken(intf, 'policyLookup.sourceInterface');
    const { value, transcript } = await this.withCli(`policy lookup for ${[...new Set(checked.map((q) => q.src))].join(', ')}`, (run) => this.inVdom(run, async () => {
      const matches: PolicyMatch[] = [];
      const policies = new Map<number, { name: string | null; action: string } | undefined>();
      for (const query of checked) {
        if (ipFamily(query.src) !== 4 || ipFamily(query.dst) !== 4) { skipped.push({ query, reason: 'the FortiOS policy lookup (diagnose firewall iprope lookup) takes IPv4 flows only' }); continue; }
        const out = await run(`diagnose firewall iprope lookup ${query.src} 0 ${query.dst} ${query.dstPort} ${query.protocol} ${dev}`);
        const id = parseIpropeLookup(out);
        if (id === undefined) throw new ConnectorError(`${this.device}: the policy lookup answered without a policy id: ${JSON.stringify(out.split('\n')[0] ?? '')}`, { source: this.source });
        const context = `from ${dev}`;
        if (id === 0) {
          matches.push({ firewallId: this.config.id, query, policyId: '0', policyName: 'implicit deny', action: 'deny', allows: false, implicit: true, context });
          continue;
        }
        if (!policies.has(id)) policies.set(id, parsePolicy(await run(`show firewall policy ${id}`), id));
        const p = policies.get(id);
        const action = p?.action ?? 'unknown';
        matches.push({ firewallId: this.config.id, query, policyId: String(id), policyName: p?.name ?? null, action, allows: action === 'accept' || action === 'ipsec', implicit: false, context });
      }
      return matches;
    }));
    return { matches: value, skipped, transcript };
  }

  async sessionTable(ips: IpAddress[]): Promise<{ sessions: FlowSession[]; transcript: RawPayload }> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`session table for ${wanted.join(', ')}`, (run) => this.inVdom(run, async () => {
      const byKey = new Map<string, FlowSession>();
      for (const ip of wanted) {
        const table = TABLES[ipFamily(ip)].session;
        for (const dir of ['src', 'dst'] as const) {
          await run(`diagnose sys ${table} filter clear`);
          await run(`diagnose sys ${table} filter ${dir} ${ip}`);
          for (const s of parseSessionList(await run(`diagnose sys ${table} list`), this.config.id)) {
            byKey.set(s.id ?? `${s.proto} ${s.src}:${s.srcPort}->${s.dst}:${s.dstPort}`, s);
          }
        }
        await run(`diagnose sys ${table} filter clear`);
      }
      return [...byKey.values()];
    }));
    return { sessions: value, transcript };
  }
}

/** What an SSL-VPN row is, whatever index it has now: kind, user, source and tunnel address. */
function sslIdentity(s: VpnSession): string {
  return JSON.stringify([s.kind, s.user.toLowerCase(), s.sourceIp, s.kind === 'sslvpn-tunnel' ? s.tunnelIp : null]);
}

/** The same dial-up instance: same name and user, and the same IKE SA when the device shows it. */
function sameInstance(a: VpnSession, b: VpnSession): boolean {
  if (a.handle.gateway !== b.handle.gateway || a.user !== b.user) return false;
  if (a.handle.ikeSa && b.handle.ikeSa) return a.handle.ikeSa === b.handle.ikeSa;
  return a.sourceIp === b.sourceIp;
}

/** A gateway name as the device reported it, on a line: bare when plain, else FortiOS-quoted. */
function gatewayToken(name: string): string {
  return /^[A-Za-z0-9._\-]{1,64}$/.test(name) ? name : fortiOsQuoted(name, 'IKE gateway name');
}

function emptyTranscript(source: string, firewallId: string): RawPayload {
  return { source, contentType: 'text/plain; charset=utf-8', body: Buffer.alloc(0), collectedAt: new Date().toISOString(), note: `${firewallId}: policy lookup not configured, nothing sent`, recordCount: 0 };
}

function index(s: VpnSession): number | undefined {
  const i = s.handle.index;
  return i !== undefined && Number.isSafeInteger(i) && i >= 0 ? i : undefined;
}
