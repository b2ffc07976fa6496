import { isIP } from 'node:net';
import type { NasConfig, RadiusConfig } from '../../../config/customers';
import type { SecretStore } from '../../../config/secrets';
import { InvalidInputError, quoteForError } from '../../../domain/net';
import { ConnectorError, type RawPayload } from '../../types';
import { parseMac, parseSwitchPort, type SwitchKind } from '../../switch/switch-values';
import { sendDisconnectRequests, type DisconnectExchange, type NasExchangeLog } from './disconnect-client';
import { coaExchangesEvidence } from './disconnect-sessions';
import type { ErrorCause } from './error-cause';
import { RadiusAttr, RadiusCode, ciscoAvPairAttr, ipv4Attr, ipv6Attr, stringAttr, type RadiusAttribute } from './radius-packet';

/**
 * Cisco's per-port CoA commands (IOS / IOS-XE "Change of Authorization Support"): a CoA-Request
 * (RFC 5176 code 43) carrying `Cisco-AVPair = "subscriber:command=bounce-host-port"` (link flap
 * on the port hosting the session) or `...=disable-host-port` (the port is administratively shut;
 * only `no shutdown` on the switch brings it back: a CoA cannot re-enable it). The switch finds the
 * session by the session identifiers of the request; with none that match it answers CoA-NAK with
 * Error-Cause 503.
 */
export const PORT_COMMANDS = ['bounce-host-port', 'disable-host-port'] as const;
export type PortCommand = typeof PORT_COMMANDS[number];

/** A session as accounting recorded it: the values are sent as accounting gave them, once checked. */
export interface PortSessionRef {
  /** the switch's NAS-IP-Address */
  nasIp: string;
  callingStationId: string;
  acctSessionId?: string;
  nasPortId?: string;
}

// Acct-Session-Id as switches write it (Cisco: 8 hex digits; others: hex, digits, dashes, dots,
// colons, slashes, underscores). Anything else is not a session id this code sends to a NAS.
const ACCT_SESSION_ID = /^[A-Za-z0-9._:/-]{1,64}$/;

/**
 * The CoA-Request attributes, each checked against its grammar: NAS-IP-Address (RFC 5176 §3 NAS
 * identification), Calling-Station-Id (a MAC in one of the spellings NASes use), Acct-Session-Id,
 * NAS-Port-Id (a port name of the switch's vendor), and the Cisco-AVPair command from a fixed list.
 */
export function portCommandAttributes(ref: PortSessionRef, command: PortCommand, kind: SwitchKind): RadiusAttribute[] {
  if (!PORT_COMMANDS.includes(command)) throw new InvalidInputError('command', `not a Cisco port CoA command: ${quoteForError(command)}`);
  const attrs: RadiusAttribute[] = [];
  if (isIP(ref.nasIp) === 4) attrs.push(ipv4Attr(RadiusAttr.NasIpAddress, ref.nasIp));
  else if (isIP(ref.nasIp) === 6) attrs.push(ipv6Attr(RadiusAttr.NasIpv6Address, ref.nasIp));
  else throw new InvalidInputError('nasIp', `not an IP address: ${quoteForError(ref.nasIp)}`);
  parseMac(ref.callingStationId, 'callingStationId'); // throws unless it is a MAC
  attrs.push(stringAttr(RadiusAttr.CallingStationId, ref.callingStationId));
  if (ref.acctSessionId !== undefined) {
    if (!ACCT_SESSION_ID.test(ref.acctSessionId)) throw new InvalidInputError('acctSessionId', `not an Acct-Session-Id (1-64 of A-Z a-z 0-9 . _ : / -): ${quoteForError(ref.acctSessionId)}`);
    attrs.push(stringAttr(RadiusAttr.AcctSessionId, ref.acctSessionId));
  }
  if (ref.nasPortId !== undefined) {
    parseSwitchPort(kind, ref.nasPortId, 'nasPortId'); // throws unless it is a port name of this vendor
    attrs.push(stringAttr(RadiusAttr.NasPortId, ref.nasPortId));
  }
  attrs.push(ciscoAvPairAttr(`subscriber:command=${command}`));
  return attrs;
}

export interface PortCommandRequest {
  key: string;
  nas: NasConfig;
  ref: PortSessionRef;
  kind: SwitchKind;
  command: PortCommand;
}

export interface PortCommandResult {
  key: string;
  nasId: string;
  outcome: 'ack' | 'nak' | 'no-answer' | 'failed';
  errorCause?: ErrorCause;
  transmissions: number;
  /** "CoA-ACK at 127.0.0.1:3799", "CoA-NAK 503 Session Context Not Found at …", … */
  detail: string;
}

export interface PortCommandDeps {
  secrets: SecretStore;
  now?: () => Date;
  signal?: AbortSignal;
}

/** The customer's NAS that serves a switch: the radius.nas entry with the switch's NAS-IP-Address. */
export function nasForSwitch(radius: RadiusConfig | undefined, nasIp: string): NasConfig | undefined {
  return radius?.nas.find((n) => n.ip === nasIp);
}

/**
 * Sends the CoA-Requests directly from the bot (the customers file's radius.disconnect timeouts
 * and retries), one per request, and keeps the exchanges as evidence the way the Disconnect path
 * does (decoded packets and masked digests, never octets or authenticators).
 */
export async function sendPortCommands(requests: PortCommandRequest[], radius: RadiusConfig, deps: PortCommandDeps): Promise<{ results: PortCommandResult[]; raw: RawPayload[] }> {
  const now = deps.now ?? (() => new Date());
  const specs = requests.map((r) => {
    let secret: string;
    try {
      secret = deps.secrets.get(r.nas.secretRef);
    } catch (e) {
      throw new ConnectorError(`NAS ${r.nas.id}: ${(e as Error).message}`, { source: 'radius.coa' });
    }
    return { key: r.key, target: { nasId: r.nas.id, host: r.nas.coaHost ?? r.nas.ip, port: r.nas.coaPort, secret }, attributes: portCommandAttributes(r.ref, r.command, r.kind) };
  });
  if (!specs.length) return { results: [], raw: [] };
  const { exchanges, nas } = await sendDisconnectRequests(specs, {
    requestCode: RadiusCode.CoaRequest, timeoutMs: radius.disconnect.timeoutMs, retries: radius.disconnect.retries, signal: deps.signal, now,
  });
  const results = exchanges.map((ex): PortCommandResult => {
    const where = ` at ${ex.to}`;
    const bad = ex.ignoredReplies.length ? `; ${ex.ignoredReplies.length} invalid repl${ex.ignoredReplies.length === 1 ? 'y' : 'ies'} ignored` : '';
    const outcome = ex.outcome === 'send-failed' ? 'failed' : ex.outcome;
    const detail = outcome === 'ack' ? `CoA-ACK${where}${bad}`
      : outcome === 'nak' ? `CoA-NAK${ex.errorCause ? ` ${ex.errorCause.code} ${ex.errorCause.text}` : ' without Error-Cause'}${where}${bad}`
        : outcome === 'no-answer' ? `no valid answer${where} after ${ex.sentAt.length} transmission${ex.sentAt.length === 1 ? '' : 's'}${bad}`
          : `not sent${where}: ${ex.error ?? 'send failed'}`;
    return { key: ex.key, nasId: ex.nasId, outcome, errorCause: ex.errorCause, transmissions: ex.sentAt.length, detail };
  });
  return { results, raw: [coaEvidence(exchanges, nas, requests, now)] };
}

function coaEvidence(exchanges: DisconnectExchange[], nas: NasExchangeLog[], requests: PortCommandRequest[], now: () => Date): RawPayload {
  return coaExchangesEvidence(exchanges, nas, (e) => {
    const r = requests.find((x) => x.key === e.key);
    return { command: r?.command, session: r?.ref ?? null };
  }, now, 'RFC 5176 CoA-Request/Response packets (Cisco-AVPair subscriber:command port commands) as sent and received, decoded, with SHA-256 of each packet with its authenticators zeroed (no octets, no authenticators: they would allow an offline guess of the shared secret)');
}
