/**
 * One accounting session of a user at a NAS, folded from Start / Interim-Update / Stop records
 * (RFC 2866) whichever store they came from (radacct rows or detail files).
 */
export interface AccountingSession {
  userName: string;
  acctSessionId: string;
  acctUniqueId?: string;
  /** NAS-IP-Address (or the client address the record came from when the NAS sent none) */
  nasIp?: string;
  nasIdentifier?: string;
  nasPortId?: string;
  framedIp?: string;
  framedIpv6Prefix?: string;
  callingStationId?: string;
  calledStationId?: string;
  /** ISO UTC; derived from the first record's time minus Acct-Session-Time when the Start is outside the window */
  startedAt?: string;
  lastUpdateAt?: string;
  stoppedAt?: string;
  sessionTimeSeconds?: number;
  /** cumulative octets including Acct-Input/Output-Gigawords (2^32 each) */
  inputOctets: number;
  outputOctets: number;
  terminateCause?: string;
  active: boolean;
}

export interface AccountingReport {
  user: string;
  from: string;
  to: string;
  /** active sessions first, then the most recent */
  sessions: AccountingSession[];
  active: AccountingSession[];
}

export function octetsWithGigawords(octets: number | undefined, gigawords: number | undefined): number {
  return (gigawords ?? 0) * 2 ** 32 + (octets ?? 0);
}

export function sessionKey(s: Pick<AccountingSession, 'nasIp' | 'nasIdentifier' | 'acctSessionId'>): string {
  return `${s.nasIp ?? ''}|${s.nasIdentifier ?? ''}|${s.acctSessionId}`;
}

/** Active first, then by last activity, newest first. */
export function orderSessions(sessions: AccountingSession[]): AccountingSession[] {
  const last = (s: AccountingSession) => s.stoppedAt ?? s.lastUpdateAt ?? s.startedAt ?? '';
  return [...sessions].sort((a, b) => Number(b.active) - Number(a.active) || last(b).localeCompare(last(a)));
}
