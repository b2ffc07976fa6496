import { octetsWithGigawords, orderSessions, sessionKey, type AccountingSession } from './accounting-session';

/**
 * Folds accounting events (one per Accounting-Request, from either store) into sessions.
 * Counters are cumulative in RFC 2866, so the largest seen wins, whatever order records arrive in.
 */

export type AccountingEventKind = 'start' | 'interim' | 'stop' | 'accounting-on' | 'accounting-off' | 'other';

/** The attributes one Accounting-Request carries: a session's fields, each possibly absent. */
type SessionAttributes = Pick<AccountingSession,
  'userName' | 'acctSessionId' | 'acctUniqueId' | 'nasIp' | 'nasIdentifier' | 'nasPortId' | 'framedIp' | 'framedIpv6Prefix'
  | 'callingStationId' | 'calledStationId' | 'sessionTimeSeconds' | 'inputOctets' | 'outputOctets' | 'terminateCause'>;

export interface AccountingEvent extends Partial<SessionAttributes> {
  kind: AccountingEventKind;
  /** epoch ms: Event-Timestamp, else the server's receive time less Acct-Delay-Time */
  at: number;
}

export function statusKind(value: string | number | undefined): AccountingEventKind {
  switch (String(value ?? '').trim().toLowerCase()) {
    case '1': case 'start': return 'start';
    case '2': case 'stop': return 'stop';
    case '3': case 'interim-update': case 'alive': return 'interim';
    case '7': case 'accounting-on': return 'accounting-on';
    case '8': case 'accounting-off': return 'accounting-off';
    default: return 'other';
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

export function foldSessions(events: AccountingEvent[], window: { from: Date; to: Date }): AccountingSession[] {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const sessions = new Map<string, AccountingSession & { firstAt: number; lastAt: number }>();
  for (const e of sorted) {
    if (e.kind === 'accounting-on' || e.kind === 'accounting-off') {
      // The NAS rebooted or stopped: every session it had open before then is over (RFC 2866 §5.1).
      for (const s of sessions.values()) {
        if (!s.active || s.lastAt > e.at) continue;
        const sameNas = (e.nasIp && s.nasIp === e.nasIp) || (e.nasIdentifier && s.nasIdentifier === e.nasIdentifier);
        if (!sameNas) continue;
        s.active = false;
        s.stoppedAt = iso(e.at);
        s.terminateCause = e.kind === 'accounting-on' ? 'NAS-Reboot (Accounting-On)' : 'NAS-Reboot (Accounting-Off)';
      }
      continue;
    }
    if (!e.acctSessionId || !e.userName || e.kind === 'other') continue;
    const key = sessionKey({ nasIp: e.nasIp, nasIdentifier: e.nasIdentifier, acctSessionId: e.acctSessionId });
    let s = sessions.get(key);
    if (!s) {
      s = {
        userName: e.userName, acctSessionId: e.acctSessionId, nasIp: e.nasIp, nasIdentifier: e.nasIdentifier,
        inputOctets: 0, outputOctets: 0, active: true, firstAt: e.at, lastAt: e.at,
      };
      sessions.set(key, s);
    }
    s.lastAt = Math.max(s.lastAt, e.at);
    for (const k of ['acctUniqueId', 'nasPortId', 'framedIp', 'framedIpv6Prefix', 'callingStationId', 'calledStationId'] as const) {
      if (e[k] !== undefined) s[k] = e[k];
    }
    s.inputOctets = Math.max(s.inputOctets, e.inputOctets ?? 0);
    s.outputOctets = Math.max(s.outputOctets, e.outputOctets ?? 0);
    if (e.sessionTimeSeconds !== undefined) s.sessionTimeSeconds = Math.max(s.sessionTimeSeconds ?? 0, e.sessionTimeSeconds);
    if (e.kind === 'start') {
      s.startedAt = iso(e.at);
    } else {
      if (!s.startedAt && e.sessionTimeSeconds !== undefined) s.startedAt = iso(e.at - e.sessionTimeSeconds * 1000);
      if (e.kind === 'interim') s.lastUpdateAt = iso(Math.max(e.at, s.lastUpdateAt ? Date.parse(s.lastUpdateAt) : 0));
      if (e.kind === 'stop') {
        s.active = false;
        s.stoppedAt = iso(e.at);
        if (e.terminateCause) s.terminateCause = e.terminateCause;
      }
    }
  }
  const from = window.from.getTime();
  const to = window.to.getTime();
  const inWindow = [...sessions.values()].filter((s) => s.firstAt <= to && (s.active || (s.stoppedAt !== undefined && Date.parse(s.stoppedAt) >= from)));
  return orderSessions(inWindow.map(({ firstAt: _f, lastAt: _l, ...s }) => s));
}

