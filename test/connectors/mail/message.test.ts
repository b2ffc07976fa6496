import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInputError } from '../../../src/domain/net';
import { MAIL_LIMITS, parseEmailAddress, parseSubject, validateOutgoingMail } from '../../../src/connectors/mail/message';

describe('OutgoingMail validation', () => {
  it('normalises and de-duplicates recipients; an address in To and Cc stays in To', () => {
    const m = validateOutgoingMail({
      subject: '  Contained  ', bodyText: 'x', to: ['CISO@Contoso.COM', 'ciso@contoso.com'], cc: ['ciso@CONTOSO.com', "o'brien+ir@contoso.com"],
    });
    assert.deepEqual(m.to, ['CISO@contoso.com']);
    assert.deepEqual(m.cc, ["o'brien+ir@contoso.com"]);
    assert.equal(m.subject, 'Contained');
  });

  it('accepts plain addresses and refuses anything that needs quoting or could split a header', () => {
    for (const ok of ['a@b.co', 'first.last@sub.contoso.com', 'x_y-z+tag@xn--bcher-kva.example']) assert.equal(parseEmailAddress(ok, 'to'), ok);
    for (const bad of ['', 'a', '@b.co', 'a@b', 'a..b@b.co', '.a@b.co', 'a@-b.co', 'a@b.c', 'a b@b.co', 'a@b.co\n', 'a@b.co>', 'ü@b.co', `${'a'.repeat(65)}@b.co`]) {
      assert.throws(() => parseEmailAddress(bad, 'to'), InvalidInputError, JSON.stringify(bad));
    }
  });

  it('refuses every subject that carries a CR or LF anywhere (property)', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('\r', '\n', '\r\n'), fc.string(), (a, br, b) => {
      assert.throws(() => parseSubject(`${a}${br}${b}`), /line break|control character/);
    }));
  });

  it('refuses other header breakers: NUL, U+2028, U+0085', () => {
    for (const s of ['a\u0000b', 'a\u2028b', 'a\u0085b', '\t']) assert.throws(() => parseSubject(s), InvalidInputError);
    assert.throws(() => parseSubject('x'.repeat(MAIL_LIMITS.subjectChars + 1)), /longer than 255/);
  });

  it('refuses attachment names with line breaks or paths, and bad MIME types', () => {
    const base = { subject: 's', bodyText: 'b', to: ['a@b.co'] };
    const att = (filename: string, contentType = 'text/markdown') => ({ ...base, attachments: [{ filename, contentType, content: Buffer.from('x') }] });
    assert.throws(() => validateOutgoingMail(att('r.md\r\nX-Evil: 1')), /attachments\[0\]\.filename/);
    assert.throws(() => validateOutgoingMail(att('../r.md')), /attachments\[0\]\.filename/);
    assert.throws(() => validateOutgoingMail(att('r.md', 'text/markdown\r\nX: y')), /attachments\[0\]\.contentType/);
    assert.equal(validateOutgoingMail(att('IR-1 report.md')).attachments[0].filename, 'IR-1 report.md');
  });

  it('needs at least one To recipient, and bounds the total', () => {
    assert.throws(() => validateOutgoingMail({ subject: 's', bodyText: 'b', to: [] }), /at least one recipient/);
    const many = Array.from({ length: MAIL_LIMITS.recipients + 1 }, (_, i) => `u${i}@contoso.com`);
    assert.throws(() => validateOutgoingMail({ subject: 's', bodyText: 'b', to: many }), /more than 100 recipients/);
  });
});
