import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { activeDirectorySchema, type CustomerConfig } from '../../../src/config/customers';
import { createActiveDirectoryActions } from '../../../src/connectors/active-directory/actions';
import { MdiDirectoryService, parseIdentityAccount } from '../../../src/connectors/active-directory/mdi-driver';
import { GraphSession } from '../../../src/connectors/graph/graph-session';
import { ConnectorError, type ActionDef, type ActionResult, type Preview } from '../../../src/connectors/types';
import type { DisableOutcome, ResetOutcome } from '../../../src/connectors/active-directory/directory-service';
import type { EmulatorIdentityAccount, EmulatorTenant } from '../../../src/sandbox/graph/state';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { graphActionContext, graphSandboxCustomers } from '../../support/graph-sandbox';
import { createIdentityActions, type IdentityContainOutput } from '../../../src/connectors/identity/actions';
import { graphActions } from '../../../src/connectors/graph/actions';

/**
 * The Active Directory connector's `mdi` driver (Defender for Identity through Graph
 * identityAccounts/invokeAction) against the Graph emulator: the documented requests, the
 * re-read before each action, the retry after a crash, and the errors (403, 404, 400, 429).
 */
const SID = CONTOSO.admAvance.exampleSid;
const MDI = activeDirectorySchema.parse({ domains: [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }], driver: 'mdi' });

describe('Active Directory connector, mdi driver, against the Graph emulator', function () {
  this.timeout(30_000);
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  let customer: CustomerConfig;
  let tenant: EmulatorTenant;
  let identity: EmulatorIdentityAccount;
  const [lookup, disable, reset] = createActiveDirectoryActions() as [ActionDef<unknown, unknown>, ActionDef<unknown, DisableOutcome>, ActionDef<unknown, ResetOutcome>];
  const ctx = (extra: Parameters<typeof graphActionContext>[2] = {}) => graphActionContext(customer, env.secrets, extra);
  const mdiRequests = () => emu.state.requests.filter((r) => r.path.startsWith('/security/identities/'));
  const posts = () => mdiRequests().filter((r) => r.method === 'POST');

  beforeEach(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
    customer = { ...env.contoso, activeDirectory: MDI } as CustomerConfig;
    tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
    identity = [...tenant.identityAccounts!.values()][0];
  });
  afterEach(async () => { await emu.close(); });

  it('looks the account up by SID ($filter onPremisesSecurityIdentifier) and reads what Defender for Identity exposes', async () => {
    const r = await lookup.run({ sid: SID, domain: 'CONTOSO' }, ctx()) as ActionResult<{ enabled: boolean; via: string; sid: string; privilegedGroups: string[] }>;
    assert.equal(r.output.enabled, true);
    assert.equal(r.output.via, 'mdi');
    assert.equal(r.output.sid, SID);
    assert.deepEqual(mdiRequests().map((q) => `${q.method} ${q.path}`), [`GET /security/identities/identityAccounts?$filter=onPremisesSecurityIdentifier eq '${SID}'`]);
    assert.ok(r.raw.some((p) => p.source === 'ad.mdi'), 'the response is kept as evidence');
  });

  it('disables through invokeAction with the documented body, re-reads it, and does nothing on a second run', async () => {
    const p = await disable.preview!({ sid: SID }, ctx()) as Preview;
    assert.match(p.changes.join('\n'), /Through Defender for Identity .*invokeAction disable, activeDirectory/);
    const r = await disable.run({ sid: SID }, ctx());
    assert.equal(r.output.changed, true);
    assert.equal(identity.isEnabled, false);
    const ad = identity.accounts.find((a) => a.identityProvider === 'activeDirectory')!;
    assert.deepEqual(posts().map((q) => [q.path, q.body]), [[`/security/identities/identityAccounts/${identity.id}/invokeAction`, { accountId: ad.identifier, action: 'disable', identityProvider: 'activeDirectory' }]]);
    assert.ok(emu.state.requests.some((q) => q.method === 'GET' && q.path === `/security/identities/identityAccounts/${identity.id}`), 'read back by id');
    assert.match(r.summary, /disabled through Microsoft Defender for Identity/);

    const again = await disable.run({ sid: SID }, ctx({ mayHaveRun: true }));
    assert.equal(again.output.changed, false);
    assert.equal(identity.actionsTaken.length, 1, 'the disable was sent once');
    assert.match(again.summary, /already disabled/);
  });

  it('forces a password reset (no password is generated or sent) and says what it does not do', async () => {
    const p = await reset.preview!({ sid: SID }, ctx()) as Preview;
    assert.match(p.warnings.join('\n'), /does not replace the password/);
    const r = await reset.run({ sid: SID }, ctx());
    assert.equal(r.output.changed, true);
    assert.equal(identity.mustChangePassword, true);
    assert.deepEqual(posts().map((q) => (q.body as { action: string }).action), ['forcePasswordReset']);
    assert.deepEqual(Object.keys(posts()[0].body as object).sort(), ['accountId', 'action', 'identityProvider']);
    assert.match(r.summary, /must change the password at next logon/);
  });

  it('retry after a crash (mayHaveRun): reset before disable, so a disabled account means the reset went through and it is not sent again', async () => {
    // the first attempt: reset, then disable, then the crash before the outcome was recorded
    await reset.run({ sid: SID }, ctx());
    await disable.run({ sid: SID }, ctx());
    assert.deepEqual(identity.actionsTaken.map((a) => a.action), ['forcePasswordReset', 'disable']);
    const intentAt = new Date(Date.now() - 60_000);
    const r = await reset.run({ sid: SID }, ctx({ mayHaveRun: true, intentAt }));
    const d = await disable.run({ sid: SID }, ctx({ mayHaveRun: true, intentAt }));
    assert.equal(r.output.changed, false);
    assert.match(r.output.reason!, /already disabled.*reset is sent before the disable/);
    assert.equal(d.output.changed, false);
    assert.deepEqual(identity.actionsTaken.map((a) => a.action), ['forcePasswordReset', 'disable'], 'neither is sent twice');
  });

  it('retry after a crash between the reset and the disable: the reset is sent again (a state, nothing readable says it was set), the disable once', async () => {
    await reset.run({ sid: SID }, ctx());
    const r = await reset.run({ sid: SID }, ctx({ mayHaveRun: true }));
    assert.equal(r.output.changed, true);
    assert.match(r.output.note!, /sent again after an interrupted attempt/);
    const d = await disable.run({ sid: SID }, ctx({ mayHaveRun: true }));
    assert.equal(d.output.changed, true);
    assert.deepEqual(identity.actionsTaken.map((a) => a.action), ['forcePasswordReset', 'forcePasswordReset', 'disable']);
    assert.equal(identity.isEnabled, false);
  });

  it('identity.contain with an mdi customer: the reset before the disable; the retry after a crash sends neither again', async () => {
    const contain = createIdentityActions({ graph: graphActions }).find((d) => d.name === 'identity.contain')! as ActionDef<unknown, IdentityContainOutput>;
    const input = { placement: 'synced', upn: CONTOSO.admAvance.upn, sid: SID, domain: 'CONTOSO' };
    const first = await contain.run(input, ctx());
    assert.deepEqual(first.output.steps.slice(0, 2).map((x) => [x.step, x.changed]), [['adResetPassword', true], ['adDisable', true]]);
    assert.deepEqual(identity.actionsTaken.map((a) => a.action), ['forcePasswordReset', 'disable']);
    const retry = await contain.run(input, ctx({ mayHaveRun: true, intentAt: new Date(Date.now() - 60_000) }));
    assert.deepEqual(retry.output.steps.slice(0, 2).map((x) => [x.step, x.changed]), [['adResetPassword', false], ['adDisable', false]]);
    assert.deepEqual(identity.actionsTaken.map((a) => a.action), ['forcePasswordReset', 'disable'], 'nothing sent twice');
  });

  it('the Entra-side actions of the same API reach the emulated Entra user (revokeAllSessions, markUserAsCompromised)', async () => {
    const dir = MdiDirectoryService.open(ctx(), MDI as never);
    const ia = await dir.find({ sid: SID });
    const rev = await dir.invoke(ia, 'revokeAllSessions', 'entraID');
    const mark = await dir.invoke(ia, 'markUserAsCompromised', 'entraID');
    assert.equal(rev.identityProvider, 'entraID');
    assert.equal(mark.action, 'markUserAsCompromised');
    assert.ok(rev.correlationId);
    assert.ok(emu.state.revocations.some((x) => x.userId === CONTOSO.admAvance.objectId));
    assert.equal(tenant.riskyUsers.get(CONTOSO.admAvance.objectId)?.riskState, 'confirmedCompromised');
    // an action a provider cannot take is refused before any request
    const before = emu.state.requests.length;
    await assert.rejects(dir.invoke(ia, 'forcePasswordReset', 'entraID'), /cannot forcePasswordReset an account at entraID \(only at activeDirectory\): nothing was sent/);
    assert.equal(emu.state.requests.length, before);
  });

  it('403 when the app lacks SecurityIdentitiesActions.ReadWrite.All: the error names it and nothing changes', async () => {
    tenant.apps.get(CONTOSO.graphClientId)!.permissions.delete('SecurityIdentitiesActions.ReadWrite.All');
    await assert.rejects(disable.run({ sid: SID }, ctx()), (e: Error) => e instanceof ConnectorError && /needs the application permission SecurityIdentitiesActions\.ReadWrite\.All/.test(e.message) && !e.retryable);
    assert.equal(identity.isEnabled, true);
    assert.equal(identity.actionsTaken.length, 0);
  });

  it('403 on the read names SecurityIdentitiesAccount.Read.All, and no action is sent', async () => {
    tenant.apps.get(CONTOSO.graphClientId)!.permissions.delete('SecurityIdentitiesAccount.Read.All');
    await assert.rejects(disable.run({ sid: SID }, ctx()), /SecurityIdentitiesAccount\.Read\.All/);
    assert.equal(posts().length, 0);
  });

  it('404 for an unknown identity account id; a SID Defender for Identity does not know, or a name without a SID, gets a clear line and no action', async () => {
    const dir = MdiDirectoryService.open(ctx(), MDI as never);
    await assert.rejects(dir.get('00000000-0000-4000-8000-000000000000'), (e: Error) => e instanceof ConnectorError && e.opts.status === 404 && /identity account 00000000-0000-4000-8000-000000000000 was not found/.test(e.message));
    await assert.rejects(disable.run({ sid: 'S-1-5-21-1-2-3-4242' }, ctx()), /no identity account with SID S-1-5-21-1-2-3-4242.*nothing was changed/);
    await assert.rejects(disable.run({ samAccountName: 'adm-avance' }, ctx()), /finds accounts by SID only/);
    await assert.rejects(disable.run({ sid: 'S-1-5-21-1-2-3-4242', domain: 'EVIL' }, ctx()), /not one of .*Active Directory domains/);
    assert.equal(posts().length, 0);
    assert.equal(identity.isEnabled, true);
  });

  it("another tenant's token sees none of Contoso's identities (Fabrikam with an mdi section finds nothing, changes nothing)", async () => {
    const fab = { ...env.fabrikam, activeDirectory: MDI } as CustomerConfig;
    await assert.rejects(disable.run({ sid: SID }, graphActionContext(fab, env.secrets)), /no identity account with SID/);
    assert.equal(identity.isEnabled, true);
    assert.equal(posts().length, 0);
  });

  it('the emulator answers 404 for an unknown id and 400 for an unknown action or a provider the action does not support', async () => {
    const s = new GraphSession(customer, env.secrets);
    const ad = identity.accounts.find((a) => a.identityProvider === 'activeDirectory')!;
    const post = (id: string, body: unknown) => s.call('POST', `/v1.0/security/identities/identityAccounts/${id}/invokeAction`, { source: 't', op: { does: 'test', permissions: ['SecurityIdentitiesActions.ReadWrite.All'] }, body });
    await assert.rejects(post('nope', { accountId: ad.identifier, action: 'disable', identityProvider: 'activeDirectory' }), (e: Error) => (e as ConnectorError).opts.status === 404);
    await assert.rejects(post(identity.id, { accountId: ad.identifier, action: 'wipe', identityProvider: 'activeDirectory' }), /400 BadRequest: "The value 'wipe' is not a valid microsoft\.graph\.security\.action/);
    await assert.rejects(post(identity.id, { accountId: ad.identifier, action: 'revokeAllSessions', identityProvider: 'activeDirectory' }), /not supported for identity provider 'activeDirectory'/);
    await assert.rejects(post(identity.id, { action: 'disable', identityProvider: 'activeDirectory' }), /'accountId' is required/);
    assert.equal(identity.actionsTaken.length, 0);
    assert.equal(identity.isEnabled, true);
  });

  it('429 with Retry-After: retried after the pause and sent through once; still throttled after the retries, a retryable error that names Retry-After', async () => {
    emu.injectFault('POST /security/identities/identityAccounts/*/invokeAction', { status: 429, retryAfterSeconds: 1, times: 1 });
    const r = await disable.run({ sid: SID }, ctx());
    assert.equal(r.output.changed, true);
    assert.deepEqual(posts().map((q) => q.status), [429, 200]);
    assert.equal(identity.actionsTaken.length, 1);

    emu.injectFault('POST /security/identities/identityAccounts/*/invokeAction', { status: 429, retryAfterSeconds: 1 });
    await assert.rejects(reset.run({ sid: SID }, ctx()), (e: Error) => e instanceof ConnectorError && e.retryable && /throttling.*Retry-After 1 s/.test(e.message));
    assert.equal(identity.mustChangePassword, false);
  });

  it("reads Microsoft's documented example (provider spelled `provider`, capitalised) as the resource table's identityProvider", () => {
    // from https://learn.microsoft.com/graph/api/security-identitycontainer-list-identityaccounts?view=graph-rest-1.0 (Example 2 response)
    const example = {
      id: '00104216-0539-4838-88b1-55baafdc296b', displayName: 'accoundJon', domain: 'domain1.test.local',
      onPremisesSecurityIdentifier: 'S-1-5-21-989687458-3461180213-172365591-281652',
      cloudSecurityIdentifier: 'S-1-12-4-2492432728-1225839317-3974870967-847981844', isEnabled: true,
      accounts: [
        { provider: 'ActiveDirectory', identifier: '256db173-930a-4991-9061-0d51a9a93ba5', actions: [] },
        { provider: 'EntraID', identifier: '69dfa3ea-1295-4e2c-b469-59564581143d', actions: [] },
        { provider: 'Okta', identifier: '878a6911-f3da-41eb-a895-1d46fa054d3e', actions: [] },
      ],
    };
    const ia = parseIdentityAccount(example);
    assert.deepEqual(ia.accounts.map((a) => a.provider), ['activeDirectory', 'entraID', 'okta']);
    assert.equal(ia.accounts[0].identifier, '256db173-930a-4991-9061-0d51a9a93ba5');
    assert.equal(ia.isEnabled, true);
    assert.throws(() => parseIdentityAccount({ displayName: 'x' }), /without an id/);
  });
});
