import { odataString, type Upn } from '../../domain/identity';
import { ConnectorError, type RawPayload } from '../types';
import type { GraphSession } from './graph-session';

/**
 * Token activity of an account: how many sign-in sessions were seen and from which kinds of
 * sign-in. v1.0 `auditLogs/signIns` returns interactive sign-ins only; a stolen refresh token shows
 * up as non-interactive sign-ins, which only the beta endpoint returns, and only when asked with
 * `$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')` (Graph beta "List signIns"). When
 * beta refuses (not available to the app, the filter rejected), the count is interactive only and
 * says so: a reader must never take "3 sessions" for the whole picture when it is not.
 */
export type SignInKind = 'interactiveUser' | 'nonInteractiveUser';

export interface TokenActivity {
  /** the kinds of sign-in the counts cover */
  kinds: SignInKind[];
  interactive: number;
  /** null when non-interactive sign-ins could not be read */
  nonInteractive: number | null;
  /** distinct sessions (correlation ids) among the successful sign-ins of the counted kinds */
  sessions: number;
  /** why only interactive sign-ins were counted; null when both kinds were */
  onlyInteractiveBecause: string | null;
  /** one phrase for cards and the report: "interactive and non-interactive sign-ins" */
  counted: string;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const succeeded = (x: Record<string, unknown>) => (x.status as { errorCode?: unknown } | undefined)?.errorCode === 0;

/** The phrase naming which kinds a count covers. */
export function countedKinds(kinds: readonly SignInKind[]): string {
  return kinds.includes('nonInteractiveUser') ? 'interactive and non-interactive sign-ins' : 'interactive sign-ins only';
}

/** Non-interactive sign-ins of one user in a window, from Graph beta. */
export async function listNonInteractiveSignIns(s: GraphSession, upn: Upn, since: Date, until: Date, o: { pageSize?: number } = {}): Promise<{ signIns: Record<string, unknown>[]; raw: RawPayload[] }> {
  const filter = `userPrincipalName eq ${odataString(upn)} and createdDateTime ge ${isoSeconds(since)} and createdDateTime le ${isoSeconds(until)}`
    + " and signInEventTypes/any(t: t eq 'nonInteractiveUser')";
  const r = await s.getAllPages<Record<string, unknown>>('/beta/auditLogs/signIns', {
    source: 'graph.signIns.nonInteractive',
    op: { does: `read the non-interactive sign-ins of ${upn} (Graph beta)`, permissions: ['AuditLog.Read.All'], roleHint: 'sign-in logs need Entra ID P1 or P2' },
    query: { $filter: filter, $top: o.pageSize ?? 1000 },
  });
  const rangeFrom = since.toISOString();
  const rangeTo = until.toISOString();
  // beta answers what was asked; a sign-in of another kind in the answer would be counted twice
  const signIns = r.items.filter((x) => !Array.isArray(x.signInEventTypes) || (x.signInEventTypes as unknown[]).includes('nonInteractiveUser'));
  return { signIns, raw: r.raw.map((p) => ({ ...p, rangeFrom, rangeTo })) };
}

/**
 * Counts sessions from the interactive sign-ins already read (v1.0) plus the non-interactive ones
 * from beta. `validFrom` leaves out sign-ins before the last revocation (their tokens are dead).
 * An aborted run is not a fallback: it propagates.
 */
export async function readTokenActivity(s: GraphSession, upn: Upn, interactive: Record<string, unknown>[], window: { since: Date; until: Date; validFrom?: number; signal?: AbortSignal }): Promise<{ activity: TokenActivity; raw: RawPayload[]; nonInteractive: Record<string, unknown>[] | null }> {
  let nonInteractive: Record<string, unknown>[] | null = null;
  let because: string | null = null;
  let raw: RawPayload[] = [];
  try {
    const r = await listNonInteractiveSignIns(s, upn, window.since, window.until);
    nonInteractive = r.signIns;
    raw = r.raw;
  } catch (e) {
    if (window.signal?.aborted || !(e instanceof ConnectorError)) throw e;
    because = `Graph beta refused the non-interactive sign-ins: ${e.message}`.slice(0, 400);
  }
  const validFrom = window.validFrom ?? 0;
  const live = [...interactive, ...(nonInteractive ?? [])]
    .filter(succeeded)
    .filter((x) => Date.parse(String(x.createdDateTime)) >= validFrom);
  const kinds: SignInKind[] = nonInteractive ? ['interactiveUser', 'nonInteractiveUser'] : ['interactiveUser'];
  return {
    activity: {
      kinds,
      interactive: interactive.length,
      nonInteractive: nonInteractive ? nonInteractive.length : null,
      sessions: new Set(live.map((x) => String(x.correlationId ?? x.id))).size,
      onlyInteractiveBecause: because,
      counted: countedKinds(kinds),
    },
    raw,
    nonInteractive,
  };
}

/** "3 sessions (interactive and non-interactive sign-ins: 4 + 3)" */
export function tokenActivityLine(a: Pick<TokenActivity, 'sessions' | 'interactive' | 'nonInteractive' | 'kinds'>): string {
  const n = `${a.sessions} session${a.sessions === 1 ? '' : 's'}`;
  return a.nonInteractive === null
    ? `${n} from ${a.interactive} interactive sign-ins (interactive sign-ins only: non-interactive ones were not available)`
    : `${n} from ${a.interactive} interactive and ${a.nonInteractive} non-interactive sign-ins`;
}
