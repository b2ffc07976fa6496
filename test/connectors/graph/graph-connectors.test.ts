import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { GraphSession } from '../../../src/connectors/graph/graph-session';
import { getUser, listDirectoryAudits, listSignIns } from '../../../src/connectors/graph/entra-read';
import { getAlert, listAlertsUpdatedSince, addAlertComment, setAlertStatus } from '../../../src/connectors/graph/defender';
import { searchSensitiveOperations } from '../../../src/connectors/graph/m365-audit';
import { disableAccount, resetPassword } from '../../../src/connectors/graph/entra-containment';
import { sendMailViaGraph } from '../../../src/connectors/graph/send-mail';
import { ConnectorError } from '../../../src/connectors/types';
import { parseUpn } from '../../../src/domain/identity';
import { CONTOSO, FABRIKAM, MSP } from '../../../src/sandbox/contoso';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { graphSandboxCustomers } from '../../support/graph-sandbox';
import alertFixture from '../../fixtures/graph/alert-impossible-travel.json';

const adele = parseUpn(CONTOSO.adele.upn);

describe('Graph connectors against the emulator', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  before(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
  });
  after(async () => { await emu.close(); });
  afterEach(() => emu.clearFaults());
  const contoso = () => new GraphSession(env.contoso, env.secrets, { maxRetries: 3 });

  it('reads a user with directory roles and flags a privileged admin', async () => {
    const { user, raw } = await getUser(contoso(), adele);
    assert.equal(user.objectId, CONTOSO.adele.objectId);
    assert.equal(user.displayName, 'Adele Vance');
    assert.equal(user.accountEnabled, true);
    assert.deepEqual(user.privilegedRoles, ['Global Administrator']);
    assert.ok(raw.length >= 2 && raw.every((p) => p.body.length > 0 && p.collectedAt));
    const lee = await getUser(contoso(), parseUpn('lee.gu@contoso.com'));
    assert.deepEqual(lee.user.privilegedRoles, []);
  });

  it('handles UPNs with quotes and non-ASCII letters (path encoding and OData literals)', async () => {
    const obrien = parseUpn("Patrick.O'Brien@contoso.com");
    assert.equal((await getUser(contoso(), obrien)).user.displayName, "Patrick O'Brien");
    const zoe = parseUpn('zoë.öztürk@contoso.com');
    assert.equal((await getUser(contoso(), zoe)).user.displayName, 'Zoë Öztürk');
    // the quote is doubled in $filter, so the query parses and returns that user's (zero) sign-ins
    const r = await listSignIns(contoso(), obrien, new Date(Date.now() - 3600_000));
    assert.ok(Array.isArray(r.signIns));
    const logged = emu.state.requests.filter((q) => q.path.includes('auditLogs/signIns') && q.path.includes("o''brien"));
    assert.equal(logged.at(-1)?.status, 200);
  });

  it('pages sign-ins over several pages and keeps each page as evidence', async () => {
    const s = contoso();
    const all = await s.getAllPages<Record<string, unknown>>('/v1.0/auditLogs/signIns', {
      source: 'graph.signIns', op: { does: 'read sign-ins', permissions: ['AuditLog.Read.All'] }, query: { $top: 40 },
    });
    assert.ok(all.pages >= 5, `pages ${all.pages}`);
    // v1.0 lists the interactive sign-ins only (non-interactive ones are beta's, filtered on signInEventTypes)
    assert.equal(all.items.length, emu.state.tenants.get(CONTOSO.tenantId)!.signIns.filter((x) => x.isInteractive !== false).length);
    assert.ok(all.items.every((x) => x.isInteractive === true));
    assert.equal(new Set(all.items.map((x) => x.id)).size, all.items.length, 'no record twice');
    assert.equal(all.raw.length, all.pages);
    assert.equal(all.raw.reduce((n, p) => n + (p.recordCount ?? 0), 0), all.items.length);
  });

  it("reads adele's 24 h of sign-ins: Lisbon then Singapore, with coordinates", async () => {
    const r = await listSignIns(contoso(), adele, new Date(Date.now() - 24 * 3600_000));
    const cities = r.signIns.map((x) => (x.location as { city: string }).city);
    assert.ok(cities.includes('Lisbon') && cities.includes('Singapore'));
    assert.ok(r.signIns.every((x) => x.userPrincipalName === adele));
    assert.ok(r.raw[0].rangeFrom && r.raw[0].rangeTo);
  });

  it('an empty result is one empty page, not an error', async () => {
    const r = await listSignIns(contoso(), parseUpn('nobody.here@contoso.com'), new Date(Date.now() - 3600_000));
    assert.deepEqual(r.signIns, []);
    assert.equal(r.pages, 1);
  });

  it('reads directory audits by and on the user, merged without duplicates', async () => {
    const r = await listDirectoryAudits(contoso(), adele, new Date(Date.now() - 6 * 3600_000));
    const names = r.audits.map((a) => a.activityDisplayName);
    assert.ok(names.includes('User registered security info'));
    assert.ok(names.includes('Consent to application'));
    assert.ok(names.includes('Update user'));
    assert.equal(new Set(r.audits.map((a) => a.id)).size, r.audits.length);
  });

  it('finds the forwarding inbox rule through the audit-log query API (create, poll, page)', async () => {
    const r = await searchSensitiveOperations(contoso(), adele, { now: new Date(), hours: 6, pollIntervalMs: 20, maxWaitMs: 5000 });
    const rule = r.findings.find((f) => f.operation === 'New-InboxRule');
    assert.equal(rule?.detail, 'forwards to adele.backup@mail-forward.example');
    assert.equal(rule?.clientIp, CONTOSO.attackerIp);
    assert.ok(!r.findings.some((f) => f.operation === 'MailItemsAccessed'));
    const statusPolls = emu.state.requests.filter((q) => /^\/security\/auditLog\/queries\/[^/]+$/.test(q.path));
    assert.ok(statusPolls.length >= 2, 'polled until succeeded');
  });

  it('honours 429 with Retry-After and then succeeds', async () => {
    emu.injectFault('GET /users/*', { status: 429, retryAfterSeconds: 1, times: 1 });
    const t0 = Date.now();
    const { user } = await getUser(contoso(), adele);
    assert.equal(user.objectId, CONTOSO.adele.objectId);
    assert.ok(Date.now() - t0 >= 900, 'waited for Retry-After');
    const hits = emu.state.requests.filter((q) => q.path.startsWith('/users/adele') && !q.path.includes('MemberOf')).slice(-2);
    assert.deepEqual(hits.map((h) => h.status), [429, 200]);
  });

  it('reports throttling that outlasts the retries as a retryable error', async () => {
    emu.injectFault('GET /security/alerts_v2/*', { status: 503, retryAfterSeconds: 0 });
    const s = new GraphSession(env.contoso, env.secrets, { maxRetries: 1 });
    await assert.rejects(getAlert(s, alertFixture.id), (e: unknown) => e instanceof ConnectorError && e.retryable && /throttling or unavailable/.test(e.message));
  });

  it('a 403 names the missing permission and the app registration', async () => {
    emu.injectFault('PATCH /users/*', { status: 403 });
    await assert.rejects(disableAccount(contoso(), adele), (e: unknown) =>
      e instanceof ConnectorError && e.opts.status === 403 && /User\.EnableDisableAccount\.All/.test(e.message) && e.message.includes(CONTOSO.graphClientId) && !e.retryable);
  });

  it('a 403 on the password reset names the least-privileged permission first', async () => {
    const app = emu.state.tenants.get(CONTOSO.tenantId)!.apps.get(CONTOSO.graphClientId)!;
    const granted = new Set(app.permissions);
    app.permissions.delete('User.ReadWrite.All');
    app.permissions.delete('User-PasswordProfile.ReadWrite.All');
    try {
      await assert.rejects(resetPassword(contoso(), adele, { mayHaveRun: false, intentAt: new Date() }), (e: unknown) =>
        e instanceof ConnectorError && e.opts.status === 403 && /needs the application permission User-PasswordProfile\.ReadWrite\.All /.test(e.message));
      // the least-privileged permission alone is enough for the reset
      app.permissions.add('User-PasswordProfile.ReadWrite.All');
      const r = await resetPassword(contoso(), adele, { mayHaveRun: false, intentAt: new Date() });
      assert.equal(r.changed, true);
    } finally {
      app.permissions.clear();
      for (const p of granted) app.permissions.add(p);
    }
  });

  it('a user who no longer exists is a clear error naming the user', async () => {
    await assert.rejects(getUser(contoso(), parseUpn('gone.user@contoso.com')), (e: unknown) =>
      e instanceof ConnectorError && e.opts.status === 404 && e.message.includes('user gone.user@contoso.com was not found'));
  });

  it('tenant isolation: each customer gets tokens only for its own tenant, and a cross-tenant object is refused', async () => {
    emu.state.tokens.length = 0;
    await getUser(new GraphSession(env.fabrikam, env.secrets), parseUpn('megan.bowen@fabrikam.com'));
    await getUser(contoso(), adele);
    for (const t of emu.state.tokens) {
      const expected = t.tenantId === FABRIKAM.tenantId ? FABRIKAM.graphClientId : CONTOSO.graphClientId;
      assert.equal(t.clientId, expected, 'a client id only ever got tokens for its own tenant');
    }
    assert.ok(emu.state.tokens.some((t) => t.tenantId === FABRIKAM.tenantId));
    // Contoso's session asking for a Fabrikam user: the emulator refuses, the connector reports it
    await assert.rejects(getUser(contoso(), parseUpn('megan.bowen@fabrikam.com')), (e: unknown) =>
      e instanceof ConnectorError && e.opts.status === 403 && /another tenant/.test(e.message) && e.message.includes('Contoso'));
    const refused = emu.state.requests.filter((q) => q.path.includes('megan.bowen@fabrikam.com') && q.status === 403);
    assert.ok(refused.every((q) => q.tokenTenantId === CONTOSO.tenantId) && refused.length > 0);
  });

  it("a customer's credentials are refused by another tenant's authority (wrong tenant id in config)", async () => {
    const wrong = graphSandboxCustomers(emu, { contoso: {} }).contoso;
    const crossed = { ...wrong, tenantId: FABRIKAM.tenantId } as typeof wrong;
    await assert.rejects(getUser(new GraphSession(crossed, env.secrets), adele), (e: unknown) =>
      e instanceof ConnectorError && /could not get a Graph token/.test(e.message) && e.message.includes('env:CONTOSO_GRAPH_SECRET') && !e.message.includes(CONTOSO.graphClientSecret));
  });

  it('refuses to follow a nextLink to another host (the token would leak)', async () => {
    const s = contoso();
    await assert.rejects(s.get('https://graph.evil.example/v1.0/users', { source: 'x', op: { does: 'x', permissions: [] } }), (e: unknown) =>
      e instanceof ConnectorError && /refusing to send/.test(e.message));
  });

  it('reads, updates and comments on a Defender alert', async () => {
    const { alert } = await getAlert(contoso(), alertFixture.id);
    assert.equal(alert.detectorId, 'ImpossibleTravel');
    await setAlertStatus(contoso(), alertFixture.id, { status: 'inProgress', assignedTo: 'soc@msp.example' });
    await addAlertComment(contoso(), alertFixture.id, 'Contained by the IR bot: IR-TEST-0001');
    const stored = emu.state.tenants.get(CONTOSO.tenantId)!.alerts.get(alertFixture.id)!;
    assert.equal(stored.status, 'inProgress');
    assert.equal(stored.assignedTo, 'soc@msp.example');
    assert.match(JSON.stringify(stored.comments), /IR-TEST-0001/);
    const since = new Date(Date.now() - 60_000);
    const listed = await listAlertsUpdatedSince(contoso(), since, 1);
    assert.ok(listed.items.some((a) => a.id === alertFixture.id));
  });

  it("sends mail from the MSP's mailbox with the MSP's app, attachments included", async () => {
    const secrets = new EnvFileSecretStore({ MSP_GRAPH_SECRET: MSP.clientSecret, GRAPH_SANDBOX_CA: emu.caPem });
    const raw = await sendMailViaGraph({
      tenantId: MSP.tenantId, clientId: MSP.clientId, credential: 'env:MSP_GRAPH_SECRET', authorityHost: emu.authorityHost, baseUrl: emu.url,
      caCertificateRef: 'env:GRAPH_SANDBOX_CA', mailbox: MSP.mailbox,
      message: { subject: 'Incident IR-1: Adele Vance contained', bodyText: 'Summary…', to: ['ciso@contoso.com'], cc: ['oncall@contoso.com'],
        attachments: [{ name: 'report.md', contentType: 'text/markdown', bytes: Buffer.from('# Report\n') }] },
    }, secrets);
    const sent = emu.state.outbox.at(-1)!;
    assert.equal(sent.tenantId, MSP.tenantId);
    assert.equal(sent.mailbox, MSP.mailbox);
    const att = (sent.message.attachments as Array<{ contentBytes: string }>)[0];
    assert.equal(Buffer.from(att.contentBytes, 'base64').toString(), '# Report\n');
    assert.ok(raw.some((p) => p.note?.includes('-> 202')));
  });
});
