import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalizeAlertBody, AlertValidationError } from '../../src/intake/normalize-alert';
import { subjectIdentityFrom, subjectLabel } from '../../src/domain/subject-identity';

/** Identity alerts (issue 11): Defender for Identity's on-premises accounts and Sentinel account entities. */
const mdi = () => JSON.parse(readFileSync('test/fixtures/graph/alert-mdi-domain-admin.json', 'utf8'));
const CONTOSO_AD = [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }];
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1112';

describe('identity alerts', () => {
  it('takes a Defender for Identity alert naming CONTOSO\\adm-avance by SID, with no UPN', () => {
    const [a] = normalizeAlertBody(mdi());
    assert.equal(a.serviceSource, 'microsoftDefenderForIdentity');
    assert.equal(a.users.length, 1);
    const u = a.users[0];
    assert.equal(u.upn, null);
    assert.equal(u.sid, SID);
    assert.equal(u.samAccountName, 'adm-avance');
    assert.equal(u.domain, 'CONTOSO');
    assert.equal(u.objectId, null);
    assert.deepEqual(a.devices.map((d) => d.name), ['ws-0412.contoso.local']);
    // accountName@domainName is never taken for a UPN
    assert.ok(!JSON.stringify(a.users).includes('adm-avance@CONTOSO'));
  });

  it('places the account by the customers file: NetBIOS or DNS domain, or the UPN suffix', () => {
    const byNetbios = subjectIdentityFrom({ sid: SID, samAccountName: 'adm-avance', domain: 'CONTOSO' }, CONTOSO_AD).identity!;
    assert.equal(byNetbios.placed, true);
    assert.equal(byNetbios.netbios, 'CONTOSO');
    assert.equal(byNetbios.dnsDomain, 'contoso.local');
    assert.equal(subjectLabel(byNetbios), 'CONTOSO\\adm-avance');
    const byDns = subjectIdentityFrom({ samAccountName: 'adm-avance', domain: 'Contoso.Local' }, CONTOSO_AD).identity!;
    assert.equal(byDns.netbios, 'CONTOSO');
    const byUpn = subjectIdentityFrom({ upn: 'adm-avance@contoso.com' }, CONTOSO_AD).identity!;
    assert.equal(byUpn.netbios, 'CONTOSO');
    assert.equal(subjectLabel(byUpn), 'adm-avance@contoso.com');
    const sidOnly = subjectIdentityFrom({ sid: SID }, CONTOSO_AD).identity!;
    assert.equal(sidOnly.placed, true);
    assert.equal(subjectLabel(sidOnly), SID);
  });

  it('says so when the account cannot be placed (another domain, or no AD in the customers file)', () => {
    const other = subjectIdentityFrom({ samAccountName: 'adm-avance', domain: 'FABRIKAM' }, CONTOSO_AD).identity!;
    assert.equal(other.placed, false);
    assert.match(other.placement, /FABRIKAM is not one of the customer's Active Directory domains \(CONTOSO, contoso\.local\)/);
    const noAd = subjectIdentityFrom({ sid: SID, samAccountName: 'adm-avance', domain: 'CONTOSO' }, []).identity!;
    assert.equal(noAd.placed, false);
    assert.match(noAd.placement, /no activeDirectory section/);
  });

  it('drops an account whose identifiers are not what they claim, and names why', () => {
    for (const [acct, re] of [
      [{ accountName: 'adm*)(uid=*', domainName: 'CONTOSO', userSid: SID }, /sAMAccountName: not a sAMAccountName/],
      [{ accountName: 'adm-avance', domainName: 'CONTOSO', userSid: 'S-1-5-21-x' }, /SID: not a SID/],
      [{ accountName: 'adm-avance', domainName: 'CONTOSO\\evil', userSid: SID }, /domain: not a domain name/],
    ] as const) {
      const al = mdi();
      al.evidence[0].userAccount = { ...acct, azureAdUserId: null, userPrincipalName: null };
      assert.throws(() => normalizeAlertBody(al), (e: AlertValidationError) => e.field === 'evidence' && re.test(e.message));
    }
  });

  it('takes a Sentinel account entity: Name, NTDomain, Sid (on-premises) or Name + UPNSuffix + AadUserId (cloud)', () => {
    const sentinel = (entity: Record<string, unknown>) => ({
      SystemAlertId: 'sentinel-1', AlertDisplayName: 'Suspicious Kerberos activity', Severity: 'High', ProviderName: 'Azure Advanced Threat Protection',
      TenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', Entities: JSON.stringify([{ $id: '2', Type: 'account', ...entity }]),
    });
    const [onPrem] = normalizeAlertBody(sentinel({ Name: 'adm-avance', NTDomain: 'CONTOSO', Sid: SID }));
    assert.deepEqual(
      { upn: onPrem.users[0].upn, sid: onPrem.users[0].sid, sam: onPrem.users[0].samAccountName, domain: onPrem.users[0].domain },
      { upn: null, sid: SID, sam: 'adm-avance', domain: 'CONTOSO' },
    );
    const [cloud] = normalizeAlertBody(sentinel({ Name: 'adele.vance', UPNSuffix: 'contoso.com', AadUserId: '6e7b768e-07e2-4810-8459-485f84f8f204' }));
    assert.equal(cloud.users[0].upn, 'adele.vance@contoso.com');
    assert.equal(cloud.users[0].objectId, '6e7b768e-07e2-4810-8459-485f84f8f204');
    assert.equal(cloud.users[0].samAccountName, null);
    const [both] = normalizeAlertBody(sentinel({ Name: 'adm-avance', NTDomain: 'CONTOSO', Sid: SID, UPNSuffix: 'contoso.com' }));
    assert.equal(both.users[0].upn, 'adm-avance@contoso.com');
    assert.equal(both.users[0].sid, SID);
  });
});
