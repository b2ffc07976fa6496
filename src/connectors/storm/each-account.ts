import type { ActionContext, RawPayload } from '../types';

/**
 * Storm actions (identity.resolveMany, identity.containMany, radius.disconnectMany) do one
 * account's action for each account of a storm. Bounded concurrency: a storm of 300 accounts must
 * not open 300 Graph or LDAP calls at once (the tenant throttles, the DC refuses), and one account's
 * failure is that account's outcome, never the others'.
 */
export const STORM_CONCURRENCY = 6;

/** Runs `fn` for every item with at most `limit` in flight; results in the items' order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      // a lost lease aborts: the accounts not started yet are left to the worker that took over
      signal?.throwIfAborted();
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * The context of one account's part: its own idempotency key `<action key>/<account>` (a connector
 * that passes the key on gives the far side one per account), the same mayHaveRun and intent time
 * (so a re-run after a crash re-reads each account before acting, exactly like the single-account
 * action), and a log naming the account.
 */
export function accountContext(ctx: ActionContext, account: string): ActionContext {
  return { ...ctx, idempotencyKey: `${ctx.idempotencyKey}/${account}`, log: ctx.log.child({ account }) };
}

/** One account's outcome, caught: a thrown error becomes the account's error line. */
export async function perAccount<R>(raw: RawPayload[], run: () => Promise<{ output: R; raw: RawPayload[]; summary: string }>): Promise<{ ok: true; output: R; summary: string } | { ok: false; error: string }> {
  try {
    const r = await run();
    raw.push(...(r.raw ?? []));
    return { ok: true, output: r.output, summary: r.summary };
  } catch (e) {
    const extra = (e as { opts?: { raw?: RawPayload[] } }).opts?.raw;
    if (Array.isArray(extra)) raw.push(...extra);
    return { ok: false, error: errorText(e) };
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0].slice(0, 500) || e.name;
  return String(e).slice(0, 500);
}
