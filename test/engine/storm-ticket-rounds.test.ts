import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { EmulatorUser } from '../../src/sandbox/graph/state';
import type { ServiceNowEmulator } from '../../src/sandbox/servicenow/emulator';
import type { FortiOsEmulator } from '../../src/sandbox/fortios/fortios-emulator';
import { CONTOSO } from '../../src/sandbox/contoso';
import type { CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { composeWorkNote, WORK_NOTE_MAX } from '../../src/connectors/servicenow/work-note';
import type { ActionDef } from '../../src/connectors/types';
import type { TicketOutput } from '../../src/evidence/actions';
import type { StormRoundNoteInput, StormRoundNoteOutput } from '../../src/evidence/storm-round-note';
import { stormRoundNoteLines } from '../../src/evidence/storm-round-note-text';
import { stormSummary } from '../../src/evidence/storm-summary';
import { loadIncidentSnapshot } from '../../src/read-model/incident-snapshot';
import { actionPorts } from '../../src/operations/action-ports';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { ProcedureCatalog } from '../../src/engine/procedure';
import { IntakeService } from '../../src/intake/intake-service';
import { isStormSubject } from '../../src/intake/storm';
import type { Store } from '../../src/store/store';
import { graphActionContext } from '../support/graph-sandbox';
import { uniqueId, withTestStores } from '../support/store-factory';
import { startStormTicketWorld, type StormTicketWorld } from '../support/storm-ticket-world';

/**
 * A storm's later rounds reach its ServiceNow ticket (Storm containment@2, src/engine/storm-rounds.ts):
 * a round that ends after the ticket was opened adds ONE work note (round n, contained / left and
 * why, the privileged accounts by name), exactly once whatever re-runs; a round that ended before
 * the ticket is counted in the ticket's description and adds no note; a rejected round is noted,
 * and its outcome after an @ir retry gets a note of its own. Hostile display names stay one inert line.
 */
const quiet = pino({ level: 'silent' });
const ALL = { kind: 'all' } as never;
const APPROVER = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Approver' };
/** user14's Entra display name: HTML, a ServiceNow [code] block, CRLF with a line that looks like ours, and long (Entra keeps at most 256 characters) */
const HOSTILE_NAME = `<img src=x onerror=alert(1)> [code]<script>x()</script>[/code]\r\n[teams-ir-bot forged] Contained: 99 of 99 ${'A'.repeat(150)}`;

const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
const upnOf = (run: string, n: number) => `user${n}.${run}@contoso.com`;

function alertFor(run: string, n: number): Record<string, unknown> {
  const a = fixture();
  a.id = `${run}-u${n}`;
  a.providerAlertId = a.id;
  a.detectorId = `PasswordSpray-${run}`;
  a.title = 'Password spray';
  a.createdDateTime = new Date(Date.parse('2026-12-02T08:50:00Z') + n * 10_000).toISOString();
  const ev = a.evidence[0] as { userAccount: Record<string, unknown> };
  ev.userAccount = { ...ev.userAccount, accountName: `user${n}`, userPrincipalName: upnOf(run, n), azureAdUserId: null, userSid: null };
  (a.evidence[2] as Record<string, unknown>).ipAddress = '203.0.113.7';
  return a;
}

function emulatorUser(run: string, n: number): EmulatorUser {
  return {
    id: `00000000-0000-4000-9200-${String(n).padStart(12, '0')}`, userPrincipalName: upnOf(run, n), displayName: n === 14 ? HOSTILE_NAME : `User ${n}`,
    mail: upnOf(run, n), accountEnabled: true, signInSessionsValidFromDateTime: '2025-01-01T00:00:00Z', lastPasswordChangeDateTime: '2025-01-01T00:00:00Z',
    passwordProfile: null, roles: n === 14 ? ['Global Administrator'] : [], groups: [],
  };
}

withTestStores((dialect, make) => {
  describe(`storm ticket: later rounds noted on it (${dialect})`, function () {
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

    function engine(name: string): { engine: Engine; intake: IntakeService } {
      const e = new Engine({
        store, registry, procedures: ProcedureCatalog.load({ registry, customers: [customer] }), secrets, log: quiet, customers: (id) => (id === customer.id ? customer : undefined),
        ports: actionPorts(store), retry: { maxAttempts: 1 }, workerId: `storm-rounds-${dialect}-${name}`,
      });
      engines.push(e);
      const intake = new IntakeService({ store, customerByTenant: (t) => (t.toLowerCase() === customer.tenantId.toLowerCase() ? customer : undefined), onIncidentCreated: () => undefined, log: quiet });
      return { engine: e, intake };
    }

    const tenant = () => emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;

    /** Users `from..to` in Entra and their alerts in Defender, received by intake. */
    async function accounts(run: string, from: number, to: number, intake: IntakeService): Promise<Set<string>> {
      const ids = new Set<string>();
      for (let i = from; i <= to; i++) {
        const u = emulatorUser(run, i);
        tenant().users.set(u.id, u);
        tenant().alerts.set(`${run}-u${i}`, { ...alertFor(run, i), comments: [] });
        for (const r of await intake.receive(alertFor(run, i), 'webhook', ALL)) ids.add(r.incidentId);
      }
      return ids;
    }

    /** A storm of users 1..n (user0 opens a single incident below the threshold, cancelled). */
    async function storm(run: string, n: number, intake: IntakeService): Promise<string> {
      const [single] = [...(await accounts(run, 0, 0, intake))];
      await store.updateIncident(single, { status: 'cancelled' });
      const ids = await accounts(run, 1, n, intake);
      assert.equal(ids.size, 1, 'one storm incident');
      const id = [...ids][0];
      assert.ok(isStormSubject((await store.getIncident(id))!.subjectUpn));
      return id;
    }

    /** Approves (or rejects) every card but those of `keep` until none is left. */
    async function decideAllBut(e: Engine, id: string, keep: string[], reject: string[] = []): Promise<void> {
      for (let i = 0; i < 10; i++) {
        await e.settle();
        const pending = (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((p) => !keep.some((k) => p.actionId === `${id}:${k}`));
        if (!pending.length) return;
        for (const p of pending) {
          const no = reject.some((k) => p.actionId === `${id}:${k}`);
          const r = await e.decide({ approvalId: p.id, vote: no ? 'reject' : 'approve', clicker: APPROVER, ...(no ? { reason: 'the customer\r\nasked to wait [code]<b>x</b>[/code]' } : {}) });
          assert.equal(r.ok, true, JSON.stringify(r));
        }
      }
      assert.fail('the storm kept asking for approvals');
    }

    const ticketOf = (id: string) => {
      const rows = (snow.state.records.get('sn_si_incident') ?? []).filter((r) => r.correlation_id === id);
      assert.equal(rows.length, 1, 'one ticket for the storm');
      return rows[0] as Record<string, string>;
    };
    /** the bot's notes on the ticket (the Defender link noted at the create is not one) */
    const notesOn = (id: string) => snow.state.journal.filter((j) => j.sysId === ticketOf(id).sys_id && j.value.startsWith(`[teams-ir-bot ${id} `));
    const noteRows = async (id: string) => (await store.listActions(id)).filter((a) => a.stepId.startsWith('storm-ticket-note-'));

    it('ticket opened for 12, then 3 late accounts: round 2 adds ONE work note naming them with the counts; a re-run, a replay and more passes add none', async () => {
      const run = uniqueId('nt').replace(/-/g, '').slice(0, 16);
      const { engine: e, intake } = engine('late');
      emu.injectFault(`PATCH /users/${upnOf(run, 15)}`, { status: 403 });
      const id = await storm(run, 12, intake);
      await e.startIncident(id);
      await decideAllBut(e, id, ['notify-ciso']);
      const ticketStep = (await store.getAction(`${id}:ir-ticket`))!;
      assert.equal(ticketStep.status, 'succeeded', String(ticketStep.error));
      assert.ok(ticketOf(id).description.split('\n').includes('Contained: 12 of 12 (12 disabled in Entra, 12 password reset, 12 sessions revoked, 12 confirmed compromised)'), ticketOf(id).description);
      assert.deepEqual((ticketStep.result!.output as TicketOutput).stormRoundsCounted, []);
      assert.equal(notesOn(id).length, 0);

      // three accounts join after the ticket: round 2, its card approved
      assert.deepEqual([...await accounts(run, 13, 15, intake)], [id]);
      await decideAllBut(e, id, ['notify-ciso']);
      const round2 = (await store.getAction(`${id}:storm-contain-2`))!;
      assert.equal(round2.status, 'succeeded', String(round2.error));
      await e.settle();

      const rows = await noteRows(id);
      assert.deepEqual(rows.map((r) => [r.stepId, r.status, r.idempotencyKey]), [['storm-ticket-note-2', 'succeeded', `${id}:storm-ticket-note-2`]], JSON.stringify(rows.map((r) => r.error)));
      const notes = notesOn(id);
      assert.equal(notes.length, 1, 'one work note');
      assert.equal(notes[0].field, 'work_notes');
      const lines = notes[0].value.split('\n');
      assert.equal(lines[0], `[teams-ir-bot ${id} storm-ticket-note-2] Round 2 of the alert storm (storm-contain-2) ended after this ticket was opened: 3 accounts that joined the storm later.`);
      assert.equal(lines[1], 'Contained: 2 of 3 (2 disabled in Entra, 2 password reset, 2 sessions revoked, 2 confirmed compromised)');
      assert.deepEqual(lines.slice(2, 5), ['Contained accounts:', `- ${upnOf(run, 13)}`, `- ${upnOf(run, 14)}`]);
      assert.equal(lines[5], 'Left: 1 not contained:');
      assert.match(lines[6], new RegExp(`^- user15\\.${run}@contoso\\.com: containment failed: .*not allowed to disable user15\\.`));
      // the hostile name: on the privileged line, one line, literal, [code] broken, cut
      const privileged = lines[7];
      assert.equal(privileged, `Privileged accounts: ${upnOf(run, 14)} "<img src=x onerror=alert(1)> (code)<script>x()</script>(/code) [teams-ir-bot forged] Contained: 99 …" (Global Administrator): contained`);
      assert.equal(lines[8], 'The storm now: 14 of 15 accounts contained.');
      assert.equal(lines.length, 9, notes[0].value);
      assert.ok(!notes[0].value.includes('\r') && !/\[\/?code\]/i.test(notes[0].value));
      assert.equal(lines.filter((l) => l.startsWith('[teams-ir-bot')).length, 1, 'no line of the name looks like ours');

      // more passes: no second row, no second note
      for (let i = 0; i < 3; i++) await e.tick();
      await e.settle();
      assert.equal((await noteRows(id)).length, 1);
      assert.equal(notesOn(id).length, 1);

      // a re-run of the note after a crash (mayHaveRun): the note is found by its marker
      const def = registry.get('ticket.noteStormRound') as ActionDef<StormRoundNoteInput, StormRoundNoteOutput>;
      const again = await def.run({ round: 2, approvalRound: 0 }, graphActionContext(customer, secrets, { incidentId: id, idempotencyKey: rows[0].idempotencyKey, mayHaveRun: true, ports: actionPorts(store)(customer) }));
      assert.equal(again.output.noted, false);
      assert.equal(again.output.ticket!.number, (ticketStep.result!.output as TicketOutput).ticket.number);
      assert.equal(notesOn(id).length, 1);

      // a replay by the engine: the row made runnable again runs again and still writes nothing
      const replay = await store.transitionAction(rows[0].id, { from: ['succeeded'], to: 'ready' }, { error: null }, []);
      assert.ok(replay);
      await e.settle();
      const replayed = (await store.getAction(rows[0].id))!;
      assert.equal(replayed.status, 'succeeded', String(replayed.error));
      assert.equal(replayed.attempts, 2);
      assert.equal((replayed.result!.output as StormRoundNoteOutput).noted, false);
      assert.equal(notesOn(id).length, 1, 'still one note');
    });

    it('round 2 finishing before the ticket: the ticket counts all 15 and no note is added', async () => {
      const run = uniqueId('nb').replace(/-/g, '').slice(0, 16);
      const { engine: e, intake } = engine('before');
      const id = await storm(run, 12, intake);
      await e.startIncident(id);
      // the firewall's card held: the report, and so the ticket, wait for it
      await decideAllBut(e, id, ['firewall-block', 'notify-ciso']);
      assert.equal((await store.getAction(`${id}:storm-contain`))!.status, 'succeeded');
      await accounts(run, 13, 15, intake);
      await decideAllBut(e, id, ['firewall-block', 'notify-ciso']);
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'succeeded');
      assert.equal((await store.getAction(`${id}:ir-ticket`))!.status, 'waiting');
      // a ticket opened between round 2's end and the pass that merges it into the findings still counts it (the rows say so)
      const snap = (await loadIncidentSnapshot(store, id))!;
      const unmerged = { ...snap, findings: { ...snap.findings, stormContained: snap.findings.stormContained!.filter((a) => !/^user1[345]\./.test(a.label)) } };
      assert.equal(unmerged.findings.stormContained.length, 12);
      const counted = stormSummary(unmerged);
      assert.deepEqual([counted.accounts.length, counted.contained.length, counted.left.length], [15, 15, 0]);

      await decideAllBut(e, id, ['notify-ciso']);
      const ticketStep = (await store.getAction(`${id}:ir-ticket`))!;
      assert.equal(ticketStep.status, 'succeeded', String(ticketStep.error));
      const row = ticketOf(id);
      assert.equal(row.short_description, 'Alert storm at Contoso: 15 accounts hit by "Password spray" (15 contained)');
      const lines = row.description.split('\n');
      assert.ok(lines.includes('Accounts affected: 15'), row.description);
      assert.ok(lines.includes('Contained: 15 of 15 (15 disabled in Entra, 15 password reset, 15 sessions revoked, 15 confirmed compromised)'), row.description);
      assert.ok(lines.includes('Left: none, every account of the storm is contained'), row.description);
      assert.deepEqual((ticketStep.result!.output as TicketOutput).stormRoundsCounted, ['storm-ticket-note-2']);
      await e.settle();
      assert.deepEqual(await noteRows(id), []);
      assert.equal(notesOn(id).length, 0);
    });

    it('a round rejected after the ticket is noted as rejected; asked again and approved, its outcome gets a note of its own', async () => {
      const run = uniqueId('nr').replace(/-/g, '').slice(0, 16);
      const { engine: e, intake } = engine('rejected');
      const id = await storm(run, 3, intake);
      await e.startIncident(id);
      await decideAllBut(e, id, ['notify-ciso']);
      assert.equal((await store.getAction(`${id}:ir-ticket`))!.status, 'succeeded');
      await accounts(run, 13, 14, intake);
      await decideAllBut(e, id, ['notify-ciso'], ['storm-contain-2']);
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'rejected');
      await e.settle();
      let notes = notesOn(id);
      assert.equal(notes.length, 1);
      const rejected = notes[0].value.split('\n');
      assert.equal(rejected[0], `[teams-ir-bot ${id} storm-ticket-note-2] Round 2 of the alert storm (storm-contain-2) ended after this ticket was opened: containment of the 2 accounts that joined the storm later was rejected by Alex Approver: the customer asked to wait (code)<b>x</b>(/code). They are not contained.`);
      assert.deepEqual(rejected.slice(1, 4), ['Accounts of this round:', `- ${upnOf(run, 13)}`, `- ${upnOf(run, 14)}`]);
      assert.ok(rejected[4].startsWith(`Privileged accounts: ${upnOf(run, 14)} "`) && rejected[4].endsWith('(Global Administrator): NOT contained'), rejected[4]);
      assert.equal(rejected.at(-1), 'The storm now: 3 of 5 accounts contained.');

      // asked again: a new card; approved, the round's outcome is noted once more, under its own key
      assert.equal((await e.retry(id, 'storm-contain-2', APPROVER)).ok, true);
      await decideAllBut(e, id, ['notify-ciso']);
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'succeeded');
      await e.settle();
      assert.deepEqual((await noteRows(id)).map((r) => [r.stepId, r.status]).sort(), [['storm-ticket-note-2', 'succeeded'], ['storm-ticket-note-2-retry-1', 'succeeded']]);
      notes = notesOn(id);
      assert.equal(notes.length, 2);
      const after = notes[1].value.split('\n');
      assert.ok(after[0].startsWith(`[teams-ir-bot ${id} storm-ticket-note-2-retry-1] Round 2 of the alert storm`), after[0]);
      assert.ok(after.includes('Contained: 2 of 2 (2 disabled in Entra, 2 password reset, 2 sessions revoked, 2 confirmed compromised)'), notes[1].value);
      assert.equal(after.at(-1), 'The storm now: 5 of 5 accounts contained.');
    });
  });
});

describe('storm round note: bounded and literal', () => {
  it('120 accounts with long hostile names: one line each for the first 50, "… and 70 more", under the size bound', () => {
    const hostile = (n: number) => `u${n}@contoso.com\r\nContained: 0 of 0 [code]<i>${'x'.repeat(400)}</i>[/code]`;
    const accounts = Array.from({ length: 120 }, (_, i) => ({ label: hostile(i), displayName: `Name ${i}\r\n[code]<b>`, privilegedRoles: i % 2 ? ['Global Administrator'] : [] }));
    const lines = stormRoundNoteLines({
      incidentId: 'IR-20261202-7K3Q', round: 3, status: 'expired', accounts, outcomes: [], error: null, decision: null, storm: { accounts: 400, contained: 280 },
    });
    assert.ok(lines[0].endsWith('the approval to contain the 120 accounts that joined the storm later expired unanswered (an approver can ask again: @ir retry IR-20261202-7K3Q storm-contain-3). They are not contained.'), lines[0]);
    assert.equal(lines[1], 'Accounts of this round (the first 50):');
    assert.equal(lines[52], '- … and 70 more');
    assert.ok(lines[53].startsWith('Privileged accounts: ') && lines[53].includes(' … and 55 more'), lines[53]);
    const note = composeWorkNote('[teams-ir-bot IR-20261202-7K3Q storm-ticket-note-3]', lines);
    assert.ok(note.length <= WORK_NOTE_MAX, `${note.length}`);
    const out = note.split('\n');
    assert.equal(out.filter((l) => l.startsWith('[teams-ir-bot')).length, 1);
    assert.ok(!note.includes('\r') && !/\[\/?code\]/i.test(note));
    assert.ok(out.slice(2, 52).every((l) => l.startsWith('- u') && l.length <= 102), 'one bounded line per account');
    assert.equal(out.at(-1), 'The storm now: 280 of 400 accounts contained.');
  });
});
