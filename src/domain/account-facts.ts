import type { AccountDeviceFinding, IncidentFindings } from './incident-findings';

/**
 * The account in both directories and its devices, as label/value pairs in plain text: the one
 * wording the timeline card and the report share. Values come from the directories and the alert,
 * so each reader escapes them its own way (inert() for cards, cell()/code() for Markdown).
 */

export interface AccountFact {
  /** 'Active Directory' | 'Entra' */
  directory: string;
  label: string;
  value: string;
}

const when = (iso: string | null | undefined, never = 'never'): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : never);

export function accountFacts(f: Pick<IncidentFindings, 'adAccount' | 'entraAccount' | 'subjectPlacement'>): AccountFact[] {
  const out: AccountFact[] = [];
  const ad = f.adAccount;
  if (ad) {
    const add = (label: string, value: string) => out.push({ directory: 'Active Directory', label, value });
    add('sAMAccountName', ad.samAccountName);
    add('SID', ad.sid);
    add('DN', ad.dn);
    add('UPN (AD)', ad.userPrincipalName ?? 'none');
    const state = [ad.enabled ? 'enabled' : 'disabled', ad.lockedOut ? 'locked out' : null,
      ad.userAccountControl !== undefined ? `userAccountControl ${ad.userAccountControl}` : null].filter(Boolean).join(', ');
    add('State (AD)', state);
    add('Privileged groups (AD, transitive)', ad.privilegedGroups.length ? ad.privilegedGroups.join(', ') : 'none');
    add('Password last set', when(ad.pwdLastSet, 'never (must change at next logon)'));
    add('Bad password count', String(ad.badPwdCount ?? 0));
    add('Lockout time', when(ad.lockoutTime, 'not locked out'));
    add('Last logon (lastLogonTimestamp, replicated)', when(ad.lastLogonTimestamp));
    for (const l of ad.lastLogonPerDc) {
      add(`Last logon on ${l.dc}`, l.error ? `not read: ${l.error}` : `${when(l.lastLogon)}${l.badPwdCount ? `, ${l.badPwdCount} bad password(s)` : ''}`);
    }
  }
  const e = f.entraAccount;
  if (e) {
    const add = (label: string, value: string) => out.push({ directory: 'Entra', label, value });
    add('UPN (Entra)', e.userPrincipalName);
    add('Object id', e.objectId);
    add('State (Entra)', e.accountEnabled ? 'enabled' : 'disabled');
    const op = e.onPremises;
    add('Sync', op?.syncEnabled
      ? `synced from on-premises AD${op.domainName ? ` (${op.domainName})` : ''}, last sync ${when(op.lastSyncDateTime, 'never')}`
      : op ? `was synced from on-premises AD (sync off), last sync ${when(op.lastSyncDateTime, 'never')}` : 'cloud-only (not synced)');
    if (op?.distinguishedName) add('On-premises DN (as Entra has it)', op.distinguishedName);
    if (op?.securityIdentifier && (!ad || op.securityIdentifier.toUpperCase() !== ad.sid.toUpperCase())) add('On-premises SID (as Entra has it)', op.securityIdentifier);
    add('Directory roles (Entra)', e.directoryRoles.length ? e.directoryRoles.join(', ') : 'none');
  } else if (ad && f.subjectPlacement === 'onPremises') {
    out.push({ directory: 'Entra', label: 'Entra', value: 'no Entra user: an on-premises-only account' });
  }
  return out;
}

/** What is known of a device besides its name: OS, trust type, compliance, sign-ins, last seen. */
export function deviceDetails(d: AccountDeviceFinding): string {
  return [
    d.os, d.trustType,
    d.compliant === null || d.compliant === undefined ? null : d.compliant ? 'compliant' : 'not compliant',
    d.managed === null || d.managed === undefined ? null : d.managed ? 'managed' : 'not managed',
    d.signIns ? `${d.signIns} sign-in${d.signIns === 1 ? '' : 's'}` : null,
    d.lastSeen ? `last seen ${when(d.lastSeen)}` : null,
  ].filter(Boolean).join(', ');
}

export function deviceText(d: AccountDeviceFinding): string {
  const details = deviceDetails(d);
  return `${d.name}${details ? ` (${details})` : ''}; seen in: ${d.seenIn.join(', ')}`;
}
