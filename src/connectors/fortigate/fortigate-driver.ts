import { ipFamily, type IpAddress } from '../../domain/net';
import { ConnectorError, type RawPayload } from '../types';
import type { CliShell } from '../ssh/cli-shell';
import { CliFirewallDriver, type CliRun } from '../firewall/cli-driver';
import type { BlockResult, FirewallDriver, FlowSession, RevokeResult, SkippedVpnSession, UnblockResult, VpnSession } from '../firewall/driver';
import { addressObjectName, checkedIp, hostPrefix, ipFromObjectName, parseIncidentId, parseVpnUser, sameVpnUser } from '../firewall/cli-values';
import { fortiOsErrorLines, parseGroupMembers, parseSessionList, parseSslVpnMonitor, showsEntry } from './fortios-parse';

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

  private async readVpn(run: Run, user: string): Promise<VpnSession[]> {
    return parseSslVpnMonitor(await run('get vpn ssl monitor'), this.config.id).filter((s) => sameVpnUser(s.user, user));
  }

  async listVpnSessions(user: string): Promise<{ sessions: VpnSession[]; transcript: RawPayload }> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`SSL-VPN sessions of ${wanted}`, (run) => this.inVdom(run, () => this.readVpn(run, wanted)));
    return { sessions: value, transcript };
  }

  async revokeVpnSessions(user: string): Promise<RevokeResult> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withCli(`cut SSL-VPN sessions of ${wanted}`, (run) => this.inVdom(run, async () => {
      const sessions = await this.readVpn(run, wanted);
      const revoked: VpnSession[] = [];
      const skipped: SkippedVpnSession[] = [];
      // Tunnels first (the traffic), then the web/login rows; indexes come from this listing only.
      // Rows are addressed by index, never by name; a row without a usable index, or one the
      // device refuses, is skipped with its reason and the others are still cut.
      for (const kind of ['sslvpn-tunnel', 'sslvpn-web'] as const) {
        for (const s of sessions.filter((x) => x.kind === kind)) {
          const i = index(s);
          if (i === undefined) { skipped.push({ session: s, reason: `no usable SSL-VPN index for ${JSON.stringify(s.user)}` }); continue; }
          const errors = this.errorLines(await run(`execute vpn sslvpn ${kind === 'sslvpn-tunnel' ? 'del-tunnel' : 'del-web'} ${i}`, { probe: true }));
          if (errors.length) skipped.push({ session: s, reason: `${this.device} refused to end index ${i}: ${JSON.stringify(errors[0])}` });
          else revoked.push(s);
        }
      }
      // Indexes may be renumbered after a delete: count what is left rather than match rows.
      const left = revoked.length ? (await this.readVpn(run, wanted)).length - skipped.length : 0;
      if (left > 0) throw new ConnectorError(`${this.device}: ${left} SSL-VPN session(s) of ${wanted} still listed after del-tunnel/del-web`, { source: this.source });
      return { revoked, skipped };
    }));
    return { ...value, transcript };
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

function index(s: VpnSession): number | undefined {
  const i = s.handle.index;
  return i !== undefined && Number.isSafeInteger(i) && i >= 0 ? i : undefined;
}
