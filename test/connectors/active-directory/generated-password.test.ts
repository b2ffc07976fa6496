import assert from 'node:assert/strict';
import { generatePassword, unicodePwdValue } from '../../../src/connectors/active-directory/generated-password';

describe('generated AD passwords', () => {
  it('meet AD complexity (four classes), 32 characters, differ each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      assert.equal(p.length, 32);
      for (const re of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) assert.match(p, re);
      assert.doesNotMatch(p, /["\s]/);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });

  it('encodes unicodePwd as the quoted password in UTF-16LE', () => {
    assert.equal(unicodePwdValue('Ab1!').toString('hex'), '220041006200310021002200');
  });
});
