import { isIP } from 'node:net';
import type { CliInterpreter } from '../ssh-cli-server';
import type { DialupInstance, FortiOsState } from './fortios-state';

type Table = 'address' | 'address6' | 'addrgrp' | 'addrgrp6';
const TABLES: readonly Table[] = ['address', 'address6', 'addrgrp', 'addrgrp6'];

type Frame =
  | { kind: 'root' }
  | { kind: 'vdom-list' }
  | { kind: 'vdom'; name: string }
  | { kind: 'table'; table: Table }
  | { kind: 'console' }
  | { kind: 'entry'; table: Table; name: string; draft: Record<string, unknown> };

const FAIL = (code: number) => `Command fail. Return code ${code}`;
const parseError = (tok: string) => `command parse error before '${tok}'\n${FAIL(-61)}`;
const valueError = (tok: string, code = -8) => `value parse error before '${tok}'\n${FAIL(code)}`;
const notFound = (tok: string) => `entry not found in datasource\n\nvalue parse error before '${tok}'\n${FAIL(-3)}`;

/** FortiOS tokenizing: whitespace separates, double or single quotes group, backslash escapes. */
export function tokenizeFortiOs(line: string): string[] | { error: string } {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') { i++; continue; }
    let tok = '';
    let quote: string | undefined;
    const start = i;
    while (i < line.length) {
      const c = line[i];
      if (quote) {
        if (c === '\\' && i + 1 < line.length) { tok += line[i + 1]; i += 2; continue; }
        if (c === quote) { quote = undefined; i++; continue; }
        tok += c; i++;
      } else if (c === '"' || c === "'") { quote = c; i++; }
      else if (c === ' ' || c === '\t') break;
      else { tok += c; i++; }
    }
    if (quote) return { error: line.slice(start) };
    out.push(tok);
  }
  return out;
}

const MASKS = new Map<string, number>(Array.from({ length: 33 }, (_, n) => {
  const m = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return [[m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.'), n] as [string, number];
}));
const maskOf = (len: number) => [...MASKS].find(([, n]) => n === len)![0];

/** `a.b.c.d/len` or `a.b.c.d m.m.m.m` → the "ip mask" FortiOS stores, or undefined. */
function parseSubnet(args: string[]): string | undefined {
  if (args.length === 1) {
    const [ip, len, ...rest] = args[0].split('/');
    if (rest.length || isIP(ip) !== 4 || !/^\d{1,2}$/.test(len ?? '') || Number(len) > 32) return undefined;
    return `${ip} ${maskOf(Number(len))}`;
  }
  if (args.length === 2 && isIP(args[0]) === 4 && MASKS.has(args[1])) return `${args[0]} ${args[1]}`;
  return undefined;
}

function parseIp6Prefix(arg: string | undefined): string | undefined {
  if (!arg) return undefined;
  const [ip, len, ...rest] = arg.split('/');
  if (rest.length || isIP(ip) !== 6 || !/^\d{1,3}$/.test(len ?? '') || Number(len) > 128) return undefined;
  return `${ip}/${len}`;
}

const NAME = /^[^"'\\\x00-\x1f]{1,79}$/;
const q = (s: string) => `"${s}"`;

/**
 * One FortiOS CLI session over the shared state. Strict in the ways scripts trip over: unknown
 * commands, bad subnets, members that do not exist, an open quote, deleting an object in use.
 */
export class FortiOsCli implements CliInterpreter {
  private stack: Frame[] = [{ kind: 'root' }];
  private filters: Record<'session' | 'session6', { src?: string; dst?: string }> = { session: {}, session6: {} };

  /** true until the post-login disclaimer is accepted (when the device shows one) */
  private disclaimerPending: boolean;

  constructor(private readonly state: FortiOsState) {
    this.disclaimerPending = !!state.postLoginBanner;
  }

  greeting(): string {
    // `set post-login-banner enable`: the disclaimer text, then the key prompt, before any prompt.
    if (this.disclaimerPending) return `${this.state.postLoginBanner}\n(Press 'a' to accept):`;
    return this.prompt();
  }

  awaitingKey(): boolean {
    return this.disclaimerPending;
  }

  /** `a` accepts the disclaimer; any other key refuses it and the device closes the session. */
  key(c: string): { output: string; hangUp?: boolean } {
    if (c !== 'a') return { output: '', hangUp: true };
    this.disclaimerPending = false;
    return { output: '\n' };
  }

  pageLines(): number | undefined {
    return this.state.console.output === 'more' ? this.state.pageLines : undefined;
  }

  prompt(): string {
    const top = this.stack[this.stack.length - 1];
    const label = top.kind === 'vdom-list' ? 'vdom' : top.kind === 'vdom' ? top.name : top.kind === 'table' ? top.table : top.kind === 'entry' ? top.name : top.kind === 'console' ? 'console' : '';
    return `${this.state.hostname} ${label ? `(${label}) ` : ''}# `;
  }

  handle(line: string): { output: string; hangUp?: boolean } {
    const toks = tokenizeFortiOs(line);
    if (!Array.isArray(toks)) return { output: parseError(toks.error) };
    if (!toks.length) return { output: '' };
    const top = this.stack[this.stack.length - 1];
    switch (top.kind) {
      case 'root': return this.atRoot(toks, false);
      case 'vdom': return this.atRoot(toks, true);
      case 'vdom-list': return { output: this.atVdomList(toks) };
      case 'table': return { output: this.atTable(top, toks) };
      case 'console': return { output: this.atConsole(toks) };
      case 'entry': return { output: this.atEntry(top, toks) };
    }
  }

  private inVdomContext(inVdom: boolean): boolean {
    return !this.state.vdoms || inVdom;
  }

  private atRoot(t: string[], inVdom: boolean): { output: string; hangUp?: boolean } {
    const [a, b, c, d, ...rest] = t;
    if (a === 'exit' && t.length === 1) return inVdom ? { output: parseError('exit') } : { output: '', hangUp: true };
    if (a === 'end' && t.length === 1 && inVdom) { this.stack.pop(); return { output: '' }; }
    if (a === 'config' && b === 'vdom' && t.length === 2) {
      if (!this.state.vdoms || inVdom) return { output: parseError('vdom') };
      this.stack.push({ kind: 'vdom-list' });
      return { output: '' };
    }
    if (a === 'config' && b === 'firewall' && t.length === 3) {
      if (!this.inVdomContext(inVdom)) return { output: parseError('firewall') };
      if (!TABLES.includes(c as Table)) return { output: parseError(c) };
      this.stack.push({ kind: 'table', table: c as Table });
      return { output: '' };
    }
    if (a === 'config' && b === 'system' && c === 'console' && t.length === 3) {
      this.stack.push({ kind: 'console' });
      return { output: '' };
    }
    if (a === 'show' && b === 'firewall' && c === 'policy' && t.length <= 4) {
      if (!this.inVdomContext(inVdom)) return { output: parseError('firewall') };
      if (d !== undefined && !/^\d+$/.test(d)) return { output: valueError(d) };
      return { output: this.showPolicies(d === undefined ? undefined : Number(d)) };
    }
    if (a === 'diagnose' && b === 'firewall' && c === 'iprope' && d === 'lookup') {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      return { output: this.ipropeLookup(rest) };
    }
    if (a === 'diagnose' && b === 'vpn' && c === 'ike' && d === 'gateway') {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      return { output: this.ikeGateway(rest) };
    }
    if (a === 'show' && b === 'firewall' && t.length >= 3 && t.length <= 4) {
      if (!this.inVdomContext(inVdom)) return { output: parseError('firewall') };
      if (!TABLES.includes(c as Table)) return { output: parseError(c) };
      return { output: this.show(c as Table, d) };
    }
    if (a === 'get' && b === 'system' && c === 'status' && t.length === 3) {
      return { output: `Version: FortiGate-VM64 v7.4.3,build2573,240201 (GA.F)\nHostname: ${this.state.hostname}\nOperation Mode: NAT\nVirtual domain configuration: ${this.state.vdoms ? 'multiple' : 'disable'}` };
    }
    if ((a === 'get' && b === 'vpn' && c === 'ssl' && d === 'monitor' && !rest.length) || (a === 'execute' && b === 'vpn' && c === 'sslvpn' && d === 'list' && !rest.length)) {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      return { output: this.sslMonitor() };
    }
    if (a === 'execute' && b === 'vpn' && c === 'sslvpn' && (d === 'del-tunnel' || d === 'del-web') && rest.length === 1) {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      if (!/^\d+$/.test(rest[0])) return { output: valueError(rest[0]) };
      const list = d === 'del-tunnel' ? this.state.sslvpn.tunnels : this.state.sslvpn.logins;
      const i = list.findIndex((x) => x.index === Number(rest[0]));
      if (i < 0) return { output: FAIL(-1) };
      list.splice(i, 1);
      // The monitor numbers rows by position: after a delete the rows below move up one index,
      // so an index read before the delete may now name somebody else's session.
      list.forEach((x, n) => { x.index = n; });
      return { output: '' };
    }
    if (a === 'diagnose' && b === 'sys' && (c === 'session' || c === 'session6')) {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      return { output: this.diagSession(c, t.slice(3)) };
    }
    return { output: inVdom || ['config', 'show', 'get', 'execute', 'diagnose'].includes(a) ? parseError(t[t.length > 1 ? 1 : 0]) : 'Unknown action 0' };
  }

  private atConsole(t: string[]): string {
    if (t[0] === 'end' && t.length === 1) { this.stack.pop(); return ''; }
    if (t[0] === 'set' && t[1] === 'output' && t.length === 3) {
      if (t[2] !== 'more' && t[2] !== 'standard') return valueError(t[2]);
      this.state.console.output = t[2];
      return '';
    }
    if (t[0] === 'get' && t.length === 1) return `output              : ${this.state.console.output}`;
    return parseError(t[0]);
  }

  /**
   * `diagnose vpn ike gateway list [name <n>]` and `... clear name <n>`. The layout follows a
   * FortiOS 7.6 capture (test/fixtures/fortios/SOURCES.md). `clear` with no name clears EVERY
   * gateway on a real device: the emulator does it too, so a test would see such a slip.
   */
  private ikeGateway(t: string[]): string {
    const list = this.state.ipsec.dialup;
    if (t[0] === 'list' && t.length === 1) return list.map(gatewayBlock).join('');
    if (t[0] === 'list' && t[1] === 'name' && t.length === 3) return list.filter((g) => g.name === t[2]).map(gatewayBlock).join('');
    if (t[0] === 'clear' && t.length === 1) { list.splice(0, list.length); return ''; }
    if (t[0] === 'clear' && t[1] === 'name' && t.length === 3) {
      const i = list.findIndex((g) => g.name === t[2]);
      if (i >= 0) list.splice(i, 1);
      return '';
    }
    return parseError(t[0] ?? 'gateway');
  }

  /**
   * `diagnose firewall iprope lookup <src> <sport> <dst> <dport> <proto> <dev>`: the first policy
   * (in order) whose source interface, addresses and service match; 0 when none (implicit deny).
   * Output as in Fortinet's community articles (test/fixtures/fortios/SOURCES.md).
   */
  private ipropeLookup(t: string[]): string {
    if (t.length !== 6) return parseError(t[t.length - 1] ?? 'lookup');
    const [src, sport, dst, dport, protoArg, dev] = t;
    if (isIP(src) !== 4) return valueError(src);
    if (isIP(dst) !== 4) return valueError(dst);
    for (const p of [sport, dport]) if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) return valueError(p);
    const proto = ({ tcp: 6, udp: 17, icmp: 1 } as Record<string, number>)[protoArg] ?? (/^\d{1,3}$/.test(protoArg) ? Number(protoArg) : undefined);
    if (proto === undefined || proto > 255) return valueError(protoArg);
    if (!this.state.interfaces.includes(dev)) return valueError(dev);
    const hit = this.state.policies.find((p) => (!p.srcintf || p.srcintf.includes(dev) || p.srcintf.includes('any'))
      && p.srcaddr.some((a) => this.addressHas(a, src, new Set()))
      && (p.dstaddr ?? ['all']).some((a) => this.addressHas(a, dst, new Set()))
      && (p.service ?? ['ALL']).some((svc) => serviceHas(svc, proto, Number(dport))));
    return `<src [${src}-${sport}] dst [${dst}-${dport}] proto ${protoArg} dev ${dev}> matches policy id: ${hit?.id ?? 0}`;
  }

  /** Whether an IPv4 address object or group (resolved recursively) contains `ip`. */
  private addressHas(name: string, ip: string, seen: Set<string>): boolean {
    if (seen.has(name)) return false;
    seen.add(name);
    const a = this.state.address.get(name);
    if (a) {
      const [net, mask] = a.subnet.split(' ');
      const m = ipv4ToInt(mask);
      return ((ipv4ToInt(ip) & m) >>> 0) === ((ipv4ToInt(net) & m) >>> 0);
    }
    const g = this.state.addrgrp.get(name);
    return !!g && g.member.some((m) => this.addressHas(m, ip, seen));
  }

  /** `show firewall policy [id]`: only non-default settings, as FortiOS shows (deny is the default action). */
  private showPolicies(id?: number): string {
    const rows = this.state.policies.filter((p) => id === undefined || p.id === id);
    const list = (v: string[]) => v.map(q).join(' ');
    const body = rows.map((p) => [
      `    edit ${p.id}`,
      `        set name ${q(p.name)}`,
      `        set uuid ${policyUuid(p.id)}`,
      `        set srcintf ${list(p.srcintf ?? ['any'])}`,
      `        set dstintf ${list(p.dstintf ?? ['any'])}`,
      `        set srcaddr ${list(p.srcaddr)}`,
      `        set dstaddr ${list(p.dstaddr ?? ['all'])}`,
      ...(p.srcaddr6 ? [`        set srcaddr6 ${list(p.srcaddr6)}`, '        set dstaddr6 "all"'] : []),
      ...(p.action === 'accept' ? ['        set action accept'] : []),
      '        set schedule "always"',
      `        set service ${list(p.service ?? ['ALL'])}`,
      '    next',
    ].join('\n'));
    return ['config firewall policy', ...body, 'end'].join('\n');
  }

  private atVdomList(t: string[]): string {
    if (t[0] === 'end' && t.length === 1) { this.stack.pop(); return ''; }
    if (t[0] === 'edit' && t.length === 2) {
      if (!this.state.vdoms?.includes(t[1])) return notFound(t[1]);
      this.stack.pop();
      this.stack.push({ kind: 'vdom', name: t[1] });
      return '';
    }
    return parseError(t[0]);
  }

  private atTable(top: Extract<Frame, { kind: 'table' }>, t: string[]): string {
    const table = this.state[top.table] as Map<string, Record<string, unknown>>;
    const [a, b] = t;
    if (a === 'end' && t.length === 1) { this.stack.pop(); return ''; }
    if (a === 'next' && t.length === 1) return '';
    if (a === 'show' && t.length === 1) return this.show(top.table);
    if (a === 'edit' && t.length === 2) {
      if (!NAME.test(b)) return valueError(b, -651);
      const existing = table.get(b);
      this.stack.push({ kind: 'entry', table: top.table, name: b, draft: existing ? structuredClone(existing) : top.table.startsWith('addrgrp') ? { member: [] } : top.table === 'address' ? { subnet: '0.0.0.0 0.0.0.0' } : { ip6: '::/0' } });
      return '';
    }
    if (a === 'delete' && t.length === 2) {
      if (!table.has(b)) return notFound(b);
      const users = this.usersOf(top.table, b);
      if (users) return `The entry is used by other ${users} entries\n${FAIL(-23)}`;
      table.delete(b);
      return '';
    }
    return parseError(a);
  }

  private atEntry(top: Extract<Frame, { kind: 'entry' }>, t: string[]): string {
    const [a, b, ...args] = t;
    const isGroup = top.table.startsWith('addrgrp');
    if ((a === 'next' || a === 'end') && t.length === 1) {
      if (isGroup && !(top.draft.member as string[]).length) return `Attribute 'member' MUST be set.\n${FAIL(-56)}`;
      (this.state[top.table] as Map<string, Record<string, unknown>>).set(top.name, top.draft);
      this.stack.pop();
      if (a === 'end') this.stack.pop();
      return '';
    }
    if (a === 'abort' && t.length === 1) { this.stack.pop(); return ''; }
    if (a === 'show' && t.length === 1) return this.showEntry(top.table, top.name, top.draft);
    if ((a === 'set' || a === 'unset') && b === 'comment') {
      if (a === 'unset') { delete top.draft.comment; return ''; }
      if (args.length !== 1) return parseError(args[1] ?? 'comment');
      if (args[0].length > 255) return valueError(args[0]);
      top.draft.comment = args[0];
      return '';
    }
    if (top.table === 'address' && a === 'set' && b === 'subnet') {
      const subnet = parseSubnet(args);
      if (!subnet) return valueError(args.join(' '));
      top.draft.subnet = subnet;
      return '';
    }
    if (top.table === 'address6' && a === 'set' && b === 'ip6') {
      const v = args.length === 1 ? parseIp6Prefix(args[0]) : undefined;
      if (!v) return valueError(args.join(' '));
      top.draft.ip6 = v;
      return '';
    }
    if (isGroup && b === 'member' && (a === 'set' || a === 'append' || a === 'unselect')) {
      if (!args.length) return parseError('member');
      const pool = top.table === 'addrgrp' ? [this.state.address, this.state.addrgrp] : [this.state.address6, this.state.addrgrp6];
      const members = top.draft.member as string[];
      for (const m of args) {
        if (a !== 'unselect' && (!pool.some((p) => p.has(m)) || m === top.name)) return notFound(m);
        if (a === 'unselect' && !members.includes(m)) return notFound(m);
      }
      if (a === 'set') top.draft.member = [...new Set(args)];
      else if (a === 'append') top.draft.member = [...new Set([...members, ...args])];
      else top.draft.member = members.filter((m) => !args.includes(m));
      return '';
    }
    return parseError(a === 'set' || a === 'unset' || a === 'append' || a === 'unselect' ? b ?? a : a);
  }

  /** How many groups/policies reference an object: FortiOS refuses to delete one in use. */
  private usersOf(table: Table, name: string): number {
    const groups = table === 'address' || table === 'addrgrp' ? this.state.addrgrp : this.state.addrgrp6;
    let n = [...groups.values()].filter((g) => g.member.includes(name)).length;
    n += this.state.policies.filter((p) => p.srcaddr.includes(name) || p.srcaddr6?.includes(name)).length;
    return n;
  }

  private show(table: Table, name?: string): string {
    const map = this.state[table] as Map<string, Record<string, unknown>>;
    const names = name === undefined ? [...map.keys()] : map.has(name) ? [name] : [];
    const body = names.map((n) => this.showEntry(table, n, map.get(n)!).split('\n').map((l) => `    ${l}`).join('\n'));
    return [`config firewall ${table}`, ...body, 'end'].join('\n');
  }

  private showEntry(table: Table, name: string, e: Record<string, unknown>): string {
    const lines = [`edit ${q(name)}`];
    if (table === 'address') lines.push(`    set subnet ${e.subnet as string}`);
    if (table === 'address6') lines.push(`    set ip6 ${e.ip6 as string}`);
    if (table.startsWith('addrgrp')) lines.push(`    set member ${(e.member as string[]).map(q).join(' ')}`);
    if (e.comment) lines.push(`    set comment ${q(e.comment as string)}`);
    lines.push('next');
    return lines.join('\n');
  }

  private sslMonitor(): string {
    const { logins, tunnels } = this.state.sslvpn;
    return [
      'SSL-VPN Login Users:',
      ' Index   User    Group   Auth Type      Timeout         From     HTTP in/out    HTTPS in/out    Two-factor Auth',
      ...logins.map((l) => ` ${l.index}       ${l.user}    ${l.group}   1(1)           ${l.timeout}             ${l.from}    0/0     0/0     0`),
      '',
      'SSL-VPN sessions:',
      ' Index   User    Group   Source IP      Duration        I/O Bytes       Tunnel/Dest IP',
      ...tunnels.map((s) => ` ${s.index}       ${s.user}    ${s.group}   ${s.sourceIp}    ${s.duration}    ${s.bytesIn}/${s.bytesOut}     ${s.tunnelIp}`),
    ].join('\n');
  }

  private diagSession(table: 'session' | 'session6', t: string[]): string {
    const filter = this.filters[table];
    const family = table === 'session' ? 4 : 6;
    if (t[0] === 'filter' && t[1] === 'clear' && t.length === 2) { this.filters[table] = {}; return ''; }
    if (t[0] === 'filter' && (t[1] === 'src' || t[1] === 'dst') && t.length === 3) {
      if (isIP(t[2]) !== family) return valueError(t[2], -1);
      filter[t[1]] = t[2];
      return '';
    }
    if (t[0] === 'list' && t.length === 1) {
      const rows = this.state.sessions.filter((s) => isIP(s.src) === family
        && (!filter.src || s.src === filter.src) && (!filter.dst || s.dst === filter.dst));
      const fmt = (ip: string, port: number) => `${ip}:${port}`;
      const blocks = rows.map((s) => [
        `${table} info: proto=${s.proto} proto_state=01 duration=${s.duration} expire=3539 timeout=3600 flags=00000000 socktype=0 sockport=0 av_idx=0 use=3`,
        'origin-shaper=', 'reply-shaper=', 'per_ip_shaper=',
        'class_id=0 ha_id=0 policy_dir=0 tunnel=/ vlan_cos=0/255',
        'state=may_dirty',
        `statistic(bytes/packets/allow_err): org=${s.bytesOrg}/${Math.ceil(s.bytesOrg / 1400)}/1 reply=${s.bytesReply}/${Math.ceil(s.bytesReply / 1400)}/1 tuples=2`,
        'tx speed(Bps/kbps): 0/0 rx speed(Bps/kbps): 0/0',
        'orgin->sink: org pre->post, reply pre->post dev=5->3/3->5 gwy=0.0.0.0/0.0.0.0',
        `hook=pre dir=org act=noop ${fmt(s.src, s.srcPort)}->${fmt(s.dst, s.dstPort)}(${family === 4 ? '0.0.0.0:0' : ':::0'})`,
        `hook=post dir=reply act=noop ${fmt(s.dst, s.dstPort)}->${fmt(s.src, s.srcPort)}(${family === 4 ? '0.0.0.0:0' : ':::0'})`,
        'pos/(before,after) 0/(0,0), 0/(0,0)',
        `misc=0 policy_id=${s.policyId} auth_info=0 chk_client_info=0 vd=0`,
        `serial=${s.serial} tos=ff/ff app_list=0 app=0 url_cat=0`,
        'dd_type=0 dd_mode=0',
        'npu_state=0x000100',
      ].join('\n'));
      return [...blocks, `total session ${rows.length}`].join('\n');
    }
    return parseError(t[0] ?? table);
  }
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

/** The predefined services the sandbox policies use. */
const SERVICES: Record<string, Array<{ proto: number; port?: number }>> = {
  ALL: [{ proto: -1 }],
  HTTPS: [{ proto: 6, port: 443 }],
  HTTP: [{ proto: 6, port: 80 }],
  SMB: [{ proto: 6, port: 445 }],
  DNS: [{ proto: 17, port: 53 }, { proto: 6, port: 53 }],
};

function serviceHas(name: string, proto: number, port: number): boolean {
  return (SERVICES[name] ?? []).some((s) => s.proto === -1 || (s.proto === proto && (s.port === undefined || s.port === port)));
}

function policyUuid(id: number): string {
  const h = id.toString(16).padStart(4, '0');
  return `06f1be4a-fb9f-51e9-ef16-dc4000a2${h}`;
}

/** One `diagnose vpn ike gateway list` entry, laid out like the FortiOS 7.6 capture. */
function gatewayBlock(g: DialupInstance): string {
  const who = g.version === 2 ? 'eap-user' : 'xauth-user';
  const rekey = 86400 - g.created;
  return [
    '',
    'vd: root/0',
    `name: ${g.name}`,
    `version: ${g.version}`,
    `interface: ${g.interface} 3`,
    `addr: ${g.localIp}:4500 -> ${g.remoteIp}:${g.remotePort}`,
    `tun_id: ${g.assignedIp}/::10.0.0.3`,
    'remote_location: 0.0.0.0',
    'network-id: 0',
    'transport: UDP',
    `created: ${g.created}s ago`,
    `${who}: ${g.user}`,
    '2FA: no',
    `peer-id: ${g.remoteIp}`,
    'peer-id-auth: no',
    `FortiClient UID: ${g.forticlientUid}`,
    `assigned IPv4 address: ${g.assignedIp}/255.255.255.255`,
    'nat: me peer',
    'pending-queue: 0',
    'IKE SA: created 1/1  established 1/1  time 10/10/10 ms',
    'IPsec SA: created 1/1  established 1/1  time 0/0/0 ms',
    '',
    `  id/spi: 1 ${g.cookies}`,
    '  direction: responder',
    `  status: established ${g.created}-${g.created}s ago = 10ms`,
    '  proposal: aes256-sha256',
    '  key: c98c75c03cc40ece',
    `  lifetime/rekey: 86400/${rekey}`,
    '  DPD sent/recv: 00000000/00000089',
    `  peer-id: ${g.remoteIp}`,
    '',
  ].join('\n');
}
