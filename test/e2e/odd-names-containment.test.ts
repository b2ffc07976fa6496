import assert from 'node:assert/strict';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { findUser } from '../../src/sandbox/graph/state';
import { startSandboxApp } from '../support/sandbox-app';
import { cardText, startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { cardActionInvoke, postActivity } from '../support/bot-invoke';
import { waitFor } from '../support/bot-world';

/**
 * Issue 9, findings 6 and 8 at the HTTP edge: an alert about `o'brien@contoso.com` (an apostrophe
 * is a valid UPN; the FortiGate lists her as `CONTOSO\o'brien`), whose evidence also names the
 * customer's own egress address in IPv4-mapped IPv6 form. Through /api/alerts and an Approve click
 * on /api/messages, the attacker's IP ends up blocked on the FortiGate emulator, her SSL-VPN tunnel
 * is cut, and the egress address is excluded and shown as the IPv4 it is.
 */
describe("bot HTTP edge: containment of a user with an apostrophe, egress in IPv6 clothing", function () {
  this.timeout(120_000);
  let connector: RecordedConnector;
  let app: Awaited<ReturnType<typeof startSandboxApp>>;
  const obrien = { id: '7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d', upn: "o'brien@contoso.com" };

  before(async () => {
    connector = await startRecordedConnector();
    app = await startSandboxApp({ playground: false, env: { IR_MODE: 'sandbox' } });
    await app.store.putRef('teams:channel', connector.channelRef());
    // Sinéad O'Brien exists in Contoso's directory and is on the SSL-VPN as CONTOSO\o'brien.
    const tenant = app.sandbox!.graph.state.tenants.get(CONTOSO.tenantId)!;
    const adele = findUser(tenant, CONTOSO.adele.upn)!;
    tenant.users.set(obrien.id, { ...structuredClone(adele), id: obrien.id, userPrincipalName: obrien.upn, mail: obrien.upn, displayName: "Sinéad O'Brien", roles: [], groups: [] });
    app.sandbox!.fortigate.state.sslvpn.tunnels.push({ index: 9, user: "CONTOSO\\o'brien", group: 'SSLVPN-Users', sourceIp: CONTOSO.attackerIp, duration: 300, bytesIn: 1000, bytesOut: 2000, tunnelIp: '10.212.134.209' });
  });

  after(async () => {
    await app?.dispose();
    await connector?.close();
  });

  it('blocks the attacker IP and cuts the VPN tunnel after one Approve click; the egress IP is excluded and shown as IPv4', async () => {
    const fired = await app.fireAlert({
      evidence: [
        {
          '@odata.type': '#microsoft.graph.security.userEvidence', verdict: 'suspicious', roles: ['compromised'],
          userAccount: { accountName: "o'brien", azureAdUserId: obrien.id, displayName: "Sinéad O'Brien", domainName: 'contoso.com', userPrincipalName: obrien.upn },
        },
        // 198.51.100.7 (Contoso's own egress) in IPv4-mapped hex form, claimed to be the attacker
        { '@odata.type': '#microsoft.graph.security.ipEvidence', verdict: 'malicious', roles: ['attacker'], ipAddress: '::ffff:c633:6407', countryLetterCode: 'PT' },
        { '@odata.type': '#microsoft.graph.security.ipEvidence', verdict: 'malicious', roles: ['attacker'], ipAddress: CONTOSO.attackerIp, countryLetterCode: 'SG' },
      ],
    });
    assert.equal(fired.status, 202);
    const incidentId = fired.body.incidentId;

    const approval = await waitFor('the firewall approval', async () =>
      (await app.store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:firewall-block`), 60_000);
    const posted = await waitFor('the firewall approval card posted', async () => {
      const v = await app.store.getState(`teams:approval:${approval.id}`);
      return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
    });
    const cardBefore = cardText(connector.messages.get(posted.activityId)?.activity);
    assert.match(cardBefore, /IR-203\.0\.113\.7/);
    assert.match(cardBefore, /Cut the SSL-VPN tunnel of CONTOSO\\+o'brien/);
    // the timeline (what the status card and the report show) says why the egress address is not
    // blocked, naming it as IPv4; no card or timeline line shows the IPv6 form
    const selection = (await app.store.listTimeline(incidentId)).find((e) => e.kind === 'finding.ipSelection')!;
    assert.equal(selection.summary, 'Blocking proposed for 203.0.113.7; not blocking 198.51.100.7 (inside Contoso egress 198.51.100.0/24)');
    const allCards = [...connector.messages.values()].map((m) => cardText(m.activity)).join('\n---\n');
    assert.doesNotMatch(allCards, /ffff|c633/i, 'no card shows the IPv6 form');
    assert.doesNotMatch(cardBefore, /IR-198\.51\.100\.7/, 'the egress address is not proposed for blocking');

    const reply = await postActivity(app.port, cardActionInvoke({
      verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex,
      serviceUrl: connector.serviceUrl, conversationId: posted.conversationId, replyToId: posted.activityId,
    }));
    assert.equal(reply.status, 200);

    await waitFor('firewall-block to finish', async () => {
      const a = await app.store.getAction(`${incidentId}:firewall-block`);
      return a && ['succeeded', 'failed'].includes(a.status) ? a : undefined;
    }, 60_000);
    const action = (await app.store.getAction(`${incidentId}:firewall-block`))!;
    assert.equal(action.status, 'succeeded', JSON.stringify(action));
    const fgt = app.sandbox!.fortigate.state;
    assert.ok(fgt.addrgrp.get('IR-Block')!.member.includes(`IR-${CONTOSO.attackerIp}`), 'the attacker IP is blocked on the FortiGate');
    assert.ok(!fgt.address.has('IR-198.51.100.7'), "Contoso's own egress is never blocked");
    assert.deepEqual(fgt.sslvpn.tunnels.filter((t) => t.user.includes('brien')), [], "CONTOSO\\o'brien's tunnel is cut");
    const feed = (await app.store.listFeed('contoso', new Date())).map((e) => e.ip);
    assert.ok(feed.includes(CONTOSO.attackerIp), `the attacker IP is on the threat feed: ${feed.join(', ')}`);
    assert.ok(!feed.some((ip) => /198\.51\.100\.7|ffff/.test(ip)), `the egress address is not on the feed: ${feed.join(', ')}`);
  });
});
