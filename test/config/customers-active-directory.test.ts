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

  describe('driver mdi (Defender for Identity through Graph)', () => {
    const mdi = () => ({ domains: [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }], driver: 'mdi' });

    it('needs only the domains: no DC, no service account, no secret', () => {
      const ad = parseCustomers(withAd(mdi())).customers[0].activeDirectory!;
      assert.equal(ad.driver, 'mdi');
      assert.deepEqual(ad.domains, [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }]);
      assert.equal('dcs' in ad, false);
    });

    it('a section without driver is ldap and still needs its DCs and bind identity', () => {
      const { driver: _d, ...noDriver } = mdi();
      assert.throws(() => parseCustomers(withAd(noDriver)), (e: Error) => e instanceof ConfigError && /activeDirectory\.(dcs|passwordRef|caCertificateRef|baseDn)": Required/.test(e.message));
      assert.equal(parseCustomers(withAd(section())).customers[0].activeDirectory!.driver, 'ldap');
    });

    const refused: Array<[string, unknown, RegExp]> = [
      ['an mdi section that keeps DCs and a password reference (left over from ldap)', { ...mdi(), dcs: [{ host: '10.0.0.5', servername: 'DC1.contoso.local' }], passwordRef: 'env:X' }, /key "activeDirectory": Unrecognized key\(s\) in object: 'dcs', 'passwordRef'/],
      ['an mdi section without domains', { driver: 'mdi' }, /key "activeDirectory\.domains": Required/],
      ['an mdi section with a domain that is not a DNS name', { ...mdi(), domains: [{ netbios: 'CONTOSO', dns: 'contoso' }] }, /activeDirectory\.domains\.0\.dns": must be a DNS domain name/],
      ['a driver that does not exist', { ...mdi(), driver: 'graph' }, /key "activeDirectory\.driver": driver must be 'ldap' \(LDAPS to the DCs\) or 'mdi'/],
    ];
    for (const [what, ad, re] of refused) {
      it(`refuses ${what} with one line naming the key`, () => {
        assert.throws(() => parseCustomers(withAd(ad)), (e: Error) => e instanceof ConfigError && re.test(e.message), `expected ${re}`);
      });
    }
  });
});
