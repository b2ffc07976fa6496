import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { graphActions } from '../../../src/connectors/graph/actions';
import type { IdentityReleaseOutput } from '../../../src/connectors/identity/actions';
import { createIdentityActions, type IdentityContainOutput, type ResolvedAccount } from '../../../src/connectors/identity/actions';
import type { ActionDef, ActionResult, Preview } from '../../../src/connectors/types';
import type { CustomerConfig } from '../../../src/config/customers';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { graphActionContext, graphSandboxCustomers } from '../../support/graph-sandbox';

/**
 * Resolution in both directories and containment by placement, against the Graph emulator. The AD
 * side here is an in-memory stand-in with the AD actions' names and outcomes (the real LDAP driver
 * against Samba is covered in test/connectors/active-directory/); what is checked is which parts
 * run, in which order, and that a retry re-runs only what is not done.
 */
const SID = CONTOSO.admAvance.exampleSid;
const AD = {
  domains: [{ netbios: 'CONTOSO', dns: 'contoso.local', upnSuffixes: ['contoso.com'] }],
  dcs: [{ host: '127.0.0.2', servername: 'DC1.contoso.local', port: 636 }],
  driver: 'ldap', bindUpn: 'svc-irbot@contoso.local', passwordRef: 'env:X', caCertificateRef: 'env:Y', baseDn: 'DC=contoso,DC=local', timeoutMs: 1000,
};

function fakeAd() {
  const st = { enabled: true, pwdLastSet: '2025-01-01T00:00:00.000Z', calls: [] as string[] };
  const account = { sid: SID, samAccountName: 'adm-avance', dn: CONTOSO.admAvance.distinguishedName };
  const state = () => ({ ...account, userPrincipalName: CONTOSO.admAvance.upn, displayName: 'Adele Vance (admin)', userAccountControl: st.enabled ? 512 : 514, enabled: st.enabled, lockedOut: false, passwordMustChange: false, pwdLastSet: st.pwdLastSet, badPwdCount: 0, memberOf: [], privilegedGroups: ['Domain Admins'], lastLogonPerDc: [], dc: 'DC1.contoso.local (127.0.0.2:636)' });
  const def = (name: string, run: (i: Record<string, unknown>, ctx: { mayHaveRun: boolean; intentAt?: Date }) => ActionResult, preview?: () => Preview): ActionDef =>
    ({ name, risk: name === 'ad.lookupAccount' ? 'read' : 'destructive', description: name, input: {} as never, run: async (i: Record<string, unknown>, ctx: { mayHaveRun: boolean; intentAt?: Date }) => { st.calls.push(name); return run(i, ctx); }, ...(preview ? { preview: async () => preview() } : {}) }) as unknown as ActionDef;
  const defs = [
    def('ad.lookupAccount', () => ({ output: state(), raw: [], summary: 'read' })),
    def('ad.disableAccount', () => {
      const changed = st.enabled;
      st.enabled = false;
      return { output: { account, dc: 'DC1.contoso.local (127.0.0.2:636)', changed, userAccountControlBefore: changed ? 512 : 514, userAccountControlAfter: 514 }, raw: [], summary: changed ? 'disabled' : 'already disabled' };
    }, () => ({ title: 'Disable CONTOSO\\adm-avance (' + SID + ') in Active Directory', facts: [{ label: 'Domain controller', value: 'DC1.contoso.local (127.0.0.2:636)' }], changes: st.enabled ? ['On DC1.contoso.local (127.0.0.2:636): set ACCOUNTDISABLE on ' + account.dn + ' (userAccountControl 512 → 514)'] : [], warnings: ['Domain Admins: a privileged account', 'Entra follows at the next directory sync', 'Kerberos tickets already issued stay valid'], data: { dc: 'DC1.contoso.local (127.0.0.2:636)' } })),
    def('ad.enableAccount', () => {
      const changed = !st.enabled;
      st.enabled = true;
      return { output: { account, dc: 'DC1.contoso.local (127.0.0.2:636)', changed, userAccountControlBefore: changed ? 514 : 512, userAccountControlAfter: 512 }, raw: [], summary: changed ? 'enabled' : 'already enabled' };
    }, () => ({ title: 'Enable', facts: [], changes: st.enabled ? [] : ['On DC1.contoso.local (127.0.0.2:636): clear ACCOUNTDISABLE on ' + account.dn + ' (userAccountControl 514 → 512)'], notChanged: st.enabled ? [{ item: 'Enable', reason: 'already enabled' }] : [], warnings: [] })),
    def('ad.resetPassword', (_i, ctx) => {
      if (ctx.mayHaveRun && ctx.intentAt && Date.parse(st.pwdLastSet) >= ctx.intentAt.getTime()) return { output: { account, dc: 'DC1', changed: false, reason: 'already reset' }, raw: [], summary: 'not again' };
      st.pwdLastSet = new Date().toISOString();
      return { output: { account, dc: 'DC1', changed: true, pwdLastSet: st.pwdLastSet }, raw: [], summary: 'reset' };
    }),
  ];
  return { st, defs };
}

describe('identity.resolve and identity.contain against the Graph emulator', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  let withAd: CustomerConfig;
  beforeEach(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
    withAd = { ...env.contoso, activeDirectory: AD } as CustomerConfig;
  });
  afterEach(async () => { await emu.close(); });

  const actions = (ad = fakeAd()) => {
    const defs = createIdentityActions({ adActions: ad.defs, graph: graphActions });
    return { resolve: defs.find((d) => d.name === 'identity.resolve')! as ActionDef<unknown, ResolvedAccount>, contain: defs.find((d) => d.name === 'identity.contain')! as ActionDef<unknown, IdentityContainOutput>, ad };
  };
  const identity = (o: Record<string, unknown>) => ({ upn: null, objectId: null, sid: null, samAccountName: null, domain: null, netbios: null, dnsDomain: null, placed: true, placement: '', ...o });

  it('finds the synced account by its on-premises SID, reads the onPremises fields, and reads AD', async () => {
    const { resolve, ad } = actions();
    const r = await resolve.run({ subject: 'CONTOSO\\adm-avance', identity: identity({ sid: SID, samAccountName: 'adm-avance', domain: 'CONTOSO', netbios: 'CONTOSO', dnsDomain: 'contoso.local' }) }, graphActionContext(withAd, env.secrets));
    assert.equal(r.output.placement, 'synced');
    assert.equal(r.output.upn, CONTOSO.admAvance.upn);
    assert.equal(r.output.objectId, CONTOSO.admAvance.objectId);
    assert.deepEqual(r.output.entra!.onPremises, {
      syncEnabled: true, securityIdentifier: SID, samAccountName: 'adm-avance', domainName: 'contoso.local',
      distinguishedName: CONTOSO.admAvance.distinguishedName, lastSyncDateTime: r.output.entra!.onPremises!.lastSyncDateTime,
    });
    assert.ok(r.output.entra!.onPremises!.lastSyncDateTime);
    assert.deepEqual(ad.st.calls, ['ad.lookupAccount']);
    assert.ok(r.output.privilegedRoles.includes('Domain Admins (AD)'));
    assert.match(r.summary, /synced from on-premises AD .*found by on-premises SID/);
    // every name of the account in both directories: an alert by any of them joins the incident (migration 0004)
    assert.deepEqual([...r.output.identifiers].sort(), [`sam:contoso\\adm-avance`, `sid:${SID}`, `upn:${CONTOSO.admAvance.upn}`]);
  });

  it('finds it by sAMAccountName and domain when the alert has no SID; a cloud account by UPN; says when neither directory has it', async () => {
    const { resolve } = actions();
    const ctx = graphActionContext(env.contoso, env.secrets);
    const bySam = await resolve.run({ subject: 'CONTOSO\\adm-avance', identity: identity({ samAccountName: 'adm-avance', dnsDomain: 'contoso.local' }) }, ctx);
    assert.equal(bySam.output.objectId, CONTOSO.admAvance.objectId);
    assert.equal(bySam.output.placement, 'synced');
    assert.match(bySam.output.adNote ?? '', /no activeDirectory section/);
    const cloud = await resolve.run({ subject: CONTOSO.adele.upn, identity: null }, ctx);
    assert.equal(cloud.output.placement, 'cloud');
    assert.equal(cloud.output.objectId, CONTOSO.adele.objectId);
    const none = await resolve.run({ subject: 'S-1-5-21-1-2-3-4444', identity: identity({ sid: 'S-1-5-21-1-2-3-4444' }) }, ctx);
    assert.equal(none.output.placement, 'notFound');
  });

  it("Graph's disable of a synced account is refused with the on-premises 400, and the connector names it", async () => {
    const entraContain = graphActions.find((a) => a.name === 'entra.contain')!;
    await assert.rejects(entraContain.run({ upn: CONTOSO.admAvance.upn }, graphActionContext(env.contoso, env.secrets)),
      (e: Error) => /synced from on-premises Active Directory, so Graph refuses to disable .*must be done in AD.*on-premises mastered Directory Sync objects/.test(e.message));
    assert.equal([...emu.state.tenants.get(CONTOSO.tenantId)!.users.values()].find((u) => u.userPrincipalName === CONTOSO.admAvance.upn)!.accountEnabled, true);
  });

  it('contains a synced account: one preview listing the four changes; AD disable, AD reset, Entra revoke, confirm compromised, in order; never the Graph disable or reset', async () => {
    const { contain, ad } = actions();
    const input = { placement: 'synced', upn: CONTOSO.admAvance.upn, sid: SID, domain: 'CONTOSO' };
    const p = await contain.preview!(input, graphActionContext(withAd, env.secrets));
    assert.equal(p.changes.length, 4);
    assert.match(p.changes[0], /^Disable in AD — On DC1\.contoso\.local .*ACCOUNTDISABLE/);
    assert.match(p.changes[1], /^Reset the password in AD on DC1\.contoso\.local/);
    assert.match(p.changes[2], /^Revoke the Entra sign-in sessions .* \(2 sessions seen in the last 24 h\)/);
    assert.match(p.changes[3], /^Confirm adm-avance@contoso\.com compromised/);
    assert.ok(p.warnings.some((w) => /next directory sync/.test(w)));
    assert.ok(p.warnings.some((w) => /Kerberos tickets already issued/.test(w)));

    const intentAt = new Date();
    const r = await contain.run(input, graphActionContext(withAd, env.secrets, { intentAt }));
    assert.deepEqual(r.output.steps.map((s) => [s.step, s.changed]), [['adDisable', true], ['adResetPassword', true], ['revokeSessions', true], ['confirmCompromised', true]]);
    assert.deepEqual(ad.st.calls, ['ad.disableAccount', 'ad.resetPassword']);
    const entra = emu.state.requests.filter((q) => q.method === 'PATCH');
    assert.equal(entra.length, 0, 'no Graph disable or reset for a synced account');
    assert.equal(emu.state.revocations.filter((x) => x.userId === CONTOSO.admAvance.objectId).length, 1);

    // a retry after a crash (mayHaveRun): nothing is done twice
    const again = await contain.run(input, graphActionContext(withAd, env.secrets, { intentAt, mayHaveRun: true }));
    assert.deepEqual(again.output.steps.map((s) => [s.step, s.changed]), [['adDisable', false], ['adResetPassword', false], ['revokeSessions', false], ['confirmCompromised', false]]);
    assert.equal(emu.state.revocations.filter((x) => x.userId === CONTOSO.admAvance.objectId).length, 1);
  });

  it('an on-premises-only account gets the AD steps alone; a customer without an AD section gets a clear refusal and no change', async () => {
    const { contain, ad } = actions();
    const r = await contain.run({ placement: 'onPremises', upn: null, sid: SID, domain: 'CONTOSO' }, graphActionContext(withAd, env.secrets));
    assert.deepEqual(r.output.steps.map((s) => s.step), ['adDisable', 'adResetPassword']);
    assert.equal(emu.state.revocations.length, 0);
    const other = actions();
    await assert.rejects(other.contain.run({ placement: 'onPremises', upn: null, sid: SID, domain: 'CONTOSO' }, graphActionContext(env.contoso, env.secrets)), /no activeDirectory section/);
    assert.deepEqual(other.ad.st.calls, []);
    assert.equal(ad.st.enabled, false);
  });
});

describe('identity.release (the inverse of entra.contain and identity.contain) against the Graph emulator', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  let withAd: CustomerConfig;
  beforeEach(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
    withAd = { ...env.contoso, activeDirectory: AD } as CustomerConfig;
  });
  afterEach(async () => { await emu.close(); });
  const release = (ad = fakeAd()) => createIdentityActions({ adActions: ad.defs, graph: graphActions }).find((d) => d.name === 'identity.release')! as ActionDef<Record<string, unknown>, IdentityReleaseOutput>;
  const inverseOf = (d: ActionDef | undefined) => { const x = d!.inverse!; assert.ok('action' in x); return x; };

  it('cloud: enables the Entra account (PATCH accountEnabled true) and dismisses the confirmed risk; a second run changes nothing', async () => {
    const contain = graphActions.find((a) => a.name === 'entra.contain')!;
    const fwdIn = contain.input.parse({ upn: CONTOSO.adele.upn });
    const fwd = await contain.run(fwdIn, graphActionContext(env.contoso, env.secrets));
    const decl = inverseOf(contain);
    assert.equal(decl.action, 'identity.release');
    assert.match(decl.note ?? '', /Revoked sessions stay revoked.*service desk.*SSPR/);
    const rel = release();
    const input = rel.input.parse(decl.input(fwdIn, fwd.output)) as Record<string, unknown>;
    assert.deepEqual(input, { placement: 'cloud', upn: CONTOSO.adele.upn, enable: true, dismissRisk: true });
    const p = await rel.preview!(input, graphActionContext(env.contoso, env.secrets));
    assert.deepEqual(p.changes, [
      `Enable ${CONTOSO.adele.upn} in Entra (accountEnabled false → true)`,
      `Dismiss the Identity Protection risk of ${CONTOSO.adele.upn} that the containment confirmed (risk level → none)`,
    ]);
    const tenant = emu.state.tenants.get(CONTOSO.tenantId)!;
    const u = tenant.users.get(CONTOSO.adele.objectId)!;
    assert.equal(u.accountEnabled, false, 'a preview changes nothing');
    const from = emu.state.requests.length;
    const r = await rel.run(input, graphActionContext(env.contoso, env.secrets));
    assert.deepEqual(r.output.steps.map((x) => [x.step, x.changed]), [['enable', true], ['dismissRisk', true]]);
    assert.equal(u.accountEnabled, true);
    assert.equal(tenant.riskyUsers.get(u.id)?.riskState, 'dismissed');
    const writes = emu.state.requests.slice(from).filter((q) => q.method !== 'GET').map((q) => `${q.method} ${q.path}`);
    assert.deepEqual(writes, [`PATCH /users/${CONTOSO.adele.upn}`, 'POST /identityProtection/riskyUsers/dismiss']);
    assert.ok(r.raw.some((x) => x.source === 'graph.enableUser') && r.raw.some((x) => x.source === 'graph.dismissRiskyUser'));
    const again = emu.state.requests.length;
    const r2 = await rel.run(input, graphActionContext(env.contoso, env.secrets, { mayHaveRun: true }));
    assert.deepEqual(r2.output.steps.map((x) => [x.step, x.changed]), [['enable', false], ['dismissRisk', false]]);
    assert.match(r2.summary, /enabled in Entra: no \(the account is already enabled \(by hand\?\)\), risk dismissed: no \(the risk is already dismissed\)/);
    assert.equal(emu.state.requests.slice(again).filter((q) => q.method !== 'GET').length, 0);
  });

  it('cloud: an account the containment found disabled stays disabled; one enabled by hand is reported, not written', async () => {
    const tenant = emu.state.tenants.get(CONTOSO.tenantId)!;
    const u = tenant.users.get(CONTOSO.adele.objectId)!;
    u.accountEnabled = false;
    const contain = graphActions.find((a) => a.name === 'entra.contain')!;
    const fwdIn = contain.input.parse({ upn: CONTOSO.adele.upn });
    const fwd = await contain.run(fwdIn, graphActionContext(env.contoso, env.secrets));
    const rel = release();
    const input = rel.input.parse(inverseOf(contain).input(fwdIn, fwd.output));
    assert.equal(input.enable, false);
    const p = await rel.preview!(input, graphActionContext(env.contoso, env.secrets));
    assert.ok(p.notChanged!.some((n) => /did not disable it/.test(n.reason)));
    await rel.run(input, graphActionContext(env.contoso, env.secrets));
    assert.equal(u.accountEnabled, false);
    // enabled by hand before the release
    const byHand = rel.input.parse({ placement: 'cloud', upn: CONTOSO.adele.upn, enable: true, dismissRisk: false });
    u.accountEnabled = true;
    const from = emu.state.requests.length;
    const r = await rel.run(byHand, graphActionContext(env.contoso, env.secrets));
    assert.equal(r.output.steps[0].skippedBecause, 'the account is already enabled (by hand?)');
    assert.equal(emu.state.requests.slice(from).filter((q) => q.method !== 'GET').length, 0);
  });

  it('synced: enables in AD (never a Graph PATCH) and dismisses the risk; on-premises: AD alone; no AD section: a clear refusal', async () => {
    const ad = fakeAd();
    const defs = createIdentityActions({ adActions: ad.defs, graph: graphActions });
    const contain = defs.find((d) => d.name === 'identity.contain')!;
    const fwdIn = { placement: 'synced', upn: CONTOSO.admAvance.upn, sid: SID, domain: 'CONTOSO' };
    const fwd = await contain.run(fwdIn, graphActionContext(withAd, env.secrets));
    const rel = defs.find((d) => d.name === 'identity.release')! as ActionDef<Record<string, unknown>, IdentityReleaseOutput>;
    const input = rel.input.parse(inverseOf(contain).input(fwdIn, fwd.output));
    assert.deepEqual(input, { placement: 'synced', upn: CONTOSO.admAvance.upn, sid: SID, domain: 'CONTOSO', enable: true, dismissRisk: true });
    const p = await rel.preview!(input, graphActionContext(withAd, env.secrets));
    assert.match(p.changes[0], /^Enable in AD — On DC1\.contoso\.local .*clear ACCOUNTDISABLE/);
    assert.ok(p.warnings.some((w) => /password stays reset/.test(w)));
    const from = emu.state.requests.length;
    const r = await rel.run(input, graphActionContext(withAd, env.secrets));
    assert.deepEqual(r.output.steps.map((x) => [x.step, x.changed]), [['adEnable', true], ['dismissRisk', true]]);
    assert.equal(ad.st.enabled, true);
    assert.deepEqual(emu.state.requests.slice(from).filter((q) => q.method === 'PATCH'), [], 'no Graph PATCH for a synced account');
    const onPrem = fakeAd();
    onPrem.st.enabled = false;
    const r2 = await release(onPrem).run({ placement: 'onPremises', upn: null, sid: SID, domain: 'CONTOSO', enable: true, dismissRisk: false }, graphActionContext(withAd, env.secrets));
    assert.deepEqual(r2.output.steps.map((x) => [x.step, x.changed]), [['adEnable', true]]);
    const none = fakeAd();
    none.st.enabled = false;
    await assert.rejects(release(none).run({ placement: 'onPremises', upn: null, sid: SID, domain: 'CONTOSO', enable: true, dismissRisk: false }, graphActionContext(env.contoso, env.secrets)), /no activeDirectory section/);
    assert.equal(none.st.enabled, false);
  });
});
