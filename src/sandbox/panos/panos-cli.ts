import { isIP } from 'node:net';
import type { CliInterpreter } from '../ssh-cli-server';
import { commitCandidate, recordChange } from './panos-commit';
import { cloneConfig, type PanOsConfig, type PanOsState } from './panos-state';
import { firstMatchingRule } from './panos-policy';

const INVALID = 'Invalid syntax.';
// PAN-OS object names: start with a letter, digit or `_`; then letters, digits, `_ - .` and spaces.
const OBJECT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,62}$/;

/** PAN-OS tokenizing: whitespace separates, double quotes group; `[` and `]` are their own tokens. */
export function tokenizePanOs(line: string): string[] | undefined {
  const out: string[] = [];
  const re = /"([^"]*)"|(\[|\])|([^\s"[\]]+)|(")/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[4] !== undefined) return undefined;     // a quote left open
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

function validIpNetmask(v: string): boolean {
  const [ip, len, ...rest] = v.split('/');
  const fam = isIP(ip);
  if (rest.length || !fam) return false;
  if (len === undefined) return true;
  return /^\d{1,3}$/.test(len) && Number(len) <= (fam === 4 ? 32 : 128);
}

/** A list value: `[ a b ]` or a single token. */
function listValue(t: string[]): string[] | undefined {
  if (t.length === 1 && t[0] !== '[' && t[0] !== ']') return [t[0]];
  if (t[0] !== '[' || t[t.length - 1] !== ']' || t.length < 3) return undefined;
  const items = t.slice(1, -1);
  return items.some((x) => x === '[' || x === ']') ? undefined : items;
}

/**
 * One PAN-OS CLI session: operational mode (`>`) and configure mode (`#`, with `[edit]`),
 * a candidate config that only `commit` makes running, commit-time reference validation.
 */
export class PanOsCli implements CliInterpreter {
  private configMode = false;

  constructor(private readonly state: PanOsState, private readonly username: string) {}

  greeting(): string {
    return `Last login: Thu Nov 27 07:00:00 2026 from 10.0.0.10\n\nNumber of failed attempts since last successful login: 0\n\n\n${this.prompt()}`;
  }

  prompt(): string {
    return `${this.username}@${this.state.hostname}${this.configMode ? '#' : '>'} `;
  }

  handle(line: string): { output: string; hangUp?: boolean } {
    const t = tokenizePanOs(line);
    if (!t) return { output: this.configMode ? `${INVALID}\n\n[edit]` : INVALID };
    if (!t.length) return { output: this.configMode ? '[edit]' : '' };
    if (this.configMode) {
      const r = this.config(t);
      return { output: r.leave ? r.output : `${r.output ? `${r.output}\n` : ''}\n[edit]` };
    }
    return this.operational(t);
  }

  private operational(t: string[]): { output: string; hangUp?: boolean } {
    const s = t.join(' ');
    if (s === 'exit' || s === 'quit') return { output: '', hangUp: true };
    if (s === 'set cli pager off' || s === 'set cli pager on' || s === 'set cli scripting-mode on' || s === 'set cli scripting-mode off') return { output: '' };
    if (s === 'configure') { this.configMode = true; return { output: 'Entering configuration mode\n[edit]' }; }
    if (s === 'show system info') return { output: `hostname: ${this.state.hostname}\nmodel: PA-3220\nsw-version: 10.2.9` };
    if (s === 'show global-protect-gateway current-user') return { output: this.gpUsers() };
    if (t[0] === 'request' && t[1] === 'global-protect-gateway' && t[2] === 'client-logout') return { output: this.clientLogout(t.slice(3)) };
    if (t[0] === 'show' && t[1] === 'session' && t[2] === 'all') return { output: this.sessions(t.slice(3)) };
    if (t[0] === 'test' && t[1] === 'security-policy-match') return { output: this.policyMatch(t.slice(2)) };
    return { output: `Unknown command: ${t[0]}` };
  }

  private clientLogout(args: string[]): string {
    const kv = new Map<string, string>();
    for (let i = 0; i < args.length; i += 2) {
      if (!['gateway', 'user', 'reason', 'computer', 'domain'].includes(args[i]) || args[i + 1] === undefined || kv.has(args[i])) return INVALID;
      kv.set(args[i], args[i + 1]);
    }
    if (!kv.has('gateway') || !kv.has('user') || kv.get('reason') !== 'force-logout') return INVALID;
    const i = this.state.globalProtect.findIndex((u) => u.gateway === kv.get('gateway') && u.user === kv.get('user')
      && (!kv.has('computer') || u.computer === kv.get('computer')) && (!kv.has('domain') || u.domain === kv.get('domain')));
    if (i < 0) return `Server error : client-logout: user ${kv.get('user')} is not connected to gateway ${kv.get('gateway')}`;
    this.state.globalProtect.splice(i, 1);
    return '';
  }

  private gpUsers(): string {
    const byGw = new Map<string, PanOsState['globalProtect']>();
    for (const u of this.state.globalProtect) byGw.set(u.gateway, [...(byGw.get(u.gateway) ?? []), u]);
    const out: string[] = [];
    for (const [gw, users] of byGw) {
      out.push(`GlobalProtect Gateway: ${gw} (${users.length} users)`);
      for (const u of users) {
        out.push(
          `Tunnel Name          : ${gw}`,
          `        Domain-User Name     : ${u.domain}\\${u.user}`,
          `        Primary Username     : ${u.domain}\\${u.user}`,
          '        Region for Config    : PT',
          `        Computer             : ${u.computer}`,
          `        Client               : ${u.client}`,
          '        VPN Type             : Device Level VPN',
          '        Mobile ID            :',
          '        Client OS            : Windows',
          `        Private IP           : ${u.privateIp}`,
          '        Private IPv6         : ::',
          `        Public IP (connected) : ${u.publicIp}`,
          '        Public IPv6          : ::',
          '        ESP                  : exist',
          '        SSL                  : exist',
          `        Login Time           : ${u.loginTime}`,
          '        Logout/Expiration    : Dec.27 07:41:12',
          '        TTL                  : 2591975',
          '        Inactivity TTL       : 10800',
          '',
        );
      }
    }
    return out.length ? out.join('\n').trimEnd() : 'No users found';
  }

  /**
   * `test security-policy-match from <z> to <z> source <ip> destination <ip> protocol <n>
   * destination-port <p>` over the RUNNING rules: the first match, printed in the layout of the
   * ntc-templates capture (test/fixtures/panos/SOURCES.md); nothing when no rule matches.
   */
  private policyMatch(args: string[]): string {
    const kv = new Map<string, string>();
    for (let i = 0; i < args.length; i += 2) {
      if (!['from', 'to', 'source', 'destination', 'protocol', 'destination-port', 'application', 'source-user'].includes(args[i]) || args[i + 1] === undefined || kv.has(args[i])) return INVALID;
      kv.set(args[i], args[i + 1]);
    }
    const src = kv.get('source');
    const dst = kv.get('destination');
    if (!src || !isIP(src) || (dst !== undefined && !isIP(dst))) return INVALID;
    const proto = kv.has('protocol') ? Number(kv.get('protocol')) : undefined;
    const port = kv.has('destination-port') ? Number(kv.get('destination-port')) : undefined;
    if ((proto !== undefined && !(Number.isInteger(proto) && proto >= 0 && proto <= 255)) || (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))) return INVALID;
    const rules = this.state.running.rules;
    const i = firstMatchingRule(this.state.running, { from: kv.get('from'), to: kv.get('to'), src, dst, proto, port });
    if (i < 0) return '';
    const r = rules[i];
    const list = (v: string[] | undefined) => (!v || !v.length ? 'any' : v.length === 1 ? v[0] : `[ ${v.join(' ')} ]`);
    const svc = r.service?.[0];
    return [
      `"${r.name}; index: ${i + 1}" {`,
      `        from ${list(r.from)};`,
      `        source ${list(r.source)};`,
      '        source-region none;',
      `        to ${list(r.to)};`,
      `        destination ${list(r.destination)};`,
      '        destination-region none;',
      '        user any;',
      '        source-device any;',
      // sic: PAN-OS prints this key misspelt (see the capture)
      '        destinataion-device any;',
      '        category any;',
      `        application/service 0:any/${svc ? (svc.proto === 6 ? 'tcp' : 'udp') : 'any'}/any/${svc ? svc.port : 'any'};`,
      `        action ${r.action};`,
      '        icmp-unreachable: no',
      '        terminal yes;',
      '}',
    ].join('\n');
  }

  private sessions(args: string[]): string {
    if (args.length !== 3 || args[0] !== 'filter' || (args[1] !== 'source' && args[1] !== 'destination') || !isIP(args[2])) return INVALID;
    const rows = this.state.sessions.filter((s) => (args[1] === 'source' ? s.src : s.dst) === args[2]);
    if (!rows.length) return 'No Active Sessions';
    const dash = '-'.repeat(80);
    return [dash,
      'ID          Application    State   Type Flag  Src[Sport]/Zone/Proto (translated IP[Port])',
      'Vsys                                          Dst[Dport]/Zone (translated IP[Port])',
      dash,
      ...rows.flatMap((s) => [
        `${String(s.id).padEnd(12)} ${s.app.padEnd(14)} ${s.state.padEnd(7)} ${s.type.padEnd(4)} ${s.flag.padEnd(4)} ${s.src}[${s.srcPort}]/${s.srcZone}/${s.proto}  (${s.src}[${s.srcPort}])`,
        `${s.vsys.padEnd(45)} ${s.dst}[${s.dstPort}]/${s.dstZone}  (${s.dst}[${s.dstPort}])`,
      ])].join('\n');
  }

  private config(t: string[]): { output: string; leave?: boolean } {
    const c = this.state.candidate;
    const [verb, what, name, ...rest] = t;
    if (verb === 'exit' && t.length === 1) { this.configMode = false; return { output: 'Exiting configuration mode', leave: true }; }
    if (verb === 'commit' && t.length === 1) return { output: this.commit() };
    // `commit partial admin <name>`: only the objects that administrator changed.
    if (verb === 'commit' && what === 'partial' && name === 'admin' && rest.length === 1 && /^[A-Za-z0-9._@-]+$/.test(rest[0])) return { output: this.commit(rest[0]) };
    if (verb === 'show' && (what === 'address' || what === 'address-group') && name && !rest.length) return { output: this.show(what, name) };
    if (verb === 'set' && what === 'address' && name && OBJECT_NAME.test(name)) {
      const cur = c.address.get(name);
      if (rest[0] === 'ip-netmask' && rest.length === 2 && validIpNetmask(rest[1])) {
        c.address.set(name, { ...cur, ipNetmask: rest[1] });
        recordChange(this.state, this.username, 'address', name);
        return { output: '' };
      }
      if (rest[0] === 'description' && rest.length === 2 && rest[1].length <= 1023) {
        if (!cur) return { output: INVALID };    // an address needs its type (ip-netmask) first
        cur.description = rest[1];
        recordChange(this.state, this.username, 'address', name);
        return { output: '' };
      }
      return { output: INVALID };
    }
    if (verb === 'set' && what === 'address-group' && name && OBJECT_NAME.test(name) && rest[0] === 'static') {
      const items = listValue(rest.slice(1));
      if (!items || items.some((m) => !OBJECT_NAME.test(m))) return { output: INVALID };
      // Members are not checked here: PAN-OS validates references at commit.
      const g = c.addressGroup.get(name) ?? { static: [] };
      g.static = [...new Set([...g.static, ...items])];
      c.addressGroup.set(name, g);
      recordChange(this.state, this.username, 'address-group', name);
      return { output: '' };
    }
    if (verb === 'delete' && what === 'address-group' && name && rest[0] === 'static' && rest.length === 2) {
      const g = c.addressGroup.get(name);
      if (!g || !g.static.includes(rest[1])) return { output: `Server error : delete failed: ${rest[1]} is not a member of address-group ${name}` };
      g.static = g.static.filter((m) => m !== rest[1]);
      recordChange(this.state, this.username, 'address-group', name);
      return { output: '' };
    }
    if (verb === 'delete' && what === 'address' && name && !rest.length) {
      if (!c.address.has(name)) return { output: `Server error : delete failed: address ${name} does not exist` };
      const refs = this.references(c, name);
      if (refs.length) return { output: `Server error : Object ${name} cannot be deleted because of references from:\n ${refs.join('\n ')}` };
      c.address.delete(name);
      recordChange(this.state, this.username, 'address', name);
      return { output: '' };
    }
    if (verb === 'revert' && what === 'config' && t.length === 2) { this.state.candidate = cloneConfig(this.state.running); this.state.pendingChanges.clear(); return { output: '' }; }
    return { output: INVALID };
  }

  private references(c: PanOsConfig, name: string): string[] {
    const refs: string[] = [];
    for (const [g, v] of c.addressGroup) if (v.static.includes(name)) refs.push(`address-group -> ${g} -> static`);
    for (const r of c.rules) if (r.source.includes(name)) refs.push(`rulebase -> security -> rules -> ${r.name} -> source`);
    return refs;
  }

  private show(what: 'address' | 'address-group', name: string): string {
    const c = this.state.candidate;
    if (what === 'address') {
      const a = c.address.get(name);
      if (!a) return '';
      return [`${name} {`, `  ip-netmask ${a.ipNetmask};`, ...(a.description ? [`  description "${a.description}";`] : []), '}'].join('\n');
    }
    const g = c.addressGroup.get(name);
    if (!g) return '';
    return [`${name} {`, g.static.length === 1 ? `  static ${g.static[0]};` : `  static [ ${g.static.join(' ')}];`, '}'].join('\n');
  }

  private commit(admin?: string): string {
    const job = 100 + this.state.commits;
    const r = commitCandidate(this.state, admin);
    if (r.kind === 'no-changes') return 'There are no changes to commit.';
    const head = `Commit job ${job} is in progress. Use Ctrl+C to return to command prompt\n.........55%.....98%.......100%`;
    if (r.kind === 'failed') return `${head}\nCommit failed\n${r.errors.map((e) => `  ${e}`).join('\n')}`;
    return `${head}\nConfiguration committed successfully`;
  }

}
