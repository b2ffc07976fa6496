/**
 * The sandbox's on-premises Active Directory for Contoso: what the Samba DC is seeded with.
 * adm-avance is Adele Vance's separate admin account (member of Domain Admins), synced to Entra
 * under the routable suffix contoso.com; the domain's own DNS name is contoso.local.
 */
export const CONTOSO_AD = {
  netbios: 'CONTOSO',
  dns: 'contoso.local',
  realm: 'CONTOSO.LOCAL',
  baseDn: 'DC=contoso,DC=local',
  upnSuffixes: ['contoso.com'],
  hostName: 'DC1',
  dcFqdn: 'DC1.contoso.local',
  /** the OU of the admin accounts: the service account's rights are delegated on it only */
  tier0Ou: 'OU=Tier0,DC=contoso,DC=local',
  staffOu: 'OU=Staff,DC=contoso,DC=local',
  /** Tier0-Ops is nested in Backup Operators: a privileged membership found only transitively */
  groups: [{ name: 'Tier0-Ops', ou: 'OU=Tier0', memberOf: ['Backup Operators'] }],
  accounts: [
    { sam: 'adm-avance', ou: 'OU=Tier0', upn: 'adm-avance@contoso.com', groups: ['Domain Admins'], description: "Adele Vance's admin account (synced to Entra)" },
    { sam: 'adm-nwilke', ou: 'OU=Tier0', upn: 'adm-nwilke@contoso.com', groups: ['Tier0-Ops'], description: "Nestor Wilke's admin account" },
    { sam: 'adele.vance', ou: 'OU=Staff', upn: 'adele.vance@contoso.com', groups: [], description: 'Adele Vance' },
    { sam: 'alex.wilber', ou: 'OU=Staff', upn: 'alex.wilber@contoso.com', groups: [], description: 'Alex Wilber' },
    { sam: 'megan.bowen', ou: 'OU=Staff', upn: 'megan.bowen@contoso.com', groups: [], description: 'Megan Bowen' },
    /** the bot's least-privilege service account: no group beyond Domain Users */
    { sam: 'svc-irbot', ou: 'CN=Users', upn: 'svc-irbot@contoso.local', groups: [], description: 'IR bot service account (reset password and write userAccountControl on OU=Tier0)' },
  ],
  serviceAccount: 'svc-irbot',
} as const;

export type ContosoAccountName = (typeof CONTOSO_AD.accounts)[number]['sam'];

/**
 * The rights delegated to the service account on OU=Tier0, inherited by user objects only
 * (CIIO + inherited object type `user`): the Reset Password extended right and Write Property on
 * userAccountControl. Nothing else: any other write answers 50 (00002098).
 */
export const DELEGATION_GUIDS = {
  userClass: 'bf967aba-0de6-11d0-a285-00aa003049e2',
  resetPasswordRight: '00299570-246d-11d0-a768-00aa006e0529',
  userAccountControlAttribute: 'bf967a68-0de6-11d0-a285-00aa003049e2',
} as const;

export function delegationSddl(serviceSid: string): string {
  if (!/^S-1-5-21-\d+-\d+-\d+-\d+$/.test(serviceSid)) throw new Error(`not a domain account SID: ${serviceSid}`);
  const g = DELEGATION_GUIDS;
  return `(OA;CIIO;CR;${g.resetPasswordRight};${g.userClass};${serviceSid})(OA;CIIO;WP;${g.userAccountControlAttribute};${g.userClass};${serviceSid})`;
}
