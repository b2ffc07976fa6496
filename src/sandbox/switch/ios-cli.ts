import type { CliInterpreter } from '../ssh-cli-server';
import type { IosAuthSession, IosPort, IosSwitchState } from './ios-state';

const TYPES: Array<[string, string]> = [
  ['FastEthernet', 'Fa'], ['GigabitEthernet', 'Gi'], ['TwoGigabitEthernet', 'Tw'], ['FiveGigabitEthernet', 'Fi'],
  ['TenGigabitEthernet', 'Te'], ['TwentyFiveGigE', 'Twe'], ['FortyGigabitEthernet', 'Fo'], ['HundredGigE', 'Hu'],
];

/** IOS accepts any unambiguous prefix of the type name: `Gi1/0/12`, `gig1/0/12`, `GigabitEthernet1/0/12`. */
function fullName(arg: string): string | undefined {
  const m = /^([A-Za-z]+)(\d+(?:\/\d+){0,3})$/.exec(arg);
  if (!m) return undefined;
  const hits = TYPES.filter(([full, short]) => full.toLowerCase().startsWith(m[1].toLowerCase()) || short.toLowerCase() === m[1].toLowerCase());
  const exact = hits.find(([, short]) => short.toLowerCase() === m[1].toLowerCase());
  const type = exact ?? (hits.length === 1 ? hits[0] : undefined);
  return type ? `${type[0]}${m[2]}` : undefined;
}
const shortName = (full: string) => { const t = TYPES.find(([f]) => full.startsWith(f) && /^\d/.test(full.slice(f.length))); return t ? t[1] + full.slice(t[0].length) : full; };
const dotted = (hex: string) => `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`;
const kv = (k: string, v: string) => `${k.padStart(21)}:  ${v}`;

/**
 * One Cisco IOS-XE privileged-EXEC session. Strict: anything it does not know gets IOS's
 * `% Invalid input detected at '^' marker.` with the caret under the first unknown word. Output
 * layouts follow the real captures under test/fixtures/switch/cisco-ios.
 */
export class IosCli implements CliInterpreter {
  private mode: 'exec' | 'config' | 'config-if' = 'exec';
  private iface: IosPort | undefined;
  private pagerOff = false;

  constructor(private readonly state: IosSwitchState) {}

  greeting(): string { return `\n${this.prompt()}`; }

  prompt(): string {
    return `${this.state.hostname}${this.mode === 'exec' ? '' : `(${this.mode})`}#`;
  }

  handle(line: string): { output: string; hangUp?: boolean } {
    const t = line.trim().split(/\s+/).filter(Boolean);
    if (!t.length) return { output: '' };
    const bad = (i: number) => ({ output: this.invalid(line, t, i) });
    if (this.mode !== 'exec') return this.config(line, t);
    const [a, b, c, d, e, f] = t;
    if (a === 'exit' || a === 'logout') return { output: '', hangUp: true };
    if (a === 'terminal' && b === 'length' && t.length === 3 && /^\d+$/.test(c)) { this.pagerOff = c === '0'; return { output: '' }; }
    if (a === 'configure' && b === 'terminal' && t.length === 2) { this.mode = 'config'; return { output: 'Enter configuration commands, one per line.  End with CNTL/Z.' }; }
    if (a !== 'show') return bad(0);
    if ((b === 'authentication' && c === 'sessions') || b === 'access-session') {
      const rest = b === 'access-session' ? t.slice(2) : t.slice(3);
      if (rest[0] !== 'interface' || rest.length !== 3 || rest[2] !== 'details') return bad(b === 'access-session' ? 2 : 3);
      const port = this.port(rest[1]);
      if (!port) return bad(t.indexOf(rest[1]));
      return { output: this.sessionDetails(this.state.sessions.filter((s) => s.interface === port.name)) };
    }
    if (b === 'mac' && c === 'address-table' && d === 'address' && t.length === 5) {
      const hex = /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(e) ? e.replace(/\./g, '').toLowerCase() : undefined;
      if (!hex) return bad(4);
      return { output: this.macTable(hex) };
    }
    if (b === 'interfaces' && t.length === 4 && d === 'status') {
      const port = this.port(c);
      return port ? { output: this.status(port) } : bad(2);
    }
    if (b === 'logging' && c === '|' && d === 'include' && t.length >= 5) {
      let re: RegExp;
      try { re = new RegExp(line.slice(line.indexOf('include') + 'include'.length).trim()); } catch { return { output: '% Invalid regular expression' }; }
      return { output: this.state.log.filter((l) => re.test(l)).join('\n') };
    }
    if (b === 'cdp' && c === 'neighbors' && t.length === 5 && e === 'detail') {
      const port = this.port(d);
      if (!port) return bad(3);
      if (!this.state.cdpEnabled) return { output: '% CDP is not enabled' };
      return { output: this.cdp(port) };
    }
    void f;
    return bad(1);
  }

  private config(line: string, t: string[]): { output: string } {
    const [a, b] = t;
    if (a === 'end' && t.length === 1) { this.mode = 'exec'; this.iface = undefined; return { output: '' }; }
    if (a === 'exit' && t.length === 1) { this.mode = this.mode === 'config-if' ? 'config' : 'exec'; this.iface = undefined; return { output: '' }; }
    if (this.mode === 'config' && a === 'interface' && t.length === 2) {
      const port = this.port(b);
      if (!port) return { output: this.invalid(line, t, 1) };
      this.mode = 'config-if';
      this.iface = port;
      return { output: '' };
    }
    if (this.mode === 'config-if' && this.iface && ((a === 'shutdown' && t.length === 1) || (a === 'no' && b === 'shutdown' && t.length === 2))) {
      const shut = a === 'shutdown';
      if (this.iface.adminShut !== shut) {
        this.iface.adminShut = shut;
        const n = this.state.log.length + 500;
        this.state.log.push(`${String(n).padStart(6, '0')}: Nov 27 09:10:00.000: %LINK-5-CHANGED: Interface ${this.iface.name}, changed state to ${shut ? 'administratively down' : 'up'}`);
      }
      return { output: '' };
    }
    return { output: this.invalid(line, t, 0) };
  }

  private port(arg: string | undefined): IosPort | undefined {
    const name = arg ? fullName(arg) : undefined;
    return name ? this.state.ports.find((p) => p.name === name) : undefined;
  }

  /** The caret goes under the first character of the word IOS could not take. */
  private invalid(line: string, t: string[], at: number): string {
    let pos = 0;
    for (let i = 0; i <= at && i < t.length; i++) pos = line.indexOf(t[i], i === 0 ? 0 : pos + t[i - 1].length);
    return `${' '.repeat(this.prompt().length + Math.max(pos, 0))}^\n% Invalid input detected at '^' marker.\n`;
  }

  private sessionDetails(list: IosAuthSession[]): string {
    if (!list.length) return 'No sessions match supplied criteria.';
    return list.map((s) => [
      kv('Interface', s.interface),
      kv('IIF-ID', `0x${s.sessionId.slice(-8)}`),
      kv('MAC Address', dotted(s.mac)),
      kv('IPv6 Address', 'Unknown'),
      kv('IPv4 Address', s.ipv4 ?? 'Unknown'),
      kv('User-Name', s.userName),
      kv('Status', s.authorised ? 'Authorized' : 'Unauthorized'),
      kv('Domain', 'DATA'),
      kv('Oper host mode', 'multi-auth'),
      kv('Oper control dir', 'both'),
      kv('Session timeout', 'N/A'),
      kv('Common Session ID', s.sessionId),
      kv('Acct Session ID', `0x${s.sessionId.slice(-8).toLowerCase()}`),
      kv('Handle', `0x${s.sessionId.slice(8, 16).toLowerCase()}`),
      kv('Current Policy', 'PMAP_DefaultWiredDot1xClosedAuth_1X_MAB'),
      '',
      'Local Policies:',
      '',
      'Server Policies:',
      kv('Vlan Group', `Vlan: ${s.vlan}`),
      '',
      'Method status list:',
      '       Method           State',
      `        dot1x           ${s.method === 'dot1x' ? (s.authorised ? 'Authc Success' : 'Authc Failed') : 'Stopped'}`,
      `          mab           ${s.method === 'mab' ? (s.authorised ? 'Authc Success' : 'Authc Failed') : 'Stopped'}`,
      '',
    ].join('\n')).join('----------------------------------------\n');
  }

  private macTable(hex: string): string {
    const rows = this.state.macTable.filter((r) => r.mac === hex);
    return [
      '          Mac Address Table',
      '-------------------------------------------',
      '',
      'Vlan    Mac Address       Type        Ports',
      '----    -----------       --------    -----',
      ...rows.map((r) => `${r.vlan.padStart(4)}    ${dotted(r.mac)}    ${r.type.padEnd(8)}    ${r.port}`),
      `Total Mac Addresses for this criterion: ${rows.length}`,
    ].join('\n');
  }

  private status(p: IosPort): string {
    const status = p.adminShut ? 'disabled' : p.link ? 'connected' : 'notconnect';
    const duplex = p.link && !p.adminShut ? 'a-full' : 'auto';
    const speed = p.link && !p.adminShut ? 'a-1000' : 'auto';
    return [
      '',
      'Port      Name               Status       Vlan       Duplex  Speed Type',
      `${shortName(p.name).padEnd(10)}${(p.description ?? '').slice(0, 18).padEnd(19)}${status.padEnd(13)}${p.vlan.padEnd(11)}${duplex.padStart(6)} ${speed.padStart(6)} ${p.type}`,
    ].join('\n');
  }

  private cdp(p: IosPort): string {
    const list = this.state.cdp.filter((n) => n.localPort === p.name);
    if (!list.length) return '\nTotal cdp entries displayed : 0';
    return list.map((n) => [
      '-------------------------',
      `Device ID: ${n.deviceId}`,
      'Entry address(es): ',
      `  IP address: ${n.ip}`,
      `Platform: ${n.platform},  Capabilities: Host Phone Two-port Mac Relay `,
      `Interface: ${n.localPort},  Port ID (outgoing port): ${n.remotePort}`,
      'Holdtime : 162 sec',
      '',
    ].join('\n')).join('\n') + `\n\nTotal cdp entries displayed : ${list.length}`;
  }
}
