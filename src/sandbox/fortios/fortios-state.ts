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
  policies: Array<{ id: number; name: string; srcaddr: string[]; srcaddr6?: string[]; action: 'accept' | 'deny' }>;
  sslvpn: {
    logins: Array<{ index: number; user: string; group: string; from: string; timeout: number }>;
    tunnels: Array<{ index: number; user: string; group: string; sourceIp: string; duration: number; bytesIn: number; bytesOut: number; tunnelIp: string }>;
  };
  sessions: Array<{ serial: string; proto: number; src: string; srcPort: number; dst: string; dstPort: number; duration: number; bytesOrg: number; bytesReply: number; policyId: number }>;
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
    sslvpn: { logins: [], tunnels: [] },
    sessions: [],
  };
}

/** Contoso's FortiGate in the sandbox story: deny policies on IR-Block / IR-Block6, adele on SSL-VPN. */
export function contosoFortiGateState(): FortiOsState {
  const s = emptyFortiOsState('FGT-CONTOSO');
  s.addrgrp.set(CONTOSO.fortigate.blockGroup, { member: ['none'], comment: 'IR bot block list (deny policy 1)' });
  s.addrgrp6.set(`${CONTOSO.fortigate.blockGroup}6`, { member: ['none'], comment: 'IR bot block list (deny policy 1)' });
  s.policies.push({ id: 1, name: 'IR-Block-deny', srcaddr: [CONTOSO.fortigate.blockGroup], srcaddr6: [`${CONTOSO.fortigate.blockGroup}6`], action: 'deny' });
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
