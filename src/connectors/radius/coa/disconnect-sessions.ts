import { isIP } from 'node:net';
import type { NasConfig, RadiusConfig } from '../../../config/customers';
import type { SecretStore } from '../../../config/secrets';
import type { Logger } from '../../../log';
import { ConnectorError, type RawPayload } from '../../types';
import type { AccountingSession } from '../accounting/accounting-session';
import { freeradiusQuoted, parseRadiusString } from '../radius-string';
import { openSshShell, type OpenRemoteShell } from '../remote-shell';
import { sendDisconnectRequests, type DisconnectExchange, type DisconnectTarget, type NasExchangeLog, type WireOutcome } from './disconnect-client';
import { SESSION_CONTEXT_NOT_FOUND, type ErrorCause } from './error-cause';
import { withoutAuthenticators } from './packet-evidence';
import { radclientDisconnect, type RadclientPacket, type RadclientTranscript } from './radclient-disconnect';
import { RadiusAttr, ipv4Attr, ipv6Attr, stringAttr, type RadiusAttribute } from './radius-packet';

/** The identifying part of a session: what a Disconnect-Request names (RFC 5176 §3). */
export interface SessionRef {
  userName: string;
  acctSessionId: string;
  nasIp?: string;
  nasIdentifier?: string;
  framedIp?: string;
}

export type DisconnectStatus =
  | 'disconnected'      // Disconnect-ACK
  | 'already-gone'      // NAK 503 on a retry of this action: our earlier attempt (or the user) ended it
  | 'not-found'         // NAK 503 on a first attempt: the NAS has no such session (accounting lagging)
  | 'refused'           // any other NAK
  | 'no-answer'         // no valid reply after the retransmissions
  | 'already-stopped'   // accounting shows a Stop: nothing sent
  | 'no-nas'            // no NAS in the customer's config matches the session: nothing sent
  | 'failed';           // could not send (resolution, socket, radclient)

export interface SessionDisconnectResult {
  session: SessionRef;
  nasId?: string;
  status: DisconnectStatus;
  errorCause?: ErrorCause;
  identifier?: number;
  transmissions: number;
  /** replies refused as invalid (bad authenticator, wrong source, ...) */
  invalidReplies: number;
  detail: string;
}

export interface DisconnectPlanItem {
  session: SessionRef;
  nas?: NasConfig;
  /** `host:port` the request goes to */
  to?: string;
}

export const SUCCESS_STATUSES: ReadonlySet<DisconnectStatus> = new Set(['disconnected', 'already-gone', 'not-found', 'already-stopped']);

/** The customer's NAS for a session: by NAS-IP-Address first, else by NAS-Identifier. */
export function matchNas(session: SessionRef, nas: readonly NasConfig[]): NasConfig | undefined {
  if (session.nasIp) {
    const byIp = nas.find((n) => n.ip === session.nasIp);
    if (byIp) return byIp;
  }
  if (session.nasIdentifier) return nas.find((n) => n.identifier !== undefined && n.identifier === session.nasIdentifier);
  return undefined;
}

export function planDisconnects(sessions: SessionRef[], config: RadiusConfig): DisconnectPlanItem[] {
  return sessions.map((session) => {
    const nas = matchNas(session, config.nas);
    return { session, nas, to: nas ? `${nas.coaHost ?? nas.ip}:${nas.coaPort}` : undefined };
  });
}

export function sessionRefOf(s: AccountingSession): SessionRef {
  const ref: SessionRef = { userName: s.userName, acctSessionId: s.acctSessionId };
  if (s.nasIp) ref.nasIp = s.nasIp;
  if (s.nasIdentifier) ref.nasIdentifier = s.nasIdentifier;
  if (s.framedIp) ref.framedIp = s.framedIp;
  return ref;
}

/** The attributes that name the session; every text value is checked to be one clean attribute. */
export function disconnectAttributes(s: SessionRef): RadiusAttribute[] {
  const attrs = [
    stringAttr(RadiusAttr.UserName, parseRadiusString(s.userName, 'User-Name')),
    stringAttr(RadiusAttr.AcctSessionId, parseRadiusString(s.acctSessionId, 'Acct-Session-Id')),
  ];
  if (s.nasIp && isIP(s.nasIp) === 4) attrs.push(ipv4Attr(RadiusAttr.NasIpAddress, s.nasIp));
  else if (s.nasIp && isIP(s.nasIp) === 6) attrs.push(ipv6Attr(RadiusAttr.NasIpv6Address, s.nasIp));
  else if (s.nasIdentifier) attrs.push(stringAttr(RadiusAttr.NasIdentifier, parseRadiusString(s.nasIdentifier, 'NAS-Identifier')));
  if (s.framedIp && isIP(s.framedIp) === 4) attrs.push(ipv4Attr(RadiusAttr.FramedIpAddress, s.framedIp));
  return attrs;
}

/** The same attributes as radclient input lines: one line each, so nothing can add a line of its own. */
export function radclientLines(s: SessionRef): string[] {
  const lines = [
    `User-Name = ${freeradiusQuoted(parseRadiusString(s.userName, 'User-Name'))}`,
    `Acct-Session-Id = ${freeradiusQuoted(parseRadiusString(s.acctSessionId, 'Acct-Session-Id'))}`,
  ];
  if (s.nasIp && isIP(s.nasIp) === 4) lines.push(`NAS-IP-Address = ${s.nasIp}`);
  else if (s.nasIp && isIP(s.nasIp) === 6) lines.push(`NAS-IPv6-Address = ${s.nasIp}`);
  else if (s.nasIdentifier) lines.push(`NAS-Identifier = ${freeradiusQuoted(parseRadiusString(s.nasIdentifier, 'NAS-Identifier'))}`);
  if (s.framedIp && isIP(s.framedIp) === 4) lines.push(`Framed-IP-Address = ${s.framedIp}`);
  return lines;
}

export interface DisconnectDeps {
  secrets: SecretStore;
  log?: Logger;
  now?: () => Date;
  signal?: AbortSignal;
  /** true when an earlier attempt may have sent these: a 503 then means "already gone" */
  isRetry?: boolean;
  openShell?: OpenRemoteShell;
}

export interface DisconnectRunResult {
  results: SessionDisconnectResult[];
  raw: RawPayload[];
}

function statusOf(outcome: WireOutcome, cause: ErrorCause | undefined, isRetry: boolean): DisconnectStatus {
  if (outcome === 'ack') return 'disconnected';
  if (outcome === 'nak') {
    if (cause?.code === SESSION_CONTEXT_NOT_FOUND) return isRetry ? 'already-gone' : 'not-found';
    return 'refused';
  }
  return outcome === 'no-answer' ? 'no-answer' : 'failed';
}

function describe(status: DisconnectStatus, cause: ErrorCause | undefined, to: string | undefined, transmissions: number, invalid: number): string {
  const where = to ? ` at ${to}` : '';
  const bad = invalid ? `; ${invalid} invalid repl${invalid === 1 ? 'y' : 'ies'} ignored` : '';
  switch (status) {
    case 'disconnected': return `Disconnect-ACK${where}${bad}`;
    case 'already-gone': return `Disconnect-NAK ${cause?.code} ${cause?.text}${where}: already gone (an earlier attempt ended it)${bad}`;
    case 'not-found': return `Disconnect-NAK ${cause?.code} ${cause?.text}${where}: the NAS has no such session${bad}`;
    case 'refused': return `Disconnect-NAK${cause ? ` ${cause.code} ${cause.text}` : ' without Error-Cause'}${where}${bad}`;
    case 'no-answer': return `no valid answer${where} after ${transmissions} transmission${transmissions === 1 ? '' : 's'}${bad}`;
    default: return `not sent${where}`;
  }
}

function targetOf(nas: NasConfig, secrets: SecretStore): DisconnectTarget {
  let secret: string;
  try {
    secret = secrets.get(nas.secretRef);
  } catch (e) {
    throw new ConnectorError(`NAS ${nas.id}: ${(e as Error).message}`, { source: 'radius.coa' });
  }
  return { nasId: nas.id, host: nas.coaHost ?? nas.ip, port: nas.coaPort, secret };
}

/** Sends one Disconnect-Request per session with a matching NAS, in the configured mode. */
export async function disconnectSessions(
  sessions: SessionRef[],
  config: RadiusConfig,
  deps: DisconnectDeps,
): Promise<DisconnectRunResult> {
  const now = deps.now ?? (() => new Date());
  const plan = planDisconnects(sessions, config);
  const results: SessionDisconnectResult[] = new Array(plan.length);
  const sendable: Array<{ index: number; item: DisconnectPlanItem; target: DisconnectTarget }> = [];
  plan.forEach((item, index) => {
    if (!item.nas) {
      results[index] = {
        session: item.session, status: 'no-nas', transmissions: 0, invalidReplies: 0,
        detail: `no NAS configured for ${item.session.nasIp ?? item.session.nasIdentifier ?? 'an unknown NAS'}: disconnect it by hand`,
      };
      return;
    }
    try {
      // Values from accounting are the RADIUS server's data, not ours: each is checked before use.
      disconnectAttributes(item.session);
      radclientLines(item.session);
    } catch (e) {
      results[index] = {
        session: item.session, nasId: item.nas.id, status: 'failed', transmissions: 0, invalidReplies: 0,
        detail: `not sent: ${(e as Error).message}`,
      };
      return;
    }
    sendable.push({ index, item, target: targetOf(item.nas, deps.secrets) });
  });

  const raw: RawPayload[] = [];
  const mode = config.disconnect;
  if (mode.mode === 'direct') {
    const { exchanges, nas } = await sendDisconnectRequests(
      sendable.map((s) => ({ key: String(s.index), target: s.target, attributes: disconnectAttributes(s.item.session) })),
      { timeoutMs: mode.timeoutMs, retries: mode.retries, signal: deps.signal, now },
    );
    for (const ex of exchanges) {
      const s = sendable.find((x) => String(x.index) === ex.key)!;
      const status = statusOf(ex.outcome, ex.errorCause, deps.isRetry ?? false);
      results[s.index] = {
        session: s.item.session, nasId: s.item.nas!.id, status, errorCause: ex.errorCause,
        identifier: ex.identifier >= 0 ? ex.identifier : undefined, transmissions: ex.sentAt.length,
        invalidReplies: ex.ignoredReplies.length,
        detail: ex.error && status === 'failed' ? ex.error : describe(status, ex.errorCause, ex.to, ex.sentAt.length, ex.ignoredReplies.length),
      };
    }
    if (exchanges.length) raw.push(exchangeEvidence(exchanges, nas, sendable.map((s) => s.item.session), now));
  } else {
    const open = deps.openShell ?? openSshShell;
    const groups = new Map<string, typeof sendable>();
    for (const s of sendable) groups.set(s.item.nas!.id, [...(groups.get(s.item.nas!.id) ?? []), s]);
    if (groups.size) {
      const shell = await open(mode.ssh, deps.secrets, deps.log);
      try {
        const transcripts: RadclientTranscript[] = [];
        await Promise.all([...groups.values()].map(async (group) => {
          const packets: RadclientPacket[] = group.map((s) => ({ key: String(s.index), lines: radclientLines(s.item.session) }));
          try {
            const { outcomes, transcript } = await radclientDisconnect(shell, group[0].target, packets, { timeoutMs: mode.timeoutMs, retries: mode.retries, now });
            transcripts.push({ ...transcript, stdout: withoutAuthenticators(transcript.stdout), stderr: withoutAuthenticators(transcript.stderr) });
            for (const o of outcomes) {
              const s = group.find((x) => String(x.index) === o.key)!;
              const status = statusOf(o.outcome, o.errorCause, deps.isRetry ?? false);
              results[s.index] = {
                session: s.item.session, nasId: s.item.nas!.id, status, errorCause: o.errorCause, identifier: o.identifier,
                transmissions: o.transmissions, invalidReplies: 0,
                detail: `${describe(status, o.errorCause, s.item.to, o.transmissions, 0)} (radclient on ${shell.label})`,
              };
            }
          } catch (e) {
            for (const s of group) {
              results[s.index] = { session: s.item.session, nasId: s.item.nas!.id, status: 'failed', transmissions: 0, invalidReplies: 0, detail: (e as Error).message };
            }
          }
        }));
        if (transcripts.length) {
          raw.push({
            source: 'radius.coa.radclient', contentType: 'application/json', collectedAt: now().toISOString(),
            body: Buffer.from(JSON.stringify(transcripts, null, 2), 'utf8'), recordCount: sendable.length,
            rangeFrom: transcripts.map((t) => t.startedAt).sort()[0], rangeTo: transcripts.map((t) => t.finishedAt).sort().at(-1),
            note: `radclient disconnect over SSH on ${shell.label} (secret passed by a private temporary file, not shown)`,
          });
        }
      } finally {
        shell.close();
      }
    }
  }
  return { results, raw };
}

function exchangeEvidence(exchanges: DisconnectExchange[], nas: NasExchangeLog[], sessions: SessionRef[], now: () => Date): RawPayload {
  return coaExchangesEvidence(exchanges, nas, (e) => ({ session: sessions[Number(e.key)] ?? null }), now,
    'RFC 5176 Disconnect-Request/Response packets as sent and received, decoded, with SHA-256 of each packet with its authenticators zeroed (no octets, no authenticators: they would allow an offline guess of the shared secret)');
}

/**
 * The evidence of one batch of RFC 5176 exchanges (Disconnect or CoA): each request and reply as
 * decoded, what the request was about (`about`), and replies nobody asked for. No packet octets.
 */
export function coaExchangesEvidence(exchanges: DisconnectExchange[], nas: NasExchangeLog[], about: (e: DisconnectExchange) => Record<string, unknown>, now: () => Date, note: string): RawPayload {
  const times = exchanges.flatMap((e) => [...e.sentAt, ...(e.receivedAt ? [e.receivedAt] : [])]).sort();
  const body = {
    exchanges: exchanges.map((e) => ({
      nasId: e.nasId, to: e.to, identifier: e.identifier, ...about(e),
      request: e.request ? { ...e.request, sentAt: e.sentAt } : { sentAt: e.sentAt },
      reply: e.reply ? { ...e.reply, receivedAt: e.receivedAt, errorCause: e.errorCause, replyMessage: e.replyMessage, rttMs: e.rttMs } : null,
      outcome: e.outcome, error: e.error, ignoredReplies: e.ignoredReplies,
    })),
    strayReplies: nas.filter((n) => n.strayReplies.length).map((n) => ({ nasId: n.nasId, to: n.to, replies: n.strayReplies })),
  };
  return {
    source: 'radius.coa', contentType: 'application/json', collectedAt: now().toISOString(),
    body: Buffer.from(JSON.stringify(body, null, 2), 'utf8'), recordCount: exchanges.length,
    rangeFrom: times[0], rangeTo: times.at(-1), note,
  };
}
