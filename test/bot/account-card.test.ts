import assert from 'node:assert/strict';
import { renderTimelineCard, type IncidentSnapshot } from '../../src/bot/render-cards';
import { readFindings } from '../../src/domain/incident-findings';
import type { IncidentRecord } from '../../src/store/store';
import { adaptiveCardProblems, cardText } from '../support/adaptive-card-check';

/**
 * The account in both directories and its devices on the timeline card (issue 11 parts 1, 2):
 * every value comes from a directory, a sign-in log or an alert, so hostile ones must stay text.
 */

const now = '2026-11-27T03:12:00.000Z';
// RFC 4514 escapes (commas, quotes, a backslash) in a CN, as a DC returns the DN
const HOSTILE_DN = 'CN=Vance\\, Adele \\"[click](https://evil.example)\\",OU=Tier0 **admins**,DC=contoso,DC=local';
const HOSTILE_DEVICE = '<img src=x onerror=alert(1)> [pwn](https://evil.example) `WS`_0412_ ${jndi:ldap://x} <at>Alex Wilber</at>';
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1112';

function data(): Record<string, unknown> {
  return {
    subjectPlacement: 'synced',
    adAccount: {
      sid: SID, samAccountName: 'adm-avance', dn: HOSTILE_DN, userPrincipalName: 'adm-avance@contoso.com', displayName: 'Adele Vance (admin)',
      userAccountControl: 512, enabled: true, lockedOut: false, passwordMustChange: false,
      pwdLastSet: '2026-11-20T08:00:00.000Z', lastLogonTimestamp: '2026-11-26T09:00:00.000Z', lockoutTime: undefined, badPwdCount: 3,
      memberOf: ['CN=Domain Admins,CN=Users,DC=contoso,DC=local'], privilegedGroups: ['Administrators', 'Domain Admins'],
      lastLogonPerDc: [
        { dc: 'DC1.contoso.local (127.0.0.2:636)', lastLogon: '2026-11-27T02:55:00.000Z', badPwdCount: 3 },
        { dc: 'DC2.contoso.local (127.0.0.3:636)', error: 'DC2.contoso.local did not answer' },
      ],
      dc: 'DC1.contoso.local (127.0.0.2:636)',
    },
    entraAccount: {
      objectId: '3f9d2c71-6a4e-4b8d-9c2f-7e1a5b3d8c40', userPrincipalName: 'adm-avance@contoso.com', displayName: 'Adele Vance (admin)', accountEnabled: true,
      signInSessionsValidFromDateTime: null, directoryRoles: ['Hybrid Identity Administrator'], privilegedRoles: ['Hybrid Identity Administrator'],
      onPremises: { syncEnabled: true, securityIdentifier: SID, samAccountName: 'adm-avance', domainName: 'contoso.local', distinguishedName: HOSTILE_DN, lastSyncDateTime: '2026-11-27T02:40:00Z' },
    },
    subjectDevices: [
      { name: HOSTILE_DEVICE, deviceId: null, os: 'Windows11', trustType: null, compliant: null, managed: null, lastSeen: null, seenIn: ['alert'], signIns: 0 },
      { name: 'WS-0412', deviceId: '7e2c9f3a-4d5b-4e6f-9a7b-8c9d0e1f2a3b', os: 'Windows 10.0.22631.4602', trustType: 'ServerAd', compliant: true, managed: true, lastSeen: '2026-11-27T02:47:00Z', seenIn: ['alert', 'sign-in', 'registered'], signIns: 2 },
    ],
  };
}

function snapshot(d: Record<string, unknown>): IncidentSnapshot {
  const incident: IncidentRecord = {
    id: 'IR-20261127-7K3Q', customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: 'CONTOSO\\adm-avance', subjectObjectId: null,
    severity: 'high', title: 'Suspected identity theft (pass-the-ticket)', status: 'open', procedure: null, createdAt: now, updatedAt: now, closedAt: null, data: d,
  };
  return { incident, findings: readFindings(d), customerName: 'Contoso', alerts: [], approvals: [], timeline: [], actions: [] };
}

describe('timeline card: the account in both directories and its devices', () => {
  it('shows SID, sAMAccountName, DN, UPN, sync state, privileged groups and roles, per-DC logons and the devices', () => {
    const card = renderTimelineCard(snapshot(data()));
    assert.deepEqual(adaptiveCardProblems(card), []);
    const text = cardText(card);
    for (const line of [
      'The account in Active Directory', 'SID\nS-1-5-21-1004336348-1177238915-682003330-1112', 'sAMAccountName\nadm-avance', 'UPN (AD)\nadm-avance@contoso.com',
      'State (AD)\nenabled, userAccountControl 512', 'Privileged groups (AD, transitive)\nAdministrators, Domain Admins',
      'Password last set\n2026-11-20 08:00:00 UTC', 'Bad password count\n3', 'Lockout time\nnot locked out',
      'Last logon (lastLogonTimestamp, replicated)\n2026-11-26 09:00:00 UTC',
      'Last logon on DC1.contoso.local (127.0.0.2:636)\n2026-11-27 02:55:00 UTC, 3 bad password(s)',
      'Last logon on DC2.contoso.local (127.0.0.3:636)\nnot read: DC2.contoso.local did not answer',
      'The account in Entra', 'UPN (Entra)\nadm-avance@contoso.com', 'Object id\n3f9d2c71-6a4e-4b8d-9c2f-7e1a5b3d8c40', 'State (Entra)\nenabled',
      'Sync\nsynced from on-premises AD (contoso.local), last sync 2026-11-27 02:40:00 UTC', 'Directory roles (Entra)\nHybrid Identity Administrator',
      'Devices', '• WS-0412 (Windows 10.0.22631.4602, ServerAd, compliant, managed, 2 sign-ins, last seen 2026-11-27 02:47:00 UTC); seen in: alert, sign-in, registered',
    ]) assert.ok(text.includes(line), `card shows ${JSON.stringify(line)}:\n${text}`);
    // the SID Entra holds is the AD one: not repeated
    assert.ok(!text.includes('On-premises SID (as Entra has it)'));
  });

  it('a DN with commas, quotes and Markdown and a device name with HTML, a link, a template and a mention stay inert text', () => {
    const card = renderTimelineCard(snapshot(data()));
    assert.deepEqual(adaptiveCardProblems(card), []);
    const json = JSON.stringify(card);
    assert.ok(json.includes('${jndi:ldap://x}'), 'template expressions in data are not evaluated');
    assert.ok(!json.includes('[click](https') && !json.includes('[pwn](https'), 'no Markdown link survives');
    assert.ok(!json.includes('<img') && !json.includes('<at>'), 'no HTML or mention tag survives');
    assert.ok(!/\*\*admins\*\*/.test(json.replace(/\\\\\*/g, '')), 'no emphasis survives');
    const text = cardText(card);
    // the DN is shown whole, its RFC 4514 escapes kept (backslashes escaped once more for Markdown)
    const dn = /\nDN\n([^\n]*)/.exec(text)?.[1] ?? '';
    assert.equal(dn, 'CN=Vance\\\\, Adele \\\\"\\[click\\](https://evil.example)\\\\",OU=Tier0 \\*\\*admins\\*\\*,DC=contoso,DC=local');
    const hostileDevice = text.split('\n').find((l) => l.startsWith('• ‹img'));
    assert.ok(hostileDevice, text);
    assert.match(hostileDevice, /^• ‹img src=x onerror=alert\(1\)› \\\[pwn\\\]\(https:\/\/evil\.example\) \\`WS\\`\\_0412\\_ \$\{jndi:ldap:\/\/x\} ‹at›Alex Wilber‹\/at› \(Windows11\); seen in: alert$/);
  });

  it('an on-premises-only account says it has no Entra user; no lookup recorded, no section', () => {
    const onPrem = { ...data(), subjectPlacement: 'onPremises', entraAccount: undefined, subjectDevices: [] };
    const text = cardText(renderTimelineCard(snapshot(onPrem)));
    assert.ok(text.includes('The account in Entra\nEntra\nno Entra user: an on-premises-only account'), text);
    assert.ok(!text.includes('\nDevices\n'), 'no devices heading without devices');
    const none = cardText(renderTimelineCard(snapshot({})));
    assert.ok(!none.includes('The account in Active Directory') && !none.includes('The account in Entra'));
  });

  it('a finding of the wrong shape is left out (named unreadable), the rest of the card still renders', () => {
    const f = readFindings({ ...data(), adAccount: { sid: 42 } });
    assert.ok(f.unreadable.includes('adAccount'));
    assert.ok(f.entraAccount);
  });
});
