export { createActiveDirectoryActions, activeDirectoryActions, openDirectory, openLdapDirectory, enableInputFrom, RESET_STAYS, type ActiveDirectoryActionsOptions } from './actions';
export { MdiDirectoryService, MDI_ACTIONS, MDI_READ_PERMISSION, MDI_ACTION_PERMISSION, parseIdentityAccount, type IdentityAccount, type MdiAction } from './mdi-driver';
export { LdapDirectoryService, MATCHING_RULE_IN_CHAIN, dcLabel } from './ldap-driver';
export type { AccountKey, AccountRef, AccountState, DirectoryService, DisableOutcome, EnableOutcome, ResetOutcome, DcLogon, WriteOptions } from './directory-service';
export { parseSid, sidToBuffer, sidFromBuffer, InvalidSidError } from './sid';
export { accountInput, samAccountName, checkDomain, adConfigOf, type AccountInput } from './account-input';
