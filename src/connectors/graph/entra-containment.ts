import { randomInt } from 'node:crypto';
import type { Upn } from '../../domain/identity';
import { ConnectorError, type RawPayload } from '../types';
import { getUser, listSignIns, type EntraUser } from './entra-read';
import type { GraphOperation } from './graph-errors';
import { readTokenActivity } from './token-activity';
import { segment, type GraphSession } from './graph-session';

/**
 * Entra containment, one function per change. Each is idempotent: it reads the current state first
 * (always for disable; when `mayHaveRun` for revoke/reset, which have no readable end state of
 * their own) and does nothing when the change is already in place. Each returns Graph's raw
 * responses; the password is never returned, logged, stored or kept in evidence.
 */
export interface StepOutcome {
  step: 'disable' | 'revokeSessions' | 'resetPassword' | 'confirmCompromised' | 'enable' | 'dismissRisk';
  changed: boolean;
  /** why nothing was done, when nothing was */
  skippedBecause?: string;
  raw: RawPayload[];
}

export async function disableAccount(s: GraphSession, upn: Upn): Promise<StepOutcome> {
  const before = await s.get<{ accountEnabled?: boolean }>(`/v1.0/users/${segment(upn)}`, {
    source: 'graph.user', op: { does: 'read the account state', permissions: ['User.Read.All'], object: `user ${upn}` }, query: { $select: 'id,accountEnabled' },
  });
  if (before.data.accountEnabled === false) return { step: 'disable', changed: false, skippedBecause: 'the account is already disabled', raw: before.raw };
  const r = await s.call('PATCH', `/v1.0/users/${segment(upn)}`, {
    source: 'graph.disableUser', body: { accountEnabled: false },
    op: { does: `disable ${upn}`, permissions: ['User.EnableDisableAccount.All', 'User.ReadWrite.All'], object: `user ${upn}`,
      roleHint: 'a privileged admin can only be disabled by an app holding a higher admin role (e.g. Privileged Authentication Administrator)' },
  });
  return { step: 'disable', changed: true, raw: [...before.raw, ...r.raw] };
}

/**
 * Revokes refresh tokens and session cookies. With `mayHaveRun`, a signInSessionsValidFromDateTime
 * at or after the intent time means the earlier attempt got through: no second revocation.
 */
export async function revokeSessions(s: GraphSession, upn: Upn, o: { mayHaveRun: boolean; intentAt: Date }): Promise<StepOutcome> {
  const raw: RawPayload[] = [];
  if (o.mayHaveRun) {
    const cur = await s.get<{ signInSessionsValidFromDateTime?: string }>(`/v1.0/users/${segment(upn)}`, {
      source: 'graph.user', op: { does: 'read the session validity time', permissions: ['User.Read.All'], object: `user ${upn}` },
      query: { $select: 'id,signInSessionsValidFromDateTime' },
    });
    raw.push(...cur.raw);
    const validFrom = Date.parse(cur.data.signInSessionsValidFromDateTime ?? '');
    if (!Number.isNaN(validFrom) && validFrom >= o.intentAt.getTime() - 1000) {
      return { step: 'revokeSessions', changed: false, skippedBecause: `sessions were already revoked at ${new Date(validFrom).toISOString()}`, raw };
    }
  }
  const r = await s.call('POST', `/v1.0/users/${segment(upn)}/revokeSignInSessions`, {
    source: 'graph.revokeSignInSessions',
    op: { does: `revoke the sign-in sessions of ${upn}`, permissions: ['User.RevokeSessions.All', 'User.ReadWrite.All'], object: `user ${upn}` },
  });
  return { step: 'revokeSessions', changed: true, raw: [...raw, ...r.raw] };
}

/**
 * Sets a generated password that nobody ever sees, with a forced change at next sign-in: the
 * user recovers through the helpdesk/SSPR. With `mayHaveRun`, a lastPasswordChangeDateTime at or
 * after the intent time means it was already reset.
 */
export async function resetPassword(s: GraphSession, upn: Upn, o: { mayHaveRun: boolean; intentAt: Date }): Promise<StepOutcome> {
  const raw: RawPayload[] = [];
  if (o.mayHaveRun) {
    const cur = await s.get<{ lastPasswordChangeDateTime?: string }>(`/v1.0/users/${segment(upn)}`, {
      source: 'graph.user', op: { does: 'read the last password change', permissions: ['User.Read.All'], object: `user ${upn}` },
      query: { $select: 'id,lastPasswordChangeDateTime' },
    });
    raw.push(...cur.raw);
    const changed = Date.parse(cur.data.lastPasswordChangeDateTime ?? '');
    if (!Number.isNaN(changed) && changed >= o.intentAt.getTime() - 1000) {
      return { step: 'resetPassword', changed: false, skippedBecause: `the password was already reset at ${new Date(changed).toISOString()}`, raw };
    }
  }
  const password = generateStrongPassword();
  const r = await s.call('PATCH', `/v1.0/users/${segment(upn)}`, {
    source: 'graph.resetPassword',
    body: { passwordProfile: { forceChangePasswordNextSignIn: true, password } },
    bodyForEvidence: { passwordProfile: { forceChangePasswordNextSignIn: true, password: '[redacted: generated, never shown or stored]' } },
    op: { does: `reset the password of ${upn}`, permissions: ['User-PasswordProfile.ReadWrite.All', 'User.ReadWrite.All'], object: `user ${upn}`,
      roleHint: 'the app also needs the User Administrator directory role (Privileged Authentication Administrator for admins)' },
  });
  return { step: 'resetPassword', changed: true, raw: [...raw, ...r.raw] };
}

/**
 * The user's Identity Protection risk state, or null when Identity Protection never flagged the
 * user: `GET riskyUsers/{id}` answers 404 for such a user (protocols.md §11), which is an answer,
 * not a failure. Any other error still fails.
 */
async function readRiskState(s: GraphSession, user: { objectId: string; upn: string }, op: GraphOperation): Promise<{ riskState: string | null; raw: RawPayload[] }> {
  try {
    const r = await s.get<{ riskState?: string }>(`/v1.0/identityProtection/riskyUsers/${segment(user.objectId)}`, { source: 'graph.riskyUser', op });
    return { riskState: r.data.riskState ?? null, raw: r.raw };
  } catch (e) {
    if (e instanceof ConnectorError && e.opts.status === 404) return { riskState: null, raw: [] };
    throw e;
  }
}

/**
 * Identity Protection (P2): marks the user confirmed compromised (risk high). The risk read only
 * skips a repeat; a user never flagged before (404 on the read) is confirmed all the same.
 */
export async function confirmCompromised(s: GraphSession, user: { objectId: string; upn: string }): Promise<StepOutcome> {
  const op = { does: `confirm ${user.upn} compromised in Identity Protection`, permissions: ['IdentityRiskyUser.ReadWrite.All'], object: `risky user ${user.upn}`, roleHint: 'Identity Protection needs Entra ID P2' };
  const cur = await readRiskState(s, user, op);
  if (cur.riskState === 'confirmedCompromised') return { step: 'confirmCompromised', changed: false, skippedBecause: 'already confirmed compromised', raw: cur.raw };
  const r = await s.call('POST', '/v1.0/identityProtection/riskyUsers/confirmCompromised', { source: 'graph.confirmCompromised', body: { userIds: [user.objectId] }, op });
  return { step: 'confirmCompromised', changed: true, raw: [...cur.raw, ...r.raw] };
}

/**
 * A release's undo of the disable: `PATCH /users/{id}` with accountEnabled true (Graph v1.0 update
 * user), after a re-read: an account someone already enabled by hand is reported, not written.
 */
export async function enableAccount(s: GraphSession, upn: Upn): Promise<StepOutcome> {
  const before = await s.get<{ accountEnabled?: boolean }>(`/v1.0/users/${segment(upn)}`, {
    source: 'graph.user', op: { does: 'read the account state', permissions: ['User.Read.All'], object: `user ${upn}` }, query: { $select: 'id,accountEnabled' },
  });
  if (before.data.accountEnabled === true) return { step: 'enable', changed: false, skippedBecause: 'the account is already enabled (by hand?)', raw: before.raw };
  const r = await s.call('PATCH', `/v1.0/users/${segment(upn)}`, {
    source: 'graph.enableUser', body: { accountEnabled: true },
    op: { does: `enable ${upn}`, permissions: ['User.EnableDisableAccount.All', 'User.ReadWrite.All'], object: `user ${upn}`,
      roleHint: 'a privileged admin can only be enabled by an app holding a higher admin role (e.g. Privileged Authentication Administrator)' },
  });
  return { step: 'enable', changed: true, raw: [...before.raw, ...r.raw] };
}

/**
 * Identity Protection (P2): dismisses the user's risk (`POST /identityProtection/riskyUsers/dismiss`,
 * Graph v1.0: risk level none). Re-reads first: a user whose risk is already dismissed or
 * remediated, or never flagged (404), is left alone.
 */
export async function dismissRisk(s: GraphSession, user: { objectId: string; upn: string }): Promise<StepOutcome> {
  const op = { does: `dismiss the Identity Protection risk of ${user.upn}`, permissions: ['IdentityRiskyUser.ReadWrite.All'], object: `risky user ${user.upn}`, roleHint: 'Identity Protection needs Entra ID P2' };
  const cur = await readRiskState(s, user, op);
  if (cur.riskState === null || ['dismissed', 'remediated', 'none'].includes(cur.riskState)) {
    return { step: 'dismissRisk', changed: false, skippedBecause: cur.riskState === null ? 'Identity Protection has no risk for the user' : `the risk is already ${cur.riskState}`, raw: cur.raw };
  }
  const r = await s.call('POST', '/v1.0/identityProtection/riskyUsers/dismiss', { source: 'graph.dismissRiskyUser', body: { userIds: [user.objectId] }, op });
  return { step: 'dismissRisk', changed: true, raw: [...cur.raw, ...r.raw] };
}

export interface ContainmentState {
  user: EntraUser;
  /**
   * Sessions the revocation will cut, estimated as the number of distinct correlationIds of the
   * successful sign-ins (interactive and non-interactive) in the last 24 h that started after the
   * current signInSessionsValidFromDateTime: one correlationId is one sign-in session's token chain.
   */
  activeSessions: number;
  /** which kinds of sign-in the session count covers (src/connectors/graph/token-activity.ts) */
  sessionsCountedFrom: string;
  successfulSignIns24h: number;
  riskState: string | null;
  raw: RawPayload[];
}

/** Reads what containment would change, live, for the approval card. */
export async function readContainmentState(s: GraphSession, upn: Upn, o: { now: Date; hasP2: boolean }): Promise<ContainmentState> {
  const { user, raw } = await getUser(s, upn);
  const since = new Date(o.now.getTime() - 24 * 3600_000);
  const si = await listSignIns(s, upn, since, o.now);
  const validFrom = Date.parse(user.signInSessionsValidFromDateTime ?? '') || 0;
  const ok = si.signIns.filter((x) => (x.status as { errorCode?: number } | undefined)?.errorCode === 0);
  const tokens = await readTokenActivity(s, upn, si.signIns, { since, until: o.now, validFrom });
  let riskState: string | null = null;
  const extra: RawPayload[] = [];
  if (o.hasP2) {
    const r = await readRiskState(s, { objectId: user.objectId, upn }, { does: 'read the Identity Protection risk state', permissions: ['IdentityRiskyUser.Read.All', 'IdentityRiskyUser.ReadWrite.All'], object: `risky user ${upn}` });
    riskState = r.riskState;
    extra.push(...r.raw);
  }
  return { user, activeSessions: tokens.activity.sessions, sessionsCountedFrom: tokens.activity.counted, successfulSignIns24h: ok.length, riskState, raw: [...raw, ...si.raw, ...tokens.raw, ...extra] };
}

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGIT = '23456789';
const SYMBOL = '!#$%&*+-=?@^_~';

/** 24 characters from a CSPRNG with every class present: meets Entra's complexity rules. */
export function generateStrongPassword(length = 24): string {
  const all = LOWER + UPPER + DIGIT + SYMBOL;
  const chars = [LOWER, UPPER, DIGIT, SYMBOL].map((set) => set[randomInt(set.length)]);
  while (chars.length < length) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}
