import { z } from 'zod';
import { parseUpn, type Upn } from '../../domain/identity';
import { subjectIdentifiers } from '../../domain/subject-identity';
import { ConnectorError, type ActionContext, type ActionDef, type ActionResult, type Preview, type RawPayload, actionList } from '../types';
import { GraphSession } from '../graph/graph-session';
import { findEntraUser, getUser, type EntraUser } from '../graph/entra-read';
import { confirmCompromised, dismissRisk, enableAccount, readContainmentState, revokeSessions, type StepOutcome } from '../graph/entra-containment';
import { ENTRA_NOT_UNDONE, graphActions, releaseInputFrom } from '../graph/actions';
import { activeDirectoryActions, RESET_STAYS } from '../active-directory/actions';
import type { AccountState, DisableOutcome, EnableOutcome, ResetOutcome } from '../active-directory/directory-service';
import { parseSid } from '../active-directory/sid';
import { identityDevices } from './devices';
import { createStormIdentityActions } from '../storm/identity-many';

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

const releaseInput = z.object({
  placement: z.enum(['cloud', 'synced', 'onPremises']),
  upn: z.string().nullish(),
  sid: z.string().nullish(),
  domain: z.string().nullish(),
  /** enable the account again: true only where the containment disabled it */
  enable: z.boolean(),
  /** dismiss the Identity Protection risk: true only where the containment confirmed the compromise */
  dismissRisk: z.boolean(),
}).strict();
type ReleaseInput = z.infer<typeof releaseInput>;

export interface IdentityReleaseOutput {
  placement: ReleaseInput['placement'];
  steps: Array<{ step: 'enable' | 'adEnable' | 'dismissRisk'; changed: boolean; skippedBecause?: string; summary?: string }>;
}

export interface IdentityActionsOptions {
  /** the AD actions to call (tests pass ones built with their own DirectoryService opener) */
  adActions?: readonly ActionDef[];
  graph?: readonly ActionDef[];
}

const SYNC_NOTE = 'Entra takes the disabled state and the new password from AD at the next directory sync (30 minutes by default): until then the Entra account itself stays enabled, which is why its sessions are revoked now';
const MDI_RESET_NOTE = 'Through Defender for Identity the reset is forcePasswordReset (must change at next logon): the old password is not replaced, the disable is what locks out whoever knows it';
const KERBEROS_NOTE = 'Still valid after this: Kerberos tickets already issued (until they expire or the KDC re-validates them; TGT lifetime 10 h by default)';

function session(ctx: ActionContext): GraphSession {
  return new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now, tenants: ctx.ports?.graph });
}

/** false for the mdi driver: Defender for Identity shows no password time, so a reset cannot be read back */
function hasPasswordResetTrace(ctx: ActionContext): boolean {
  return (ctx.customer as { activeDirectory?: { driver?: string } }).activeDirectory?.driver !== 'mdi';
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
  const adEnable = byName(ad, 'ad.enableAccount') as ActionDef<Record<string, unknown>, EnableOutcome>;
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
        // the mdi driver has no sAMAccountName to give (Defender for Identity names identities by display name)
        sid: adState?.sid ?? sid, samAccountName: adState?.via === 'mdi' ? sam : adState?.samAccountName ?? sam, domain: netbios,
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
        + `${adState ? `; AD ${adState.dn || `(through ${adState.dc})`} ${adState.enabled ? 'enabled' : 'disabled'}, SID ${adState.sid}` : ''}`
        + `${out.privilegedRoles.length ? `; privileged: ${out.privilegedRoles.join(', ')}` : ''}${adNote && sid ? `; ${adNote}` : ''}`;
      return { output: out, raw, summary };
    },
  };

  const getUserOf = (ctx: ActionContext, i: { upn?: string | null }) => getUser(session(ctx), parseUpn(i.upn));
  const adKey = (i: ContainInput | ReleaseInput) => ({ ...(i.sid ? { sid: parseSid(i.sid) } : {}), ...(i.domain ? { domain: i.domain } : {}) });
  const needAd = (i: ContainInput | ReleaseInput, ctx: ActionContext, verb = 'contained') => {
    if (!i.sid) throw new ConnectorError(`the lookup found no SID for the on-premises account: nothing can be ${verb} in AD`, { source: 'ad' });
    if (!hasAd(ctx)) throw new ConnectorError(`${ctx.customer.name} has no activeDirectory section in the customers file: the on-premises account cannot be ${verb} (nothing was changed)`, { source: 'ad' });
  };

  const contain: ActionDef<ContainInput, IdentityContainOutput> = {
    name: 'identity.contain', risk: 'destructive',
    description: 'Contain the account where it is mastered: Entra for a cloud account; AD disable + reset and Entra revoke + confirm compromised for a synced one; AD alone for an on-premises one',
    input: containInput,
    inverse: {
      action: 'identity.release',
      input: (fwdIn, fwdOut) => releaseInputFrom((fwdIn as ContainInput).placement, fwdIn as ContainInput, fwdOut as IdentityContainOutput | undefined),
      note: ENTRA_NOT_UNDONE,
    },
    async preview(i, ctx): Promise<Preview> {
      if (i.placement === 'notFound') throw new ConnectorError('the account was found in neither Entra nor Active Directory: there is nothing to contain', { source: 'identity' });
      if (i.placement === 'cloud') return entraContain.preview!({ upn: parseUpn(i.upn) }, ctx);
      needAd(i, ctx);
      const d = await adDisable.preview!(adKey(i), ctx);
      const dc = String(d.data?.dc ?? '');
      const changes = [...d.changes.map((c) => `Disable in AD — ${c}`)];
      if (hasPasswordResetTrace(ctx)) changes.push(`Reset the password in AD on ${dc}: a generated one that is never shown, logged or stored`);
      else changes.unshift(`Force a password reset in AD through ${dc} (must change at next logon; sent before the disable)`);
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
        warnings: [...d.warnings.filter((w) => !/^(Entra follows|Kerberos tickets)/.test(w)), ...(i.placement === 'synced' ? [SYNC_NOTE] : []), KERBEROS_NOTE,
          ...(hasPasswordResetTrace(ctx) ? [] : [MDI_RESET_NOTE])],
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
      // ldap: the disable first (the account stops working at once), then the reset (pwdLastSet
      // tells a retry whether it happened). mdi: the reset first, because nothing readable records
      // a forcePasswordReset: a retry that finds the account disabled knows the reset went through.
      const resetFirst = !hasPasswordResetTrace(ctx);
      const runDisable = async () => {
        const dis = await adDisable.run(adKey(i), ctx);
        raw.push(...dis.raw);
        steps.push({ step: 'adDisable', changed: dis.output.changed, summary: dis.summary, ...(dis.output.changed ? {} : { skippedBecause: 'already disabled in AD' }) });
        await ctx.ports?.crashPause?.at('identity.contain:after-ad-disable');
        return dis;
      };
      const runReset = async () => {
        const rst = await adReset.run(adKey(i), ctx);
        raw.push(...rst.raw);
        steps.push({ step: 'adResetPassword', changed: rst.output.changed, summary: rst.summary, ...(rst.output.reason ? { skippedBecause: rst.output.reason } : {}) });
        await ctx.ports?.crashPause?.at('identity.contain:after-ad-reset');
      };
      let dis: ActionResult<DisableOutcome>;
      if (resetFirst) { await runReset(); dis = await runDisable(); } else { dis = await runDisable(); await runReset(); }
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

  const release: ActionDef<ReleaseInput, IdentityReleaseOutput> = {
    name: 'identity.release', risk: 'change',
    description: "A release's undo of identity.contain: enable the account where it is mastered (Entra for a cloud account, AD for a synced or on-premises one) and dismiss the Identity Protection risk the containment confirmed",
    input: releaseInput,
    async preview(i, ctx): Promise<Preview> {
      const changes: string[] = [];
      const notChanged: Array<{ item: string; reason: string }> = [];
      const facts: Preview['facts'] = [{ label: 'Customer', value: ctx.customer.name }, { label: 'Where it lives', value: i.placement }];
      if (!i.enable) notChanged.push({ item: 'Enable the account', reason: 'the containment did not disable it (it was disabled before): it stays disabled' });
      else if (i.placement === 'cloud') {
        const { user } = await getUserOf(ctx, i);
        facts.push({ label: 'UPN', value: user.userPrincipalName }, { label: 'Object id', value: user.objectId });
        if (user.accountEnabled) notChanged.push({ item: `Enable ${user.userPrincipalName} in Entra`, reason: 'already enabled (by hand?)' });
        else changes.push(`Enable ${user.userPrincipalName} in Entra (accountEnabled false → true)`);
      } else {
        needAd(i, ctx, 'released');
        const p = await adEnable.preview!(adKey(i), ctx);
        facts.push(...p.facts.filter((f) => f.label !== 'Customer'));
        changes.push(...p.changes.map((c) => `Enable in AD — ${c}`));
        notChanged.push(...(p.notChanged ?? []));
      }
      if (i.dismissRisk) {
        if (!ctx.customer.graph.hasP2) notChanged.push({ item: 'Dismiss the Identity Protection risk', reason: 'the tenant has no Entra ID P2' });
        else changes.push(`Dismiss the Identity Protection risk of ${parseUpn(i.upn)} that the containment confirmed (risk level → none)`);
      }
      return {
        title: `Release ${i.upn ?? i.sid ?? 'the account'}`,
        facts, changes, notChanged, nothingToDo: changes.length === 0,
        warnings: [ENTRA_NOT_UNDONE, ...(i.placement === 'cloud' ? [] : [RESET_STAYS]), ...(i.placement === 'synced' ? ['Entra takes the enabled state from AD at the next directory sync (30 minutes by default)'] : [])],
      };
    },
    async run(i, ctx): Promise<ActionResult<IdentityReleaseOutput>> {
      const steps: IdentityReleaseOutput['steps'] = [];
      const raw: RawPayload[] = [];
      if (!i.enable) steps.push({ step: i.placement === 'cloud' ? 'enable' : 'adEnable', changed: false, skippedBecause: 'the containment did not disable it: it stays disabled' });
      else if (i.placement === 'cloud') {
        const e = await enableAccount(session(ctx), parseUpn(i.upn));
        raw.push(...e.raw);
        steps.push({ step: 'enable', changed: e.changed, ...(e.skippedBecause ? { skippedBecause: e.skippedBecause } : {}) });
      } else {
        needAd(i, ctx, 'released');
        const e = await adEnable.run(adKey(i), ctx);
        raw.push(...e.raw);
        steps.push({ step: 'adEnable', changed: e.output.changed, summary: e.summary, ...(e.output.changed ? {} : { skippedBecause: 'already enabled in AD (by hand?)' }) });
      }
      if (i.dismissRisk) {
        if (!ctx.customer.graph.hasP2) steps.push({ step: 'dismissRisk', changed: false, skippedBecause: 'the tenant has no Entra ID P2' });
        else {
          const s = session(ctx);
          const upn = parseUpn(i.upn);
          const found = await findEntraUser(s, { upn });
          raw.push(...found.raw);
          if (!found.user) steps.push({ step: 'dismissRisk', changed: false, skippedBecause: `${upn} is not in Entra` });
          else {
            const d = await dismissRisk(s, { objectId: found.user.objectId, upn });
            raw.push(...d.raw);
            steps.push({ step: 'dismissRisk', changed: d.changed, ...(d.skippedBecause ? { skippedBecause: d.skippedBecause } : {}) });
          }
        }
      }
      const label: Record<IdentityReleaseOutput['steps'][number]['step'], string> = { enable: 'enabled in Entra', adEnable: 'enabled in AD', dismissRisk: 'risk dismissed' };
      return {
        output: { placement: i.placement, steps }, raw,
        summary: `${i.upn ?? i.sid}: ${steps.map((x) => (x.changed ? label[x.step] : `${label[x.step]}: no (${x.skippedBecause})`)).join(', ')}`,
      };
    },
  };

  // the storm procedure's per-account variants (src/connectors/storm): these same actions, once per account
  return actionList(resolve, contain, release, identityDevices, ...createStormIdentityActions({ resolve: resolve as ActionDef, contain: contain as ActionDef, release: release as ActionDef }));
}

export const identityActions: ActionDef[] = createIdentityActions();
