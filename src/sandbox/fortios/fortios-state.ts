import { CONTOSO } from '../contoso';

/** The part of a FortiGate's configuration and runtime tables the emulator models. */
export interface FortiOsState {
  hostname: string;
  /** VDOM names when the device runs in multi-VDOM mode (one shared table set is modelled) */
  vdoms?: string[];
  address: Map<string, { subnet: string; comment?: string }>;     // subnet as "ip mask"
  address6: Map<string, { ip6: string; comment?: string }>;       // "ip/len"
  addrgrp: Map<string, { member: string[]; comment?: string }>;
  addrgrp6: Map<string, { member: string[]; comment?: string }>;
  /**
   * Firewall policies in evaluation order (first match wins). Interfaces, destinations and
   * services default to "any"/"all"/"ALL" when absent.
   */
  policies: Array<{ id: number; name: string; srcintf?: string[]; dstintf?: string[]; srcaddr: string[]; srcaddr6?: string[]; dstaddr?: string[]; service?: string[]; action: 'accept' | 'deny' }>;
  /** interface names `diagnose firewall iprope lookup` accepts */
  interfaces: string[];
  /** IPsec dial-up instances (FortiClient) as `diagnose vpn ike gateway list` shows them */
  ipsec: { dialup: DialupInstance[] };
  /** `config system console` / `set output more|standard`: whether long output is paged */
  console: { output: 'more' | 'standard' };
  /** lines per `--More--` page while console output is `more`; 0 or absent prints output whole */
  pageLines?: number;
  /** the post-login disclaimer (`set post-login-banner enable`), answered with the key `a` */
  postLoginBanner?: string;
  sslvpn: {
    logins: Array<{ index: number; user: string; group: string; from: string; timeout: number }>;
    tunnels: Array<{ index: number; user: string; group: string; sourceIp: string; duration: number; bytesIn: number; bytesOut: number; tunnelIp: string }>;
  };
  sessions: Array<{ serial: string; proto: number; src: string; srcPort: number; dst: string; dstPort: number; duration: number; bytesOrg: number; bytesReply: number; policyId: number }>;
}

/** One dial-up instance: the phase1 name with `_<n>` appended, one per connected FortiClient. */
export interface DialupInstance {
  name: string;
  /** IKE version: v1 prints `xauth-user:`, v2 (EAP) prints `eap-user:` */
  version: 1 | 2;
  user: string;
  interface: string;
  localIp: string;
  remoteIp: string;
  remotePort: number;
  assignedIp: string;
  /** seconds since the IKE SA was created */
  created: number;
  forticlientUid: string;
  /** the IKE SA cookies `initiator/responder`, unique per SA */
  cookies: string;
}

export type FortiOsStateInit = Partial<FortiOsState>;

export function emptyFortiOsState(hostname = 'FGT'): FortiOsState {
  return {
    hostname,
    // FortiOS ships the `none` address (0.0.0.0/32): the usual placeholder member of a group that
    // must never be empty.
    address: new Map([['none', { subnet: '0.0.0.0 255.255.255.255' }], ['all', { subnet: '0.0.0.0 0.0.0.0' }]]),
    address6: new Map([['none', { ip6: '::/128' }], ['all', { ip6: '::/0' }]]),
    addrgrp: new Map(),
    addrgrp6: new Map(),
    policies: [],
    interfaces: ['wan1', 'internal', 'dmz', 'ssl.root'],
    ipsec: { dialup: [] },
    console: { output: 'more' },
    sslvpn: { logins: [], tunnels: [] },
    sessions: [],
  };
}

/** Contoso's FortiGate in the sandbox story: deny policies on IR-Block / IR-Block6, adele on SSL-VPN. */
export function contosoFortiGateState(): FortiOsState {
  const s = emptyFortiOsState('FGT-CONTOSO');
  s.addrgrp.set(CONTOSO.fortigate.blockGroup, { member: ['none'], comment: 'IR bot block list (deny policy 1)' });
  s.addrgrp6.set(`${CONTOSO.fortigate.blockGroup}6`, { member: ['none'], comment: 'IR bot block list (deny policy 1)' });
  s.address.set('DMZ-web', { subnet: '198.51.100.1 255.255.255.255', comment: 'public web / VPN portal' });
  s.address.set('LAN-servers', { subnet: '10.0.10.0 255.255.255.0' });
  s.address.set('FCT-Dialup_range', { subnet: '10.212.140.0 255.255.255.0' });
  // Evaluation order: the IR deny first, then what lets traffic in (policy 5 is what the
  // attacker's HTTPS matched in the session table), the dial-up users' access, the LAN's DNS.
  s.policies.push(
    { id: 1, name: 'IR-Block-deny', srcintf: ['wan1'], srcaddr: [CONTOSO.fortigate.blockGroup], srcaddr6: [`${CONTOSO.fortigate.blockGroup}6`], action: 'deny' },
    { id: 5, name: 'WAN-to-DMZ-HTTPS', srcintf: ['wan1'], dstintf: ['dmz'], srcaddr: ['all'], dstaddr: ['DMZ-web'], service: ['HTTPS'], action: 'accept' },
    { id: 7, name: 'VPN-users-to-LAN', srcintf: ['ssl.root', 'FCT-Dialup'], dstintf: ['internal'], srcaddr: ['all'], dstaddr: ['LAN-servers'], service: ['ALL'], action: 'accept' },
    { id: 9, name: 'LAN-DNS-out', srcintf: ['internal'], dstintf: ['wan1'], srcaddr: ['LAN-servers'], dstaddr: ['all'], service: ['DNS'], action: 'accept' },
  );
  s.interfaces.push('FCT-Dialup');
  // FortiOS 7.6.3 dropped SSL-VPN tunnel mode: the attacker also holds a FortiClient IPsec
  // dial-up instance as adele; megan's instance must survive the containment.
  s.ipsec.dialup.push(
    { name: 'FCT-Dialup_0', version: 1, user: 'adele.vance', interface: 'wan1', localIp: '198.51.100.1', remoteIp: CONTOSO.attackerIp, remotePort: 64916, assignedIp: '10.212.140.10', created: 1130, forticlientUid: '7BC1ABFE3E5B412AAE48621E989525B9', cookies: '7d01eaf19d732e02/4b0d2cd61ab79746' },
    { name: 'FCT-Dialup_1', version: 1, user: 'megan.bowen', interface: 'wan1', localIp: '198.51.100.1', remoteIp: CONTOSO.lisbonIp, remotePort: 4500, assignedIp: '10.212.140.11', created: 842, forticlientUid: '19E1FA565259468FB46EDAA9D595176F', cookies: 'f883b783547b0c64/f45745cd8b228850' },
  );
  s.sslvpn.logins.push(
    { index: 0, user: 'adele.vance', group: 'SSLVPN-Users', from: CONTOSO.attackerIp, timeout: 296 },
    { index: 1, user: 'megan.bowen', group: 'SSLVPN-Users', from: CONTOSO.lisbonIp, timeout: 287 },
  );
  s.sslvpn.tunnels.push({ index: 0, user: 'adele.vance', group: 'SSLVPN-Users', sourceIp: CONTOSO.attackerIp, duration: 1195, bytesIn: 27311, bytesOut: 14426, tunnelIp: '10.212.134.200' });
  s.sessions.push(
    { serial: '0000a1b2', proto: 6, src: CONTOSO.attackerIp, srcPort: 51234, dst: '198.51.100.1', dstPort: 443, duration: 1195, bytesOrg: 27311, bytesReply: 14426, policyId: 5 },
    { serial: '0000a1b3', proto: 6, src: '10.212.134.200', srcPort: 49822, dst: '10.0.10.5', dstPort: 445, duration: 640, bytesOrg: 1048576, bytesReply: 73400320, policyId: 7 },
    { serial: '0000a1b4', proto: 17, src: '10.0.10.5', srcPort: 53, dst: CONTOSO.attackerIp, dstPort: 40000, duration: 12, bytesOrg: 300, bytesReply: 120, policyId: 9 },
    { serial: '0000a1c0', proto: 6, src: CONTOSO.attackerIpv6, srcPort: 40111, dst: '2001:db8:c0::10', dstPort: 443, duration: 33, bytesOrg: 5120, bytesReply: 88000, policyId: 5 },
    { serial: '0000b001', proto: 6, src: '10.0.0.2', srcPort: 52310, dst: '93.184.216.34', dstPort: 443, duration: 73, bytesOrg: 3318, bytesReply: 9466, policyId: 1 },
  );
  return s;
}
