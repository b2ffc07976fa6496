import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { graphActions } from '../../../src/connectors/graph/actions';
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
    const entra = emu.state.requests.filter((q) => q.path.startsWith(`/v1.0/users/${CONTOSO.admAvance.upn}`) && q.method === 'PATCH');
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
