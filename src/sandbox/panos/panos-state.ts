import { CONTOSO } from '../contoso';

export interface PanOsConfig {
  address: Map<string, { ipNetmask: string; description?: string }>;
  addressGroup: Map<string, { static: string[] }>;
  /** security rules in order; zones, destinations and services default to any */
  rules: Array<{ name: string; from?: string[]; to?: string[]; source: string[]; destination?: string[]; service?: Array<{ proto: number; port: number }>; action: 'allow' | 'deny' | 'drop' }>;
}

export interface PanOsState {
  hostname: string;
  running: PanOsConfig;
  candidate: PanOsConfig;
  commits: number;
  /** per administrator, the candidate objects they changed since their last commit (for commit partial) */
  pendingChanges: Map<string, Set<`${'address' | 'address-group'}:${string}`>>;
  globalProtect: Array<{ gateway: string; domain: string; user: string; computer: string; client: string; privateIp: string; publicIp: string; loginTime: string }>;
  sessions: Array<{ id: number; app: string; state: string; type: string; flag: string; src: string; srcPort: number; srcZone: string; proto: number; dst: string; dstPort: number; dstZone: string; vsys: string }>;
}

export function cloneConfig(c: PanOsConfig): PanOsConfig {
  return structuredClone(c);
}

export function emptyPanOsState(hostname = 'PA-3220'): PanOsState {
  const running: PanOsConfig = { address: new Map(), addressGroup: new Map(), rules: [] };
  return { hostname, running, candidate: cloneConfig(running), commits: 0, pendingChanges: new Map(), globalProtect: [], sessions: [] };
}

/**
 * A Palo Alto firewall telling the same story as Contoso's FortiGate (for tests of the second
 * vendor): a deny rule on IR-Block (with a placeholder member), adele on GlobalProtect.
 */
export function contosoPanOsState(): PanOsState {
  const s = emptyPanOsState('PA-3220');
  s.running.address.set('IR-placeholder', { ipNetmask: '192.0.2.255/32', description: 'keeps IR-Block non-empty' });
  s.running.addressGroup.set('IR-Block', { static: ['IR-placeholder'] });
  s.running.address.set('DMZ-web', { ipNetmask: '198.51.100.1/32', description: 'public web / VPN portal' });
  s.running.rules.push(
    { name: 'IR-Block-deny', from: ['untrust'], source: ['IR-Block'], action: 'deny' },
    { name: 'Inbound HTTPS to DMZ-web', from: ['untrust'], to: ['trust'], source: ['any'], destination: ['DMZ-web'], service: [{ proto: 6, port: 443 }], action: 'allow' },
  );
  s.candidate = cloneConfig(s.running);
  s.globalProtect.push(
    { gateway: 'GP-GW-N', domain: 'contoso', user: 'adele.vance', computer: 'ADELE-LT01', client: 'Microsoft Windows 11 Enterprise , 64-bit', privateIp: '10.31.32.5', publicIp: CONTOSO.attackerIp, loginTime: 'Nov.27 07:41:12' },
    { gateway: 'GP-GW-N', domain: 'contoso', user: 'megan.bowen', computer: 'MEGAN-LT07', client: 'Microsoft Windows 11 Enterprise , 64-bit', privateIp: '10.31.32.9', publicIp: CONTOSO.lisbonIp, loginTime: 'Nov.27 08:02:45' },
  );
  s.sessions.push(
    { id: 49183, app: 'ssl', state: 'ACTIVE', type: 'FLOW', flag: 'ND', src: CONTOSO.attackerIp, srcPort: 51234, srcZone: 'untrust', proto: 6, dst: '198.51.100.1', dstPort: 443, dstZone: 'trust', vsys: 'vsys1' },
    { id: 49201, app: 'dns-base', state: 'ACTIVE', type: 'FLOW', flag: '', src: '10.0.10.5', srcPort: 53, srcZone: 'trust', proto: 17, dst: CONTOSO.attackerIp, dstPort: 40000, dstZone: 'untrust', vsys: 'vsys1' },
    { id: 49230, app: 'ssl', state: 'ACTIVE', type: 'FLOW', flag: 'NS', src: CONTOSO.attackerIpv6, srcPort: 40111, srcZone: 'untrust', proto: 6, dst: '2001:db8:c0::10', dstPort: 443, dstZone: 'trust', vsys: 'vsys1' },
    { id: 50001, app: 'web-browsing', state: 'ACTIVE', type: 'FLOW', flag: 'NS', src: '10.0.0.2', srcPort: 52310, srcZone: 'trust', proto: 6, dst: '93.184.216.34', dstPort: 80, dstZone: 'untrust', vsys: 'vsys1' },
  );
  return s;
}
