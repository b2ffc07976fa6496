import { isIP } from 'node:net';
import { z } from 'zod';
import type { CustomerConfig, RadiusConfig } from '../../config/customers';
import { ConnectorError, type ActionContext, type ActionDef, type Preview } from '../types';
import type { AccountingReport, AccountingSession } from './accounting/accounting-session';
import type { DetailSource } from './accounting/detail-accounting';
import { readAccounting } from './accounting/read-accounting';
import { disconnectSessions, planDisconnects, sessionRefOf, SUCCESS_STATUSES, type SessionDisconnectResult, type SessionRef } from './coa/disconnect-sessions';
import { isRadiusString, parseRadiusString, type RadiusString } from './radius-string';
import type { OpenRemoteShell } from './remote-shell';
import { createDisconnectMany } from '../storm/radius-many';

const radiusText = (field: string) => z.string().refine(isRadiusString, {
  message: `${field} must be 1-253 bytes without control characters or double quotes`,
}).transform((v) => parseRadiusString(v, field));

const ipText = z.string().refine((v) => isIP(v) !== 0, 'must be an IP address');

export const accountingInput = z.object({
  /** the RADIUS User-Name to look for (usually the UPN) */
  user: radiusText('user'),
  hours: z.number().positive().max(24 * 31).default(24),
}).strict();
export type AccountingInput = z.infer<typeof accountingInput>;

const sessionRefInput = z.object({
  userName: radiusText('userName'),
  acctSessionId: radiusText('acctSessionId'),
  nasIp: ipText.optional(),
  nasIdentifier: radiusText('nasIdentifier').optional(),
  framedIp: ipText.optional(),
}).strict();

export const disconnectInput = z.object({
  user: radiusText('user'),
  /** the sessions to end; by default the user's active sessions from accounting */
  sessions: z.array(sessionRefInput).max(10_000).optional(),
}).strict();
export type DisconnectInput = z.infer<typeof disconnectInput>;

export interface DisconnectOutput {
  results: SessionDisconnectResult[];
  /** every session is disconnected, already gone or already stopped */
  complete: boolean;
  counts: Record<string, number>;
}

export interface RadiusActionOptions {
  openShell?: OpenRemoteShell;
  /** a detail-file source that replaces the configured one for a customer (the sandbox reads locally) */
  detailSourceFor?: (customer: CustomerConfig) => DetailSource | undefined;
}

function radiusOf(ctx: ActionContext): RadiusConfig {
  const r = ctx.customer.radius;
  if (!r) throw new ConnectorError(`customer ${ctx.customer.id} has no RADIUS configuration (radius: in the customers file)`, { source: 'radius' });
  return r;
}

/** A session's switch port, as switch.portFacts takes it: NAS-IP-Address, NAS-Port-Id, Calling-Station-Id. */
export interface SessionPort { nasIp: string; nasPortId: string; callingStationId: string; username: string; acctSessionId?: string }
export type AccountingOutput = AccountingReport & {
  /** the sessions that name a port and a client (wired/Wi-Fi 802.1X), one per port and client, active ones first; at most 50 */
  ports: SessionPort[];
};

/** VPN sessions carry no port; a switch's sessions do, and their Start/Interim/Stop name the same one. */
export function wiredPorts(report: AccountingReport): SessionPort[] {
  const seen = new Map<string, SessionPort>();
  for (const s of report.sessions) {
    if (!s.nasIp || !s.nasPortId || !s.callingStationId) continue;
    const key = `${s.nasIp}|${s.nasPortId}|${s.callingStationId}`;
    // Acct-Session-Id rides along for a CoA port command (switch.containPort coa-* modes), which names the session
    if (!seen.has(key)) seen.set(key, { nasIp: s.nasIp, nasPortId: s.nasPortId, callingStationId: s.callingStationId, username: s.userName, ...(s.acctSessionId ? { acctSessionId: s.acctSessionId } : {}) });
  }
  return [...seen.values()].slice(0, 50);
}

export function createRadiusActions(opts: RadiusActionOptions = {}): ActionDef[] {
  const accountingFor = (ctx: ActionContext, user: RadiusString, hours: number) => readAccounting(radiusOf(ctx), user, hours, {
    secrets: ctx.secrets, log: ctx.log, now: () => ctx.now(), openShell: opts.openShell, detailSource: opts.detailSourceFor?.(ctx.customer),
  });

  const accounting: ActionDef<AccountingInput, AccountingOutput> = {
    name: 'radius.accounting',
    risk: 'read',
    description: "The user's active RADIUS sessions and their session history (default 24 h), from radacct or the detail files.",
    input: accountingInput,
    async run(input, ctx) {
      const { report, raw } = await accountingFor(ctx, input.user, input.hours);
      const nas = new Set(report.active.map((s) => s.nasIdentifier ?? s.nasIp ?? '?'));
      return {
        output: { ...report, ports: wiredPorts(report) },
        summary: `${report.active.length} active RADIUS session${report.active.length === 1 ? '' : 's'} of ${input.user}${report.active.length ? ` on ${[...nas].join(', ')}` : ''}; ${report.sessions.length} in the last ${input.hours} h`,
        raw,
      };
    },
  };

  /** What to send: the given sessions, or the active ones; on a retry, accounting is read again first. */
  async function sessionsToEnd(input: DisconnectInput, ctx: ActionContext) {
    const needAccounting = !input.sessions || ctx.mayHaveRun;
    const acc = needAccounting ? await accountingFor(ctx, input.user, 24) : undefined;
    const stopped: SessionRef[] = [];
    let toSend: SessionRef[];
    if (!input.sessions) {
      toSend = acc!.report.active.map(sessionRefOf);
    } else {
      toSend = [];
      for (const s of input.sessions) {
        const known = acc?.report.sessions.find((a: AccountingSession) => a.acctSessionId === s.acctSessionId && (!s.nasIp || !a.nasIp || a.nasIp === s.nasIp));
        if (known && !known.active) stopped.push(s);
        else toSend.push(s);
      }
    }
    return { toSend, stopped, raw: acc?.raw ?? [] };
  }

  const disconnect: ActionDef<DisconnectInput, DisconnectOutput> = {
    name: 'radius.disconnect',
    risk: 'destructive',
    description: "Ends the user's RADIUS sessions at their NAS with RFC 5176 Disconnect-Requests.",
    input: disconnectInput,
    inverse: { none: 'A RADIUS disconnect has no undo, and needs none: the client re-authenticates by itself (802.1X supplicant, VPN or Wi-Fi client) once the account is enabled again' },
    async preview(input, ctx): Promise<Preview> {
      const config = radiusOf(ctx);
      const { toSend, stopped } = await sessionsToEnd(input, ctx);
      const plan = planDisconnects(toSend, config);
      const mode = config.disconnect.mode === 'direct' ? 'Disconnect-Request from the bot' : `radclient on ${config.disconnect.ssh.host}`;
      return {
        title: `Disconnect ${input.user} from RADIUS`,
        facts: [
          { label: 'Sessions', value: String(toSend.length) },
          { label: 'NAS', value: [...new Set(plan.filter((p) => p.nas).map((p) => p.nas!.id))].join(', ') || 'none' },
          { label: 'How', value: mode },
        ],
        changes: plan.filter((p) => p.nas).map((p) => `End session ${p.session.acctSessionId}${p.session.framedIp ? ` (${p.session.framedIp})` : ''} on ${p.nas!.id} (${p.to})`),
        warnings: plan.filter((p) => !p.nas).map((p) => `Session ${p.session.acctSessionId} is on ${p.session.nasIp ?? p.session.nasIdentifier ?? 'an unknown NAS'}, which is not configured: it will not be ended`),
        notChanged: stopped.map((s) => ({ item: `Session ${s.acctSessionId}`, reason: 'already stopped in accounting' })),
        nothingToDo: plan.every((p) => !p.nas),
        data: { sessions: toSend.length, withNas: plan.filter((p) => p.nas).length, alreadyStopped: stopped.length },
      };
    },
    async run(input, ctx) {
      const config = radiusOf(ctx);
      const { toSend, stopped, raw: accountingRaw } = await sessionsToEnd(input, ctx);
      const { results, raw } = await disconnectSessions(toSend, config, {
        secrets: ctx.secrets, log: ctx.log, now: () => ctx.now(), signal: ctx.signal, isRetry: ctx.mayHaveRun, openShell: opts.openShell,
      });
      for (const s of stopped) {
        results.push({ session: s, status: 'already-stopped', transmissions: 0, invalidReplies: 0, detail: 'accounting shows a Stop: nothing sent' });
      }
      const counts: Record<string, number> = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      const complete = results.every((r) => SUCCESS_STATUSES.has(r.status));
      const done = results.filter((r) => SUCCESS_STATUSES.has(r.status)).length;
      const failing = results.filter((r) => !SUCCESS_STATUSES.has(r.status));
      const summary = results.length === 0
        ? `${input.user} has no active RADIUS session`
        : complete
          ? `${done} RADIUS session${done === 1 ? '' : 's'} of ${input.user} ended (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')})`
          : `${failing.length} of ${results.length} RADIUS sessions of ${input.user} NOT ended: ${failing.map((r) => `${r.session.acctSessionId} ${r.detail}`).join('; ')}`;
      ctx.log.info({ incidentId: ctx.incidentId, action: 'radius.disconnect', counts }, 'radius disconnect finished');
      return { output: { results, complete, counts }, summary, raw: [...accountingRaw, ...raw] };
    },
  };

  // the storm procedure's variant: this same disconnect, once per account of the storm
  return [accounting as ActionDef, disconnect as ActionDef, createDisconnectMany(disconnect) as ActionDef];
}

export const radiusActions: ActionDef[] = createRadiusActions();
