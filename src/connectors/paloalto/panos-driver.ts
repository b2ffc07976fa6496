import { panOsLookupZones, panOsPolicyMatch } from './panos-policy-match';
import type { IpAddress } from '../../domain/net';
import { ConnectorError, type RawPayload } from '../types';
import type { CliShell } from '../ssh/cli-shell';
import { CliFirewallDriver, type CliRun } from '../firewall/cli-driver';
import type { BlockResult, FirewallDriver, FlowSession, PolicyMatch, PolicyQuery, RevokeResult, SkippedVpnSession, UnblockResult, VpnSession } from '../firewall/driver';
import { addressObjectName, checkedIp, hostPrefix, ipFromObjectName, panOsQuoted, parseDeviceToken, parseIncidentId, parseVpnUser, sameVpnUser, UnquotableValueError } from '../firewall/cli-values';
import { panOsErrorLines, parseGlobalProtectUsers, parsePanOsSessions, parseSecurityPolicyMatch, parseStaticMembers, showsObject } from './panos-parse';

/** A commit on a busy firewall takes minutes. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;

/**
 * Palo Alto Networks firewall over the PAN-OS CLI (SSH). One static address-group holds both IPv4
 * and IPv6 objects (ip-netmask takes either). Changes go to the candidate config and are committed;
 * a commit that does not print `Configuration committed successfully` fails the step.
 */
export class PanOsDriver extends CliFirewallDriver implements FirewallDriver {
  protected readonly source = 'paloalto.cli';

  protected errorLines(output: string): string[] {
    return panOsErrorLines(output);
  }

  protected async prepare(shell: CliShell): Promise<void> {
    // Per-session settings: whole listings, no `--more--`; scripting mode drops the interactive
    // niceties (completion, colour, confirmation prompts) that a script must never meet.
    await shell.send('set cli scripting-mode on');
    await shell.send('set cli pager off');
  }

  private get group(): string {
    return this.config.blockGroup;
  }

  private async readMembers(run: CliRun): Promise<string[]> {
    const members = parseStaticMembers(await run(`show address-group ${this.group}`, { probe: true }), this.group);
    if (!members) {
      throw new ConnectorError(`${this.device}: the address-group ${this.group} does not exist; create it (static) and the deny rule that uses it`, { source: this.source });
    }
    return members;
  }

  /** Runs `body` in configure mode and always leaves it, so the next operation starts at `>`. */
  private async configure<T>(run: CliRun, body: () => Promise<T>): Promise<T> {
    await run('configure');
    const value = await body();
    await run('exit');
    return value;
  }

  private async commit(run: CliRun): Promise<void> {
    // Only this administrator's changes: a plain `commit` would also push whatever other admins
    // have pending in the customer's candidate config. The user name is the configured SSH login,
    // already restricted to [A-Za-z0-9._-@] by the customers schema.
    const admin = parseDeviceToken(this.config.ssh.username, 'ssh.username');
    const out = await run(`commit partial admin ${admin}`, { timeoutMs: Math.max(COMMIT_TIMEOUT_MS, this.config.ssh.timeoutMs) });
    if (!/Configuration committed successfully/.test(out)) {
      const last = out.split('\n').map((l) => l.trim()).filter((l) => l && l !== '[edit]').pop() ?? '(no output)';
      throw new ConnectorError(`${this.device}: commit did not succeed: ${JSON.stringify(last)}`, { source: this.source });
    }
  }

  async listBlocked(): Promise<{ ips: IpAddress[]; transcript: RawPayload }> {
    const { value, transcript } = await this.withCli('read the block group', (run) => this.configure(run, async () =>
      (await this.readMembers(run)).map(ipFromObjectName).filter((ip): ip is IpAddress => !!ip)));
    return { ips: value, transcript };
  }

  async blockIps(ips: IpAddress[], opts: { incidentId: string }): Promise<BlockResult> {
    const incidentId = parseIncidentId(opts.incidentId);
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`block ${wanted.join(', ')} for ${incidentId}`, (run) => this.configure(run, async () => {
      const members = new Set(await this.readMembers(run));
      const todo = wanted.filter((ip) => !members.has(addressObjectName(ip)));
      const alreadyBlocked = wanted.filter((ip) => members.has(addressObjectName(ip)));
      if (!todo.length) return { added: [], alreadyBlocked };
      for (const ip of todo) {
        await run(`set address ${addressObjectName(ip)} ip-netmask ${hostPrefix(ip)}`);
        await run(`set address ${addressObjectName(ip)} description "incident ${incidentId} (teams-ir-bot)"`);
      }
      // `set` on a list adds to it: existing members stay.
      await run(`set address-group ${this.group} static [ ${todo.map(addressObjectName).join(' ')} ]`);
      await this.commit(run);
      const after = new Set(await this.readMembers(run));
      const missing = todo.filter((ip) => !after.has(addressObjectName(ip)));
      if (missing.length) throw new ConnectorError(`${this.device}: ${missing.join(', ')} not in ${this.group} after the commit`, { source: this.source });
      return { added: todo, alreadyBlocked };
    }));
    return { ...value, transcript };
  }

  async unblockIps(ips: IpAddress[]): Promise<UnblockResult> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`unblock ${wanted.join(', ')}`, (run) => this.configure(run, async () => {
      const members = new Set(await this.readMembers(run));
      const inGroup = wanted.filter((ip) => members.has(addressObjectName(ip)));
      // Out of the group first: PAN-OS refuses to delete an object that is still referenced.
      for (const ip of inGroup) await run(`delete address-group ${this.group} static ${addressObjectName(ip)}`);
      const existing: IpAddress[] = [];
      for (const ip of wanted) {
        if (showsObject(await run(`show address ${addressObjectName(ip)}`, { probe: true }), addressObjectName(ip))) existing.push(ip);
      }
      for (const ip of existing) await run(`delete address ${addressObjectName(ip)}`);
      if (inGroup.length || existing.length) await this.commit(run);
      const removed = wanted.filter((ip) => inGroup.includes(ip) || existing.includes(ip));
      return { removed, notPresent: wanted.filter((ip) => !removed.includes(ip)) };
    }));
    return { ...value, transcript };
  }

  private async readVpn(run: CliRun, user: string): Promise<VpnSession[]> {
    const all = parseGlobalProtectUsers(await run('show global-protect-gateway current-user'), this.config.id);
    return all.filter((s) => sameVpnUser(s.user, user));
  }

  async listVpnSessions(user: string): Promise<{ sessions: VpnSession[]; transcript: RawPayload }> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`GlobalProtect users ${wanted}`, (run) => this.readVpn(run, wanted));
    return { sessions: value, transcript };
  }

  /**
   * `request global-protect-gateway client-logout gateway <gw> user <user> reason force-logout
   * computer <computer>`: the CLI form of the XML API's <client-logout> request. The gateway, user
   * and computer are the device's own names (a Mac is `Adele's MacBook Pro`, an iPhone `Dan’s
   * iPhone`): each is double-quoted, never checked against a shape. A row that still cannot be
   * sent, or that the device refuses, is skipped with its reason and the other rows are cut.
   */
  async revokeVpnSessions(user: string): Promise<RevokeResult> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`log out GlobalProtect user ${wanted}`, async (run) => {
      const sessions = await this.readVpn(run, wanted);
      const revoked: VpnSession[] = [];
      const skipped: SkippedVpnSession[] = [];
      const planned: Array<{ session: VpnSession; line: string; byComputer: boolean }> = [];
      for (const s of sessions) {
        try {
          planned.push({ session: s, ...clientLogoutLine(this.config.globalProtectGateway ?? s.handle.gateway, s) });
        } catch (e) {
          skipped.push({ session: s, reason: (e as Error).message });
        }
      }
      // Rows named by computer first: a logout without a computer ends whichever of the user's
      // sessions on that gateway is left, so it must not take one a precise line was meant for.
      planned.sort((a, b) => Number(b.byComputer) - Number(a.byComputer));
      for (const { session, line } of planned) {
        const errors = this.errorLines(await run(line, { probe: true }));
        if (errors.length) skipped.push({ session, reason: `${this.device} refused the logout: ${JSON.stringify(errors[0])}` });
        else revoked.push(session);
      }
      // The skipped rows may still be listed; anything beyond them means a logout did not take.
      const left = revoked.length ? (await this.readVpn(run, wanted)).length - skipped.length : 0;
      if (left > 0) throw new ConnectorError(`${this.device}: ${left} GlobalProtect session(s) of ${wanted} still listed after client-logout`, { source: this.source });
      return { revoked, skipped };
    });
    return { ...value, transcript };
  }

  async sessionTable(ips: IpAddress[]): Promise<{ sessions: FlowSession[]; transcript: RawPayload }> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withCli(`session table for ${wanted.join(', ')}`, async (run) => {
      const byId = new Map<string, FlowSession>();
      for (const ip of wanted) {
        for (const dir of ['source', 'destination'] as const) {
          for (const s of parsePanOsSessions(await run(`show session all filter ${dir} ${ip}`), this.config.id)) byId.set(s.id ?? `${s.src}:${s.srcPort}-${s.dst}:${s.dstPort}`, s);
        }
      }
      return [...byId.values()];
    });
    return { sessions: value, transcript };
  }
  /**
   * `test security-policy-match from <zone> to <zone> source <ip> destination <ip> protocol <n>
   * destination-port <port>` per flow: the first rule printed is the one that matches. No rule
   * printed means the predefined default applies (interzone-default denies, intrazone-default allows).
   */
  async matchedPolicy(queries: PolicyQuery[]): Promise<{ matches: PolicyMatch[]; skipped: Array<{ query: PolicyQuery; reason: string }>; transcript: RawPayload }> {
    const lookup = panOsLookupZones(this.config, queries, this.source, 'text/plain; charset=utf-8');
    if ('skippedAll' in lookup) return lookup.skippedAll;
    const { zones, checked } = lookup;
    const { value, transcript } = await this.withCli(`policy match for ${[...new Set(checked.map((q) => q.src))].join(', ')}`, async (run) => {
      const matches: PolicyMatch[] = [];
      for (const query of checked) {
        const out = await run(`test security-policy-match from ${zones.from} to ${zones.to} source ${query.src} destination ${query.dst} protocol ${query.protocol === 'tcp' ? 6 : 17} destination-port ${query.dstPort}`);
        matches.push(panOsPolicyMatch(this.config.id, query, zones, parseSecurityPolicyMatch(out)[0]));
      }
      return matches;
    });
    return { matches: value, skipped: [], transcript };
  }
}

/**
 * The logout line for one GlobalProtect row. The computer narrows the logout to one device; when
 * its name cannot be quoted it is left out (the user's session on that gateway is still ended).
 */
export function clientLogoutLine(gatewayName: string | undefined, s: VpnSession): { line: string; byComputer: boolean } {
  if (!gatewayName) throw new UnquotableValueError('gateway', 'the device listed no gateway for this session');
  const gateway = panOsQuoted(gatewayName, 'gateway');
  const user = panOsQuoted(s.user, 'GlobalProtect user');
  let computer = '';
  if (s.handle.computer) {
    try {
      computer = ` computer ${panOsQuoted(s.handle.computer, 'computer')}`;
    } catch {
      computer = '';
    }
  }
  return { line: `request global-protect-gateway client-logout gateway ${gateway} user ${user} reason force-logout${computer}`, byComputer: computer !== '' };
}

