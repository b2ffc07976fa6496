import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withoutAuthenticators } from '../../../src/connectors/radius/coa/packet-evidence';
import { parseRadclientOutput, radclientCommand, type RadclientPacket } from '../../../src/connectors/radius/coa/radclient-disconnect';

// Captured from radclient 3.2.1 (`-F -x -p 32 -r 2`) against FreeRADIUS and against a silent port.
const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/radius', name), 'utf8');

const packets: RadclientPacket[] = [
  { key: 'a', lines: ['User-Name = "adele.vance@contoso.com"', 'Acct-Session-Id = "S-1001"', 'NAS-IP-Address = 127.0.0.1'] },
  { key: 'b', lines: ['User-Name = "adele.vance@contoso.com"', 'Acct-Session-Id = "S-9999"'] },
];

describe('radclient output', () => {
  it('reads a Disconnect-ACK and a Disconnect-NAK with its Error-Cause', () => {
    assert.deepEqual(parseRadclientOutput(fixture('radclient-ack-nak.txt'), packets), [
      { key: 'a', outcome: 'ack', transmissions: 1, identifier: 107 },
      { key: 'b', outcome: 'nak', transmissions: 1, identifier: 28, errorCause: { code: 503, text: 'Session Context Not Found' } },
    ]);
  });

  it('counts retransmissions (same Id) and reads "No reply from server"', () => {
    assert.deepEqual(parseRadclientOutput(fixture('radclient-no-reply.txt'), packets), [
      { key: 'a', outcome: 'no-answer', transmissions: 2, identifier: 126 },
      { key: 'b', outcome: 'no-answer', transmissions: 2, identifier: 191 },
    ]);
  });

  it('builds a command with no secret in it, and refuses a host that is not a host', () => {
    const cmd = radclientCommand({ host: '2001:db8::1', port: 3799 }, { timeoutMs: 2500, retries: 2, parallel: 8 });
    assert.match(cmd, /radclient -F -x -p 8 -r 3 -t 2\.500 -S "\$f" '\[2001:db8::1\]:3799' disconnect$/);
    assert.match(cmd, /^umask 077; f=\$\(mktemp\)/);
    assert.throws(() => radclientCommand({ host: '127.0.0.1;reboot', port: 3799 }, { timeoutMs: 1000, retries: 0, parallel: 1 }), /not a host name/);
  });

  it('keeps radclient output as evidence without authenticators or packet octets, still readable', () => {
    const plain = fixture('radclient-ack-nak.txt');
    assert.equal(withoutAuthenticators(plain), plain, 'radclient -x output has nothing to remove');
    // what a more verbose radclient prints: authenticators, a Message-Authenticator and hex dumps
    const verbose = plain.replace('\tAcct-Session-Id = "S-9999"\n', [
      '\tAcct-Session-Id = "S-9999"',
      '\tMessage-Authenticator = 0x6a1b2c3d4e5f60718293a4b5c6d7e8f9',
      '  Authenticator field: 9b1c7e0d2f4a6b8c1d3e5f7a9b0c2d4e',
      '  0000: 28 1c 00 35 9b 1c 7e 0d 2f 4a 6b 8c 1d 3e 5f 7a',
      '',
    ].join('\n'));
    const kept = withoutAuthenticators(verbose);
    assert.ok(!/[0-9a-f]{32}/i.test(kept), kept);
    assert.ok(!kept.includes('28 1c 00 35'));
    assert.match(kept, /Message-Authenticator = \(not kept: derived from the shared secret\)/);
    assert.deepEqual(parseRadclientOutput(kept, packets), parseRadclientOutput(plain, packets));
  });
});
