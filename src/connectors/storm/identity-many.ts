import { z } from 'zod';
import { ConnectorError, type ActionDef, type ActionResult, type Preview, type RawPayload, actionList } from '../types';
import { accountContext, mapBounded, perAccount, STORM_CONCURRENCY } from './each-account';
import type { IdentityContainOutput, IdentityReleaseOutput, ResolvedAccount } from '../identity/actions';
import { releaseInputFrom } from '../graph/actions';
import { STORM_CONTAIN_ACTION, STORM_RESOLVE_ACTION } from '../../domain/storm-coverage';

/**
 * The storm procedure's account actions (issue 13 part 4): one approval across a storm's accounts.
 * Each is the single-account action (identity.resolve, identity.contain, identity.release) run once
 * per account, so a storm account is looked up, contained and released exactly as an incident of
 * its own would be, with the same exactly-once rules: every part of identity.contain re-reads the
 * account before acting when the step may have run before (mayHaveRun), per account.
 */

const label = z.string().min(1).max(300);
const identityShape = z.object({
  upn: z.string().nullish(), objectId: z.string().nullish(), sid: z.string().nullish(),
  samAccountName: z.string().nullish(), domain: z.string().nullish(), netbios: z.string().nullish(), dnsDomain: z.string().nullish(),
}).passthrough();

const resolveManyInput = z.object({
  /** the storm's accounts in the order their alerts came (incident.stormAccounts) */
  accounts: z.array(z.object({ label, identity: identityShape.nullish() }).strict()).max(5000),
}).strict();

/** One resolved account of a storm, as storm-contain takes it and the card and report read it. */
export interface StormAccount {
  label: string;
  upn: string | null;
  placement: 'cloud' | 'synced' | 'onPremises';
  sid: string | null;
  domain: string | null;
  objectId: string | null;
  displayName: string | null;
  enabled: boolean | null;
  privilegedRoles: string[];
}

export interface ResolveManyOutput {
  accounts: StormAccount[];
  /** the accounts that could not be resolved, each with why (one bad account never stops the rest) */
  unresolved: Array<{ label: string; reason: string }>;
  /** every label this round looked at (resolved or not): the accounts a later round need not look at again */
  labels: string[];
  /** the resolved accounts' UPNs (what RADIUS names them by) */
  upns: string[];
  counts: { total: number; resolved: number; unresolved: number; cloud: number; synced: number; onPremises: number; privileged: number };
}

const containManyInput = z.object({
  accounts: z.array(z.object({
    label,
    placement: z.enum(['cloud', 'synced', 'onPremises']),
    upn: z.string().nullish(), sid: z.string().nullish(), domain: z.string().nullish(), objectId: z.string().nullish(),
    displayName: z.string().nullish(), enabled: z.boolean().nullish(), privilegedRoles: z.array(z.string()).default([]),
  }).strict()).min(1).max(5000),
}).strict();
type ContainManyInput = z.infer<typeof containManyInput>;

export interface ContainedAccount {
  label: string;
  upn: string | null;
  placement: StormAccount['placement'];
  status: 'contained' | 'failed';
  /** what changed (disable, revokeSessions …); a part already done is in `already` */
  changed: string[];
  already: string[];
  /** identity.contain's own step list: what a release undoes */
  steps?: IdentityContainOutput['steps'];
  error?: string;
}

export interface ContainManyOutput {
  total: number;
  contained: number;
  failed: number;
  accounts: ContainedAccount[];
}

const releaseManyInput = z.object({
  accounts: z.array(z.object({
    label,
    placement: z.enum(['cloud', 'synced', 'onPremises']),
    upn: z.string().nullish(), sid: z.string().nullish(), domain: z.string().nullish(),
    enable: z.boolean(), dismissRisk: z.boolean(),
  }).strict()).max(5000),
}).strict();
type ReleaseManyInput = z.infer<typeof releaseManyInput>;

export interface ReleaseManyOutput {
  total: number;
  released: number;
  accounts: Array<{ label: string; status: 'released' | 'failed'; steps?: IdentityReleaseOutput['steps']; error?: string }>;
}

/** What each part of identity.contain did to an account, as the storm's summaries count it. */
export const PART_TEXT: Record<string, string> = {
  disable: 'disabled in Entra', resetPassword: 'password reset', revokeSessions: 'sessions revoked', confirmCompromised: 'confirmed compromised',
  adDisable: 'disabled in AD', adResetPassword: 'password reset in AD',
};

/** What identity.contain does to an account of each placement (the card's line per placement). */
export function containWork(placement: StormAccount['placement'], hasP2: boolean): string {
  const confirm = hasP2 ? ', confirm compromised in Identity Protection' : '';
  if (placement === 'cloud') return `disable in Entra, revoke sessions, reset the password${confirm}`;
  if (placement === 'synced') return `disable and reset the password in AD, revoke the Entra sessions${confirm}`;
  return 'disable and reset the password in AD';
}

function listed(items: string[], n: number): string {
  return items.length <= n ? items.join('; ') : `${items.slice(0, n).join('; ')}; … and ${items.length - n} more`;
}

export function createStormIdentityActions(single: { resolve: ActionDef; contain: ActionDef; release: ActionDef }): ActionDef[] {
  const resolve = single.resolve as ActionDef<unknown, ResolvedAccount>;
  const contain = single.contain as ActionDef<unknown, IdentityContainOutput>;
  const release = single.release as ActionDef<unknown, IdentityReleaseOutput>;

  const resolveMany: ActionDef<z.infer<typeof resolveManyInput>, ResolveManyOutput> = {
    name: STORM_RESOLVE_ACTION, risk: 'read',
    description: "Look up every account of a storm in Entra and Active Directory (identity.resolve per account); the ones that cannot be resolved are listed with why",
    input: resolveManyInput,
    async run(i, ctx): Promise<ActionResult<ResolveManyOutput>> {
      const raw: RawPayload[] = [];
      const results = await mapBounded(i.accounts, STORM_CONCURRENCY, (a) =>
        perAccount(raw, () => resolve.run(resolve.input.parse({ subject: a.label, identity: a.identity ?? null }), accountContext(ctx, a.label))), ctx.signal);
      const accounts: StormAccount[] = [];
      const unresolved: ResolveManyOutput['unresolved'] = [];
      results.forEach((r, k) => {
        const lab = i.accounts[k].label;
        if (!r.ok) unresolved.push({ label: lab, reason: r.error });
        else if (r.output.placement === 'notFound') unresolved.push({ label: lab, reason: 'found in neither Entra nor Active Directory' });
        else {
          const o = r.output as ResolvedAccount & { placement: StormAccount['placement'] };
          accounts.push({
            label: lab, upn: o.upn, placement: o.placement, sid: o.sid, domain: o.domain, objectId: o.objectId,
            displayName: o.displayName, enabled: o.accountEnabled, privilegedRoles: o.privilegedRoles,
          });
        }
      });
      const count = (p: StormAccount['placement']) => accounts.filter((a) => a.placement === p).length;
      const privileged = accounts.filter((a) => a.privilegedRoles.length > 0);
      const counts = { total: i.accounts.length, resolved: accounts.length, unresolved: unresolved.length, cloud: count('cloud'), synced: count('synced'), onPremises: count('onPremises'), privileged: privileged.length };
      const where = [['cloud', counts.cloud], ['synced', counts.synced], ['on-premises only', counts.onPremises]].filter(([, n]) => n).map(([w, n]) => `${n} ${w}`).join(', ');
      const summary = `Resolved ${accounts.length} of ${i.accounts.length} accounts${where ? ` (${where})` : ''}`
        + `${unresolved.length ? `; ${unresolved.length} not: ${listed(unresolved.map((u) => `${u.label} (${u.reason})`), 5)}` : ''}`
        + `${privileged.length ? `; privileged: ${listed(privileged.map((a) => `${a.label} (${a.privilegedRoles.join(', ')})`), 5)}` : ''}`;
      return {
        output: { accounts, unresolved, labels: i.accounts.map((a) => a.label), upns: [...new Set(accounts.map((a) => a.upn).filter((u): u is string => !!u))], counts },
        raw, summary,
      };
    },
  };

  const containMany: ActionDef<ContainManyInput, ContainManyOutput> = {
    name: STORM_CONTAIN_ACTION, risk: 'destructive',
    description: "Contain every account of a storm where it is mastered (identity.contain per account), behind one approval for all of them",
    input: containManyInput,
    inverse: {
      action: 'identity.releaseMany',
      input: (fwdIn, fwdOut) => {
        const byLabel = new Map((fwdIn as ContainManyInput).accounts.map((a) => [a.label, a]));
        const done = ((fwdOut as ContainManyOutput | undefined)?.accounts ?? []).filter((a) => a.status === 'contained');
        return {
          accounts: done.map((a) => ({ label: a.label, ...releaseInputFrom(a.placement, byLabel.get(a.label) ?? {}, { steps: a.steps ?? [] }) })),
        };
      },
      note: 'Per account as identity.release: the revoked sessions and reset passwords stay as they are',
      // an account whose containment failed was never changed: the release has nothing to undo there
      notUndone: (_fwdIn, fwdOut) => ((fwdOut as ContainManyOutput | undefined)?.accounts ?? []).filter((a) => a.status !== 'contained')
        .map((a) => ({ item: a.label, reason: `its containment failed, nothing to undo${a.error ? ` (${a.error.slice(0, 200)})` : ''}` })),
    },
    /**
     * Built from what storm-accounts read moments before (placement, enabled, roles), not by
     * re-reading 300 accounts: the card would wait minutes for reads whose only use is to say
     * "already disabled", and the run re-reads each account before each change anyway.
     */
    async preview(i, ctx): Promise<Preview> {
      const hasP2 = !!ctx.customer.graph.hasP2;
      const n = i.accounts.length;
      const placements = (['cloud', 'synced', 'onPremises'] as const).map((p) => ({ p, list: i.accounts.filter((a) => a.placement === p) })).filter((x) => x.list.length);
      const privileged = i.accounts.filter((a) => a.privilegedRoles.length > 0);
      const placeName = { cloud: 'Cloud accounts', synced: 'Synced from AD', onPremises: 'On-premises only' };
      return {
        title: `Contain ${n} account${n === 1 ? '' : 's'} at ${ctx.customer.name}`,
        facts: [
          { label: 'Accounts', value: String(n) },
          ...placements.map(({ p, list }) => ({ label: `${placeName[p]} (${list.length})`, value: containWork(p, hasP2) })),
          ...(privileged.length ? [{ label: 'Privileged', value: String(privileged.length) }] : []),
        ],
        changes: i.accounts.map((a) => `${a.label}${a.upn && a.upn.toLowerCase() !== a.label ? ` (${a.upn})` : ''}: ${containWork(a.placement, hasP2)}${a.enabled === false ? ' (already disabled)' : ''}${a.privilegedRoles.length ? ` — PRIVILEGED: ${a.privilegedRoles.join(', ')}` : ''}`),
        warnings: [
          ...(privileged.length ? [`${privileged.length} privileged account${privileged.length === 1 ? '' : 's'}: ${listed(privileged.map((a) => `${a.label} (${a.privilegedRoles.join(', ')})`), 8)}`] : []),
          `This approval covers exactly these ${n} account${n === 1 ? '' : 's'}: accounts that join the storm later are put to a further approval of their own`,
          ...(placements.some((x) => x.p !== 'cloud') ? ['Kerberos tickets already issued stay valid until they expire (TGT lifetime 10 h by default)'] : []),
          ...(placements.some((x) => x.p === 'synced') ? ['Entra takes the AD disable and password at the next directory sync: the Entra sessions are revoked now'] : []),
        ],
        data: { accounts: n, cloud: placements.find((x) => x.p === 'cloud')?.list.length ?? 0, synced: placements.find((x) => x.p === 'synced')?.list.length ?? 0, onPremises: placements.find((x) => x.p === 'onPremises')?.list.length ?? 0, privileged: privileged.length },
      };
    },
    async run(i, ctx): Promise<ActionResult<ContainManyOutput>> {
      const raw: RawPayload[] = [];
      const results = await mapBounded(i.accounts, STORM_CONCURRENCY, (a) =>
        perAccount(raw, () => contain.run(contain.input.parse({ placement: a.placement, upn: a.upn ?? null, sid: a.sid ?? null, domain: a.domain ?? null }), accountContext(ctx, a.label))), ctx.signal);
      const accounts: ContainedAccount[] = results.map((r, k) => {
        const a = i.accounts[k];
        const base = { label: a.label, upn: a.upn ?? null, placement: a.placement };
        if (!r.ok) return { ...base, status: 'failed', changed: [], already: [], error: r.error };
        const steps = r.output.steps;
        return { ...base, status: 'contained', changed: steps.filter((s) => s.changed).map((s) => s.step), already: steps.filter((s) => !s.changed).map((s) => s.step), steps: steps.map((s) => ({ step: s.step, changed: s.changed, ...(s.skippedBecause ? { skippedBecause: s.skippedBecause } : {}) })) };
      });
      const failed = accounts.filter((a) => a.status === 'failed');
      const contained = accounts.length - failed.length;
      const notLine = failed.length ? `; ${failed.length} not: ${listed(failed.map((f) => `${f.label} (${f.error})`), 5)}` : '';
      if (contained === 0) {
        // nothing was contained: the step fails (a retry re-reads each account), the incident is not called contained
        throw new ConnectorError(`none of the ${accounts.length} accounts was contained${notLine}`, { source: 'identity', raw });
      }
      const changedCount = (step: string) => accounts.filter((a) => a.changed.includes(step)).length;
      const parts = Object.keys(PART_TEXT).map((s) => [s, changedCount(s)] as const).filter(([, c]) => c > 0).map(([s, c]) => `${c} ${PART_TEXT[s]}`).join(', ');
      return {
        output: { total: accounts.length, contained, failed: failed.length, accounts },
        raw,
        summary: `contained ${contained} of ${accounts.length}${parts ? ` (${parts})` : ''}${notLine}`,
      };
    },
  };

  const releaseMany: ActionDef<ReleaseManyInput, ReleaseManyOutput> = {
    name: 'identity.releaseMany', risk: 'change',
    description: "A release's undo of identity.containMany: identity.release for every account the storm containment contained",
    input: releaseManyInput,
    async preview(i, ctx): Promise<Preview> {
      const previews = await mapBounded(i.accounts, STORM_CONCURRENCY, async (a) => {
        try {
          return { a, p: await release.preview!(release.input.parse({ placement: a.placement, upn: a.upn ?? null, sid: a.sid ?? null, domain: a.domain ?? null, enable: a.enable, dismissRisk: a.dismissRisk }), accountContext(ctx, a.label)) };
        } catch (e) {
          return { a, error: (e as Error).message.split('\n')[0].slice(0, 300) };
        }
      }, ctx.signal);
      const toChange = previews.filter((x) => x.p && x.p.changes.length > 0).length;
      return {
        title: `Release ${i.accounts.length} account${i.accounts.length === 1 ? '' : 's'} of the storm`,
        facts: [{ label: 'Accounts', value: String(i.accounts.length) }],
        // one line per account (a card shows the first ones and counts the rest)
        changes: previews.flatMap((x) => (x.p && x.p.changes.length ? [`${x.a.label}: ${x.p.changes.join('; ')}`] : [])),
        notChanged: previews.flatMap((x) => (x.p ? (x.p.notChanged ?? []).map((n) => ({ item: `${x.a.label}: ${n.item}`, reason: n.reason })) : [])),
        warnings: [...new Set(previews.flatMap((x) => (x.p ? x.p.warnings : [`${x.a.label}: cannot be previewed (${x.error})`])))],
        nothingToDo: previews.every((x) => x.p?.nothingToDo === true),
        data: { accounts: i.accounts.length, toChange },
      };
    },
    async run(i, ctx): Promise<ActionResult<ReleaseManyOutput>> {
      const raw: RawPayload[] = [];
      const results = await mapBounded(i.accounts, STORM_CONCURRENCY, (a) =>
        perAccount(raw, () => release.run(release.input.parse({ placement: a.placement, upn: a.upn ?? null, sid: a.sid ?? null, domain: a.domain ?? null, enable: a.enable, dismissRisk: a.dismissRisk }), accountContext(ctx, a.label))), ctx.signal);
      const accounts: ReleaseManyOutput['accounts'] = results.map((r, k) => (r.ok
        ? { label: i.accounts[k].label, status: 'released', steps: r.output.steps }
        : { label: i.accounts[k].label, status: 'failed', error: r.error }));
      const failed = accounts.filter((a) => a.status === 'failed');
      const released = accounts.length - failed.length;
      if (released === 0 && failed.length) throw new ConnectorError(`none of the ${accounts.length} accounts was released: ${listed(failed.map((f) => `${f.label} (${f.error})`), 5)}`, { source: 'identity', raw });
      return {
        output: { total: accounts.length, released, accounts }, raw,
        summary: `released ${released} of ${accounts.length}${failed.length ? `; ${failed.length} not: ${listed(failed.map((f) => `${f.label} (${f.error})`), 5)}` : ''}`,
      };
    },
  };

  return actionList(resolveMany, containMany, releaseMany);
}
