import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { graphActions } from '../../../src/connectors/graph/actions';
import { GraphSession } from '../../../src/connectors/graph/graph-session';
import type { ActionDef } from '../../../src/connectors/types';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { graphActionContext, graphSandboxCustomers } from '../../support/graph-sandbox';

const action = (name: string): ActionDef => {
  const a = graphActions.find((x) => x.name === name);
  assert.ok(a, `action ${name} registered`);
  return a;
};

describe('Graph actions (entra.contain and friends) against the emulator', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  beforeEach(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
  });
  afterEach(async () => { await emu.close(); });

  it('registers the expected actions with their risk levels', () => {
    assert.deepEqual(graphActions.map((a) => [a.name, a.risk]), [
      ['entra.lookupUser', 'read'], ['entra.signIns', 'read'], ['entra.directoryAudits', 'read'], ['m365.auditSearch', 'read'],
      ['entra.contain', 'destructive'], ['defender.comment', 'change'], ['defender.setStatus', 'change'], ['alerts.classify', 'change'],
    ]);
  });

  it('validates inputs: a bad UPN, an unknown status, unknown keys', () => {
    assert.equal(action('entra.lookupUser').input.safeParse({ upn: "x' or 1 eq 1" }).success, false);
    assert.equal(action('entra.lookupUser').input.safeParse({ upn: 'adele.vance@contoso.com', extra: 1 }).success, false);
    assert.equal(action('defender.setStatus').input.safeParse({ alertId: 'a1', status: 'closedForever' }).success, false);
    assert.equal(action('defender.setStatus').input.safeParse({ alertId: 'a1; rm -rf /', status: 'resolved' }).success, false);
    const ok = action('entra.signIns').input.parse({ upn: 'Adele.Vance@Contoso.com' }) as { upn: string; hours: number };
    assert.deepEqual(ok, { upn: 'adele.vance@contoso.com', hours: 24 });
  });

  it('entra.signIns finds the Lisbon → Singapore impossible travel', async () => {
    const a = action('entra.signIns');
    const r = await a.run(a.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    assert.match(r.summary, /Lisbon → Singapore, 11,900 km in 50 min = 14,300 km\/h/);
  });

  it('entra.signIns counts token activity from interactive (v1.0) and non-interactive (beta) sign-ins and says so', async () => {
    const a = action('entra.signIns');
    const r = await a.run(a.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    const out = r.output as { count: number; tokenActivity: Record<string, unknown> };
    // the story: 4 interactive sign-ins (one failed) and 3 non-interactive ones over 3 sessions (2 Lisbon, 1 Singapore)
    assert.equal(out.count, 4, 'v1.0 lists the interactive sign-ins only');
    assert.deepEqual(out.tokenActivity, {
      kinds: ['interactiveUser', 'nonInteractiveUser'], interactive: 4, nonInteractive: 3, sessions: 3,
      onlyInteractiveBecause: null, counted: 'interactive and non-interactive sign-ins',
    });
    assert.match(r.summary, /token activity: 3 sessions from 4 interactive and 3 non-interactive sign-ins/);
    const beta = emu.state.requests.filter((q) => q.method === 'GET' && /^\/auditLogs\/signIns/.test(q.path) && /signInEventTypes/.test(q.path));
    assert.equal(beta.length, 1);
    assert.match(beta[0].path, /signInEventTypes\/any\(t: t eq 'nonInteractiveUser'\)/);
    // the non-interactive pages are evidence too, with their source time range
    const ni = r.raw.filter((p) => p.source === 'graph.signIns.nonInteractive');
    assert.equal(ni.length, 1);
    assert.ok(ni[0].rangeFrom && ni[0].rangeTo);
    assert.match(ni[0].body.toString('utf8'), /"signInEventTypes":\["nonInteractiveUser"\]/);
  });

  it('entra.signIns falls back to interactive sign-ins only when Graph beta refuses, and says which kinds were counted', async () => {
    emu.injectFault(/^GET \/beta\/auditLogs\/signIns$/, { status: 403 });
    const a = action('entra.signIns');
    const r = await a.run(a.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    const t = (r.output as { tokenActivity: { kinds: string[]; nonInteractive: number | null; sessions: number; onlyInteractiveBecause: string | null; counted: string } }).tokenActivity;
    assert.deepEqual(t.kinds, ['interactiveUser']);
    assert.equal(t.nonInteractive, null);
    assert.equal(t.sessions, 3, 'the interactive sign-ins alone name the same three sessions here');
    assert.equal(t.counted, 'interactive sign-ins only');
    assert.match(t.onlyInteractiveBecause ?? '', /Graph beta refused/);
    assert.match(r.summary, /interactive sign-ins only: non-interactive ones were not available/);
  });

  it('the emulator: v1.0 refuses a signInEventTypes filter; beta lists interactive sign-ins unless the filter asks for other types', async () => {
    const a = action('entra.signIns');
    await a.run(a.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    const v1 = emu.state.requests.find((q) => /^\/auditLogs\/signIns/.test(q.path) && !/signInEventTypes/.test(q.path));
    assert.ok(v1 && v1.status === 200);
    const tenant = emu.state.tenants.get(CONTOSO.tenantId)!;
    assert.ok(tenant.signIns.some((x) => x.isInteractive === false && x.userPrincipalName === CONTOSO.adele.upn), 'the story has non-interactive sign-ins');
    const s = new GraphSession(env.contoso, env.secrets);
    const op = { does: 'test', permissions: ['AuditLog.Read.All'] };
    const f = `userPrincipalName eq '${CONTOSO.adele.upn}'`;
    const betaDefault = await s.getAllPages<Record<string, unknown>>('/beta/auditLogs/signIns', { source: 't', op, query: { $filter: f } });
    assert.equal(betaDefault.items.length, 4);
    assert.ok(betaDefault.items.every((x) => (x.signInEventTypes as string[])[0] === 'interactiveUser'));
    const both = await s.getAllPages<Record<string, unknown>>('/beta/auditLogs/signIns', { source: 't', op, query: { $filter: `${f} and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')` } });
    assert.equal(both.items.length, 7);
    await assert.rejects(s.getAllPages('/v1.0/auditLogs/signIns', { source: 't', op, query: { $filter: `${f} and signInEventTypes/any(t: t eq 'nonInteractiveUser')` } }), /signInEventTypes/);
  });

  it('entra.contain preview states exactly what will change, live', async () => {
    const a = action('entra.contain');
    const p = await a.preview!(a.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    const facts = Object.fromEntries(p.facts.map((f) => [f.label, f.value]));
    assert.equal(facts.Customer, 'Contoso');
    assert.equal(facts.Tenant, CONTOSO.tenantId);
    assert.equal(facts['Object id'], CONTOSO.adele.objectId);
    assert.equal(facts.UPN, CONTOSO.adele.upn);
    assert.ok(p.changes.includes('Disable the account (enabled now)'));
    // three distinct correlation ids among adele's successful sign-ins in 24 h (2 Lisbon, 1 Singapore)
    assert.ok(p.changes.some((c) => c.startsWith('Revoke all sign-in sessions and refresh tokens (3 sessions seen in the last 24 h in interactive and non-interactive sign-ins')), p.changes.join('|'));
    assert.ok(p.changes.some((c) => /Confirm the user compromised/.test(c)));
    assert.ok(p.warnings.some((w) => w.startsWith('Global Administrator')));
    assert.equal(emu.state.requests.filter((q) => q.method !== 'GET').length, 0, 'a preview changes nothing');
  });

  it('entra.contain leaves the tenant contained, never exposes the password, and is idempotent when repeated', async () => {
    const a = action('entra.contain');
    const input = a.input.parse({ upn: CONTOSO.adele.upn });
    const t0 = new Date();
    const first = await a.run(input, graphActionContext(env.contoso, env.secrets));
    const tenant = emu.state.tenants.get(CONTOSO.tenantId)!;
    const u = tenant.users.get(CONTOSO.adele.objectId)!;
    assert.equal(u.accountEnabled, false);
    assert.ok(Date.parse(u.signInSessionsValidFromDateTime) >= t0.getTime() - 1000);
    assert.deepEqual(u.passwordProfile, { forceChangePasswordNextSignIn: true, passwordSet: true });
    assert.equal(tenant.riskyUsers.get(u.id)?.riskState, 'confirmedCompromised');
    assert.equal(emu.state.revocations.length, 1);

    // the password appears nowhere: not in evidence, not in the output, not in the summary
    const evidence = first.raw.map((p) => p.body.toString('utf8')).join('\n');
    assert.match(evidence, /\[redacted: generated, never shown or stored\]/);
    assert.doesNotMatch(evidence + JSON.stringify(first.output) + first.summary, /"password":"(?!\[redacted)/);

    // a retry after a crash (mayHaveRun) re-reads state and makes no PATCH/POST
    const writesBefore = emu.state.requests.filter((q) => q.method !== 'GET').length;
    const second = await a.run(input, graphActionContext(env.contoso, env.secrets, { mayHaveRun: true, idempotencyKey: `IR-1:contain@${t0.toISOString()}` }));
    const writesAfter = emu.state.requests.filter((q) => q.method !== 'GET').length;
    assert.equal(writesAfter, writesBefore, 'the second run wrote nothing');
    assert.match(second.summary, /disabled \(already\), sessions revoked \(already\), password reset \(already\), confirmed compromised \(already\)/);
    assert.equal(emu.state.revocations.length, 1);
  });

  it('confirms a user Identity Protection never flagged: riskyUsers/{id} answers 404 and the POST still goes out', async () => {
    const tenant = emu.state.tenants.get(CONTOSO.tenantId)!;
    tenant.riskyUsers.clear();
    const a = action('entra.contain');
    const input = a.input.parse({ upn: CONTOSO.adele.upn });
    const p = await a.preview!(input, graphActionContext(env.contoso, env.secrets));
    assert.ok(p.changes.includes('Confirm the user compromised in Identity Protection (risk state now: never flagged by Identity Protection)'), p.changes.join('|'));
    const r = await a.run(input, graphActionContext(env.contoso, env.secrets));
    assert.equal(tenant.riskyUsers.get(CONTOSO.adele.objectId)?.riskState, 'confirmedCompromised');
    assert.match(r.summary, /confirmed compromised/);
    const reads = emu.state.requests.filter((q) => q.method === 'GET' && /\/identityProtection\/riskyUsers\//.test(q.path));
    assert.ok(reads.length >= 2 && reads.every((q) => q.status === 404), 'the emulator answers 404 like Graph for a never-flagged user');
  });

  it('does not offer confirmCompromised without P2', async () => {
    const { fabrikam } = env;
    const a = action('entra.contain');
    const p = await a.preview!(a.input.parse({ upn: 'megan.bowen@fabrikam.com' }), graphActionContext(fabrikam, env.secrets));
    assert.ok(p.notChanged?.some((n) => /Identity Protection/.test(n.item) && /P2/.test(n.reason)));
    assert.ok(!p.changes.some((c) => /compromised/.test(c)));
  });

  it('defender.setStatus and defender.comment change the alert', async () => {
    const id = 'da637551227677560813_-961444813';
    const s = action('defender.setStatus');
    await s.run(s.input.parse({ alertId: id, status: 'resolved' }), graphActionContext(env.contoso, env.secrets));
    const c = action('defender.comment');
    const r = await c.run(c.input.parse({ alertId: id, comment: 'Closed by IR bot' }), graphActionContext(env.contoso, env.secrets));
    const alert = emu.state.tenants.get(CONTOSO.tenantId)!.alerts.get(id)!;
    assert.equal(alert.status, 'resolved');
    assert.match(JSON.stringify(alert.comments), /Closed by IR bot/);
    assert.ok(r.raw.length >= 2);
  });

  it('alerts.classify sets classification, determination and one comment; run again after a crash it writes nothing twice', async () => {
    const id = 'da637551227677560813_-961444813';
    const a = action('alerts.classify');
    const input = a.input.parse({ alertIds: [id], classification: 'falsePositive', comment: 'Released by the IR bot: travelling with a new phone' });
    const r = await a.run(input, graphActionContext(env.contoso, env.secrets));
    const alert = emu.state.tenants.get(CONTOSO.tenantId)!.alerts.get(id)!;
    assert.equal(alert.classification, 'falsePositive');
    assert.equal(alert.determination, 'notMalicious');
    assert.equal((alert.comments as unknown[]).filter((c) => JSON.stringify(c).includes('travelling with a new phone')).length, 1);
    assert.deepEqual(r.raw.map((x) => x.source), ['graph.alert', 'graph.alertClassify.request', 'graph.alertClassify', 'graph.alertComment.request', 'graph.alertComment']);
    const again = await a.run(input, { ...graphActionContext(env.contoso, env.secrets), mayHaveRun: true });
    assert.deepEqual(again.raw.map((x) => x.source), ['graph.alert'], 'only the re-read: nothing is written twice');
    assert.equal((alert.comments as unknown[]).filter((c) => JSON.stringify(c).includes('travelling with a new phone')).length, 1);
    assert.match(again.summary, /already were/);
  });

  it('alerts.classify: an unknown alert fails naming it, after classifying the others; bad input is refused', async () => {
    const a = action('alerts.classify');
    assert.equal(a.input.safeParse({ alertIds: ["x' or 1"], classification: 'falsePositive', comment: 'c' }).success, false);
    assert.equal(a.input.safeParse({ alertIds: ['a1'], classification: 'truePositive', comment: 'c' }).success, false);
    const id = 'da637551227677560813_-961444813';
    await assert.rejects(
      a.run(a.input.parse({ alertIds: ['no-such-alert', id], classification: 'informationalExpectedActivity', comment: 'expected' }), graphActionContext(env.contoso, env.secrets)),
      /no-such-alert: .*\(1 of 2 classified\)/,
    );
    assert.equal(emu.state.tenants.get(CONTOSO.tenantId)!.alerts.get(id)!.determination, 'confirmedActivity');
  });

  it('m365.auditSearch and entra.directoryAudits summarise what the attacker did', async () => {
    const m = action('m365.auditSearch');
    const r = await m.run(m.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    assert.match(r.summary, /New-InboxRule \(forwards to adele\.backup@mail-forward\.example\)/);
    const d = action('entra.directoryAudits');
    const r2 = await d.run(d.input.parse({ upn: CONTOSO.adele.upn }), graphActionContext(env.contoso, env.secrets));
    assert.match(r2.summary, /User registered security info/);
  });
});
