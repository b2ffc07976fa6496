/**
 * The sandbox's customer and its story, shared by every emulator so that the Graph tenant, the
 * NAS, the FortiGate and the Playground all tell the same story about adele.vance.
 */
export const CONTOSO = {
  customerId: 'contoso',
  name: 'Contoso',
  tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
  domain: 'contoso.com',
  graphClientId: '6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
  graphClientSecret: 'sandbox-graph-secret',
  /** the compromised admin */
  adele: {
    upn: 'adele.vance@contoso.com',
    objectId: '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e',
    displayName: 'Adele Vance',
  },
  /**
   * Adele's separate admin account, mastered in the on-premises AD (CONTOSO\adm-avance, Domain
   * Admins) and synced to Entra. Its SID is the one the sandbox's Samba DC generated at provisioning
   * (linked into the Graph emulator at start); `exampleSid` is the Defender for Identity fixture's.
   */
  admAvance: {
    upn: 'adm-avance@contoso.com',
    objectId: '3f9d2c71-6a4e-4b8d-9c2f-7e1a5b3d8c40',
    displayName: 'Adele Vance (admin)',
    samAccountName: 'adm-avance',
    distinguishedName: 'CN=adm-avance,OU=Tier0,DC=contoso,DC=local',
    exampleSid: 'S-1-5-21-1004336348-1177238915-682003330-1112',
  },
  /** Lisbon office egress (the user's usual place) and the attacker in Singapore */
  lisbonIp: '198.51.100.23',
  egressRange: '198.51.100.0/24',
  attackerIp: '203.0.113.7',
  attackerIpv6: '2001:db8:bad:cafe::7',
  nas: { id: 'contoso-nas-1', ip: '127.0.0.1', coaPort: 13799, secret: 'nas-secret', sessions: ['S-1001', 'S-1002'] },
  /** the Lisbon office access switch (Cisco IOS emulator): Adele's laptop on Gi1/0/12, her S-1002 session */
  accessSwitch: { id: 'sw-lis-3', host: '127.0.0.1', port: 2223, username: 'ir-bot', password: 'sandbox-switch', laptopPort: 'GigabitEthernet1/0/12', laptopMac: '3C-22-FB-12-34-56' },
  fortigate: { id: 'contoso-fgt-1', host: '127.0.0.1', port: 2222, username: 'ir-bot', password: 'sandbox-fgt', blockGroup: 'IR-Block' },
  servicenow: { username: 'ir.bot', password: 'sandbox-snow' },
  feed: { username: 'contoso', password: 'sandbox-feed' },
  contacts: {
    ciso: { name: 'Nestor Wilke', email: 'ciso@contoso.com' },
    onCall: { name: 'Contoso IT on-call', email: 'oncall@contoso.com' },
  },
} as const;

/** A second customer, so that tests can prove nothing crosses tenants. */
export const FABRIKAM = {
  customerId: 'fabrikam',
  name: 'Fabrikam',
  tenantId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  domain: 'fabrikam.com',
  graphClientId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  graphClientSecret: 'sandbox-fabrikam-secret',
} as const;

/** The MSP's own tenant, whose mailbox sends the CISO emails. */
export const MSP = {
  tenantId: '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a',
  clientId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
  clientSecret: 'sandbox-msp-secret',
  mailbox: 'soc@msp.example',
  /** the MSP's "SOC analysts" security group: readers of Contoso (src/sandbox/sandbox-customers.ts) */
  socAnalystsGroupId: '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716',
} as const;

/** Playground users (aadObjectId): Alex Wilber approves for Contoso and Fabrikam; Megan Bowen reads Contoso (SOC analysts group), no more. */
export const PLAYGROUND_USERS = {
  alex: { name: 'Alex Wilber', aadObjectId: '00000000-0000-4000-8000-000000000020' },
  megan: { name: 'Megan Bowen', aadObjectId: '00000000-0000-4000-8000-000000000021' },
  adele: { name: 'Adele Vance', aadObjectId: CONTOSO.adele.objectId },
} as const;
