import { isIP } from 'node:net';
import type { CliInterpreter } from '../ssh-cli-server';
import type { FortiOsState } from './fortios-state';

type Table = 'address' | 'address6' | 'addrgrp' | 'addrgrp6';
const TABLES: readonly Table[] = ['address', 'address6', 'addrgrp', 'addrgrp6'];

type Frame =
  | { kind: 'root' }
  | { kind: 'vdom-list' }
  | { kind: 'vdom'; name: string }
  | { kind: 'table'; table: Table }
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

  constructor(private readonly state: FortiOsState) {}

  greeting(): string {
    return this.prompt();
  }

  prompt(): string {
    const top = this.stack[this.stack.length - 1];
    const label = top.kind === 'vdom-list' ? 'vdom' : top.kind === 'vdom' ? top.name : top.kind === 'table' ? top.table : top.kind === 'entry' ? top.name : '';
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
      return { output: '' };
    }
    if (a === 'diagnose' && b === 'sys' && (c === 'session' || c === 'session6')) {
      if (!this.inVdomContext(inVdom)) return { output: parseError(b) };
      return { output: this.diagSession(c, t.slice(3)) };
    }
    return { output: inVdom || ['config', 'show', 'get', 'execute', 'diagnose'].includes(a) ? parseError(t[t.length > 1 ? 1 : 0]) : 'Unknown action 0' };
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
