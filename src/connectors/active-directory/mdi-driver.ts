import type { MdiDirectoryConfig } from '../../config/customers';
import { odataString } from '../../domain/identity';
import { GraphSession, segment } from '../graph/graph-session';
import { ConnectorError, type ActionContext, type RawPayload } from '../types';
import type { AccountKey, AccountRef, AccountState, DirectoryService, DisableOutcome, EnableOutcome, ResetOutcome, WriteOptions } from './directory-service';
import { UAC } from './directory-service';
import { parseSid } from './sid';

/**
 * The `mdi` driver: Microsoft Defender for Identity's own action accounts change the on-premises
 * account, asked through Microsoft Graph v1.0, for customers whose DCs the bot cannot reach.
 *
 * Microsoft's documentation (checked for paths, fields, permissions and payloads):
 * - List:   GET /security/identities/identityAccounts?$filter=onPremisesSecurityIdentifier eq '<sid>'
 *           (SecurityIdentitiesAccount.Read.All; $filter and $select supported)
 *           https://learn.microsoft.com/graph/api/security-identitycontainer-list-identityaccounts?view=graph-rest-1.0
 * - Get:    GET /security/identities/identityAccounts/{id}   (SecurityIdentitiesAccount.Read.All)
 *           https://learn.microsoft.com/graph/api/security-identityaccounts-get?view=graph-rest-1.0
 * - Act:    POST /security/identities/identityAccounts/{id}/invokeAction
 *           { accountId, action, identityProvider } → 200 invokeActionResult
 *           (SecurityIdentitiesActions.ReadWrite.All)
 *           https://learn.microsoft.com/graph/api/security-identityaccounts-invokeaction?view=graph-rest-1.0
 * - Types:  identityAccounts { id, displayName, domain, onPremisesSecurityIdentifier,
 *           cloudSecurityIdentifier, isEnabled, accounts: account[] }; account { identifier,
 *           identityProvider (entraID | activeDirectory | okta), actions[] }; invokeActionResult
 *           { accountId, action, identityProvider, correlationId }
 *           https://learn.microsoft.com/graph/api/resources/security-identityaccounts?view=graph-rest-1.0
 *           https://learn.microsoft.com/graph/api/resources/security-account?view=graph-rest-1.0
 *           https://learn.microsoft.com/graph/api/resources/security-invokeactionresult?view=graph-rest-1.0
 * Actions by provider (security-account): disable → activeDirectory, entraID, okta;
 * forcePasswordReset → activeDirectory only; revokeAllSessions → entraID, okta;
 * markUserAsCompromised → entraID only. (The v1.0 invokeAction page says Entra ID actions are "not
 * covered in the current scope": the Entra side of a containment keeps using Entra's own APIs.)
 * The pages' examples spell the provider field `provider` with a capital ("ActiveDirectory") where
 * the resource tables say `identityProvider` ("activeDirectory"), and wrap the action's result in
 * `value`: both spellings and both shapes are read.
 */

export const MDI_READ_PERMISSION = 'SecurityIdentitiesAccount.Read.All';
export const MDI_ACTION_PERMISSION = 'SecurityIdentitiesActions.ReadWrite.All';
export const MDI_ACTIONS = ['disable', 'enable', 'forcePasswordReset', 'revokeAllSessions', 'markUserAsCompromised'] as const;
export type MdiAction = (typeof MDI_ACTIONS)[number];
export type MdiProvider = 'activeDirectory' | 'entraID' | 'okta';

const BASE = '/v1.0/security/identities/identityAccounts';

export interface MdiAccount {
  identifier: string;
  provider: MdiProvider | string;
  actions: string[];
}

export interface IdentityAccount {
  id: string;
  displayName: string | null;
  domain: string | null;
  onPremisesSecurityIdentifier: string | null;
  cloudSecurityIdentifier: string | null;
  isEnabled: boolean;
  accounts: MdiAccount[];
}

export interface InvokeActionResult {
  accountId: string;
  action: string;
  identityProvider: string;
  correlationId: string | null;
}

/** The provider names as Microsoft's pages spell them, any case: ActiveDirectory → activeDirectory. */
function normaliseProvider(v: unknown): string {
  const s = String(v ?? '');
  const known: Record<string, MdiProvider> = { activedirectory: 'activeDirectory', entraid: 'entraID', okta: 'okta' };
  return known[s.toLowerCase()] ?? s;
}

export function parseIdentityAccount(v: unknown): IdentityAccount {
  const o = (v ?? {}) as Record<string, unknown>;
  if (typeof o.id !== 'string' || !o.id) throw new ConnectorError('Defender for Identity returned an identity account without an id', { source: 'ad.mdi' });
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    id: o.id,
    displayName: str(o.displayName), domain: str(o.domain),
    onPremisesSecurityIdentifier: str(o.onPremisesSecurityIdentifier), cloudSecurityIdentifier: str(o.cloudSecurityIdentifier),
    isEnabled: o.isEnabled === true,
    accounts: (Array.isArray(o.accounts) ? o.accounts : []).map((a) => {
      const x = (a ?? {}) as Record<string, unknown>;
      return {
        identifier: String(x.identifier ?? ''),
        provider: normaliseProvider(x.identityProvider ?? x.provider),
        actions: Array.isArray(x.actions) ? x.actions.map(String) : [],
      };
    }),
  };
}

function parseResult(v: unknown): InvokeActionResult {
  const o = ((v as { value?: unknown })?.value && typeof (v as { value?: unknown }).value === 'object' ? (v as { value: unknown }).value : v ?? {}) as Record<string, unknown>;
  return {
    accountId: String(o.accountId ?? ''), action: String(o.action ?? ''),
    identityProvider: normaliseProvider(o.identityProvider ?? o.provider),
    correlationId: typeof o.correlationId === 'string' ? o.correlationId : null,
  };
}

/** Where an action can go, per Microsoft's table of actions by provider. */
const PROVIDER_OF: Record<MdiAction, MdiProvider[]> = {
  disable: ['activeDirectory', 'entraID', 'okta'],
  enable: ['activeDirectory', 'entraID'],
  forcePasswordReset: ['activeDirectory'],
  revokeAllSessions: ['entraID', 'okta'],
  markUserAsCompromised: ['entraID'],
};

export class MdiDirectoryService implements DirectoryService {
  readonly dc = 'Microsoft Defender for Identity (Graph invokeAction)';
  readonly driver = 'mdi' as const;
  /** identityAccounts shows no password time: a reset leaves nothing readable */
  readonly passwordResetReadable = false;
  private readonly evidence: RawPayload[] = [];

  constructor(private readonly session: GraphSession, private readonly config: MdiDirectoryConfig) {}

  static open(ctx: ActionContext, config: MdiDirectoryConfig): MdiDirectoryService {
    return new MdiDirectoryService(new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: ctx.now, tenants: ctx.ports?.graph }), config);
  }

  raw(): RawPayload[] {
    return [...this.evidence];
  }

  async close(): Promise<void> { /* nothing held open: each call is its own request */ }

  /** The identity account Defender for Identity keeps for this SID (exactly one, or a clear error). */
  async find(key: AccountKey): Promise<IdentityAccount> {
    if (key.sid === undefined) {
      // identityAccounts carries no sAMAccountName (only displayName and domain): matching on those would be a guess.
      throw new ConnectorError(`the mdi driver finds accounts by SID only (Defender for Identity's identityAccounts has no sAMAccountName): ${key.samAccountName ? `${JSON.stringify(key.samAccountName)} was not looked up` : 'no SID given'}; nothing was changed`, { source: 'ad.mdi' });
    }
    let sid: string;
    try { sid = parseSid(key.sid); } catch (e) { throw new ConnectorError((e as Error).message, { source: 'ad.mdi' }); }
    const r = await this.session.getAllPages<unknown>(BASE, {
      source: 'ad.mdi', maxPages: 1,
      op: { does: `find the identity account with SID ${sid} in Defender for Identity`, permissions: [MDI_READ_PERMISSION] },
      query: { $filter: `onPremisesSecurityIdentifier eq ${odataString(sid)}` },
    });
    this.evidence.push(...r.raw);
    const found = r.items.map(parseIdentityAccount).filter((a) => a.onPremisesSecurityIdentifier?.toUpperCase() === sid.toUpperCase());
    if (found.length === 0) throw new ConnectorError(`Defender for Identity has no identity account with SID ${sid} (the sensors have not seen it, or it is in another domain): nothing was changed`, { source: 'ad.mdi' });
    if (found.length > 1) throw new ConnectorError(`${found.length} Defender for Identity identity accounts have SID ${sid}: refusing to guess, nothing was changed`, { source: 'ad.mdi' });
    return found[0];
  }

  /** GET by id: the read-back after an action. */
  async get(id: string): Promise<IdentityAccount> {
    const r = await this.session.get<unknown>(`${BASE}/${segment(id)}`, {
      source: 'ad.mdi', op: { does: `read identity account ${id} from Defender for Identity`, permissions: [MDI_READ_PERMISSION], object: `identity account ${id}` },
    });
    this.evidence.push(...r.raw);
    return parseIdentityAccount(r.data);
  }

  /**
   * POST invokeAction on the identity's account at `provider`. Refused before any request when the
   * provider cannot take that action, or when the account lists its available actions and this is not one.
   */
  async invoke(identity: IdentityAccount, action: MdiAction, provider: MdiProvider): Promise<InvokeActionResult> {
    if (!PROVIDER_OF[action].includes(provider)) {
      throw new ConnectorError(`Defender for Identity cannot ${action} an account at ${provider} (only at ${PROVIDER_OF[action].join(', ')}): nothing was sent`, { source: 'ad.mdi' });
    }
    const account = identity.accounts.find((a) => a.provider === provider);
    if (!account || !account.identifier) {
      throw new ConnectorError(`Defender for Identity knows ${this.name(identity)} at ${identity.accounts.map((a) => a.provider).join(', ') || 'no identity provider'}, not at ${provider}: ${action} was not sent`, { source: 'ad.mdi' });
    }
    if (account.actions.length && !account.actions.some((a) => a.toLowerCase() === action.toLowerCase())) {
      throw new ConnectorError(`Defender for Identity does not offer ${action} for ${this.name(identity)} at ${provider} (offered: ${account.actions.join(', ')}): nothing was sent`, { source: 'ad.mdi' });
    }
    const r = await this.session.call<unknown>('POST', `${BASE}/${segment(identity.id)}/invokeAction`, {
      source: 'ad.mdi',
      op: {
        does: `${action} ${this.name(identity)} (${provider}) through Defender for Identity`, permissions: [MDI_ACTION_PERMISSION],
        object: `identity account ${identity.id}`,
        roleHint: 'Defender for Identity must also have an action account configured (Settings → Identities → Action accounts) with the rights to do this in AD',
      },
      body: { accountId: account.identifier, action, identityProvider: provider },
    });
    this.evidence.push(...r.raw);
    return parseResult(r.data);
  }

  async resolve(key: AccountKey): Promise<AccountRef> {
    const a = await this.find(key);
    return this.ref(a);
  }

  async read(key: AccountKey): Promise<AccountState> {
    return this.state(await this.find(key));
  }

  async disable(key: AccountKey, _opts: WriteOptions = {}): Promise<DisableOutcome> {
    // Re-read right before acting: isEnabled is the readable fact that makes a retry safe.
    const before = await this.find(key);
    const account = this.ref(before);
    const uacBefore = uacOf(before.isEnabled);
    if (!before.isEnabled) return { account, dc: this.dc, changed: false, userAccountControlBefore: uacBefore, userAccountControlAfter: uacBefore };
    const result = await this.invoke(before, 'disable', 'activeDirectory');
    const after = await this.get(before.id);
    return {
      account, dc: this.dc, changed: true, userAccountControlBefore: uacBefore, userAccountControlAfter: uacOf(after.isEnabled),
      ...(after.isEnabled ? { note: `Defender for Identity accepted the disable (correlation ${result.correlationId ?? 'none'}) but the account still reads as enabled: its action account applies it on a DC, check it there` } : {}),
    };
  }

  /** The release's inverse of disable: re-read first, an account already enabled (by hand) is left alone. */
  async enable(key: AccountKey, _opts: WriteOptions = {}): Promise<EnableOutcome> {
    const before = await this.find(key);
    const account = this.ref(before);
    const uacBefore = uacOf(before.isEnabled);
    if (before.isEnabled) return { account, dc: this.dc, changed: false, userAccountControlBefore: uacBefore, userAccountControlAfter: uacBefore };
    const result = await this.invoke(before, 'enable', 'activeDirectory');
    const after = await this.get(before.id);
    return {
      account, dc: this.dc, changed: true, userAccountControlBefore: uacBefore, userAccountControlAfter: uacOf(after.isEnabled),
      ...(after.isEnabled ? {} : { note: `Defender for Identity accepted the enable (correlation ${result.correlationId ?? 'none'}) but the account still reads as disabled: its action account applies it on a DC, check it there` }),
    };
  }

  /**
   * forcePasswordReset: "user must change password at next logon", no password is set (so
   * `_newPassword` is not used and never sent). Nothing readable records that it happened, hence the
   * order identity.contain keeps with this driver, reset before disable: on a retry (`mayHaveRun`),
   * a disabled account means the reset was accepted before the disable was sent, so it is not sent
   * again; an account still enabled may or may not have had it (the crash came during the request),
   * and it is sent: it sets a state, so a second one changes nothing the first did not.
   */
  async resetPassword(key: AccountKey, _newPassword: string, opts: WriteOptions & { mayHaveRun: boolean; intentAt: Date }): Promise<ResetOutcome> {
    const before = await this.find(key);
    const account = this.ref(before);
    if (opts.mayHaveRun && !before.isEnabled) {
      return {
        account, dc: this.dc, changed: false,
        reason: `the account is already disabled, and with Defender for Identity the reset is sent before the disable: the earlier attempt's forcePasswordReset was accepted (intent at ${opts.intentAt.toISOString()})`,
      };
    }
    const result = await this.invoke(before, 'forcePasswordReset', 'activeDirectory');
    return {
      account, dc: this.dc, changed: true,
      note: `forcePasswordReset accepted (correlation ${result.correlationId ?? 'none'}): the user must change the password at next logon`
        + (opts.mayHaveRun ? '; sent again after an interrupted attempt, which leaves no trace to read: it sets a state, so this changes nothing the first one may have done' : ''),
    };
  }

  private name(a: IdentityAccount): string {
    return `${a.domain ? `${a.domain}\\` : ''}${a.displayName ?? a.id}`;
  }

  private ref(a: IdentityAccount): AccountRef {
    // MDI names the identity by display name and domain; there is no DN or sAMAccountName to give.
    return { sid: a.onPremisesSecurityIdentifier ?? '', samAccountName: a.displayName ?? a.id, dn: '' };
  }

  private state(a: IdentityAccount): AccountState {
    const uac = uacOf(a.isEnabled);
    return {
      ...this.ref(a), via: 'mdi', displayName: a.displayName ?? undefined,
      userAccountControl: uac, enabled: a.isEnabled, lockedOut: false, passwordMustChange: false,
      badPwdCount: 0, memberOf: [], privilegedGroups: [], lastLogonPerDc: [], dc: this.dc,
    };
  }

  get domains(): MdiDirectoryConfig['domains'] {
    return this.config.domains;
  }
}

function uacOf(enabled: boolean): number {
  return enabled ? UAC.NORMAL_ACCOUNT : UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;
}
