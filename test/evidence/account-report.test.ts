import assert from 'node:assert/strict';
import MarkdownIt from 'markdown-it';
import { generateReport } from '../../src/evidence/report';
import { verifyIncident } from '../../src/evidence/verify';
import type { Store } from '../../src/store/store';
import { twoCustomers } from '../support/customers-fixture';
import { withEvidenceStores } from './helpers';
import { seedIncident } from './seed-incident';

/**
 * The report's account sections (issue 11 parts 1-3): the account in both directories, its devices,
 * and an Active Directory evidence section with the LDAP payloads' hashes and the DC's own times.
 */

const customers = twoCustomers();
const lookup = (id: string) => customers.customers.find((c) => c.id === id);
const NOW = new Date('2026-11-27T15:30:00.000Z');
const HOSTILE_DN = 'CN=Vance\\, Adele \\"[click](https://evil.example)\\" <b>x</b>,OU=Tier0 **admins** | pipe,DC=contoso,DC=local';
const HOSTILE_DEVICE = '<img src=x onerror=alert(1)> [pwn](https://evil.example) **WS** | 0412';
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1112';

async function collect(it: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const p of it) parts.push(p);
  return parts.join('');
}

/** What the ldap driver keeps (src/connectors/active-directory/ldap-driver.ts): a search with its entries as `value`, a modify. */
function ldapSearch(dcTime: string): Buffer {
  return Buffer.from(JSON.stringify({
    dc: 'DC1.contoso.local (127.0.0.2:636)', dcTime, base: 'DC=contoso,DC=local',
    filter: '(&(objectCategory=person)(objectClass=user)(objectSid=\\01\\05…))',
    value: [{ dn: HOSTILE_DN, objectSid: SID, sAMAccountName: 'adm-avance', userAccountControl: '512', pwdLastSet: '134071200000000000', lastLogonTimestamp: '134075520000000000' }],
  }));
}
function ldapModify(dcTime: string): Buffer {
  return Buffer.from(JSON.stringify({ dc: 'DC1.contoso.local (127.0.0.2:636)', dcTime, modify: { dn: HOSTILE_DN, replace: { userAccountControl: '514' }, before: '512' } }));
}

describe('evidence: the account in both directories, its devices and the Active Directory section', function () {
  this.timeout(60_000);
  withEvidenceStores((db) => {
    let store: Store;
    before(async () => { store = await db().make(); });

    it('tabulates both directories and the devices as code spans, and gives the LDAP payloads their own section with hashes and DC times; verify still passes', async () => {
      const seeded = await seedIncident(store);
      const id = seeded.incidentId;
      await store.updateIncident(id, { data: {
        subjectPlacement: 'synced',
        adAccount: {
          sid: SID, samAccountName: 'adm-avance', dn: HOSTILE_DN, userPrincipalName: 'adm-avance@contoso.com', enabled: true, lockedOut: false,
          userAccountControl: 512, pwdLastSet: '2026-11-20T08:00:00.000Z', lastLogonTimestamp: '2026-11-26T09:00:00.000Z', badPwdCount: 0,
          privilegedGroups: ['Domain Admins'], lastLogonPerDc: [{ dc: 'DC1.contoso.local (127.0.0.2:636)', lastLogon: '2026-11-27T14:55:00.000Z', badPwdCount: 0 }],
        },
        entraAccount: {
          objectId: '3f9d2c71-6a4e-4b8d-9c2f-7e1a5b3d8c40', userPrincipalName: 'adm-avance@contoso.com', accountEnabled: true, directoryRoles: [], privilegedRoles: [],
          onPremises: { syncEnabled: true, securityIdentifier: SID, samAccountName: 'adm-avance', domainName: 'contoso.local', distinguishedName: HOSTILE_DN, lastSyncDateTime: '2026-11-27T14:40:00Z' },
        },
        subjectDevices: [{ name: HOSTILE_DEVICE, deviceId: null, os: 'Windows11', seenIn: ['alert'], signIns: 0 }],
      } });
      const search = await store.putEvidence({
        incidentId: id, actionId: null, source: 'ad.ldap', contentType: 'application/json', collectedAt: '2026-11-27T15:02:00.000Z',
        rangeFrom: '2026-11-27T15:01:58.000Z', rangeTo: '2026-11-27T15:01:58.000Z', recordCount: 1, note: 'search on DC1.contoso.local (127.0.0.2:636): the lookup of objectSid', body: ldapSearch('2026-11-27T15:01:58.000Z'),
      });
      const modify = await store.putEvidence({
        incidentId: id, actionId: null, source: 'ad.ldap', contentType: 'application/json', collectedAt: '2026-11-27T15:20:00.000Z',
        rangeFrom: '2026-11-27T15:19:59.000Z', rangeTo: '2026-11-27T15:19:59.000Z', recordCount: null, note: 'modify on DC1.contoso.local (127.0.0.2:636): the disable', body: ldapModify('2026-11-27T15:19:59.000Z'),
      });

      const md = await collect(generateReport(store, id, { customers: lookup, now: NOW }));
      const account = md.slice(md.indexOf('### The account in both directories'), md.indexOf('### Devices of the account'));
      assert.match(account, /\| Active Directory \| SID \| `S-1-5-21-1004336348-1177238915-682003330-1112` \|/);
      assert.match(account, /\| Active Directory \| Privileged groups \\\(AD, transitive\\\) \| `Domain Admins` \|/);
      assert.match(account, /\| Active Directory \| Last logon on DC1\\\.contoso\\\.local \\\(127\\\.0\\\.0\\\.2\\:636\\\) \| `2026-11-27 14:55:00 UTC` \|/);
      assert.match(account, /\| Entra \| Sync \| `synced from on-premises AD \(contoso\.local\), last sync 2026-11-27 14:40:00 UTC` \|/);
      const devices = md.slice(md.indexOf('### Devices of the account'), md.indexOf('### What was done'));
      assert.match(devices, /\| Device \| Entra device id \| Seen in \| Details \|/);

      const adSection = md.slice(md.indexOf('### Active Directory'), md.indexOf('### RADIUS accounting'));
      assert.ok(adSection.includes(search.sha256) && adSection.includes(modify.sha256), 'both LDAP payloads with their SHA-256');
      assert.match(adSection, /#### `ad\.ldap`: 2 records in 2 payload\(s\), .*source range 2026-11-27 15:01:58 UTC – 2026-11-27 15:19:59 UTC/);
      assert.match(adSection, /\| 1 \| `CN=Vance/, 'the search entry is a record');
      assert.ok(!md.slice(md.indexOf('### Other evidence')).includes(search.sha256), 'not repeated under other evidence');

      // hostile DN and device name: shown, but never a link, HTML or emphasis once rendered; the table holds
      const html = new MarkdownIt({ html: true, linkify: true }).render(md);
      assert.doesNotMatch(html, /<a\s/i, 'no link');
      assert.doesNotMatch(html, /<(img|b)\b/i, 'no raw HTML');
      assert.doesNotMatch(html, /<strong>(admins|WS)/, 'no emphasis from data');
      assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt; [pwn](https://evil.example) **WS** | 0412'), 'the device name is shown whole, escaped');
      assert.ok(html.includes('CN=Vance\\, Adele \\&quot;[click](https://evil.example)\\&quot; &lt;b&gt;x&lt;/b&gt;,OU=Tier0 **admins** | pipe,DC=contoso,DC=local'), 'the DN is shown whole, escaped');

      const v = await verifyIncident(store, id);
      assert.equal(v.ok, true, JSON.stringify(v));
    });
  });
});
