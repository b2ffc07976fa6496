import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeErrorCause, errorCauseFromName } from '../../../../src/connectors/radius/coa/error-cause';

// The VALUE lines as FreeRADIUS ships them (source in the fixture's header): radclient prints these names.
const DICTIONARY = readFileSync(join(__dirname, '../../../fixtures/radius/dictionary.error-cause'), 'utf8');
const VALUES = DICTIONARY.split('\n').map((l) => /^VALUE\s+Error-Cause\s+(\S+)\s+(\d+)\s*$/.exec(l)).filter((m): m is RegExpExecArray => !!m)
  .map((m) => ({ name: m[1], code: Number(m[2]) }));

describe('Error-Cause names (FreeRADIUS dictionaries)', () => {
  it('reads all 17 values from the dictionary fixture', () => {
    assert.equal(VALUES.length, 17);
  });

  it('maps every FreeRADIUS name back to its code, whatever the case', () => {
    for (const { name, code } of VALUES) {
      assert.equal(errorCauseFromName(name)?.code, code, name);
      assert.equal(errorCauseFromName(name.toUpperCase())?.code, code, name);
    }
  });

  it('records 502 and 505 under the names radclient prints', () => {
    assert.deepEqual(errorCauseFromName('Proxy-Request-Not-Routable'), describeErrorCause(502));
    assert.deepEqual(errorCauseFromName('Proxy-Processing-Error'), describeErrorCause(505));
    assert.equal(errorCauseFromName('Request-Not-Routable'), undefined, 'the old, made-up name is not a dictionary name');
  });

  it('takes a bare number and says when a code is unknown', () => {
    assert.equal(errorCauseFromName('503')?.text, 'Session Context Not Found');
    assert.equal(describeErrorCause(999).text, 'Unknown Error-Cause 999');
    assert.equal(errorCauseFromName('No-Such-Cause'), undefined);
  });
});
