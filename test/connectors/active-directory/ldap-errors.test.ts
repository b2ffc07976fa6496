import assert from 'node:assert/strict';
import { InsufficientAccessError, InvalidCredentialsError } from 'ldapts';
import { bindDataCode, describeBindRefusal, mapLdapError } from '../../../src/connectors/active-directory/ldap-errors';

/** The diagnostic messages as AD and Samba send them (protocols.md §10, samba-ad-dc.md). */
const diag = (code: string) => `80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data ${code}, v4563`;

describe('AD error lines', () => {
  it('names every bind refusal by its data code', () => {
    const cases: Array<[string, RegExp]> = [
      ['525', /no such user \(525\)/], ['52e', /wrong password \(52e\)/], ['530', /not permitted to log on at this time \(530\)/],
      ['531', /not permitted to log on from this workstation \(531\)/], ['532', /password expired \(532\)/], ['533', /account disabled \(533\)/],
      ['701', /account expired \(701\)/], ['773', /password must be changed before first logon \(773\)/], ['775', /account locked out \(775\)/],
    ];
    for (const [code, re] of cases) {
      assert.equal(bindDataCode(diag(code)), code);
      assert.match(describeBindRefusal(diag(code)), re);
      const e = mapLdapError(Object.assign(new InvalidCredentialsError(diag(code)), { code: 49 }), 'DC1.contoso.local (10.0.0.5:636)', 'the bind as svc-irbot@contoso.local', 'env:AD_PW');
      assert.match(e.message, new RegExp(`^DC1\\.contoso\\.local \\(10\\.0\\.0\\.5:636\\) refused the bind as svc-irbot@contoso\\.local: ${re.source}`));
      assert.equal(e.retryable, false);
      assert.equal(/env:AD_PW/.test(e.message), code === '52e', 'only a wrong password points at the reference');
    }
    assert.match(describeBindRefusal('Invalid credentials'), /^refused$/);
  });

  it('says insufficient rights for 50 / 00002098 and points at the delegation', () => {
    const e = mapLdapError(Object.assign(new InsufficientAccessError('00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0'), { code: 50 }), 'DC1', 'the disable of CN=x');
    assert.match(e.message, /insufficient access rights \(50, 00002098\).*delegated right.*AdminSDHolder/);
  });

  it('tells a wrong certificate from an unreachable DC (only the latter is retryable)', () => {
    const cert = mapLdapError(Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'DC1', 'a connection');
    assert.match(cert.message, /presented a certificate that is not the pinned one/);
    assert.equal(cert.retryable, false);
    const down = mapLdapError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'DC1', 'a connection');
    assert.match(down.message, /did not answer \(ECONNREFUSED\)/);
    assert.equal(down.retryable, true);
  });
});
