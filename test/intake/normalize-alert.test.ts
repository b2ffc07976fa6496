import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalizeAlertBody, AlertValidationError } from '../../src/intake/normalize-alert';

const fixture = (p: string) => JSON.parse(readFileSync(`test/fixtures/${p}`, 'utf8'));

describe('alert normalisation', () => {
  it('takes an alerts_v2 alert: tenant, subject, IPs with verdicts and roles', () => {
    const [a] = normalizeAlertBody(fixture('graph/alert-impossible-travel.json'));
    assert.equal(a.tenantId, '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d');
    assert.equal(a.users[0].upn, 'adele.vance@contoso.com');
    assert.equal(a.users[0].objectId, '5b2c7d1e-8f3a-4b6c-9d0e-1f2a3b4c5d6e');
    assert.equal(a.severity, 'high');
    assert.deepEqual(a.ips.map((i) => [i.ip, i.verdict, i.roles]), [['198.51.100.23', 'unknown', []], ['203.0.113.7', 'malicious', ['attacker']]]);
    assert.match(a.alertWebUrl ?? '', /^https:\/\/security\.microsoft\.com\/alerts\//);
  });

  it('takes {"value": [...]} and names the failing element', () => {
    const good = fixture('graph/alert-impossible-travel.json');
    assert.equal(normalizeAlertBody({ value: [good, { ...good, id: 'second' }] }).length, 2);
    assert.throws(() => normalizeAlertBody({ value: [good, { ...good, tenantId: 'nope' }] }), (e: AlertValidationError) => e.field === 'value.1.tenantId');
  });

  it('tolerates unknown enum members and evidence types, and lists what it ignored', () => {
    const [a] = normalizeAlertBody(fixture('graph/alert-unknown-members.json'));
    assert.equal(a.status, 'someFutureStatus');
    assert.equal(a.users[0].upn, 'adele.vance@contoso.com', 'the mailbox owner is the subject when no userEvidence');
    assert.ok(a.ignoredEvidence.some((i) => i.type === 'quantumEntanglementEvidence'));
  });

  it('maps an unknown severity to unknown rather than failing', () => {
    const [a] = normalizeAlertBody({ ...fixture('graph/alert-impossible-travel.json'), severity: 'catastrophic' });
    assert.equal(a.severity, 'unknown');
  });

  it('takes the SecurityAlert body a Sentinel playbook posts (Entities as a JSON string)', () => {
    const [a] = normalizeAlertBody(fixture('intake/sentinel-security-alert.json'));
    assert.equal(a.id, '4f7c2a1e-9b3d-4e8a-a1c2-6d5e4f3a2b1c');
    assert.equal(a.users[0].upn, 'adele.vance@contoso.com');
    assert.equal(a.ips[0].ip, '203.0.113.7');
    assert.equal(a.ips[0].countryLetterCode, 'SG');
    assert.equal(a.severity, 'high');
    assert.ok(a.ignoredEvidence.some((i) => /cloud-application/.test(i.type)));
  });

  it('refuses an alert that names no account, saying so', () => {
    const al = fixture('graph/alert-impossible-travel.json');
    al.evidence = al.evidence.filter((e: { '@odata.type': string }) => !e['@odata.type'].endsWith('userEvidence'));
    assert.throws(() => normalizeAlertBody(al), (e: AlertValidationError) => e.field === 'evidence' && /no userEvidence/.test(e.message));
  });

  it('refuses wrong types and names the field', () => {
    const al = fixture('graph/alert-impossible-travel.json');
    assert.throws(() => normalizeAlertBody({ ...al, evidence: 'lots' }), (e: AlertValidationError) => e.field === 'evidence');
    assert.throws(() => normalizeAlertBody({ ...al, createdDateTime: 'yesterday' }), (e: AlertValidationError) => e.field === 'createdDateTime');
    assert.throws(() => normalizeAlertBody({ ...al, id: 'a b\nc' }), (e: AlertValidationError) => e.field === 'id');
    assert.throws(() => normalizeAlertBody([al]), (e: AlertValidationError) => e.field === '(body)');
  });

  it('keeps hostile strings inert and bounded; hostile UPNs and IPs never pass', () => {
    const al = fixture('graph/alert-impossible-travel.json');
    al.title = `\${jndi:x} [click](https://evil.example) <at>Alex</at>\nline2 ${'A'.repeat(10_000)}`;
    al.alertWebUrl = 'javascript:alert(1)';
    al.evidence.push({ '@odata.type': '#microsoft.graph.security.ipEvidence', ipAddress: '1.2.3.4; rm -rf /', roles: ['attacker'] });
    al.evidence.push({ '@odata.type': '#microsoft.graph.security.userEvidence', roles: [], userAccount: { userPrincipalName: "x'@evil.com\nset admin" } });
    const [a] = normalizeAlertBody(al);
    assert.ok(a.title.length <= 300);
    assert.ok(!a.title.includes('\n'));
    assert.equal(a.alertWebUrl, null);
    assert.deepEqual(a.ips.map((i) => i.ip), ['198.51.100.23', '203.0.113.7']);
    assert.equal(a.users.length, 1);
    assert.equal(a.ignoredEvidence.filter((i) => /not an IPv4|not a user principal/.test(i.reason)).length, 2);
  });

  it('refuses a 10,000-character UPN as the only account', () => {
    const al = fixture('graph/alert-impossible-travel.json');
    al.evidence[0].userAccount.userPrincipalName = `${'a'.repeat(10_000)}@contoso.com`;
    assert.throws(() => normalizeAlertBody(al), (e: AlertValidationError) => e.field === 'evidence');
  });
});
