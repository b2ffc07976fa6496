import type { CliInterpreter } from '../ssh-cli-server';
import { aoscxLogLine, type AoscxClient, type AoscxPort, type AoscxSwitchState } from './aoscx-state';

/** AOS-CX's pager line (what `no page` turns off). */
export const AOSCX_MORE_PROMPT = '-- MORE --, next page: Space, next line: Enter, quit: Control-C';
/** Lines a page while the pager is on. */
const PAGE_LINES = 24;

const colons = (hex: string) => hex.match(/../g)!.join(':');
const kv = (k: string, v: string, width: number) => `${k.padEnd(width)}: ${v}`;

/**
 * One Aruba AOS-CX (10.x) manager-role session. Strict: a word it does not know gets AOS-CX's
 * `Invalid input: <word>`, a command cut short `% Command incomplete.`. Output layouts follow the
 * real captures under test/fixtures/switch/aruba-aoscx (SOURCES.md says where none exists).
 */
export class AoscxCli implements CliInterpreter {
  private mode: 'exec' | 'config' | 'config-if' = 'exec';
  private iface: AoscxPort | undefined;
  private paging = true;

  constructor(private readonly state: AoscxSwitchState) {}

  greeting(): string { return `\n${this.prompt()}`; }

  /** `sw-opo-1# `, `sw-opo-1(config)# `, `sw-opo-1(config-if)# `: AOS-CX puts a space after the `#`. */
  prompt(): string {
    return `${this.state.hostname}${this.mode === 'exec' ? '' : `(${this.mode})`}# `;
  }

  pageLines(): number | undefined { return this.paging ? PAGE_LINES : undefined; }
  morePrompt(): string { return AOSCX_MORE_PROMPT; }

  handle(line: string): { output: string; hangUp?: boolean } {
    const t = line.trim().split(/\s+/).filter(Boolean);
    if (!t.length) return { output: '' };
    if (this.mode !== 'exec') return this.config(t);
    const [a, b, c, d, e, f] = t;
    if (a === 'exit' && t.length === 1) return { output: '', hangUp: true };
    if (a === 'no' && b === 'page' && t.length === 2) { this.paging = false; return { output: '' }; }
    if (a === 'page' && t.length === 1) { this.paging = true; return { output: '' }; }
    if (a === 'configure') {
      if (t.length === 1 || (b === 'terminal' && t.length === 2)) { this.mode = 'config'; return { output: '' }; }
      return invalid(b);
    }
    if (a !== 'show') return invalid(a);
    if (!b) return incomplete();
    if (b === 'aaa') {
      // show aaa authentication port-access interface <if> client-status
      if (c !== 'authentication') return c ? invalid(c) : incomplete();
      if (d !== 'port-access') return d ? invalid(d) : incomplete();
      if (e !== 'interface') return e ? invalid(e) : incomplete();
      if (!f) return incomplete();
      const port = f === 'all' ? 'all' : this.port(f);
      if (!port) return invalid(f);
      if (t[6] !== 'client-status') return t[6] ? invalid(t[6]) : incomplete();
      if (t.length > 7) return invalid(t[7]);
      return { output: this.clientStatus(this.state.clients.filter((x) => port === 'all' || x.port === port.name)) };
    }
    if (b === 'mac-address-table') {
      if (!c) return { output: this.macTable(this.state.macTable) };
      if (c !== 'address') return invalid(c);
      if (!d) return incomplete();
      if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(d)) return invalid(d);
      if (t.length > 4) return invalid(e);
      const hex = d.replace(/:/g, '').toLowerCase();
      return { output: this.macTable(this.state.macTable.filter((r) => r.mac === hex)) };
    }
    if (b === 'interface') {
      if (!c) return incomplete();
      const port = this.port(c);
      if (!port) return invalid(c);
      if (t.length > 3) return invalid(d);
      return { output: this.interface(port) };
    }
    if (b === 'logging') {
      if (!c) return { output: this.state.log.join('\n') };
      if (c !== '|') return invalid(c);
      if (d !== 'include') return d ? invalid(d) : incomplete();
      // AOS-CX's `include` takes the rest of the line as the text to look for.
      const needle = line.slice(line.indexOf('include') + 'include'.length).trim();
      if (!needle) return incomplete();
      return { output: this.state.log.filter((l) => l.includes(needle)).join('\n') };
    }
    if (b === 'lldp') {
      if (c !== 'neighbor-info') return c ? invalid(c) : incomplete();
      // the all-ports summary table is not emulated: the driver always names the port
      if (!d) return incomplete();
      const port = this.port(d);
      if (!port) return invalid(d);
      if (t.length > 4) return invalid(e);
      return { output: this.lldp(port) };
    }
    return invalid(b);
  }

  private config(t: string[]): { output: string } {
    const [a, b] = t;
    if (a === 'end' && t.length === 1) { this.mode = 'exec'; this.iface = undefined; return { output: '' }; }
    if (a === 'exit' && t.length === 1) { this.mode = this.mode === 'config-if' ? 'config' : 'exec'; this.iface = undefined; return { output: '' }; }
    if (a === 'interface') {
      if (!b) return incomplete();
      const port = this.port(b);
      if (!port) return invalid(b);
      if (t.length > 2) return invalid(t[2]);
      this.mode = 'config-if';
      this.iface = port;
      return { output: '' };
    }
    if (this.mode === 'config-if' && this.iface && ((a === 'shutdown' && t.length === 1) || (a === 'no' && b === 'shutdown' && t.length === 2))) {
      this.setShut(this.iface, a === 'shutdown');
      return { output: '' };
    }
    return invalid(a === 'no' && b ? b : a);
  }

  private setShut(p: AoscxPort, shut: boolean): void {
    if (p.adminShut === shut) return;
    p.adminShut = shut;
    // The link only changes state when something is plugged in.
    if (p.link) this.state.log.push(aoscxLogLine(this.state.hostname, '2026-11-27T09:10:00.000+00:00', 'intfd[1633]', 403, `Link status for interface ${p.name} is ${shut ? 'down' : 'up'}`));
  }

  /** Only the exact member/slot/port spelling names a port; `1/1/012` is a different word. */
  private port(arg: string): AoscxPort | undefined {
    return this.state.ports.find((p) => p.name === arg);
  }

  private clientStatus(list: AoscxClient[]): string {
    const w = (k: string, v: string) => `    ${kv(k, v, 13)}`;
    return ['Port Access Client Status Details', '', ...list.flatMap((c) => {
      const method = c.method;
      const other = method === 'dot1x' ? 'mac-auth' : 'dot1x';
      const status = `${method} ${c.authenticated ? 'Authenticated' : 'Unauthenticated'}`;
      return [
        `Client ${colons(c.mac)}, ${c.userName}`,
        '============================',
        '  Session Details',
        '  ---------------',
        w('Port', c.port),
        w('Session Time', `${c.sessionSeconds}s`),
        w('IPv4 Address', c.ipv4 ?? ''),
        w('IPv6 Address', ''),
        '',
        '  Authentication Details',
        '  ----------------------',
        `    ${kv('Status', status, 16)}`,
        `    ${kv('Auth Precedence', `${method} - ${c.authenticated ? 'Authenticated' : 'Unauthenticated'}, ${other} - Not attempted`, 16)}`,
        '',
        '  Authorization Details',
        '  ----------------------',
        `    ${kv('Role', c.role, 7)}`,
        `    ${kv('Status', c.authenticated ? 'Applied' : 'Not applied', 7)}`,
        '',
      ];
    })].join('\n');
  }

  private macTable(rows: AoscxSwitchState['macTable']): string {
    return [
      'MAC age-time            : 300 seconds',
      `Number of MAC addresses : ${rows.length}`,
      '',
      'MAC Address          VLAN     Type                      Port',
      '--------------------------------------------------------------',
      ...rows.map((r) => `${colons(r.mac).padEnd(21)}${r.vlan.padEnd(9)}${r.type.padEnd(26)}${r.port}`),
    ].join('\n');
  }

  private interface(p: AoscxPort): string {
    const up = p.link && !p.adminShut;
    const head = p.adminShut ? `Interface ${p.name} is down (Administratively down)` : `Interface ${p.name} is ${up ? 'up' : 'down'} `;
    const state = p.adminShut ? ' State information: Administratively down' : up ? undefined : ' State information: Waiting for link';
    const counters = (name: string) => ` ${name.padEnd(16)} ${'0'.padStart(20)} ${'0'.padStart(20)} ${'0'.padStart(20)}`;
    return [
      head,
      ` Admin state is ${p.adminShut ? 'down' : 'up'}`,
      ...(state ? [state] : []),
      ` Link state: ${up ? 'up' : 'down'} for 29 minutes (since Fri Nov 27 08:40:58 UTC 2026)`,
      ' Link transitions: 1',
      ` Description: ${p.description ?? ''}`,
      ' Persona: ',
      ` Hardware: Ethernet, MAC Address: ${p.hwMac} `,
      ' MTU 1500 ',
      ` Type ${p.type}`,
      ' Full-duplex ',
      ' qos trust none',
      ` Speed ${up ? (p.type.startsWith('10G') ? '10000' : '1000') : '0'} Mb/s `,
      ' Auto-negotiation is on',
      ' Energy-Efficient Ethernet is disabled',
      ' Flow-control: off ',
      ' Error-control: off ',
      ` MDI mode: ${up ? 'MDIX' : 'none'} `,
      ' VLAN Mode: access',
      ` Access VLAN: ${p.vlan}`,
      ' Rate collection interval: 300 seconds',
      '',
      ' Statistic                          RX                   TX                Total',
      ' ---------------- -------------------- -------------------- --------------------',
      counters('Packets'),
      counters('Bytes'),
      counters('Dropped'),
      counters('Errors'),
      '',
    ].join('\n');
  }

  private lldp(p: AoscxPort): string {
    const list = this.state.lldp.filter((n) => n.port === p.name);
    const k = (key: string, v: string) => kv(key, v, 31);
    return [
      k('Port', p.name),
      k('Neighbor Entries', String(list.length)),
      k('Neighbor Entries Deleted', '0'),
      k('Neighbor Entries Dropped', '0'),
      k('Neighbor Entries Aged-Out', '0'),
      ...list.flatMap((n) => [
        k('Neighbor Chassis-Name', n.chassisName),
        k('Neighbor Chassis-Description', n.description),
        k('Neighbor Chassis-ID', n.chassisId),
        k('Neighbor Management-Address', n.managementAddress),
        k('Neighbor Port-ID', n.portId),
        k('TTL', '120'),
      ]),
    ].join('\n');
  }
}

function invalid(word: string | undefined): { output: string } {
  return { output: `Invalid input: ${word ?? ''}` };
}
function incomplete(): { output: string } {
  return { output: '% Command incomplete.' };
}
