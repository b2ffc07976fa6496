import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import type { ActionContext, ActionDef, Preview } from '../../src/connectors/types';
import { InvalidInputError } from '../../src/domain/net';
import { createEvidenceActions } from '../../src/evidence/actions';
import { DRAFT_MAX_LINES, draftCisoEmail, loadCisoSnapshot } from '../../src/evidence/ciso-email';
import { log } from '../../src/log';
import { CONTOSO, MSP } from '../../src/sandbox/contoso';
import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../src/sandbox/servicenow/emulator';
import type { Store } from '../../src/store/store';
import { graphSandboxCustomers } from '../support/graph-sandbox';
import { uniqueId } from '../support/store-factory';
import { withEvidenceStores } from './helpers';
import { seedIncident } from './seed-incident';

interface Received { to: string[]; raw: string }

async function startSmtp(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false, authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'],
    onData(stream, session, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(parts).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function byName(defs: ActionDef[], name: string): ActionDef {
  const d = defs.find((x) => x.name === name);
  if (!d) throw new Error(`no action ${name}`);
  return d;
}

describe('evidence: actions (report, ticket, CISO email)', function () {
  this.timeout(60_000);
  let emu: GraphEmulator;
  let snow: ServiceNowEmulator;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let contoso: CustomerConfig;
  let contosoSmtp: CustomerConfig;
  let secrets: EnvFileSecretStore;

  before(async () => {
    emu = await startGraphEmulator({ port: 0 });
    snow = await startServiceNowEmulator({ port: 0 });
    smtp = await startSmtp();
    const g = graphSandboxCustomers(emu);
    secrets = new EnvFileSecretStore({
      CONTOSO_GRAPH_SECRET: CONTOSO.graphClientSecret, GRAPH_SANDBOX_CA: emu.caPem, MSP_SECRET: MSP.clientSecret,
      SNOW_USER: CONTOSO.servicenow.username, SNOW_PASSWORD: CONTOSO.servicenow.password,
    });
    const servicenow = { instanceUrl: snow.url, usernameRef: 'env:SNOW_USER', passwordRef: 'env:SNOW_PASSWORD', contactField: 'caller_id', contact: 'Nestor Wilke' };
    contoso = customerSchema.parse({ ...g.contoso, contacts: CONTOSO.contacts, servicenow });
    contosoSmtp = customerSchema.parse({ ...contoso, mail: { via: 'smtp', host: '127.0.0.1', port: smtp.port, secure: false, from: 'soc@msp.example' } });
  });
  after(async () => {
    await emu?.close();
    await snow?.close();
    await smtp?.close();
  });

  /** A fresh Defender alert in the emulator, so the ticket comment has somewhere to go. */
  function emulatorAlert(): string {
    const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
    const template = [...tenant.alerts.values()][0];
    const id = uniqueId('da');
    tenant.alerts.set(id, { ...template, id, comments: [] });
    return id;
  }

  withEvidenceStores((db) => {
    let store: Store;
    let defs: ActionDef[];
    before(async () => {
      store = await db().make();
      defs = createEvidenceActions({
        store, customers: (id) => (id === contoso.id ? contoso : undefined),
        msp: { tenantId: MSP.tenantId, clientId: MSP.clientId, credentialRef: 'env:MSP_SECRET', mailbox: MSP.mailbox, authorityHost: emu.authorityHost, baseUrl: emu.url, caCertificateRef: 'env:GRAPH_SANDBOX_CA' },
        mspOnCall: { name: 'MSP on-call', email: 'oncall@msp.example' },
        nextUpdateMinutes: 120,
        serviceNow: { maxRetries: 0 },
      });
    });
    const ctxFor = (incidentId: string, customer: CustomerConfig = contoso, extra: Partial<ActionContext> = {}): ActionContext => ({
      customer, secrets, incidentId, idempotencyKey: `${incidentId}:${uniqueId('step')}`, mayHaveRun: false, log,
      now: () => new Date('2026-11-27T15:30:00.000Z'), ...extra,
    });

    it('evidence.report stores the report and returns its name, hash, size and evidence id', async () => {
      const s = await seedIncident(store);
      const r = await byName(defs, 'evidence.report').run({}, ctxFor(s.incidentId));
      const out = r.output as { name: string; sha256: string; size: number; evidenceId: number };
      assert.equal(out.name, `${s.incidentId}-forensic-report.md`);
      const bytes = await store.getEvidenceBody(out.evidenceId);
      assert.equal(out.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(out.size, bytes.length);
      assert.deepEqual(r.raw, [], 'already stored: not handed back to be stored twice');
    });

    it('ticket.open: one Security Incident and one attachment after a crash between the two calls and retries; the alert gets one comment', async () => {
      const s = await seedIncident(store, { alertId: emulatorAlert() });
      const ticket = byName(defs, 'ticket.open');
      await assert.rejects(ticket.run({}, ctxFor(s.incidentId)), /no forensic report yet/);
      await byName(defs, 'evidence.report').run({}, ctxFor(s.incidentId));
      const ours = () => (snow.state.records.get('sn_si_incident') ?? []).filter((r) => r.correlation_id === s.incidentId);
      const attachments = () => snow.state.attachments.filter((a) => ours().some((r) => r.sys_id === a.meta.table_sys_id));

      snow.crashAfter('POST /api/now/table/sn_si_incident');
      await assert.rejects(ticket.run({}, ctxFor(s.incidentId)));
      assert.equal(ours().length, 1, 'the create reached the instance before the connection dropped');
      snow.crashAfter('POST /api/now/attachment/file');
      await assert.rejects(ticket.run({}, ctxFor(s.incidentId, contoso, { mayHaveRun: true })));
      const r = await ticket.run({}, ctxFor(s.incidentId, contoso, { mayHaveRun: true }));
      const again = await ticket.run({}, ctxFor(s.incidentId, contoso, { mayHaveRun: true }));
      assert.equal(ours().length, 1);
      assert.equal(attachments().length, 1);
      const out = r.output as { ticket: { number: string; link: string; sysId: string }; alertsCommented: string[] };
      assert.match(out.ticket.number, /^SIR\d+/);
      assert.equal(out.ticket.sysId, ours()[0].sys_id);
      const report = (await store.listEvidence(s.incidentId)).filter((e) => e.source === 'report.markdown').at(-1)!;
      assert.ok(attachments()[0].bytes.equals(await store.getEvidenceBody(report.id)), 'the attached bytes are the stored report');
      assert.deepEqual((again.output as { alertsCommented: string[] }).alertsCommented, [], 'no second comment');
      const alert = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!.alerts.get(s.alertId)!;
      const comments = (alert.comments as Array<{ comment: string }>).filter((c) => c.comment.includes(out.ticket.number));
      assert.equal(comments.length, 1);
      // the action writes nothing on the incident: the engine records the ticket from this output
      // (the procedure step's `record: ticket: output.ticket`), so it is recorded once
      assert.equal((await store.getIncident(s.incidentId))!.data.ticket, undefined);
    });

    it('draftCisoEmail fits one screen and carries the incident facts', async () => {
      const s = await seedIncident(store);
      await store.updateIncident(s.incidentId, { data: { ticket: { number: 'SIR0010042', link: 'https://x', sysId: 'a'.repeat(32) } } });
      const snap = await loadCisoSnapshot(store, s.incidentId, contoso, { now: new Date('2026-11-27T15:30:00.000Z'), mspOnCall: { name: 'MSP', email: 'oncall@msp.example' } });
      const d = draftCisoEmail(snap);
      const lines = d.body.split('\n');
      assert.ok(lines.length <= DRAFT_MAX_LINES, `${lines.length} lines`);
      assert.ok(lines.every((l) => l.length <= 200));
      assert.deepEqual(d.to, ['ciso@contoso.com']);
      assert.deepEqual(d.cc, ['oncall@contoso.com', 'oncall@msp.example']);
      assert.match(d.subject, new RegExp(`^\\[${s.incidentId}\\] Security incident contained: .*\\(SIR0010042\\)$`));
      assert.match(d.body, /^Dear Nestor Wilke,/);
      assert.match(d.body, /What happened: Microsoft Defender raised "Impossible travel/);
      assert.match(d.body, /What we did:\n- /);
      assert.match(d.body, /What is left:\n- /);
      assert.match(d.body, /Next update: by 17:30 UTC on 2026-11-27/);
      assert.match(d.body, new RegExp(`Incident: ${s.incidentId} · ServiceNow: SIR0010042`));
    });

    it('mail.notifyCiso: the approval preview is the draft; the run sends the edited subject and body via the MSP mailbox, once', async () => {
      const s = await seedIncident(store);
      const notify = byName(defs, 'mail.notifyCiso');
      assert.equal(notify.risk, 'destructive');
      const ctx = ctxFor(s.incidentId);
      const preview = await notify.preview!(notify.input.parse({}), ctx) as Preview;
      const draft = (preview.data as { draft: { to: string[]; subject: string; body: string } }).draft;
      assert.deepEqual(draft.to, ['ciso@contoso.com']);
      assert.match(draft.body, /What we did/);

      const before = emu.state.outbox.length;
      const input = notify.input.parse({ subject: `Update on ${s.incidentId}: account contained`, body: 'Edited by the analyst.\nSecond line.', recipients: 'ciso@contoso.com, it-security@contoso.com' });
      const r = await notify.run(input, ctx);
      assert.equal(emu.state.outbox.length, before + 1);
      const sent = emu.state.outbox.at(-1)!;
      assert.equal(sent.mailbox, MSP.mailbox);
      const m = sent.message as { subject: string; body: { content: string }; toRecipients: Array<{ emailAddress: { address: string } }> };
      assert.equal(m.subject, `Update on ${s.incidentId}: account contained`);
      assert.equal(m.body.content, 'Edited by the analyst.\nSecond line.');
      assert.deepEqual(m.toRecipients.map((x) => x.emailAddress.address), ['ciso@contoso.com', 'it-security@contoso.com']);
      assert.equal((r.output as { via: string }).via, 'graph');
      assert.ok(r.raw.some((p) => p.source === 'graph.sendMail'), 'the 202 is kept as evidence');

      const second = await notify.run(input, ctx);
      assert.equal(emu.state.outbox.length, before + 1, 'a retry of the same run does not send twice');
      assert.equal((second.output as { alreadySent?: boolean }).alreadySent, true);
    });

    it('mail.notifyCiso refuses another customer\'s address and sends nothing', async () => {
      const s = await seedIncident(store);
      const notify = byName(defs, 'mail.notifyCiso');
      const before = emu.state.outbox.length;
      for (const recipients of ['ciso@fabrikam.com', 'ciso@contoso.com; ceo@contoso.com.evil.example', ['ciso@contoso.com', 'x@fabrikam.com']]) {
        const err = await notify.run(notify.input.parse({ recipients }), ctxFor(s.incidentId)).then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof InvalidInputError, String(err));
        assert.match((err as Error).message, /a CISO email goes to this customer only/);
      }
      assert.equal(emu.state.outbox.length, before);
    });

    it('mail.notifyCiso via SMTP when the customer says so: a real listener receives the edited email', async () => {
      const s = await seedIncident(store);
      const notify = byName(defs, 'mail.notifyCiso');
      const before = smtp.received.length;
      await notify.run(notify.input.parse({ subject: 'SMTP subject edited', body: 'Body via SMTP.' }), ctxFor(s.incidentId, contosoSmtp));
      assert.equal(smtp.received.length, before + 1);
      const got = smtp.received.at(-1)!;
      assert.match(got.raw, /^Subject: SMTP subject edited\r?$/m);
      assert.match(got.raw, /Body via SMTP\./);
      assert.deepEqual(got.to.sort(), ['ciso@contoso.com', 'oncall@contoso.com', 'oncall@msp.example'].sort());
    });
  });
});
