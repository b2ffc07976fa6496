import { actionList, ConnectorError } from '../types';
import type { ActionContext, ActionDef, ActionResult, Preview } from '../types';
import { SshSession } from '../ssh/ssh-session';
import { accountInput, adConfigOf, checkDomain, type AccountInput } from './account-input';
import type { AccountKey, AccountState, DirectoryService, DisableOutcome, EnableOutcome, ResetOutcome } from './directory-service';
import { generatePassword as defaultGeneratePassword } from './generated-password';
import { domainRootOf, LdapDirectoryService } from './ldap-driver';
import { MdiDirectoryService } from './mdi-driver';

/**
 * The Active Directory actions the engine can run: ad.lookupAccount (read), ad.disableAccount and
 * ad.resetPassword (destructive, each with a preview naming the DC and the exact change). A
 * DirectoryService is opened per run, for ctx.customer only, and closed after it.
 */

export interface ActiveDirectoryActionsOptions {
  /** how a run reaches the customer's directory (tests and other drivers pass their own) */
  open?: (ctx: ActionContext) => Promise<DirectoryService>;
  /**
   * Where reset passwords come from. The default is a CSPRNG; tests pass one that also keeps the
   * value, which is the only way anyone ever learns it (never logged, shown or stored).
   */
  generatePassword?: () => string;
}

const SYNC_NOTE = 'Entra follows at the next directory sync (30 minutes by default); revoke the Entra sessions for the cloud side now';
const KERBEROS_NOTE = 'Kerberos tickets already issued stay valid until they expire or the KDC re-validates them (TGT lifetime, 10 h by default)';

/** The customer's driver: `mdi` (Defender for Identity through Graph) or `ldap` (the default). */
export async function openDirectory(ctx: ActionContext): Promise<DirectoryService> {
  const ad = adConfigOf(ctx.customer);
  return ad.driver === 'mdi' ? MdiDirectoryService.open(ctx, ad) : openLdapDirectory(ctx);
}

/** The `ldap` driver, directly or through the customer's SSH jump host (one tunnel per DC connection of this run). */
export async function openLdapDirectory(ctx: ActionContext): Promise<DirectoryService> {
  const ad = adConfigOf(ctx.customer);
  if (ad.driver !== 'ldap') throw new ConnectorError(`${ctx.customer.name}'s Active Directory driver is ${ad.driver}, not ldap`, { source: 'ad' });
  if (!ad.ssh) return LdapDirectoryService.open(ad, ctx.secrets, { log: ctx.log });
  const ssh = await SshSession.open({ target: ad.ssh, secrets: ctx.secrets, log: ctx.log });
  try {
    const dir = await LdapDirectoryService.open(ad, ctx.secrets, { log: ctx.log, tunnel: (host, port) => ssh.forwardOut(host, port) });
    return withCleanup(dir, () => ssh.close());
  } catch (e) {
    ssh.close();
    throw e;
  }
}

function withCleanup(dir: DirectoryService, after: () => void): DirectoryService {
  return new Proxy(dir, {
    get(target, prop, receiver) {
      if (prop === 'close') return async () => { try { await target.close(); } finally { after(); } };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** What a release says of a reset password: it stays reset, and how the user gets a new one. */
export const RESET_STAYS = 'The password stays reset (nobody knows the generated one): the service desk sets a temporary one the user must change at next logon, or the user resets it with self-service password reset (SSPR) where the tenant has password writeback';

/** ad.enableAccount's input from a forward AD step: its SID (never a DN to write to), domain and the DN it saw. */
export function enableInputFrom(fwdIn: unknown, account: { sid: string; dn: string } | undefined): Record<string, unknown> {
  const i = (fwdIn ?? {}) as Partial<AccountInput>;
  const sid = account?.sid ?? i.sid;
  return {
    ...(sid ? { sid } : { samAccountName: i.samAccountName }),
    ...(i.domain ? { domain: i.domain } : {}),
    ...(account?.dn ? { expectedDn: account.dn } : {}),
  };
}

function keyOf(input: AccountInput): AccountKey {
  return input.sid ? { sid: input.sid } : { samAccountName: input.samAccountName };
}

/** NETBIOS\\sam (SID), the NetBIOS name of the configured domain whose DNS name the DN's DC= parts spell. */
function who(ctx: ActionContext, a: { samAccountName: string; sid: string; dn: string }): string {
  const domains = adConfigOf(ctx.customer).domains;
  const root = domainRootOf(a.dn);
  const dns = root?.split(',').map((p) => p.trim().slice(3)).join('.').toLowerCase();
  const netbios = (domains.find((d) => d.dns.toLowerCase() === dns) ?? domains[0])?.netbios;
  return `${netbios ? `${netbios}\\` : ''}${a.samAccountName} (${a.sid})`;
}

/** The time the intent was recorded: ctx.intentAt, else from an idempotency key ending `@<ISO>`, else now (minus 15 min for a retry). */
function intentTime(ctx: ActionContext): Date {
  if (ctx.intentAt) return ctx.intentAt;
  const m = /@(\d{4}-\d{2}-\d{2}T[0-9:.]+Z)$/.exec(ctx.idempotencyKey);
  if (m) return new Date(m[1]);
  return new Date(ctx.now().getTime() - (ctx.mayHaveRun ? 15 * 60_000 : 0));
}

async function withDirectory<T>(open: (ctx: ActionContext) => Promise<DirectoryService>, input: AccountInput, ctx: ActionContext,
  fn: (dir: DirectoryService) => Promise<T>): Promise<{ value: T; raw: ReturnType<DirectoryService['raw']> }> {
  checkDomain(adConfigOf(ctx.customer), ctx.customer.name, input.domain);
  const dir = await open(ctx);
  try {
    const value = await fn(dir);
    return { value, raw: dir.raw() };
  } finally {
    await dir.close();
  }
}

function stateFacts(ctx: ActionContext, s: AccountState): Array<{ label: string; value: string }> {
  if (s.via === 'mdi') {
    return [
      { label: 'Customer', value: ctx.customer.name },
      { label: 'Account', value: who(ctx, s) },
      { label: 'Through', value: s.dc },
      { label: 'State', value: `${s.enabled ? 'enabled' : 'disabled'} (as Defender for Identity reads it; groups, password and logon times are not available through it)` },
    ];
  }
  return [
    { label: 'Customer', value: ctx.customer.name },
    { label: 'Account', value: who(ctx, s) },
    { label: 'DN', value: s.dn },
    { label: 'UPN', value: s.userPrincipalName ?? 'none' },
    { label: 'Domain controller', value: s.dc },
    { label: 'Privileged groups', value: s.privilegedGroups.join(', ') || 'none' },
    { label: 'userAccountControl', value: `${s.userAccountControl} (${s.enabled ? 'enabled' : 'disabled'}${s.lockedOut ? ', locked out' : ''})` },
    // as the timeline card writes it, so the two cards read the same time the same way
    { label: 'Password last set', value: s.pwdLastSet ? `${s.pwdLastSet.slice(0, 19).replace('T', ' ')} UTC` : 'never (must change at next logon)' },
  ];
}

function privilegedWarnings(s: AccountState): string[] {
  return s.privilegedGroups.length
    ? [`${s.privilegedGroups.join(', ')}: a privileged account (in a real domain AdminSDHolder strips delegated OU rights from it: the service account needs rights on AdminSDHolder itself)`]
    : [];
}

/** true for an outcome of the mdi driver (it names Defender for Identity where ldap names a DC) */
function viaDefenderForIdentity(dc: string): boolean {
  return dc.startsWith('Microsoft Defender for Identity');
}

function movedNote(o: { movedFrom?: string; account: { dn: string } }): string {
  return o.movedFrom ? `; it moved from ${o.movedFrom} to ${o.account.dn} since the lookup` : '';
}

export function createActiveDirectoryActions(opts: ActiveDirectoryActionsOptions = {}): ActionDef[] {
  const open = opts.open ?? openDirectory;
  const newPassword = opts.generatePassword ?? (() => defaultGeneratePassword());

  const lookupAccount: ActionDef<AccountInput, AccountState> = {
    name: 'ad.lookupAccount', risk: 'read',
    description: 'Read the on-premises account: SID, sAMAccountName, DN, UPN, enabled/locked, privileged groups (transitively), password last set, last logon per DC',
    input: accountInput,
    async run(input, ctx): Promise<ActionResult<AccountState>> {
      const { value: s, raw } = await withDirectory(open, input, ctx, (dir) => dir.read(keyOf(input), { perDcLogons: true }));
      const logons = s.lastLogonPerDc.map((l) => `${l.dc}: ${l.error ?? l.lastLogon ?? 'never'}`).join('; ');
      return {
        output: s, raw,
        summary: `${who(ctx, s)} at ${s.dn} is ${s.enabled ? 'enabled' : 'disabled'}${s.lockedOut ? ' and locked out' : ''}`
          + `${s.privilegedGroups.length ? `; privileged: ${s.privilegedGroups.join(', ')}` : ''}; password set ${s.pwdLastSet ?? 'never'}; last logon ${logons}`,
      };
    },
  };

  const disableAccount: ActionDef<AccountInput, DisableOutcome> = {
    name: 'ad.disableAccount', risk: 'destructive',
    description: 'Disable the account in Active Directory (set ACCOUNTDISABLE in userAccountControl) on the named DC',
    input: accountInput,
    inverse: {
      action: 'ad.enableAccount',
      input: (fwdIn, fwdOut) => enableInputFrom(fwdIn, (fwdOut as DisableOutcome | undefined)?.account),
    },
    async preview(input, ctx): Promise<Preview> {
      const { value: s } = await withDirectory(open, input, ctx, (dir) => dir.read(keyOf(input)));
      const after = s.userAccountControl | 0x2;
      const mdi = s.via === 'mdi';
      return {
        title: `Disable ${who(ctx, s)} in Active Directory`,
        facts: stateFacts(ctx, s),
        changes: !s.enabled ? [] : mdi
          ? [`Through Defender for Identity (its action account, on a DC it chooses): disable ${who(ctx, s)} in Active Directory (invokeAction disable, activeDirectory)`]
          : [`On ${s.dc}: set ACCOUNTDISABLE on ${s.dn} (userAccountControl ${s.userAccountControl} → ${after})`],
        notChanged: s.enabled ? [] : [{ item: `Disable ${mdi ? who(ctx, s) : s.dn}`, reason: mdi ? 'already disabled (Defender for Identity reads isEnabled false)' : `already disabled (userAccountControl ${s.userAccountControl})` }],
        warnings: [...privilegedWarnings(s), SYNC_NOTE, KERBEROS_NOTE],
        nothingToDo: !s.enabled,
        data: { dc: s.dc, dn: s.dn, sid: s.sid, userAccountControl: s.userAccountControl, after, privilegedGroups: s.privilegedGroups },
      };
    },
    async run(input, ctx): Promise<ActionResult<DisableOutcome>> {
      const { value: o, raw } = await withDirectory(open, input, ctx, (dir) => dir.disable(keyOf(input), { expectedDn: input.expectedDn }));
      return {
        output: o, raw,
        summary: o.changed && viaDefenderForIdentity(o.dc)
          ? `${who(ctx, o.account)} disabled through ${o.dc}${o.note ? `; ${o.note}` : ''}`
          : o.changed
          ? `${who(ctx, o.account)} disabled on ${o.dc} (userAccountControl ${o.userAccountControlBefore} → ${o.userAccountControlAfter})${movedNote(o)}`
          : `${who(ctx, o.account)} was already disabled on ${o.dc} (userAccountControl ${o.userAccountControlBefore}): nothing written${movedNote(o)}`,
      };
    },
  };

  const resetPassword: ActionDef<AccountInput, ResetOutcome> = {
    name: 'ad.resetPassword', risk: 'destructive',
    description: 'Reset the account\'s Active Directory password to a generated one nobody sees (unicodePwd replace over LDAPS)',
    input: accountInput,
    inverse: { none: RESET_STAYS },
    async preview(input, ctx): Promise<Preview> {
      const { value: s } = await withDirectory(open, input, ctx, (dir) => dir.read(keyOf(input)));
      if (s.via === 'mdi') {
        return {
          title: `Force a password reset of ${who(ctx, s)} in Active Directory`,
          facts: stateFacts(ctx, s),
          changes: [`Through Defender for Identity: forcePasswordReset of ${who(ctx, s)} (the user must change the password at next logon)`],
          warnings: [
            'forcePasswordReset does not replace the password: whoever knows it can still use it to choose a new one at an interactive logon. The disable is what locks them out, and it follows the reset',
            KERBEROS_NOTE, SYNC_NOTE,
          ],
          data: { dc: s.dc, sid: s.sid, driver: 'mdi' },
        };
      }
      return {
        title: `Reset the password of ${who(ctx, s)} in Active Directory`,
        facts: stateFacts(ctx, s),
        changes: [`On ${s.dc}: replace the password of ${s.dn} with a generated one that is never shown, logged or stored (password last set ${s.pwdLastSet ?? 'never'})`],
        warnings: [...privilegedWarnings(s), 'The old password stops working at once on this DC, on the others once replicated', KERBEROS_NOTE, SYNC_NOTE],
        data: { dc: s.dc, dn: s.dn, sid: s.sid, pwdLastSet: s.pwdLastSet ?? null },
      };
    },
    async run(input, ctx): Promise<ActionResult<ResetOutcome>> {
      const { value: o, raw } = await withDirectory(open, input, ctx,
        (dir) => dir.resetPassword(keyOf(input), newPassword(), { expectedDn: input.expectedDn, mayHaveRun: ctx.mayHaveRun, intentAt: intentTime(ctx) }));
      return {
        output: o, raw,
        summary: o.changed && viaDefenderForIdentity(o.dc)
          ? `password reset of ${who(ctx, o.account)} forced through ${o.dc}${o.note ? `: ${o.note}` : ''}`
          : o.changed
          ? `password of ${who(ctx, o.account)} reset on ${o.dc} (pwdLastSet ${o.pwdLastSet})${movedNote(o)}`
          : `password of ${who(ctx, o.account)} not reset again on ${o.dc}: ${o.reason}${movedNote(o)}`,
      };
    },
  };

  const enableAccount: ActionDef<AccountInput, EnableOutcome> = {
    name: 'ad.enableAccount', risk: 'change',
    description: 'A release\'s undo of ad.disableAccount: clear ACCOUNTDISABLE in userAccountControl on the named DC (re-read first: an account enabled by hand is left alone)',
    input: accountInput,
    async preview(input, ctx): Promise<Preview> {
      const { value: s } = await withDirectory(open, input, ctx, (dir) => dir.read(keyOf(input)));
      const after = s.userAccountControl & ~0x2;
      return {
        title: `Enable ${who(ctx, s)} in Active Directory`,
        facts: stateFacts(ctx, s),
        changes: s.enabled ? [] : [`On ${s.dc}: clear ACCOUNTDISABLE on ${s.dn} (userAccountControl ${s.userAccountControl} → ${after})`],
        notChanged: s.enabled ? [{ item: `Enable ${s.dn}`, reason: `already enabled (by hand? userAccountControl ${s.userAccountControl})` }] : [],
        warnings: [...privilegedWarnings(s), 'Entra follows at the next directory sync (30 minutes by default)', RESET_STAYS],
        nothingToDo: s.enabled,
        data: { dc: s.dc, dn: s.dn, sid: s.sid, userAccountControl: s.userAccountControl, after },
      };
    },
    async run(input, ctx): Promise<ActionResult<EnableOutcome>> {
      const { value: o, raw } = await withDirectory(open, input, ctx, (dir) => dir.enable(keyOf(input), { expectedDn: input.expectedDn }));
      return {
        output: o, raw,
        summary: o.changed
          ? `${who(ctx, o.account)} enabled on ${o.dc} (userAccountControl ${o.userAccountControlBefore} → ${o.userAccountControlAfter})${movedNote(o)}`
          : `${who(ctx, o.account)} was already enabled on ${o.dc} (by hand? userAccountControl ${o.userAccountControlBefore}): nothing written${movedNote(o)}`,
      };
    },
  };

  return actionList(lookupAccount, disableAccount, resetPassword, enableAccount);
}

/** The actions with the production defaults, for the composition root's ActionRegistry. */
export const activeDirectoryActions: ActionDef[] = createActiveDirectoryActions();
