import assert from 'node:assert/strict';
import { ConfigError, parseCustomers } from '../../src/config/customers';
import { twoCustomers } from '../support/customers-fixture';

/** The customers file's activeDirectory section (issue 11). */
describe('customers file: activeDirectory', () => {
  const section = () => ({
    domains: [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }],
    dcs: [{ host: '10.0.0.5', servername: 'DC1.contoso.local' }, { host: '10.0.0.6', servername: 'DC2.contoso.local', port: 3269 }],
    bindUpn: 'svc-irbot@contoso.local',
    passwordRef: 'env:CONTOSO_AD_PASSWORD',
    caCertificateRef: 'file:/run/secrets/contoso-ad-ca.pem',
    baseDn: 'DC=contoso,DC=local',
  });
  const withAd = (ad: unknown) => {
    const f = JSON.parse(JSON.stringify(twoCustomers()));
    f.customers[0].activeDirectory = ad;
    return f;
  };

  it('parses a section with its defaults (ldap driver, port 636, 10 s timeout)', () => {
    const ad = parseCustomers(withAd(section())).customers[0].activeDirectory!;
    assert.equal(ad.driver, 'ldap');
    assert.equal(ad.dcs[0].port, 636);
    assert.equal(ad.dcs[1].port, 3269);
    assert.equal(ad.timeoutMs, 10000);
    assert.equal(parseCustomers(withAd(undefined)).customers[0].activeDirectory, undefined);
  });

  const cases: Array<[string, (s: ReturnType<typeof section>) => unknown, RegExp]> = [
    ['a literal password', (s) => ({ ...s, passwordRef: 'P@ssw0rd' }), /key "activeDirectory\.passwordRef": must be a secret reference/],
    ['no bind identity', (s) => { const { bindUpn: _b, ...rest } = s; return rest; }, /key "activeDirectory": needs bindUpn or bindDn/],
    ['a NetBIOS name too long', (s) => ({ ...s, domains: [{ netbios: 'CONTOSOCORPORATION', dns: 'contoso.local' }] }), /activeDirectory\.domains\.0\.netbios": must be a NetBIOS domain name/],
    ['a DC without servername', (s) => ({ ...s, dcs: [{ host: '10.0.0.5' }] }), /activeDirectory\.dcs\.0\.servername": Required/],
    ['a malformed certificate pin', (s) => ({ ...s, dcs: [{ host: '10.0.0.5', servername: 'DC1.contoso.local', certificateSha256: 'abc' }] }), /certificateSha256": must be a SHA-256 fingerprint/],
    ['a base DN with a filter in it', (s) => ({ ...s, baseDn: 'DC=contoso,DC=local)(objectClass=*' }), /activeDirectory\.baseDn": must be a DN/],
    ['an unknown driver', (s) => ({ ...s, driver: 'powershell' }), /activeDirectory\.driver/],
  ];
  for (const [what, mutate, re] of cases) {
    it(`refuses ${what} with one line naming the key`, () => {
      assert.throws(() => parseCustomers(withAd(mutate(section()))), (e: Error) => e instanceof ConfigError && re.test(e.message));
    });
  }
});
