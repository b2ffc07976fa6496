import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseApiGlobalProtectUsers, parseApiResponse, parseApiSessions, parseCommitJob, parseGroupMembers, parseJob, PanOsApiResponseError, showsAddress,
} from '../../../src/connectors/paloalto/panos-api-parse';

// Real answers (sources in test/fixtures/panos/SOURCES.md).
const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/panos', name), 'utf8');

describe('PAN-OS XML API answers (real captures and documented examples)', () => {
  it("reads Palo Alto's documented GlobalProtect user, computer `Dan’s iPhone` exactly", () => {
    const [s] = parseApiGlobalProtectUsers(parseApiResponse(fixture('gp-current-user-doc.xml')), 'pa-1', 'Home-N');
    assert.deepEqual(s, {
      firewallId: 'pa-1', kind: 'globalprotect', user: 'dward', sourceIp: '166.173.63.240', tunnelIp: '192.168.2.1',
      durationSeconds: null, bytesIn: null, bytesOut: null,
      handle: { gateway: 'Home-N', computer: 'Dan’s iPhone', domain: undefined },
      loginTime: '2015-01-22T08:50:36.000Z',
    });
  });

  it('reads an IPsec user of a domain (username without the domain, :: as no address)', () => {
    const [s] = parseApiGlobalProtectUsers(parseApiResponse(fixture('gp-current-user-ipsec.xml')), 'pa-1', undefined);
    assert.deepEqual([s.user, s.handle.domain, s.handle.computer, s.sourceIp, s.tunnelIp], ['vpntest1', 'calab.forescout.com', 'EP-S10-W7-1', '10.100.3.126', '10.100.76.15']);
  });

  it('turns status="error" into its message, CDATA included', () => {
    assert.throws(() => parseApiResponse(fixture('op-error-cdata.xml')), (e: unknown) =>
      e instanceof PanOsApiResponseError && e.code === '17' && e.message === 'show -> global-protect-gateway -> current-user -> user is invalid');
  });

  it('refuses what is not a PAN-OS answer: HTML, a DOCTYPE, truncated XML', () => {
    assert.throws(() => parseApiResponse('<html><body>502 Bad Gateway</body></html>'), /not a PAN-OS API answer: root element <html>/);
    assert.throws(() => parseApiResponse('<!DOCTYPE x [<!ENTITY a "b">]><response status="success"/>'), /not an XML answer/);
    assert.throws(() => parseApiResponse('<response status="success"><result><entry>'), /not an XML answer \(unclosed <entry>\)/);
    assert.throws(() => parseApiResponse('<response status="unauth"><msg>x</msg></response>'), /status "unauth": x/);
  });

  it('reads the session table entry', () => {
    const [s] = parseApiSessions(parseApiResponse(fixture('session-all.xml')), 'pa-1');
    assert.deepEqual(s, {
      firewallId: 'pa-1', id: '20', proto: 'icmp', src: '10.10.11.2', srcPort: 32336, dst: '8.8.8.8', dstPort: 3,
      durationSeconds: null, bytesOriginal: null, bytesReply: null, application: 'ping', state: 'ACTIVE',
    });
  });

  it('reads commit enqueue, no-changes, and the job states', () => {
    assert.equal(parseCommitJob(parseApiResponse(fixture('commit-enqueued.xml'))), '2');
    assert.equal(parseCommitJob(parseApiResponse(fixture('commit-no-changes.xml'))), null);
    assert.deepEqual(parseJob(parseApiResponse(fixture('job-active.xml'))), { id: '2', status: 'ACT', result: 'PEND', progress: 75, details: [] });
    assert.deepEqual(parseJob(parseApiResponse(fixture('job-fin-ok.xml'))), { id: '2', status: 'FIN', result: 'OK', progress: 100, details: ['Configuration committed successfully'] });
    const fail = parseJob(parseApiResponse(fixture('job-fin-fail.xml')));
    assert.equal(fail.result, 'FAIL');
    assert.deepEqual(fail.details.slice(0, 2), ['Validation Error:', 'address -> address-3 Node ip-netmask(line 30226) and ip-range(line 30227) are mutually exclusive']);
  });

  it('reads a config entry by name, and an entry without members as an empty group', () => {
    const r = parseApiResponse(fixture('config-get-entry-empty.xml'));
    assert.equal(showsAddress(r, 'Blocked_Users'), true);
    assert.equal(showsAddress(r, 'Other'), false);
    assert.deepEqual(parseGroupMembers(r, 'Blocked_Users'), []);
    assert.equal(parseGroupMembers(parseApiResponse('<response status="success" code="7"><result/></response>'), 'IR-Block'), undefined);
  });
});
