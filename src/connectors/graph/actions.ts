import { actionList } from '../types';
import { z } from 'zod';
import { parseUpn, type Upn } from '../../domain/identity';
import { findImpossibleTravel, signInCountries } from '../../domain/travel';
import type { ActionContext, ActionDef, ActionResult, Preview, RawPayload } from '../types';
import { GraphSession } from './graph-session';
import { getUser, listDirectoryAudits, listSignIns, type EntraUser } from './entra-read';
import { confirmCompromised, disableAccount, readContainmentState, resetPassword, revokeSessions, type StepOutcome } from './entra-containment';
import { searchSensitiveOperations } from './m365-audit';
import { readTokenActivity, tokenActivityLine, type TokenActivity } from './token-activity';
import { addAlertComment, ALERT_STATUSES, setAlertStatus } from './defender';
import { alertsClassify } from './alert-classification';

/** The Graph actions the engine can run. A GraphSession is built per run, for ctx.customer only. */

const upn = z.unknown().transform((v, c): Upn => {
  try { return parseUpn(v, 'upn'); } catch (e) { c.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message }); return z.NEVER; }
});
const upnInput = z.object({ upn }).strict();
const windowInput = (defaultHours: number) => z.object({ upn, hours: z.number().int().min(1).max(24 * 30).default(defaultHours) }).strict();
const alertId = z.string().regex(/^[A-Za-z0-9_\-:.]{1,128}$/, 'not a Defender alert id');

function session(ctx: ActionContext): GraphSession {
  return new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now, tenants: ctx.ports?.graph });
}

const lookupUser: ActionDef<z.infer<typeof upnInput>, EntraUser> = {
  name: 'entra.lookupUser', risk: 'read', description: 'Read the user: display name, object id, enabled, directory roles (privileged flagged)',
  input: upnInput,
  async run({ upn: u }, ctx) {
    const { user, raw } = await getUser(session(ctx), u);
    return {
      output: user, raw,
      summary: `${user.displayName} (${user.userPrincipalName}) is ${user.accountEnabled ? 'enabled' : 'disabled'}${user.privilegedRoles.length ? `; privileged: ${user.privilegedRoles.join(', ')}` : ''}`,
    };
  },
};

interface SignInsOutput {
  /** interactive sign-ins (the v1.0 log): counts, countries and travel are theirs */
  count: number; failed: number; countries: string[]; travel: ReturnType<typeof findImpossibleTravel>; signIns: Record<string, unknown>[];
  /** the interactive sign-ins and, where beta answered, the non-interactive ones: where the account's devices are seen */
  allSignIns: Record<string, unknown>[];
  /** sessions from interactive and, where Graph beta answers, non-interactive sign-ins */
  tokenActivity: TokenActivity;
}

const signIns: ActionDef<z.infer<ReturnType<typeof windowInput>>, SignInsOutput> = {
  name: 'entra.signIns', risk: 'read', description: 'Sign-ins of the user in a window (24 h for forensics), with impossible-travel findings and token activity (interactive and non-interactive sign-ins where available)',
  input: windowInput(24),
  async run({ upn: u, hours }, ctx) {
    const s = session(ctx);
    const since = new Date(ctx.now().getTime() - hours * 3600_000);
    const until = ctx.now();
    const r = await listSignIns(s, u, since, until);
    const travel = findImpossibleTravel(r.signIns);
    const failed = travel.skippedFailed;
    const tokens = await readTokenActivity(s, u, r.signIns, { since, until, signal: ctx.signal });
    return {
      output: { count: r.signIns.length, failed, countries: signInCountries(r.signIns), travel, signIns: r.signIns, allSignIns: [...r.signIns, ...(tokens.nonInteractive ?? [])], tokenActivity: tokens.activity }, raw: [...r.raw, ...tokens.raw],
      summary: `${r.signIns.length} sign-ins in ${hours} h (${failed} failed)${travel.findings.length ? `; impossible travel: ${travel.findings.map((f) => f.summary).join('; ')}` : ''}`
        + (travel.skippedNoCoordinates ? `; ${travel.skippedNoCoordinates} without coordinates` : '')
        + `; token activity: ${tokenActivityLine(tokens.activity)}`,
    };
  },
};

const directoryAudits: ActionDef<z.infer<ReturnType<typeof windowInput>>, { audits: Record<string, unknown>[] }> = {
  name: 'entra.directoryAudits', risk: 'read', description: 'Directory audit events by or on the user (6 h)',
  input: windowInput(6),
  async run({ upn: u, hours }, ctx) {
    const r = await listDirectoryAudits(session(ctx), u, new Date(ctx.now().getTime() - hours * 3600_000));
    const names = [...new Set(r.audits.map((a) => String(a.activityDisplayName)))];
    return { output: { audits: r.audits }, raw: r.raw, summary: `${r.audits.length} directory audit events in ${hours} h${names.length ? `: ${names.join(', ')}` : ''}` };
  },
};

const auditSearch: ActionDef<z.infer<ReturnType<typeof windowInput>>, Awaited<ReturnType<typeof searchSensitiveOperations>>['findings']> = {
  name: 'm365.auditSearch', risk: 'read', description: "The user's sensitive Microsoft 365 operations (inbox/forwarding rules, permissions, consent, roles, MFA)",
  input: windowInput(6),
  async run({ upn: u, hours }, ctx) {
    // the query takes minutes at Graph: its polls wait outside the engine's run slots
    const r = await searchSensitiveOperations(session(ctx), u, { now: ctx.now(), hours, wait: ctx.wait });
    return {
      output: r.findings, raw: r.raw,
      summary: r.findings.length ? `${r.findings.length} sensitive operations: ${r.findings.map((f) => `${f.operation}${f.detail ? ` (${f.detail})` : ''}`).join('; ')}` : `no sensitive operations in ${hours} h`,
    };
  },
};

interface ContainOutput { steps: Array<Omit<StepOutcome, 'raw'>> }

/** What a release of an Entra containment cannot give back, and how the user gets going again. */
export const ENTRA_NOT_UNDONE = 'Revoked sessions stay revoked (the user signs in again). The password stays reset to a generated one nobody knows: the service desk issues a temporary password (forced change at next sign-in), or the user resets it with self-service password reset (SSPR)';

/**
 * identity.release's input from a containment's input and output: enable only what the containment
 * disabled (an account disabled before it stays disabled), dismiss the risk only where it confirmed
 * the compromise.
 */
export function releaseInputFrom(placement: string, fwdIn: { upn?: unknown; sid?: unknown; domain?: unknown }, fwdOut: { steps?: Array<{ step: string; changed: boolean }> } | undefined): Record<string, unknown> {
  const steps = fwdOut?.steps ?? [];
  const changed = (step: string) => steps.some((x) => x.step === step && x.changed);
  return {
    placement,
    ...(typeof fwdIn?.upn === 'string' ? { upn: fwdIn.upn } : {}),
    ...(typeof fwdIn?.sid === 'string' ? { sid: fwdIn.sid } : {}),
    ...(typeof fwdIn?.domain === 'string' ? { domain: fwdIn.domain } : {}),
    enable: changed('disable') || changed('adDisable'),
    dismissRisk: changed('confirmCompromised'),
  };
}

const contain: ActionDef<z.infer<typeof upnInput>, ContainOutput> = {
  name: 'entra.contain', risk: 'destructive',
  description: 'Disable the account, revoke its sessions, reset its password (and confirm compromised where P2): one approval',
  input: upnInput,
  inverse: {
    action: 'identity.release',
    input: (fwdIn, fwdOut) => releaseInputFrom('cloud', fwdIn as { upn?: string }, fwdOut as ContainOutput | undefined),
    note: ENTRA_NOT_UNDONE,
  },
  async preview({ upn: u }, ctx): Promise<Preview> {
    const s = session(ctx);
    const st = await readContainmentState(s, u, { now: ctx.now(), hasP2: ctx.customer.graph.hasP2 });
    const changes: string[] = [];
    const notChanged: Array<{ item: string; reason: string }> = [];
    if (st.user.accountEnabled) changes.push('Disable the account (enabled now)');
    else notChanged.push({ item: 'Disable the account', reason: 'already disabled' });
    changes.push(`Revoke all sign-in sessions and refresh tokens (${st.activeSessions} session${st.activeSessions === 1 ? '' : 's'} seen in the last 24 h in ${st.sessionsCountedFrom}; ${st.successfulSignIns24h} successful interactive sign-ins)`);
    changes.push('Reset the password to a generated one nobody sees, with a forced change at next sign-in');
    if (ctx.customer.graph.hasP2) {
      if (st.riskState === 'confirmedCompromised') notChanged.push({ item: 'Confirm compromised in Identity Protection', reason: 'already confirmed' });
      else changes.push(`Confirm the user compromised in Identity Protection (risk state now: ${st.riskState ?? 'never flagged by Identity Protection'})`);
    } else {
      notChanged.push({ item: 'Confirm compromised in Identity Protection', reason: 'the tenant has no Entra ID P2' });
    }
    const warnings = st.user.privilegedRoles.map((r) => `${r}: a privileged account; the app needs a higher admin role to change it`);
    return {
      title: `Contain ${st.user.userPrincipalName} in Entra`,
      facts: [
        { label: 'Customer', value: ctx.customer.name },
        { label: 'Tenant', value: ctx.customer.tenantId },
        { label: 'User', value: st.user.displayName },
        { label: 'UPN', value: st.user.userPrincipalName },
        { label: 'Object id', value: st.user.objectId },
        { label: 'Directory roles', value: st.user.directoryRoles.join(', ') || 'none' },
      ],
      changes, warnings, notChanged,
      data: { accountEnabled: st.user.accountEnabled, activeSessions: st.activeSessions, sessionsCountedFrom: st.sessionsCountedFrom, successfulSignIns24h: st.successfulSignIns24h, privilegedRoles: st.user.privilegedRoles, objectId: st.user.objectId, riskState: st.riskState },
    };
  },
  async run({ upn: u }, ctx): Promise<ActionResult<ContainOutput>> {
    const s = session(ctx);
    const intentAt = intentTime(ctx);
    const steps: StepOutcome[] = [];
    steps.push(await disableAccount(s, u));
    steps.push(await revokeSessions(s, u, { mayHaveRun: ctx.mayHaveRun, intentAt }));
    steps.push(await resetPassword(s, u, { mayHaveRun: ctx.mayHaveRun, intentAt }));
    if (ctx.customer.graph.hasP2) {
      const { user } = await getUser(s, u);
      steps.push(await confirmCompromised(s, { objectId: user.objectId, upn: u }));
    }
    const raw: RawPayload[] = steps.flatMap((x) => x.raw);
    const label: Record<StepOutcome['step'], string> = { disable: 'disabled', revokeSessions: 'sessions revoked', resetPassword: 'password reset', confirmCompromised: 'confirmed compromised', enable: 'enabled', dismissRisk: 'risk dismissed' };
    return {
      output: { steps: steps.map(({ raw: _r, ...rest }) => rest) }, raw,
      summary: `${u}: ${steps.map((x) => (x.changed ? label[x.step] : `${label[x.step]} (already)`)).join(', ')}`,
    };
  },
};

/**
 * The time the intent was recorded: the engine passes it (ctx.intentAt); else from the idempotency
 * key when it carries one (`...@<ISO>`), else now minus 15 minutes for a retry: a revocation/reset after it means an earlier attempt ran.
 */
function intentTime(ctx: ActionContext): Date {
  if (ctx.intentAt) return ctx.intentAt;
  const m = /@(\d{4}-\d{2}-\d{2}T[0-9:.]+Z)$/.exec(ctx.idempotencyKey);
  if (m) return new Date(m[1]);
  return new Date(ctx.now().getTime() - (ctx.mayHaveRun ? 15 * 60_000 : 0));
}

const commentInput = z.object({ alertId, comment: z.string().min(1).max(4000) }).strict();
const defenderComment: ActionDef<z.infer<typeof commentInput>, { alertId: string }> = {
  name: 'defender.comment', risk: 'change', description: 'Add a comment to the Defender alert',
  input: commentInput,
  async run({ alertId: id, comment }, ctx) {
    const r = await addAlertComment(session(ctx), id, comment);
    return { output: { alertId: id }, raw: r.raw, summary: `comment added to Defender alert ${id}` };
  },
};

const statusInput = z.object({ alertId, status: z.enum(ALERT_STATUSES), assignedTo: z.string().max(200).optional() }).strict();
const defenderSetStatus: ActionDef<z.infer<typeof statusInput>, { alertId: string; status: string }> = {
  name: 'defender.setStatus', risk: 'change', description: 'Set the Defender alert status (and assignee)',
  input: statusInput,
  async run({ alertId: id, status, assignedTo }, ctx) {
    const r = await setAlertStatus(session(ctx), id, { status, ...(assignedTo ? { assignedTo } : {}) });
    return { output: { alertId: id, status }, raw: r.raw, summary: `Defender alert ${id} set to ${status}${assignedTo ? `, assigned to ${assignedTo}` : ''}` };
  },
};

export const graphActions: ActionDef[] = actionList(
  lookupUser, signIns, directoryAudits, auditSearch, contain, defenderComment, defenderSetStatus, alertsClassify,
);
