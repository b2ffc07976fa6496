import { z } from 'zod';
import { ConnectorError, type ActionDef, type ActionResult, type Preview, type RawPayload } from '../types';
import type { DisconnectInput, DisconnectOutput } from '../radius/actions';
import { SUCCESS_STATUSES } from '../radius/coa/disconnect-sessions';
import { accountContext, mapBounded, perAccount, STORM_CONCURRENCY } from './each-account';
import { STORM_DISCONNECT_ACTION } from '../../domain/storm-coverage';

/**
 * radius.disconnectMany: radius.disconnect for every account of a storm behind one approval. Each
 * account is the single action's run (accounting re-read on a re-run, RFC 5176 Disconnect-Requests
 * with their own retries), so a storm's sessions end exactly as an incident of their own would.
 */

const disconnectManyInput = z.object({
  /** the storm's resolved accounts' UPNs (the RADIUS User-Name); each is validated as the single action does */
  users: z.array(z.string().min(1).max(253)).min(1).max(5000),
}).strict();
type DisconnectManyInput = z.infer<typeof disconnectManyInput>;

export interface DisconnectManyOutput {
  accounts: number;
  /** sessions ended (disconnected, already gone or stopped), over every account */
  sessionsEnded: number;
  /** accounts with a session that could not be ended, or whose accounting could not be read */
  failedAccounts: number;
  users: Array<{ user: string; status: 'ended' | 'none' | 'incomplete' | 'failed'; sessions: number; summary?: string; error?: string }>;
}

function listed(items: string[], n: number): string {
  return items.length <= n ? items.join('; ') : `${items.slice(0, n).join('; ')}; … and ${items.length - n} more`;
}

export function createDisconnectMany(disconnect: ActionDef<DisconnectInput, DisconnectOutput>): ActionDef<DisconnectManyInput, DisconnectManyOutput> {
  return {
    name: STORM_DISCONNECT_ACTION,
    risk: 'destructive',
    description: "Ends the RADIUS sessions of every account of a storm (radius.disconnect per account), behind one approval",
    input: disconnectManyInput,
    inverse: { none: 'A RADIUS disconnect has no undo, and needs none: each client re-authenticates by itself once its account is enabled again' },
    async preview(i, ctx): Promise<Preview> {
      const previews = await mapBounded(i.users, STORM_CONCURRENCY, async (user) => {
        try {
          return { user, p: await disconnect.preview!(disconnect.input.parse({ user }), accountContext(ctx, user)) };
        } catch (e) {
          return { user, error: (e as Error).message.split('\n')[0].slice(0, 300) };
        }
      }, ctx.signal);
      const sessions = previews.reduce((n, x) => n + Number(x.p?.data?.withNas ?? 0), 0);
      const withSessions = previews.filter((x) => x.p && !x.p.nothingToDo);
      const unread = previews.filter((x) => !x.p);
      return {
        title: `Disconnect ${sessions} RADIUS session${sessions === 1 ? '' : 's'} of ${withSessions.length} of the storm's ${i.users.length} accounts`,
        facts: [
          { label: 'Accounts', value: String(i.users.length) },
          { label: 'With active sessions', value: String(withSessions.length) },
          { label: 'Sessions to end', value: String(sessions) },
        ],
        changes: withSessions.flatMap((x) => x.p!.changes.map((c) => `${x.user}: ${c}`)),
        warnings: [
          ...new Set(withSessions.flatMap((x) => x.p!.warnings.map((w) => `${x.user}: ${w}`))),
          ...(unread.length ? [`Accounting could not be read for ${unread.length} account(s): ${listed(unread.map((x) => `${x.user} (${x.error})`), 5)}; the run reads it again`] : []),
        ],
        // an unreadable account may still have sessions: only "nothing anywhere" is nothing to do
        nothingToDo: withSessions.length === 0 && unread.length === 0,
        data: { accounts: i.users.length, withSessions: withSessions.length, sessions },
      };
    },
    async run(i, ctx): Promise<ActionResult<DisconnectManyOutput>> {
      const raw: RawPayload[] = [];
      const results = await mapBounded(i.users, STORM_CONCURRENCY, (user) => perAccount(raw, () => disconnect.run(disconnect.input.parse({ user }), accountContext(ctx, user))), ctx.signal);
      const users: DisconnectManyOutput['users'] = results.map((r, k) => {
        const user = i.users[k];
        if (!r.ok) return { user, status: 'failed', sessions: 0, error: r.error };
        const o = r.output;
        return { user, status: o.results.length === 0 ? 'none' : o.complete ? 'ended' : 'incomplete', sessions: o.results.length, summary: r.summary.slice(0, 400) };
      });
      const bad = users.filter((u) => u.status === 'failed' || u.status === 'incomplete');
      const sessionsEnded = results.reduce((n, r) => n + (r.ok ? r.output.results.filter((x) => SUCCESS_STATUSES.has(x.status)).length : 0), 0);
      if (bad.length === users.length) throw new ConnectorError(`no account's RADIUS sessions could be ended: ${listed(bad.map((b) => `${b.user} (${b.error ?? b.summary})`), 5)}`, { source: 'radius', raw });
      return {
        output: { accounts: users.length, sessionsEnded, failedAccounts: bad.length, users }, raw,
        summary: `${sessionsEnded} RADIUS session${sessionsEnded === 1 ? '' : 's'} ended across ${users.filter((u) => u.status === 'ended').length} of ${users.length} accounts (${users.filter((u) => u.status === 'none').length} had none)`
          + `${bad.length ? `; ${bad.length} not complete: ${listed(bad.map((b) => `${b.user} (${b.error ?? b.summary})`), 5)}` : ''}`,
      };
    },
  };
}
