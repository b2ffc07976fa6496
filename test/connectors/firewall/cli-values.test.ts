import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fortiOsQuoted, panOsQuoted, parseVpnUser, UnquotableValueError } from '../../../src/connectors/firewall/cli-values';
import { tokenizeFortiOs } from '../../../src/sandbox/fortios/fortios-cli';
import { tokenizePanOs } from '../../../src/sandbox/panos/panos-cli';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constantFrom("Adele's MacBook Pro", 'Dan’s iPhone', 'CONTOSO\\adele', 'a"b', 'x\\"; execute factoryreset', '$(reboot)', 'José [büro]', '\ud800', ''),
);

describe('CLI quoting of device-side names', () => {
  it('FortiOS: any text is either one token that reads back exactly, or refused as unquotable (never a second token or line)', () => {
    fc.assert(fc.property(anyText, (s) => {
      let q: string;
      try {
        q = fortiOsQuoted(s, 'computer');
      } catch (e) {
        assert.ok(e instanceof UnquotableValueError);
        // refused only for what no quoting carries: empty, too long, control characters, lone surrogates
        assert.ok(!s.length || s.length > 255 || CONTROL.test(s) || LONE_SURROGATE.test(s), JSON.stringify(s));
        return;
      }
      assert.ok(!CONTROL.test(q));
      assert.deepEqual(tokenizeFortiOs(`set comment ${q}`), ['set', 'comment', s]);
    }), { numRuns: 3000 });
    assert.equal(fortiOsQuoted('a"b\\c', 'x'), '"a\\"b\\\\c"');
  });

  it('PAN-OS: any text is either one double-quoted token that reads back exactly, or refused', () => {
    fc.assert(fc.property(anyText, (s) => {
      let q: string;
      try {
        q = panOsQuoted(s, 'computer');
      } catch (e) {
        assert.ok(e instanceof UnquotableValueError);
        return;
      }
      assert.ok(!CONTROL.test(q) && !/["\\]/.test(s));
      assert.deepEqual(tokenizePanOs(`request x computer ${q} reason force-logout`), ['request', 'x', 'computer', s, 'reason', 'force-logout']);
    }), { numRuns: 3000 });
    assert.throws(() => panOsQuoted('Lab "7"', 'computer'), /computer: contains a double quote or a backslash/);
    assert.equal(panOsQuoted("Adele's MacBook Pro", 'computer'), `"Adele's MacBook Pro"`);
  });

  it('user names are matched, not shape-checked: apostrophes, DOMAIN\\user and non-ASCII pass; control characters do not', () => {
    for (const u of ["o'brien@contoso.com", 'CONTOSO\\adele.vance', 'Zoë.Æsir@contoso.com', 'adele vance']) assert.equal(parseVpnUser(u), u);
    assert.throws(() => parseVpnUser('adele\nx'), /user: not a usable user name \(contains a control character/);
    assert.throws(() => parseVpnUser(' '), /not a usable user name \(empty\)/);
  });
});
