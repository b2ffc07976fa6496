import type { RawPayload } from '../types';

/**
 * The Active Directory port: what containment needs from a customer's domain, whichever driver
 * reaches it (`ldap`: LDAPS to the DCs; `mdi`: Defender for Identity's action accounts through
 * Graph). Accounts are named by SID or sAMAccountName; every write re-resolves the account by SID
 * and re-reads its state first.
 */

export interface AccountKey {
  /** S-1-5-21-… (validated by parseSid) */
  sid?: string;
  /** the pre-Windows 2000 logon name; matched literally (filter values are encoded by the library) */
  samAccountName?: string;
}

export interface AccountRef {
  sid: string;
  samAccountName: string;
  dn: string;
}

/** lastLogon is not replicated: each DC has its own. */
export interface DcLogon {
  dc: string;
  lastLogon?: string;
  badPwdCount?: number;
  error?: string;
}

/**
 * With the `mdi` driver only what Defender for Identity's identityAccounts exposes is known: the
 * SID, the display name, the domain and isEnabled. userAccountControl is then derived from
 * isEnabled (NORMAL_ACCOUNT, plus ACCOUNTDISABLE when disabled) and `via` says so; groups,
 * password and logon times are not readable and stay empty.
 */
export interface AccountState extends AccountRef {
  /** which driver read it; absent = ldap */
  via?: 'ldap' | 'mdi';
  userPrincipalName?: string;
  displayName?: string;
  userAccountControl: number;
  enabled: boolean;
  lockedOut: boolean;
  passwordMustChange: boolean;
  pwdLastSet?: string;
  lastLogonTimestamp?: string;
  lockoutTime?: string;
  badPwdCount: number;
  /** direct memberships (DNs) */
  memberOf: string[];
  /** privileged groups the account is in, directly or through nesting: 'Domain Admins', 'Backup Operators' */
  privilegedGroups: string[];
  lastLogonPerDc: DcLogon[];
  /** the DC that answered: where a write would go */
  dc: string;
}

export interface DisableOutcome {
  account: AccountRef;
  dc: string;
  changed: boolean;
  userAccountControlBefore: number;
  userAccountControlAfter: number;
  /** the DN the caller expected when it differs from where the account is now */
  movedFrom?: string;
  /** what the driver could not confirm (mdi: the action was accepted but the read-back still shows the old state) */
  note?: string;
}

/** The undo of a disable (a release): the same fields; `changed` false when it was already enabled (by hand). */
export type EnableOutcome = DisableOutcome;

export interface ResetOutcome {
  account: AccountRef;
  dc: string;
  changed: boolean;
  /** pwdLastSet after the operation */
  pwdLastSet?: string;
  /** why nothing was written ('already reset at … after the intent at …') */
  reason?: string;
  movedFrom?: string;
  /** written, with a caveat (mdi: sent again on a retry because no earlier reset can be read) */
  note?: string;
}

export interface WriteOptions {
  /** the DN a preview or lookup saw: a different one now means the account moved OU since */
  expectedDn?: string;
}

export interface DirectoryService {
  /** the DC this session writes to: 'DC1.contoso.local (127.0.0.2:636)' (mdi: Defender for Identity) */
  readonly dc: string;
  readonly driver: 'ldap' | 'mdi';
  /**
   * Whether a reset leaves a readable trace (ldap: pwdLastSet). When it does not (mdi), the reset
   * must run before the disable: a retry then knows from the disabled state that the reset went through.
   */
  readonly passwordResetReadable: boolean;
  resolve(key: AccountKey): Promise<AccountRef>;
  read(key: AccountKey, opts?: { perDcLogons?: boolean }): Promise<AccountState>;
  disable(key: AccountKey, opts?: WriteOptions): Promise<DisableOutcome>;
  /** clears ACCOUNTDISABLE (re-read first: an account already enabled is left alone) */
  enable(key: AccountKey, opts?: WriteOptions): Promise<EnableOutcome>;
  /**
   * Replaces the password with `newPassword`. With `mayHaveRun`, a pwdLastSet at or after
   * `intentAt` means an earlier attempt already reset it: nothing is written again.
   */
  resetPassword(key: AccountKey, newPassword: string, opts: WriteOptions & { mayHaveRun: boolean; intentAt: Date }): Promise<ResetOutcome>;
  /** what was read and written, as evidence (no secret in it) */
  raw(): RawPayload[];
  close(): Promise<void>;
}

export const UAC = {
  ACCOUNTDISABLE: 0x2,
  LOCKOUT: 0x10,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x10000,
  PASSWORD_EXPIRED: 0x800000,
} as const;
