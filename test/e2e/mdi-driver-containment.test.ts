import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { readFindings } from '../../src/domain/incident-findings';
import { findUser } from '../../src/sandbox/graph/state';
import { startSandboxApp } from '../support/sandbox-app';
import { cardText, startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { cardActionInvoke, postActivity } from '../support/bot-invoke';
import { waitFor } from '../support/bot-world';

/**
 * Issue 11 part 3 end to end: Contoso's domain reached through Defender for Identity
 * (SANDBOX_AD_DRIVER=mdi: the customers file says `activeDirectory.driver: mdi`, no DC). The same
 * pass-the-ticket alert on the synced Domain Admin, one Approve click: the account is disabled
 * and its password reset forced through identityAccounts/invokeAction (the reset first), its Entra
 * sessions are revoked, and neither Graph's user PATCH nor any LDAP is used.
 */
describe('issue 11 end to end, mdi driver: MDI alert on a synced Domain Admin, contained through Defender for Identity after one approval', function () {
  this.timeout(240_000);
  let connector: RecordedConnector;
  let app: Awaited<ReturnType<typeof startSandboxApp>>;

  before(async () => {
    connector = await startRecordedConnector();
    app = await startSandboxApp({ playground: false, env: { SANDBOX_AD_DRIVER: 'mdi' } });
    await app.store.putRef('teams:channel', connector.channelRef());
  });
  after(async () => {
    await app?.dispose();
    await connector?.close();
  });

  it('sends forcePasswordReset then disable through invokeAction, revokes the Entra sessions, after one Approve; the card says how', async () => {
    assert.equal(app.sandbox!.samba, undefined, 'no DC in the mdi sandbox');
    const contoso = app.sandbox!.customers.customers.find((c) => c.id === CONTOSO.customerId)!;
    assert.equal(contoso.activeDirectory?.driver, 'mdi');
    const graph = app.sandbox!.graph.state;
    const tenant = graph.tenants.get(CONTOSO.tenantId.toLowerCase())!;
    const identity = [...tenant.identityAccounts!.values()][0];
    assert.equal(identity.isEnabled, true);

    const { sid } = JSON.parse(readFileSync(join(app.dir, 'sandbox', 'samba', 'adm-avance.json'), 'utf8')) as { sid: string };
    assert.equal(sid, identity.onPremisesSecurityIdentifier);
    const raw = JSON.parse(readFileSync('test/fixtures/graph/alert-mdi-domain-admin.json', 'utf8')) as Record<string, unknown>;
    const evidence = (raw.evidence as Array<Record<string, unknown>>).map((e) => (e.userAccount ? { ...e, userAccount: { ...(e.userAccount as object), userSid: sid } } : e));
    const id = `dm${Date.now()}_${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    const at = (min: number) => new Date(now - min * 60_000).toISOString();
    const fired = await app.fireAlert({
      ...raw, evidence, id, providerAlertId: id,
      createdDateTime: at(2), lastUpdateDateTime: at(1), firstActivityDateTime: at(55), lastActivityDateTime: at(5),
    });
    assert.equal(fired.status, 202, JSON.stringify(fired.body));
    const incidentId = fired.body.incidentId;
    const entraUser = findUser(tenant, CONTOSO.admAvance.upn)!;

    const stepId = `${incidentId}:entra-contain`;
    const approval = await waitFor('the identity containment approval', async () =>
      (await app.store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === stepId), 120_000);
    const posted = await waitFor('the identity approval card posted', async () => {
      const v = await app.store.getState(`teams:approval:${approval.id}`);
      return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
    }, 60_000);
    const card = cardText(connector.messages.get(posted.activityId)?.activity);
    assert.match(card, /Force a password reset in AD through Microsoft Defender for Identity/, card);
    assert.match(card, /Disable in AD — Through Defender for Identity .*invokeAction disable, activeDirectory/, card);
    assert.match(card, /Revoke the Entra sign-in sessions and refresh tokens of adm-avance@contoso\.com/, card);
    assert.match(card, /the old password is not replaced/, card);
    assert.equal(identity.actionsTaken.length, 0, 'nothing is done before the approval');

    const reply = await postActivity(app.port, cardActionInvoke({
      verb: 'ir.approve', data: { approvalId: approval.id }, from: PLAYGROUND_USERS.alex,
      serviceUrl: connector.serviceUrl, conversationId: posted.conversationId, replyToId: posted.activityId,
    }));
    assert.equal(reply.status, 200);
    const action = await waitFor('the identity containment to finish', async () => {
      const a = await app.store.getAction(stepId);
      return a && ['succeeded', 'failed'].includes(a.status) ? a : undefined;
    }, 120_000);
    assert.equal(action.status, 'succeeded', JSON.stringify(action));
    assert.equal((await app.store.listApprovals({ incidentId })).filter((a) => a.actionId === stepId).length, 1, 'one approval asked for and given');

    // Defender for Identity: the reset first, then the disable, each once, at the AD account
    assert.deepEqual(identity.actionsTaken.map((a) => `${a.action}@${a.identityProvider}`), ['forcePasswordReset@activeDirectory', 'disable@activeDirectory']);
    assert.equal(identity.isEnabled, false);
    assert.equal(identity.mustChangePassword, true);
    const findings = readFindings((await app.store.getIncident(incidentId))!.data);
    assert.equal(findings.subjectPlacement, 'synced');
    for (const step of ['adDisable', 'adResetPassword', 'revokeSessions']) {
      assert.ok(findings.entraChanges?.some((c) => c.step === step && c.changed), `${step} changed: ${JSON.stringify(findings.entraChanges)}`);
    }
    // Entra: sessions revoked through Entra's own API; never a PATCH of the synced user
    assert.ok(graph.revocations.some((r) => r.tenantId === CONTOSO.tenantId && r.userId === entraUser.id), 'revokeSignInSessions recorded');
    const patches = graph.requests.filter((r) => r.method === 'PATCH' && r.path.toLowerCase().includes('/users/'));
    assert.deepEqual(patches.map((p) => p.path), [], 'Graph never got a PATCH of a user');
    const invokes = graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/invokeAction'));
    assert.deepEqual(invokes.map((r) => r.status), [200, 200]);
  });
});
