import { z } from 'zod';
import { parseUpn, type Upn } from '../../domain/identity';
import { subjectIdentifiers } from '../../domain/subject-identity';
import { ConnectorError, type ActionContext, type ActionDef, type ActionResult, type Preview, type RawPayload, actionList } from '../types';
import { GraphSession } from '../graph/graph-session';
import { findEntraUser, type EntraUser } from '../graph/entra-read';
import { confirmCompromised, readContainmentState, revokeSessions, type StepOutcome } from '../graph/entra-containment';
import { graphActions } from '../graph/actions';
import { activeDirectoryActions } from '../active-directory/actions';
import type { AccountState, DisableOutcome, ResetOutcome } from '../active-directory/directory-service';
import { parseSid } from '../active-directory/sid';
import { identityDevices } from './devices';

/**
 * Accounts wherever they live (issue 11). `identity.resolve` finds the incident's subject in Entra
 * and in the customer's Active Directory and says where it is mastered; `identity.contain` contains
 * it there, behind one approval card:
 *   cloud      → Entra containment (entra.contain: disable, revoke, reset, confirm compromised);
 *   synced     → AD disable + AD reset + Entra revoke sessions + confirm compromised (never the Graph
 *                disable/reset, which Graph refuses for an account mastered on-premises);
 *   onPremises → the AD steps alone.
 * Each part is idempotent on its own (re-reads its state first on a retry), so a crash between two
 * parts re-runs only what is not done yet.
 */

export type Placement = 'cloud' | 'synced' | 'onPremises' | 'notFound';

const identityShape = z.object({
  upn: z.string().nullish(), objectId: z.string().nullish(), sid: z.string().nullish(),
  samAccountName: z.string().nullish(), domain: z.string().nullish(), netbios: z.string().nullish(), dnsDomain: z.string().nullish(),
}).passthrough();

const resolveInput = z.object({
  /** the incident's subject label (its UPN for incidents from before subject identities) */
  subject: z.string().min(1).max(300),
  identity: identityShape.nullish(),
}).strict();

export interface ResolvedAccount {
  placement: Placement;
  /** the UPN to read sign-ins and audits with: Entra's, else AD's */
  upn: string | null;
  objectId: string | null;
  userPrincipalName: string | null;
  displayName: string | null;
  accountEnabled: boolean | null;
  directoryRoles: string[];
  privilegedRoles: string[];
  sid: string | null;
  samAccountName: string | null;
  /** NetBIOS name of the AD domain (CONTOSO) */
  domain: string | null;
  entra: EntraUser | null;
  ad: AccountState | null;
  /** why AD was not read, when it was not */
  adNote: string | null;
  /** every identifier of the account in both directories (`sid:…`, `upn:…`, `sam:dom\\name`): alerts naming it by any join the incident */
  identifiers: string[];
}

const containInput = z.object({
  placement: z.enum(['cloud', 'synced', 'onPremises', 'notFound']),
  upn: z.string().nullish(),
  sid: z.string().nullish(),
  domain: z.string().nullish(),
}).strict();
type ContainInput = z.infer<typeof containInput>;

export interface IdentityContainOutput {
  placement: Placement;
  steps: Array<{ step: 'adDisable' | 'adResetPassword' | StepOutcome['step']; changed: boolean; skippedBecause?: string; summary?: string }>;
}

export interface IdentityActionsOptions {
  /** the AD actions to call (tests pass ones built with their own DirectoryService opener) */
  adActions?: readonly ActionDef[];
  graph?: readonly ActionDef[];
}

const SYNC_NOTE = 'Entra takes the disabled state and the new password from AD at the next directory sync (30 minutes by default): until then the Entra account itself stays enabled, which is why its sessions are revoked now';
const KERBEROS_NOTE = 'Still valid after this: Kerberos tickets already issued (until they expire or the KDC re-validates them; TGT lifetime 10 h by default)';

function session(ctx: ActionContext): GraphSession {
  return new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now });
}

function hasAd(ctx: ActionContext): boolean {
  return !!(ctx.customer as { activeDirectory?: unknown }).activeDirectory;
}

function byName(defs: readonly ActionDef[], name: string): ActionDef {
  const d = defs.find((x) => x.name === name);
  if (!d) throw new Error(`identity actions: ${name} is not available`);
  return d;
}

export function createIdentityActions(opts: IdentityActionsOptions = {}): ActionDef[] {
  const ad = opts.adActions ?? activeDirectoryActions;
  const graph = opts.graph ?? graphActions;
  const adLookup = byName(ad, 'ad.lookupAccount') as ActionDef<Record<string, unknown>, AccountState>;
  const adDisable = byName(ad, 'ad.disableAccount') as ActionDef<Record<string, unknown>, DisableOutcome>;
  const adReset = byName(ad, 'ad.resetPassword') as ActionDef<Record<string, unknown>, ResetOutcome>;
  const entraContain = byName(graph, 'entra.contain') as ActionDef<{ upn: Upn }, { steps: IdentityContainOutput['steps'] }>;

  const resolve: ActionDef<z.infer<typeof resolveInput>, ResolvedAccount> = {
    name: 'identity.resolve', risk: 'read',
    description: 'Find the account in Entra (object id, UPN, on-premises SID, sAMAccountName) and in Active Directory, and say where it is mastered',
    input: resolveInput,
    async run({ subject, identity }, ctx): Promise<ActionResult<ResolvedAccount>> {
      const id = identity ?? {};
      let upn: string | null = id.upn ?? null;
      if (!identity) { try { upn = parseUpn(subject); } catch { upn = null; } }
      const raw: RawPayload[] = [];
      const found = await findEntraUser(session(ctx), {
        objectId: id.objectId ?? null, upn, sid: id.sid ?? null, samAccountName: id.samAccountName ?? null, dnsDomain: id.dnsDomain ?? null,
      });
      raw.push(...found.raw);
      const entra = found.user;
      const sid = id.sid ?? entra?.onPremises?.securityIdentifier ?? null;
      const sam = id.samAccountName ?? entra?.onPremises?.samAccountName ?? null;
      let adState: AccountState | null = null;
      let adNote: string | null = null;
      if (!sid && !sam) adNote = 'no SID or sAMAccountName: not an on-premises account';
      else if (!hasAd(ctx)) adNote = `${ctx.customer.name} has no activeDirectory section in the customers file: Active Directory was not read`;
      else {
        const r = await adLookup.run({ ...(sid ? { sid: parseSid(sid) } : { samAccountName: sam }), ...(id.netbios ? { domain: id.netbios } : {}) }, ctx);
        adState = r.output;
        raw.push(...r.raw);
      }
      const synced = !!entra?.onPremises?.syncEnabled;
      const placement: Placement = entra ? (synced ? 'synced' : adState ? 'synced' : 'cloud') : adState ? 'onPremises' : 'notFound';
      const netbios = id.netbios ?? (adState ? (ctx.customer as { activeDirectory?: { domains: Array<{ netbios: string }> } }).activeDirectory?.domains[0]?.netbios ?? null : null);
      const out: ResolvedAccount = {
        placement,
        upn: entra?.userPrincipalName ?? adState?.userPrincipalName ?? upn,
        objectId: entra?.objectId ?? null,
        userPrincipalName: entra?.userPrincipalName ?? adState?.userPrincipalName ?? null,
        displayName: entra?.displayName ?? adState?.displayName ?? null,
        accountEnabled: adState ? adState.enabled : entra ? entra.accountEnabled : null,
        directoryRoles: entra?.directoryRoles ?? [],
        privilegedRoles: [...(entra?.privilegedRoles ?? []), ...(adState?.privilegedGroups ?? []).map((g) => `${g} (AD)`)],
        sid: adState?.sid ?? sid, samAccountName: adState?.samAccountName ?? sam, domain: netbios,
        entra, ad: adState, adNote,
        identifiers: [...new Set([
          ...subjectIdentifiers({ upn: entra?.userPrincipalName, objectId: entra?.objectId, sid: entra?.onPremises?.securityIdentifier, samAccountName: entra?.onPremises?.samAccountName, netbios }),
          ...subjectIdentifiers({ upn: adState?.userPrincipalName, sid: adState?.sid, samAccountName: adState?.samAccountName, netbios }),
          // what the alert gave, when the lookup found the account by it
          ...(entra || adState ? subjectIdentifiers({ upn: id.upn ?? upn, objectId: id.objectId, sid: id.sid, samAccountName: id.samAccountName, netbios }) : []),
        ])],
      };
      const where = {
        cloud: 'a cloud-only Entra account',
        synced: `synced from on-premises AD${entra?.onPremises?.lastSyncDateTime ? ` (last sync ${entra.onPremises.lastSyncDateTime})` : ''}: disable and reset happen in AD`,
        onPremises: 'an on-premises-only AD account (no Entra user)',
        notFound: 'found in neither Entra nor Active Directory',
      }[placement];
      const name = out.samAccountName && netbios ? `${netbios}\\${out.samAccountName}` : out.upn ?? subject;
      const summary = `${name}${out.upn && out.upn !== name ? ` (${out.upn})` : ''} is ${where}`
        + `${entra ? `; Entra ${entra.accountEnabled ? 'enabled' : 'disabled'}, found by ${found.foundBy}` : ''}`
        + `${adState ? `; AD ${adState.dn} ${adState.enabled ? 'enabled' : 'disabled'}, SID ${adState.sid}` : ''}`
        + `${out.privilegedRoles.length ? `; privileged: ${out.privilegedRoles.join(', ')}` : ''}${adNote && sid ? `; ${adNote}` : ''}`;
      return { output: out, raw, summary };
    },
  };

  const adKey = (i: ContainInput) => ({ ...(i.sid ? { sid: parseSid(i.sid) } : {}), ...(i.domain ? { domain: i.domain } : {}) });
  const needAd = (i: ContainInput, ctx: ActionContext) => {
    if (!i.sid) throw new ConnectorError('the lookup found no SID for the on-premises account: nothing can be contained in AD', { source: 'ad' });
    if (!hasAd(ctx)) throw new ConnectorError(`${ctx.customer.name} has no activeDirectory section in the customers file: the on-premises account cannot be contained (nothing was changed)`, { source: 'ad' });
  };

  const contain: ActionDef<ContainInput, IdentityContainOutput> = {
    name: 'identity.contain', risk: 'destructive',
    description: 'Contain the account where it is mastered: Entra for a cloud account; AD disable + reset and Entra revoke + confirm compromised for a synced one; AD alone for an on-premises one',
    input: containInput,
    async preview(i, ctx): Promise<Preview> {
      if (i.placement === 'notFound') throw new ConnectorError('the account was found in neither Entra nor Active Directory: there is nothing to contain', { source: 'identity' });
      if (i.placement === 'cloud') return entraContain.preview!({ upn: parseUpn(i.upn) }, ctx);
      needAd(i, ctx);
      const d = await adDisable.preview!(adKey(i), ctx);
      const dc = String(d.data?.dc ?? '');
      const changes = [...d.changes.map((c) => `Disable in AD — ${c}`)];
      changes.push(`Reset the password in AD on ${dc}: a generated one that is never shown, logged or stored`);
      const notChanged = [...(d.notChanged ?? [])];
      const facts = [...d.facts, { label: 'Where it lives', value: i.placement === 'synced' ? 'on-premises AD, synced to Entra' : 'on-premises AD only' }];
      const data: Record<string, unknown> = { ...d.data, placement: i.placement };
      if (i.placement === 'synced') {
        const upn = parseUpn(i.upn);
        const st = await readContainmentState(session(ctx), upn, { now: ctx.now(), hasP2: ctx.customer.graph.hasP2 });
        changes.push(`Revoke the Entra sign-in sessions and refresh tokens of ${st.user.userPrincipalName} (${st.activeSessions} session${st.activeSessions === 1 ? '' : 's'} seen in the last 24 h)`);
        if (!ctx.customer.graph.hasP2) notChanged.push({ item: 'Confirm compromised in Identity Protection', reason: 'the tenant has no Entra ID P2' });
        else if (st.riskState === 'confirmedCompromised') notChanged.push({ item: 'Confirm compromised in Identity Protection', reason: 'already confirmed' });
        else changes.push(`Confirm ${st.user.userPrincipalName} compromised in Identity Protection (risk state now: ${st.riskState ?? 'never flagged'})`);
        notChanged.push({ item: 'Disable / reset the password in Entra', reason: 'Graph refuses both for an account synced from AD: they happen in AD and sync' });
        facts.push({ label: 'Entra object id', value: st.user.objectId });
        Object.assign(data, { activeSessions: st.activeSessions, objectId: st.user.objectId, riskState: st.riskState });
      }
      return {
        title: `Contain ${d.title.replace(/^Disable /, '').replace(/ in Active Directory$/, '')} in Active Directory${i.placement === 'synced' ? ' and Entra' : ''}`,
        facts, changes, notChanged, data,
        warnings: [...d.warnings.filter((w) => !/^(Entra follows|Kerberos tickets)/.test(w)), ...(i.placement === 'synced' ? [SYNC_NOTE] : []), KERBEROS_NOTE],
      };
    },
    async run(i, ctx): Promise<ActionResult<IdentityContainOutput>> {
      if (i.placement === 'notFound') throw new ConnectorError('the account was found in neither Entra nor Active Directory: there is nothing to contain', { source: 'identity' });
      if (i.placement === 'cloud') {
        const r = await entraContain.run({ upn: parseUpn(i.upn) }, ctx);
        return { ...r, output: { placement: 'cloud', steps: r.output.steps } };
      }
      needAd(i, ctx);
      const steps: IdentityContainOutput['steps'] = [];
      const raw: RawPayload[] = [];
      // In order: the disable first (the account stops working at once), then the reset.
      const dis = await adDisable.run(adKey(i), ctx);
      raw.push(...dis.raw);
      steps.push({ step: 'adDisable', changed: dis.output.changed, summary: dis.summary, ...(dis.output.changed ? {} : { skippedBecause: 'already disabled in AD' }) });
      const rst = await adReset.run(adKey(i), ctx);
      raw.push(...rst.raw);
      steps.push({ step: 'adResetPassword', changed: rst.output.changed, summary: rst.summary, ...(rst.output.reason ? { skippedBecause: rst.output.reason } : {}) });
      if (i.placement === 'synced') {
        const s = session(ctx);
        const upn = parseUpn(i.upn);
        const intentAt = ctx.intentAt ?? new Date(ctx.now().getTime() - (ctx.mayHaveRun ? 15 * 60_000 : 0));
        const rev = await revokeSessions(s, upn, { mayHaveRun: ctx.mayHaveRun, intentAt });
        raw.push(...rev.raw);
        steps.push({ step: rev.step, changed: rev.changed, ...(rev.skippedBecause ? { skippedBecause: rev.skippedBecause } : {}) });
        if (ctx.customer.graph.hasP2) {
          const found = await findEntraUser(s, { upn });
          if (found.user) {
            const cc = await confirmCompromised(s, { objectId: found.user.objectId, upn });
            raw.push(...cc.raw);
            steps.push({ step: cc.step, changed: cc.changed, ...(cc.skippedBecause ? { skippedBecause: cc.skippedBecause } : {}) });
          }
        }
      }
      const label: Record<string, string> = { adDisable: 'disabled in AD', adResetPassword: 'password reset in AD', revokeSessions: 'Entra sessions revoked', confirmCompromised: 'confirmed compromised' };
      return {
        output: { placement: i.placement, steps }, raw,
        summary: `${dis.output.account.samAccountName} (${dis.output.account.sid}) on ${dis.output.dc}: ${steps.map((x) => (x.changed ? label[x.step] : `${label[x.step]} (already)`)).join(', ')}`,
      };
    },
  };

  return actionList(resolve, contain, identityDevices);
}

export const identityActions: ActionDef[] = createIdentityActions();
