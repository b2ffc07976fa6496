import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
