import { panOsLookupZones, panOsPolicyMatch } from './panos-policy-match';
import type { FirewallConfig, PanOsApiConfig } from '../../config/customers';
import type { IpAddress } from '../../domain/net';
import { InvalidInputError, quoteForError } from '../../domain/net';
import { ConnectorError, type RawPayload } from '../types';
import type { BlockResult, FirewallDriver, FirewallDriverDeps, FlowSession, PolicyMatch, PolicyQuery, RevokeResult, SkippedVpnSession, UnblockResult, VpnSession } from '../firewall/driver';
import { addressObjectName, checkedIp, hostPrefix, parseIncidentId, parseVpnUser, sameVpnUser, ipFromObjectName } from '../firewall/cli-values';
import { PanOsApiClient } from './panos-api-client';
import { parseApiGlobalProtectUsers, parseApiSessions, parseApiPolicyMatch, parseCommitJob, parseGroupMembers, parseJob, showsAddress } from './panos-api-parse';
import { xmlElement, xmlEscape, type XmlElementSpec } from './panos-xml';

/** A commit on a busy firewall takes minutes. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;

// PAN-OS object names: letters, digits, `_ - .` and spaces; never a quote, so an xpath literal is safe.
const OBJECT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,62}$/;

function xpathName(name: string, field: string): string {
  if (!OBJECT_NAME.test(name)) throw new InvalidInputError(field, `not a PAN-OS object name: ${quoteForError(name)}`);
  return name;
}

/**
 * Palo Alto Networks firewall over the PAN-OS XML API (transport `api`): the same steps as the CLI
 * driver, as structured requests. Config changes go to the candidate with `type=config`
 * (set/get/show/delete on the vsys's address and address-group), then `commit partial` for the
 * bot's own administrator only, polled as a job until it finishes. GlobalProtect users and the
 * session table come from `type=op`. Every value placed in a request is XML-escaped (computer
 * names such as `Dan’s iPhone` go back exactly as the device gave them).
 */
export class PanOsApiDriver implements FirewallDriver {
  private readonly source = 'paloalto.api';
  private readonly api: PanOsApiConfig;
  private readonly client: PanOsApiClient;

  constructor(readonly config: FirewallConfig, private readonly deps: FirewallDriverDeps & { commitPollMs?: number }) {
    if (!config.api) throw new ConnectorError(`firewall ${config.id}: transport api needs an api section`, { source: this.source });
    this.api = config.api;
    this.client = new PanOsApiClient(this.api, deps.secrets, { source: this.source, device: this.device });
  }

  private get device(): string {
    return `${this.config.id} (${this.config.api?.baseUrl ?? 'no api'})`;
  }

  private get vsysXpath(): string {
    return `/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='${xpathName(this.api.vsys, 'vsys')}']`;
  }

  private groupXpath(): string {
    return `${this.vsysXpath}/address-group/entry[@name='${xpathName(this.config.blockGroup, 'blockGroup')}']`;
  }

  private addressXpath(name: string): string {
    return `${this.vsysXpath}/address/entry[@name='${xpathName(name, 'address')}']`;
  }

  async close(): Promise<void> {
    // One TLS connection a request: nothing stays open.
  }

  /** Runs `op` and returns its value with the transcript of exactly the requests it made. */
  private async withApi<T>(note: string, op: () => Promise<T>): Promise<{ value: T; transcript: RawPayload }> {
    const from = this.client.exchanges.length;
    try {
      const value = await op();
      return { value, transcript: this.client.transcript(from, `${this.config.id}: ${note}`) };
    } catch (e) {
      if (e instanceof ConnectorError && !e.opts.raw) e.opts.raw = [this.client.transcript(from, `${this.config.id}: ${note} (failed)`)];
      throw e;
    }
  }

  private op(cmd: XmlElementSpec): Promise<import('./panos-xml').XmlElement> {
    return this.client.request({ type: 'op', cmd: xmlElement(cmd[0], cmd[1]) });
  }

  /** The block group's members, from the candidate (`get`) or the running config (`show`). */
  private async readMembers(action: 'get' | 'show'): Promise<string[]> {
    const members = parseGroupMembers(await this.client.request({ type: 'config', action, xpath: this.groupXpath() }), this.config.blockGroup);
    if (!members) {
      throw new ConnectorError(`${this.device}: the address-group ${this.config.blockGroup} does not exist in ${this.api.vsys}; create it (static) and the deny rule that uses it`, { source: this.source });
    }
    return members;
  }

  /** `commit partial` of this admin's changes, then the job polled until FIN; anything but OK fails. */
  private async commit(): Promise<void> {
    const admin = xmlEscape(this.api.admin);
    const job = parseCommitJob(await this.client.request({ type: 'commit', cmd: `<commit><partial><admin><member>${admin}</member></admin></partial></commit>` }));
    if (job === null) return;
    const deadline = Date.now() + COMMIT_TIMEOUT_MS;
    for (;;) {
      const j = parseJob(await this.op(['show', [['jobs', [['id', job]]]]]));
      if (j.status === 'FIN') {
        if (j.result === 'OK') return;
        throw new ConnectorError(`${this.device}: commit job ${job} finished with ${j.result || 'no result'}: ${JSON.stringify(j.details.join(' ') || '(no details)')}`, { source: this.source });
      }
      if (Date.now() > deadline) throw new ConnectorError(`${this.device}: commit job ${job} still ${j.status} after ${COMMIT_TIMEOUT_MS / 60_000} minutes`, { source: this.source, retryable: true });
      await new Promise((r) => setTimeout(r, this.deps.commitPollMs ?? 2000));
    }
  }

  async listBlocked(): Promise<{ ips: IpAddress[]; transcript: RawPayload }> {
    const { value, transcript } = await this.withApi('read the block group', async () =>
      (await this.readMembers('get')).map(ipFromObjectName).filter((ip): ip is IpAddress => !!ip));
    return { ips: value, transcript };
  }

  async blockIps(ips: IpAddress[], opts: { incidentId: string }): Promise<BlockResult> {
    const incidentId = parseIncidentId(opts.incidentId);
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withApi(`block ${wanted.join(', ')} for ${incidentId}`, async () => {
      const members = new Set(await this.readMembers('get'));
      const todo = wanted.filter((ip) => !members.has(addressObjectName(ip)));
      const alreadyBlocked = wanted.filter((ip) => members.has(addressObjectName(ip)));
      if (!todo.length) return { added: [], alreadyBlocked };
      for (const ip of todo) {
        const element = xmlElement('ip-netmask', hostPrefix(ip)) + xmlElement('description', `incident ${incidentId} (teams-ir-bot)`);
        await this.client.request({ type: 'config', action: 'set', xpath: this.addressXpath(addressObjectName(ip)), element });
      }
      // `set` merges into the list: existing members stay.
      await this.client.request({ type: 'config', action: 'set', xpath: `${this.groupXpath()}/static`, element: todo.map((ip) => xmlElement('member', addressObjectName(ip))).join('') });
      await this.commit();
      const after = new Set(await this.readMembers('show'));
      const missing = todo.filter((ip) => !after.has(addressObjectName(ip)));
      if (missing.length) throw new ConnectorError(`${this.device}: ${missing.join(', ')} not in ${this.config.blockGroup} of the running config after the commit`, { source: this.source });
      return { added: todo, alreadyBlocked };
    });
    return { ...value, transcript };
  }

  async unblockIps(ips: IpAddress[]): Promise<UnblockResult> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withApi(`unblock ${wanted.join(', ')}`, async () => {
      const members = new Set(await this.readMembers('get'));
      const inGroup = wanted.filter((ip) => members.has(addressObjectName(ip)));
      // Out of the group first: PAN-OS refuses to delete an object that is still referenced.
      for (const ip of inGroup) {
        await this.client.request({ type: 'config', action: 'delete', xpath: `${this.groupXpath()}/static/member[text()='${xpathName(addressObjectName(ip), 'member')}']` });
      }
      const existing: IpAddress[] = [];
      for (const ip of wanted) {
        if (showsAddress(await this.client.request({ type: 'config', action: 'get', xpath: this.addressXpath(addressObjectName(ip)) }), addressObjectName(ip))) existing.push(ip);
      }
      for (const ip of existing) await this.client.request({ type: 'config', action: 'delete', xpath: this.addressXpath(addressObjectName(ip)) });
      if (inGroup.length || existing.length) await this.commit();
      const removed = wanted.filter((ip) => inGroup.includes(ip) || existing.includes(ip));
      return { removed, notPresent: wanted.filter((ip) => !removed.includes(ip)) };
    });
    return { ...value, transcript };
  }

  private async readVpn(user: string): Promise<VpnSession[]> {
    const gw = this.config.globalProtectGateway;
    const cmd: XmlElementSpec = ['show', [['global-protect-gateway', [['current-user', gw ? [['gateway', gw]] : []]]]]];
    const all = parseApiGlobalProtectUsers(await this.op(cmd), this.config.id, gw);
    return all.filter((s) => sameVpnUser(s.user, user));
  }

  async listVpnSessions(user: string): Promise<{ sessions: VpnSession[]; transcript: RawPayload }> {
    const wanted = parseVpnUser(user);
    const { value, transcript } = await this.withApi(`GlobalProtect users ${wanted}`, () => this.readVpn(wanted));
    return { sessions: value, transcript };
  }

  /**
   * `<request><global-protect-gateway><client-logout>` per session, then a re-read to verify. A
   * session the gateway refuses is skipped with its reason: one odd row never stops the others.
   */
  async revokeVpnSessions(user: string): Promise<RevokeResult> {
    const wanted = parseVpnUser(user);
    const skipped: SkippedVpnSession[] = [];
    const { value, transcript } = await this.withApi(`log out GlobalProtect user ${wanted}`, async () => {
      const sessions = await this.readVpn(wanted);
      const revoked: VpnSession[] = [];
      for (const s of sessions) {
        const gateway = s.handle.gateway;
        if (!gateway) throw new ConnectorError(`${this.device}: set globalProtectGateway for this firewall: the API's user list does not name the gateway, and client-logout needs it`, { source: this.source });
        const logout: XmlElementSpec[] = [['gateway', gateway], ['user', s.user], ['reason', 'force-logout']];
        if (s.handle.domain) logout.push(['domain', s.handle.domain]);
        if (s.handle.computer) logout.push(['computer', s.handle.computer]);
        const r = await this.op(['request', [['global-protect-gateway', [['client-logout', logout]]]]]);
        // The answer nests the gateway's own <response>; an inner error is that row's failure.
        const inner = r.children.find((c) => c.name === 'result')?.children.find((c) => c.name === 'response');
        if (inner && inner.attrs.status && inner.attrs.status !== 'success') {
          const said = inner.children.flatMap((c) => [c.text.trim(), ...c.children.map((x) => x.text.trim())]).filter(Boolean).join(' ');
          skipped.push({ session: s, reason: `client-logout refused: ${JSON.stringify(said || inner.attrs.status)}` });
          continue;
        }
        revoked.push(s);
      }
      const left = revoked.length ? await this.readVpn(wanted) : [];
      if (left.length > skipped.length) throw new ConnectorError(`${this.device}: ${left.length - skipped.length} GlobalProtect session(s) of ${wanted} still listed after client-logout`, { source: this.source });
      return revoked;
    });
    return { revoked: value, skipped, transcript };
  }

  async sessionTable(ips: IpAddress[]): Promise<{ sessions: FlowSession[]; transcript: RawPayload }> {
    const wanted = [...new Set(ips.map(checkedIp))];
    const { value, transcript } = await this.withApi(`session table for ${wanted.join(', ')}`, async () => {
      const byId = new Map<string, FlowSession>();
      for (const ip of wanted) {
        for (const dir of ['source', 'destination'] as const) {
          const r = await this.op(['show', [['session', [['all', [['filter', [[dir, ip]]]]]]]]]);
          for (const s of parseApiSessions(r, this.config.id)) byId.set(s.id ?? `${s.src}:${s.srcPort}-${s.dst}:${s.dstPort}`, s);
        }
      }
      return [...byId.values()];
    });
    return { sessions: value, transcript };
  }

  /** `<test><security-policy-match>` per flow between the configured zones; the first rule is the match. */
  async matchedPolicy(queries: PolicyQuery[]): Promise<{ matches: PolicyMatch[]; skipped: Array<{ query: PolicyQuery; reason: string }>; transcript: RawPayload }> {
    const lookup = panOsLookupZones(this.config, queries, this.source, 'application/xml');
    if ('skippedAll' in lookup) return lookup.skippedAll;
    const { zones, checked } = lookup;
    const { value, transcript } = await this.withApi(`policy match for ${[...new Set(checked.map((q) => q.src))].join(', ')}`, async () => {
      const matches: PolicyMatch[] = [];
      for (const query of checked) {
        const r = await this.op(['test', [['security-policy-match', [
          ['from', zones.from], ['to', zones.to], ['source', query.src], ['destination', query.dst],
          ['protocol', query.protocol === 'tcp' ? '6' : '17'], ['destination-port', String(query.dstPort)],
        ]]]]);
        matches.push(panOsPolicyMatch(this.config.id, query, zones, parseApiPolicyMatch(r)[0]));
      }
      return matches;
    });
    return { matches: value, skipped: [], transcript };
  }
}
