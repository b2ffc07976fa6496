import assert from 'node:assert/strict';
import { wiredPorts } from '../../../src/connectors/radius/actions';
import type { AccountingReport, AccountingSession } from '../../../src/connectors/radius/accounting/accounting-session';

const session = (over: Partial<AccountingSession>): AccountingSession => ({ userName: 'adele@contoso.com', acctSessionId: 'S-1', inputOctets: 0, outputOctets: 0, active: true, ...over });
const report = (sessions: AccountingSession[]): AccountingReport => ({ user: 'adele@contoso.com', from: '2026-11-26T00:00:00Z', to: '2026-11-27T00:00:00Z', sessions, active: sessions.filter((s) => s.active) });

describe('radius.accounting: the sessions that name a switch port (input of switch.portFacts)', () => {
  it('keeps sessions with a NAS-IP-Address, a NAS-Port-Id and a Calling-Station-Id; one row per port and client', () => {
    const rows = wiredPorts(report([
      session({ acctSessionId: 'S-2', nasIp: '10.0.0.2', nasPortId: 'GigabitEthernet1/0/12', callingStationId: '3C-22-FB-12-34-56' }),
      // the same session's Interim-Update/Stop, or an earlier one on the same port: read once
      session({ acctSessionId: 'S-1', nasIp: '10.0.0.2', nasPortId: 'GigabitEthernet1/0/12', callingStationId: '3C-22-FB-12-34-56', active: false }),
      // a VPN session names no port
      session({ acctSessionId: 'S-3', nasIp: '10.0.0.9', callingStationId: '203.0.113.7' }),
      session({ acctSessionId: 'S-4', nasIp: '10.0.0.2', nasPortId: 'GigabitEthernet1/0/13' }),
    ]));
    assert.deepEqual(rows, [{ nasIp: '10.0.0.2', nasPortId: 'GigabitEthernet1/0/12', callingStationId: '3C-22-FB-12-34-56', username: 'adele@contoso.com', acctSessionId: 'S-2' }]);
  });

  it('gives at most 50 rows (what switch.portFacts takes)', () => {
    const many = Array.from({ length: 60 }, (_, i) => session({ acctSessionId: `S-${i}`, nasIp: '10.0.0.2', nasPortId: `GigabitEthernet1/0/${i + 1}`, callingStationId: '3C-22-FB-12-34-56' }));
    const rows = wiredPorts(report(many));
    assert.equal(rows.length, 50);
    assert.equal(rows[0].nasPortId, 'GigabitEthernet1/0/1');
  });

  it('is empty when no session names a port (the switch step is then skipped as empty)', () => {
    assert.deepEqual(wiredPorts(report([session({ nasIp: '10.0.0.9', callingStationId: '203.0.113.7' })])), []);
  });
});
