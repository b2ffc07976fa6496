import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { verifyChain } from '../../src/domain/timeline-hash';
import { ConflictError, IntegrityError, NotFoundError } from '../../src/store/errors';
import { EVIDENCE_CHUNK_BYTES } from '../../src/store/evidence-chunks';
import type { KyselyStore } from '../../src/store/kysely-store';
import type { AlertRecord, IncidentRecord, Store, TimelineEventInput } from '../../src/store/store';
import { uniqueId, type StoreDialectName } from '../support/store-factory';

/**
 * The Store contract, one suite for every adapter. `make()` opens another Store instance on the
 * same database, which is how the races between two processes are staged.
 */

const defenderAlert = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'fixtures', 'store', 'defender-alert-impossible-travel.json'), 'utf8'),
) as Record<string, unknown>;

const T0 = new Date('2026-11-27T09:15:00.000Z');
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);

function raw(store: Store) {
  return (store as KyselyStore).db;
}

function incidentFor(customerId: string, upn: string, id = uniqueId('IR')): Omit<IncidentRecord, 'updatedAt' | 'closedAt'> {
  return {
    id,
    customerId,
    tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    subjectUpn: upn,
    subjectObjectId: null,
    severity: 'high',
    title: 'Impossible travel activity',
    status: 'open',
    procedure: null,
    createdAt: new Date().toISOString(),
    data: {},
  };
}

function alertFor(customerId: string, alertId = uniqueId('da')): Omit<AlertRecord, 'incidentId'> {
  const alert = { ...defenderAlert, id: alertId };
  return { id: alertId, customerId, receivedAt: new Date().toISOString(), source: 'webhook', alert, raw: JSON.stringify(alert) };
}

const received = (joined: boolean): TimelineEventInput[] => [
  { source: 'defender', kind: joined ? 'alert.joined' : 'alert.received', summary: 'Impossible travel activity', data: { joined } },
];

async function openIncident(store: Store, customerId = uniqueId('cust')): Promise<string> {
  const r = await store.recordAlert({
    alert: alertFor(customerId),
    newIncident: incidentFor(customerId, `${uniqueId('user')}@contoso.com`),
    events: received,
  });
  return r.incidentId;
}

async function actionAt(store: Store, incidentId: string, status: 'ready' | 'awaiting_approval' | 'waiting', stepId = uniqueId('step')) {
  const id = `${incidentId}:${stepId}`;
  await store.ensureActions([{ id, incidentId, stepId, name: 'entra.containUser', status, idempotencyKey: `key:${id}`, input: { upn: 'adele.vance@contoso.com' } }]);
  return id;
}

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const n = sizes[i % sizes.length];
    yield data.subarray(offset, offset + n);
    offset += n;
    await new Promise((r) => setImmediate(r));
  }
}

export function storeContract(name: StoreDialectName, make: () => Promise<Store>): void {
  let store: Store;
  before(async function () {
    this.timeout(30_000);
    store = await make();
  });

  it('reports its dialect and answers a ping', async () => {
    assert.equal(store.dialect, name);
    await store.ping();
  });

  describe('migrations', () => {
    it('are idempotent: running them again changes nothing', async () => {
      const before = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(raw(store));
      await store.migrate();
      await store.migrate();
      const other = await make(); // openStore migrates too
      await other.migrate();
      const after = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(raw(store));
      assert.deepEqual(after.rows, before.rows);
      assert.deepEqual(after.rows.map((r) => r.name), ['0001-initial', '0002-alert-identity-per-customer', '0003-subject-identity', '0004-subject-identifiers', '0005-release', '0006-inverse', '0007-send-rates', '0008-action-priority']);
    });
  });

  describe('recordAlert', () => {
    it('creates an incident, then joins the next alert on the same subject case-insensitively, and deduplicates', async () => {
      const customer = uniqueId('cust');
      const upn = `${uniqueId('adele')}@contoso.com`;
      const first = alertFor(customer);
      const created = await store.recordAlert({ alert: first, newIncident: incidentFor(customer, upn), events: received });
      assert.deepEqual({ created: created.created, duplicate: created.duplicate }, { created: true, duplicate: false });

      const joined = await store.recordAlert({ alert: alertFor(customer), newIncident: incidentFor(customer, upn.toUpperCase()), events: received });
      assert.deepEqual(joined, { incidentId: created.incidentId, created: false, duplicate: false });

      const again = await store.recordAlert({ alert: first, newIncident: incidentFor(customer, upn), events: received });
      assert.deepEqual(again, { incidentId: created.incidentId, created: false, duplicate: true });

      const alerts = await store.listAlerts(created.incidentId);
      assert.equal(alerts.length, 2);
      assert.equal(alerts[0].raw, first.raw);
      assert.deepEqual(alerts[0].alert, first.alert);
      const timeline = await store.listTimeline(created.incidentId);
      assert.deepEqual(timeline.map((e) => e.kind), ['alert.received', 'alert.joined']);
      assert.deepEqual(verifyChain(timeline), { ok: true });
    });

    describe('one open incident per identity (SID, UPN, DOMAIN\\sam: migration 0004)', () => {
      const sidOf = () => `S-1-5-21-1004336348-1177238915-682003330-${1000 + Math.floor(Math.random() * 1e6)}`;
      const onPrem = (customerId: string, ids: { sid?: string; sam?: string; upn?: string }) => {
        const label = ids.upn ?? (ids.sam ? `CONTOSO\\${ids.sam}` : ids.sid!);
        return {
          ...incidentFor(customerId, label),
          subjectIdentity: {
            upn: ids.upn ?? null, objectId: null, sid: ids.sid ?? null, samAccountName: ids.sam ?? null, domain: ids.sam ? 'CONTOSO' : null,
            netbios: 'CONTOSO', dnsDomain: 'contoso.local', placed: true, placement: 'Active Directory domain CONTOSO (contoso.local)',
          },
        };
      };
      const joinedEvents = (joined: boolean, joinedBy?: string): TimelineEventInput[] => [
        { source: 'defender', kind: joined ? 'alert.joined' : 'alert.received', summary: joinedBy ? `Another alert on the same account (matched by ${joinedBy})` : 'alert', data: { joinedBy: joinedBy ?? null } },
      ];

      it('a SID alert opens the incident; once the lookup adds the UPN and DOMAIN\\sam, alerts by either join it and say by which identifier', async () => {
        const customer = uniqueId('cust');
        const sid = sidOf();
        const sam = uniqueId('adm').slice(0, 20).toLowerCase();
        const upn = `${sam}@contoso.com`;
        const first = await store.recordAlert({ alert: alertFor(customer), newIncident: onPrem(customer, { sid }), events: joinedEvents });
        assert.equal(first.created, true);
        assert.deepEqual(await store.listSubjectIdentifiers(first.incidentId), [`sid:${sid}`]);

        // before the lookup, a UPN alert knows nothing that links it: its own incident (closed again below)
        const early = await store.recordAlert({ alert: alertFor(customer), newIncident: onPrem(customer, { upn: `other-${upn}` }), events: joinedEvents });
        assert.equal(early.created, true);
        assert.notEqual(early.incidentId, first.incidentId);

        // the lookup resolved the account in both directories (runner: record subjectIdentifiers)
        const added = await store.addSubjectIdentifiers(first.incidentId, [`sid:${sid}`, `upn:${upn}`, `sam:contoso\\${sam}`]);
        assert.deepEqual(added.sort(), [`sam:contoso\\${sam}`, `upn:${upn}`].sort(), 'only the new ones are reported as added');

        const byUpn = await store.recordAlert({ alert: alertFor(customer), newIncident: onPrem(customer, { upn: upn.toUpperCase() }), events: joinedEvents });
        assert.deepEqual(byUpn, { incidentId: first.incidentId, created: false, duplicate: false }, 'the UPN alert joins the SID incident');
        const bySam = await store.recordAlert({ alert: alertFor(customer), newIncident: onPrem(customer, { sam: sam.toUpperCase() }), events: joinedEvents });
        assert.deepEqual(bySam, { incidentId: first.incidentId, created: false, duplicate: false }, 'the DOMAIN\\sam alert joins it');

        const timeline = await store.listTimeline(first.incidentId);
        assert.deepEqual(timeline.map((e) => e.kind), ['alert.received', 'alert.joined', 'alert.joined']);
        assert.deepEqual(timeline.slice(1).map((e) => (e.data as { joinedBy?: string }).joinedBy), [`upn:${upn}`, `sam:contoso\\${sam}`]);
        assert.match(timeline[1].summary, /Another alert on the same account \(matched by upn:/);
        assert.deepEqual(verifyChain(timeline), { ok: true });
        assert.equal((await store.listAlerts(first.incidentId)).length, 3);
      });

      it('another customer\'s account with the same SID, and a closed incident, are never joined', async () => {
        const sid = sidOf();
        const a = await store.recordAlert({ alert: alertFor('contoso-id'), newIncident: onPrem('contoso-id', { sid }), events: joinedEvents });
        const b = await store.recordAlert({ alert: alertFor('fabrikam-id'), newIncident: onPrem('fabrikam-id', { sam: 'adm-x', upn: undefined }), events: joinedEvents });
        await store.addSubjectIdentifiers(b.incidentId, [`sid:${sid}`]);
        const again = await store.recordAlert({ alert: alertFor('contoso-id'), newIncident: onPrem('contoso-id', { sam: 'adm-y', sid }), events: joinedEvents });
        assert.equal(again.incidentId, a.incidentId, 'joins its own customer\'s incident');
        await store.updateIncident(a.incidentId, { status: 'closed' });
        const after = await store.recordAlert({ alert: alertFor('contoso-id'), newIncident: onPrem('contoso-id', { sid }), events: joinedEvents });
        assert.equal(after.created, true, 'a closed incident is not joined');
        assert.notEqual(after.incidentId, a.incidentId);
        await assert.rejects(store.addSubjectIdentifiers('IR-NOPE', [`sid:${sid}`]), NotFoundError);
      });
    });

    it('keeps customers apart and opens a new incident once the old one is closed', async () => {
      const upn = `${uniqueId('adele')}@contoso.com`;
      const a = await store.recordAlert({ alert: alertFor('contoso-x'), newIncident: incidentFor('contoso-x', upn), events: received });
      const b = await store.recordAlert({ alert: alertFor('fabrikam-x'), newIncident: incidentFor('fabrikam-x', upn), events: received });
      assert.notEqual(a.incidentId, b.incidentId);
      assert.equal(b.created, true);

      const closed = await store.updateIncident(a.incidentId, { status: 'closed' }, [{ source: 'bot', kind: 'incident.closed', summary: 'Closed' }]);
      assert.ok(closed.closedAt);
      const c = await store.recordAlert({ alert: alertFor('contoso-x'), newIncident: incidentFor('contoso-x', upn), events: received });
      assert.equal(c.created, true);
      assert.notEqual(c.incidentId, a.incidentId);
    });

    it('alert identity is (customer, alert id): another customer reusing an alert id is not a duplicate of it', async () => {
      const upn = `${uniqueId('adele')}@contoso.com`;
      const shared = uniqueId('da');
      const contoso = uniqueId('contoso');
      const fabrikam = uniqueId('fabrikam');
      // the other customer records the id first: it must not shadow the real one
      const forged = await store.recordAlert({ alert: alertFor(fabrikam, shared), newIncident: incidentFor(fabrikam, upn), events: received });
      assert.equal(forged.created, true);
      const real = await store.recordAlert({ alert: alertFor(contoso, shared), newIncident: incidentFor(contoso, upn), events: received });
      assert.deepEqual({ created: real.created, duplicate: real.duplicate }, { created: true, duplicate: false });
      assert.notEqual(real.incidentId, forged.incidentId);
      assert.deepEqual((await store.listAlerts(real.incidentId)).map((a) => [a.customerId, a.id]), [[contoso, shared]]);
      // and within one customer the id still deduplicates
      const again = await store.recordAlert({ alert: alertFor(contoso, shared), newIncident: incidentFor(contoso, upn), events: received });
      assert.deepEqual(again, { incidentId: real.incidentId, created: false, duplicate: true });
    });

    it('writes nothing when any part fails', async () => {
      const customer = uniqueId('cust');
      const alert = alertFor(customer);
      const incident = incidentFor(customer, `${uniqueId('u')}@contoso.com`);
      await assert.rejects(store.recordAlert({ alert, newIncident: incident, events: () => [{ source: 'defender', kind: '', summary: 'x' }] }));
      assert.equal(await store.getIncident(incident.id), undefined);
      assert.deepEqual(await store.listAlerts(incident.id), []);
      const retried = await store.recordAlert({ alert, newIncident: incident, events: received });
      assert.deepEqual(retried, { incidentId: incident.id, created: true, duplicate: false });
    });

    it('a reused incident id on a new subject is a ConflictError, not a silent join', async () => {
      const customer = uniqueId('cust');
      const taken = await openIncident(store, customer);
      await assert.rejects(
        store.recordAlert({ alert: alertFor(customer), newIncident: incidentFor(customer, `${uniqueId('u')}@contoso.com`, taken), events: received }),
        (e: unknown) => e instanceof ConflictError && e.message.includes(taken),
      );
    });

    it('records one alert once when two processes receive it at the same moment', async () => {
      const other = await make();
      const customer = uniqueId('cust');
      const upn = `${uniqueId('u')}@contoso.com`;
      const alert = alertFor(customer);
      const results = await Promise.all([store, other, store, other].map((s) =>
        s.recordAlert({ alert, newIncident: incidentFor(customer, upn), events: received })));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(results.filter((r) => r.duplicate).length, 3);
      assert.equal(new Set(results.map((r) => r.incidentId)).size, 1);
      assert.equal((await store.listAlerts(results[0].incidentId)).length, 1);
      assert.equal((await store.listTimeline(results[0].incidentId)).length, 1);
    });

    it('opens one incident when two different alerts on a new subject race', async () => {
      const other = await make();
      const customer = uniqueId('cust');
      const upn = `${uniqueId('u')}@contoso.com`;
      const [r1, r2] = await Promise.all([store, other].map((s) =>
        s.recordAlert({ alert: alertFor(customer), newIncident: incidentFor(customer, upn), events: received })));
      assert.equal(r1.incidentId, r2.incidentId);
      assert.deepEqual([r1.created, r2.created].sort(), [false, true]);
      assert.deepEqual(verifyChain(await store.listTimeline(r1.incidentId)), { ok: true });
    });
  });

  describe('incidents', () => {
    it('refuses a second open incident for the same subject, naming the open one', async () => {
      const customer = uniqueId('cust');
      const upn = `${uniqueId('u')}@contoso.com`;
      const first = incidentFor(customer, upn);
      await store.createIncident(first, [{ source: 'bot', kind: 'incident.created', summary: 'manual' }]);
      await assert.rejects(store.createIncident(incidentFor(customer, upn.toUpperCase()), []),
        (e: unknown) => e instanceof ConflictError && e.message.includes(first.id));
    });

    it('merges data, sets status and appends events in one update; lists open ones', async () => {
      const id = await openIncident(store);
      const updated = await store.updateIncident(id, { status: 'containing', data: { signIns: 3 }, subjectObjectId: 'abc', procedure: 'acc@1' },
        [{ source: 'engine', kind: 'procedure.started', summary: 'started' }]);
      assert.equal(updated.status, 'containing');
      assert.deepEqual(updated.data, { signIns: 3 });
      const again = await store.updateIncident(id, { data: { ticket: 'SIR0001001' } });
      assert.deepEqual(again.data, { signIns: 3, ticket: 'SIR0001001' });
      assert.equal(again.status, 'containing');
      assert.equal(again.closedAt, null);
      assert.ok((await store.listIncidents({ open: true, customerId: updated.customerId })).some((i) => i.id === id));
      assert.equal((await store.listTimeline(id)).at(-1)?.kind, 'procedure.started');
      await assert.rejects(store.updateIncident('IR-nope', { status: 'closed' }), NotFoundError);
    });
  });

  describe('timeline hash chain', () => {
    it('verifies, and a one-byte change to a summary or data is caught at its seq', async () => {
      const id = await openIncident(store);
      const appended = await store.appendTimeline(id, [
        { source: 'entra', kind: 'finding.impossibleTravel', summary: 'Lisbon to Singapore in 12 min', sourceTime: '2026-11-27T09:10:12Z', data: { km: 11_000 } },
        { source: 'bot', kind: 'step.approved', summary: 'Approved', actor: 'Alex Wilber', data: { nested: { b: 1, a: [1, 'x'] } } },
        { source: 'radius', kind: 'step.succeeded', summary: 'CoA-ACK' },
      ]);
      assert.deepEqual(appended.map((e) => e.seq), [2, 3, 4]);
      const chain = await store.listTimeline(id);
      assert.deepEqual(chain.slice(1), appended);
      assert.deepEqual(verifyChain(chain), { ok: true });

      await sql`update timeline_events set summary = ${'Lisbon to Singapore in 13 min'} where incident_id = ${id} and seq = 2`.execute(raw(store));
      assert.deepEqual(verifyChain(await store.listTimeline(id)), {
        ok: false, seq: 2, reason: 'hash does not match the content: the event was changed after it was recorded',
      });
      await sql`update timeline_events set summary = ${'Lisbon to Singapore in 12 min'} where incident_id = ${id} and seq = 2`.execute(raw(store));
      assert.deepEqual(verifyChain(await store.listTimeline(id)), { ok: true });

      await sql`update timeline_events set data = ${'{"nested":{"a":[1,"y"],"b":1}}'} where incident_id = ${id} and seq = 3`.execute(raw(store));
      const tampered = verifyChain(await store.listTimeline(id));
      assert.equal(tampered.ok, false);
      assert.equal(!tampered.ok && tampered.seq, 3);

      await sql`update timeline_events set data = ${'{not json'} where incident_id = ${id} and seq = 3`.execute(raw(store));
      const corrupt = verifyChain(await store.listTimeline(id));
      assert.equal(!corrupt.ok && corrupt.seq, 3);
    });

    it('stores lone surrogates and NUL as U+FFFD in text, hashes what it stores, and returns what it stored', async () => {
      const customerId = uniqueId('cust');
      const incident = { ...incidentFor(customerId, `${uniqueId('user')}@contoso.com`), title: 'bad \ud800 title \u0000', data: { k: 'x\udc00', ['key\ud800']: 1 } };
      await store.createIncident(incident, [{ source: 'defender', kind: 'alert.received', summary: 'lone \ud800 and nul \u0000', actor: 'Ad\udfffele', data: { note: 'v\ud800', nul: 'a\u0000b' } }]);
      const appended = await store.appendTimeline(incident.id, [{ source: 'bot', kind: 'step.note', summary: '\udbff\u0000', sourceTime: null }]);
      const chain = await store.listTimeline(incident.id);
      assert.deepEqual(verifyChain(chain), { ok: true });
      assert.deepEqual(chain.slice(1), appended, 'the returned events are the stored ones');
      assert.equal(chain[0].summary, 'lone \ufffd and nul \ufffd');
      assert.equal(chain[0].actor, 'Ad\ufffdele');
      assert.deepEqual(chain[0].data, { note: 'v\ufffd', nul: 'a\u0000b' }, 'inside JSON, NUL is kept as its escape');
      assert.equal(chain[1].summary, '\ufffd\ufffd');
      const stored = await store.getIncident(incident.id);
      assert.equal(stored?.title, 'bad \ufffd title \ufffd');
      assert.deepEqual(stored?.data, { k: 'x\ufffd', ['key\ufffd']: 1 });
      const updated = await store.updateIncident(incident.id, { data: { reason: 'r\ud800' } });
      assert.equal(updated.data.reason, 'r\ufffd');
    });

    it('never forks when two writers append to one incident at once', async () => {
      const other = await make();
      const id = await openIncident(store);
      await Promise.all([store, other].flatMap((s, w) => Array.from({ length: 15 }, (_, i) =>
        s.appendTimeline(id, [{ source: 'engine', kind: 'test.append', summary: `writer ${w} #${i}` }]))));
      const chain = await store.listTimeline(id);
      assert.equal(chain.length, 31);
      assert.deepEqual(chain.map((e) => e.seq), Array.from({ length: 31 }, (_, i) => i + 1));
      assert.deepEqual(verifyChain(chain), { ok: true });
    });

    it('refuses events for an unknown incident', async () => {
      await assert.rejects(store.appendTimeline('IR-missing', [{ source: 'bot', kind: 'x', summary: 'x' }]), NotFoundError);
    });
  });

  describe('actions', () => {
    it('ensureActions inserts once and leaves existing actions alone; a reused idempotency key fails', async () => {
      const incidentId = await openIncident(store);
      const id = await actionAt(store, incidentId, 'waiting', 'contain');
      await store.transitionAction(id, { from: ['waiting'], to: 'ready' });
      await actionAt(store, incidentId, 'waiting', 'contain');
      assert.equal((await store.getAction(id))?.status, 'ready');
      await assert.rejects(store.ensureActions([{ id: `${incidentId}:other`, incidentId, stepId: 'other', name: 'x.y', status: 'waiting', idempotencyKey: `key:${id}`, input: null }]));
      assert.deepEqual((await store.listActions(incidentId)).map((a) => a.id), [id]);
    });

    it('transitionAction is compare-and-set: of two racing writers exactly one wins', async () => {
      const other = await make();
      const incidentId = await openIncident(store);
      const id = await actionAt(store, incidentId, 'ready');
      const results = await Promise.all([store, other].map((s, i) => s.transitionAction(id, { from: ['ready'], to: i === 0 ? 'skipped' : 'cancelled' },
        { error: `writer ${i}` }, [{ source: 'engine', kind: 'step.moved', summary: `writer ${i}` }])));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      const after = await store.getAction(id);
      assert.equal(after?.status, winners[0]?.status);
      assert.equal(after?.error, winners[0]?.error);
      assert.equal((await store.listTimeline(incidentId)).filter((e) => e.kind === 'step.moved').length, 1);
      assert.equal(await store.transitionAction(id, { from: ['ready'], to: 'running' }), undefined);
    });

    it('claimAction: of two Store instances exactly one wins the action', async () => {
      const other = await make();
      const incidentId = await openIncident(store);
      const id = await actionAt(store, incidentId, 'ready');
      const claims = await Promise.all([store.claimAction('worker-a', 30_000, T0, { incidentId }), other.claimAction('worker-b', 30_000, T0, { incidentId })]);
      const won = claims.filter((c) => c !== undefined);
      assert.equal(won.length, 1);
      assert.equal(won[0]?.id, id);
      assert.equal(won[0]?.status, 'running');
      assert.equal(won[0]?.attempts, 1);
      assert.equal(won[0]?.leaseUntil, at(30_000).toISOString());
    });

    it('claimAction re-claims an expired lease (attempts + 1) and the old owner can no longer finish', async () => {
      const incidentId = await openIncident(store);
      const id = await actionAt(store, incidentId, 'ready');
      const first = await store.claimAction('worker-a', 10_000, T0, { incidentId });
      assert.equal(first?.leaseOwner, 'worker-a');
      assert.equal(await store.claimAction('worker-b', 10_000, at(5_000), { incidentId }), undefined, 'lease still valid');
      assert.equal(await store.renewLease(id, 'worker-a', 10_000, at(5_000)), true);
      assert.equal(await store.renewLease(id, 'worker-b', 10_000, at(5_000)), false);
      assert.equal(await store.claimAction('worker-b', 10_000, at(14_000), { incidentId }), undefined, 'renewed lease still valid');

      const second = await store.claimAction('worker-b', 10_000, at(15_001), { incidentId });
      assert.equal(second?.id, id);
      assert.equal(second?.leaseOwner, 'worker-b');
      assert.equal(second?.attempts, 2);
      assert.equal(await store.transitionAction(id, { from: ['running'], to: 'succeeded', leaseOwner: 'worker-a' }, { result: { late: true } }), undefined);
      const done = await store.transitionAction(id, { from: ['running'], to: 'succeeded', leaseOwner: 'worker-b' }, { result: { ok: true } });
      assert.equal(done?.status, 'succeeded');
      assert.deepEqual(done?.result, { ok: true });
      assert.equal(done?.leaseOwner, null);
      assert.equal(await store.claimAction('worker-c', 10_000, at(60_000), { incidentId }), undefined);
    });

    it('claimAction takes an approved step before older read-only work (a storm\'s scoping does not hold up a containment)', async () => {
      const incidentId = await openIncident(store);
      const scope = [];
      for (let i = 0; i < 3; i++) {
        scope.push(await actionAt(store, incidentId, 'ready'));
        await new Promise((r) => setTimeout(r, 5)); // distinct created_at
      }
      const contain = await actionAt(store, incidentId, 'awaiting_approval');
      const approval = await store.createApproval({ id: randomBytes(16).toString('hex'), incidentId, actionId: contain, requiredApprovers: 1, requestedAt: T0.toISOString(), expiresAt: at(900_000).toISOString() });
      // the vote that approves it makes it ready and puts it first
      const voted = await store.voteApproval(approval.id, { approverId: 'aad-1', approverName: 'Approver 1', vote: 'approve' }, at(1000));
      assert.ok(voted.ok && voted.decided);
      const order: string[] = [];
      for (let i = 0; i < 4; i++) order.push((await store.claimAction('w', 30_000, at(2000), { incidentId }))!.id);
      assert.deepEqual(order, [contain, ...scope], 'the approved step first, then the oldest');
      // its retry (back to ready after a failure) keeps its place ahead
      await store.transitionAction(contain, { from: ['running'], to: 'ready', leaseOwner: 'w' }, { error: 'Graph 503' });
      const next = await actionAt(store, incidentId, 'ready');
      assert.equal((await store.claimAction('w', 30_000, at(3000), { incidentId }))?.id, contain);
      assert.equal((await store.claimAction('w', 30_000, at(3000), { incidentId }))?.id, next);
    });

    it('claimAction with approvedOnly takes approved steps only, of the one incident or of any', async () => {
      const approve = async (incidentId: string, actionId: string) => {
        const approval = await store.createApproval({ id: randomBytes(16).toString('hex'), incidentId, actionId, requiredApprovers: 1, requestedAt: T0.toISOString(), expiresAt: at(900_000).toISOString() });
        const voted = await store.voteApproval(approval.id, { approverId: 'aad-1', approverName: 'Approver 1', vote: 'approve' }, at(1000));
        assert.ok(voted.ok && voted.decided);
      };
      const mine = await openIncident(store);
      const scope = await actionAt(store, mine, 'ready');
      const contain = await actionAt(store, mine, 'awaiting_approval');
      assert.equal(await store.claimAction('w', 30_000, at(2000), { incidentId: mine, approvedOnly: true }), undefined, 'ready read-only work is not approved');
      await approve(mine, contain);
      assert.equal((await store.claimAction('w', 30_000, at(2000), { incidentId: mine, approvedOnly: true }))?.id, contain);
      assert.equal(await store.claimAction('w', 30_000, at(2000), { incidentId: mine, approvedOnly: true }), undefined);
      // of any incident: another incident's approved step, never a step no vote approved
      const other = await openIncident(store);
      const otherScope = await actionAt(store, other, 'ready');
      const otherContain = await actionAt(store, other, 'awaiting_approval');
      await approve(other, otherContain);
      const taken: string[] = [];
      for (let a = await store.claimAction('w', 30_000, at(2000), { approvedOnly: true }); a; a = await store.claimAction('w', 30_000, at(2000), { approvedOnly: true })) taken.push(a.id);
      assert.ok(taken.includes(otherContain), 'the other incident\'s approved step');
      assert.ok(!taken.includes(scope) && !taken.includes(otherScope), 'no read-only step');
      assert.equal((await store.claimAction('w', 30_000, at(2000), { incidentId: other }))?.id, otherScope, 'still there for a plain claim');
    });

    it('claimAction honours notBefore (back-off)', async () => {
      const incidentId = await openIncident(store);
      const id = await actionAt(store, incidentId, 'waiting');
      await store.transitionAction(id, { from: ['waiting'], to: 'ready' }, { notBefore: at(60_000).toISOString() });
      assert.equal(await store.claimAction('w', 1000, at(59_999), { incidentId }), undefined);
      assert.equal((await store.claimAction('w', 1000, at(60_000), { incidentId }))?.id, id);
    });
  });

  describe('approvals', () => {
    async function pendingApproval(required: 1 | 2, expiresInMs = 15 * 60_000) {
      const incidentId = await openIncident(store);
      const actionId = await actionAt(store, incidentId, 'awaiting_approval');
      const approval = await store.createApproval({
        id: randomBytes(16).toString('hex'), incidentId, actionId, requiredApprovers: required,
        requestedAt: T0.toISOString(), expiresAt: at(expiresInMs).toISOString(),
      }, [{ source: 'bot', kind: 'approval.requested', summary: 'Contain adele?' }]);
      return { incidentId, actionId, approval };
    }
    const vote = (n: number, v: 'approve' | 'reject' = 'approve') => ({ approverId: `aad-${n}`, approverName: `Approver ${n}`, vote: v });

    it('ten concurrent approvals on a one-approver request: exactly one decides', async () => {
      const other = await make();
      const { actionId, approval } = await pendingApproval(1);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? other : store).voteApproval(approval.id, vote(i), at(1000), [{ source: 'bot', kind: 'approval.vote', summary: `vote ${i}`, actor: `aad-${i}` }])));
      const decided = results.filter((r) => r.ok && r.decided);
      assert.equal(decided.length, 1);
      assert.equal(results.filter((r) => !r.ok && r.code === 'not_pending').length, 9);
      const final = await store.getApproval(approval.id);
      assert.equal(final?.status, 'approved');
      assert.equal(final?.votes.length, 1);
      assert.equal(final?.decidedAt, at(1000).toISOString());
      assert.equal((await store.getAction(actionId))?.status, 'ready');
    });

    it('two-person rule: the same approver cannot vote twice; the second approver decides', async () => {
      const { actionId, approval } = await pendingApproval(2);
      const first = await store.voteApproval(approval.id, vote(1), at(1000));
      assert.deepEqual(first.ok && first.decided, false);
      const twice = await store.voteApproval(approval.id, vote(1), at(2000));
      assert.equal(!twice.ok && twice.code, 'already_voted');
      assert.equal((await store.getAction(actionId))?.status, 'awaiting_approval');
      const second = await store.voteApproval(approval.id, { ...vote(2), reason: 'confirmed with user' }, at(3000));
      assert.ok(second.ok && second.decided);
      assert.equal(second.approval.status, 'approved');
      assert.equal(second.approval.decidedBy, 'Approver 1, Approver 2');
      assert.equal((await store.getAction(actionId))?.status, 'ready');
    });

    it('a reject decides at once and rejects the action', async () => {
      const { actionId, approval } = await pendingApproval(2);
      const r = await store.voteApproval(approval.id, { ...vote(1, 'reject'), reason: 'user is travelling' }, at(1000));
      assert.ok(r.ok && r.decided);
      assert.equal(r.approval.status, 'rejected');
      assert.equal(r.approval.reason, 'user is travelling');
      assert.equal((await store.getAction(actionId))?.status, 'rejected');
    });

    it('refuses a vote after expiry; expireApprovals expires the request and its action', async () => {
      const { incidentId, actionId, approval } = await pendingApproval(1, 60_000);
      const late = await store.voteApproval(approval.id, vote(1), at(60_000));
      assert.equal(!late.ok && late.code, 'expired');
      assert.equal((await store.getApproval(approval.id))?.votes.length, 0);
      const expired = await store.expireApprovals(at(60_000));
      assert.ok(expired.some((a) => a.id === approval.id && a.status === 'expired'));
      assert.equal((await store.getAction(actionId))?.status, 'expired');
      assert.deepEqual((await store.listApprovals({ incidentId, status: 'pending' })), []);
      const forged = await store.voteApproval('forged-id', vote(1), at(0));
      assert.equal(!forged.ok && forged.code, 'not_found');
    });

    it('a new request for the same action supersedes the pending one; the card id is stored', async () => {
      const { incidentId, actionId, approval } = await pendingApproval(1);
      const newer = await store.createApproval({ id: randomBytes(16).toString('hex'), incidentId, actionId, requiredApprovers: 1,
        requestedAt: at(1000).toISOString(), expiresAt: at(900_000).toISOString() });
      assert.equal((await store.getApproval(approval.id))?.status, 'superseded');
      const stale = await store.voteApproval(approval.id, vote(1), at(2000));
      assert.equal(!stale.ok && stale.code, 'not_pending');
      await store.setApprovalCard(newer.id, 'activity-123');
      assert.equal((await store.getApproval(newer.id))?.cardActivityId, 'activity-123');
      await assert.rejects(store.setApprovalCard('nope', 'a'), NotFoundError);
    });
  });

  describe('evidence', () => {
    it('putEvidence returns the bytes byte for byte with the sha256 crypto computes', async () => {
      const incidentId = await openIncident(store);
      const body = Buffer.concat([Buffer.from('{"value":[]}\n'), randomBytes(1000), Buffer.from([0, 255, 0])]);
      const rec = await store.putEvidence({
        incidentId, actionId: null, source: 'graph.signIns', contentType: 'application/json', collectedAt: T0.toISOString(),
        rangeFrom: at(-3_600_000).toISOString(), rangeTo: T0.toISOString(), recordCount: 0, note: 'GET /v1.0/auditLogs/signIns', body,
      });
      assert.equal(rec.sha256, createHash('sha256').update(body).digest('hex'));
      assert.equal(rec.size, body.length);
      assert.ok(Buffer.from(await store.getEvidenceBody(rec.id)).equals(body));
      assert.deepEqual((await store.listEvidence(incidentId)).map((e) => e.id), [rec.id]);
      const empty = await store.putEvidence({ incidentId, actionId: null, source: 's', contentType: 'text/plain', collectedAt: T0.toISOString(),
        rangeFrom: null, rangeTo: null, recordCount: null, note: null, body: Buffer.alloc(0) });
      assert.equal((await store.getEvidenceBody(empty.id)).length, 0);
    });

    it('a multi-chunk stream is hashed while written and read back in order, chunk by chunk', async function () {
      this.timeout(60_000);
      const incidentId = await openIncident(store);
      const body = randomBytes(Math.floor(2.5 * EVIDENCE_CHUNK_BYTES) + 17);
      const rec = await store.putEvidenceStream({
        incidentId, actionId: null, source: 'radius.accounting', contentType: 'text/plain', collectedAt: T0.toISOString(),
        rangeFrom: null, rangeTo: null, recordCount: 41_000, note: 'a busy day', }, pieces(body, [65_536, 333_333, 7]));
      assert.equal(rec.sha256, createHash('sha256').update(body).digest('hex'));
      assert.equal(rec.size, body.length);
      const chunks: Buffer[] = [];
      for await (const c of store.readEvidence(rec.id)) chunks.push(c);
      assert.deepEqual(chunks.map((c) => c.length), [EVIDENCE_CHUNK_BYTES, EVIDENCE_CHUNK_BYTES, body.length - 2 * EVIDENCE_CHUNK_BYTES]);
      assert.ok(Buffer.concat(chunks).equals(body));

      await sql`update evidence_chunks set bytes = ${Buffer.from('forged')} where evidence_id = ${rec.id} and seq = 1`.execute(raw(store));
      await assert.rejects(store.getEvidenceBody(rec.id), IntegrityError);
    });

    it('a stream that fails midway leaves nothing behind', async () => {
      const incidentId = await openIncident(store);
      async function* failing() {
        yield randomBytes(EVIDENCE_CHUNK_BYTES + 5);
        throw new Error('source connection reset');
      }
      await assert.rejects(store.putEvidenceStream({ incidentId, actionId: null, source: 's', contentType: 'text/plain',
        collectedAt: T0.toISOString(), rangeFrom: null, rangeTo: null, recordCount: null, note: null }, failing()), /connection reset/);
      assert.deepEqual(await store.listEvidence(incidentId), []);
      const orphans = await sql<{ n: number }>`select count(*) as n from evidence_chunks c join evidence e on e.id = c.evidence_id
        where e.incident_id = ${incidentId}`.execute(raw(store));
      assert.equal(Number(orphans.rows[0].n), 0);
      await assert.rejects(store.getEvidenceBody(999_999_999), NotFoundError);
    });
  });

  describe('state, refs and feed', () => {
    it('casState sets only when the current value is the expected one', async () => {
      const key = uniqueId('poller.watermark');
      assert.equal(await store.getState(key), undefined);
      assert.equal(await store.casState(key, undefined, 'a'), true);
      assert.equal(await store.casState(key, undefined, 'b'), false);
      assert.equal(await store.casState(key, 'x', 'b'), false);
      assert.equal(await store.casState(key, 'a', 'b'), true);
      assert.equal(await store.getState(key), 'b');
      await store.setState(key, 'c');
      assert.equal(await store.getState(key), 'c');
      const other = await make();
      const racers = await Promise.all([store, other, store, other].map((s, i) => s.casState(key, 'c', `r${i}`)));
      assert.equal(racers.filter(Boolean).length, 1);
    });

    it('claimOnce remembers a key until it expires, once across instances', async () => {
      const key = uniqueId('sig');
      const other = await make();
      const racers = await Promise.all([store, other, store, other].map((s) => s.claimOnce(key, at(300_000), T0)));
      assert.equal(racers.filter(Boolean).length, 1);
      assert.equal(await store.claimOnce(key, at(300_000), at(299_999)), false);
      // expired: pruned, so the key can be claimed again (a signature that old is refused by its timestamp anyway)
      assert.equal(await store.claimOnce(key, at(900_000), at(300_000)), true);
      assert.equal(await other.claimOnce(key, at(900_000), at(300_001)), false);
      await assert.rejects(store.claimOnce('', at(1), T0));
    });

    it('refs round-trip and overwrite', async () => {
      const key = uniqueId('conv');
      assert.equal(await store.getRef(key), undefined);
      const ref = { conversation: { id: '19:abc@thread.tacv2', tenantId: 't' }, serviceUrl: 'https://smba.trafficmanager.net/emea/' };
      await store.putRef(key, ref);
      assert.deepEqual(await store.getRef(key), ref);
      await store.putRef(key, { replaced: true });
      assert.deepEqual(await store.getRef(key), { replaced: true });
    });

    it('feed entries: canonical IPs, re-add extends expiry, expiry and removal', async () => {
      const incidentId = await openIncident(store);
      const customerId = uniqueId('feedcust');
      const added = await store.addFeedEntries([
        { customerId, ip: '203.0.113.7', incidentId, addedAt: T0.toISOString(), expiresAt: at(3_600_000).toISOString() },
        { customerId, ip: '2001:DB8:BAD:CAFE:0:0:0:7', incidentId, addedAt: T0.toISOString(), expiresAt: at(60_000).toISOString() },
      ]);
      assert.equal(added, 2);
      assert.deepEqual((await store.listFeed(customerId, T0)).map((e) => e.ip), ['203.0.113.7', '2001:db8:bad:cafe::7']);
      assert.equal(await store.addFeedEntries([{ customerId, ip: '2001:db8:bad:cafe::7', incidentId, addedAt: at(1000).toISOString(), expiresAt: at(7_200_000).toISOString() }]), 0);
      assert.deepEqual((await store.listFeed(customerId, at(3_600_000))).map((e) => e.ip), ['2001:db8:bad:cafe::7']);
      const expired = (await store.listExpiredFeed(at(3_600_000))).filter((e) => e.customerId === customerId);
      assert.deepEqual(expired.map((e) => e.ip), ['203.0.113.7']);
      await store.markFeedRemoved(customerId, '203.0.113.7', at(3_600_001));
      assert.deepEqual((await store.listExpiredFeed(at(3_600_002))).filter((e) => e.customerId === customerId), []);
      assert.equal(await store.addFeedEntries([{ customerId, ip: '203.0.113.7', incidentId, addedAt: at(4_000_000).toISOString(), expiresAt: at(8_000_000).toISOString() }]), 1);
      assert.deepEqual((await store.listFeed(customerId, at(4_000_000))).map((e) => e.ip).sort(), ['2001:db8:bad:cafe::7', '203.0.113.7']);
      await assert.rejects(store.addFeedEntries([{ customerId, ip: '203.0.113.7; rm -rf /', incidentId, addedAt: T0.toISOString(), expiresAt: T0.toISOString() }]), /not an IPv4 or IPv6/);
    });

    it('block holds: an IP another open incident holds stays held after a release; a closed incident holds nothing; holds never double', async () => {
      const customerId = uniqueId('holdcust');
      const a = await openIncident(store, customerId);
      const b = await openIncident(store, customerId);
      const other = await openIncident(store); // another customer, same IP: never counted
      assert.equal(await store.holdBlocks(customerId, a, ['203.0.113.7', '2001:DB8::7'], T0), 2);
      assert.equal(await store.holdBlocks(customerId, a, ['203.0.113.7'], at(1000)), 0, 'a retry holds nothing twice');
      assert.equal(await store.holdBlocks(customerId, b, ['203.0.113.7'], at(2000)), 1);
      assert.equal(await store.holdBlocks(`${customerId}-x`, other, ['2001:db8::7'], at(2000)), 1);
      assert.deepEqual(await store.blockHolders(customerId, '203.0.113.7', a), [b]);
      assert.deepEqual(await store.releaseBlockHolds(customerId, a, ['203.0.113.7', '2001:db8::7'], at(3000)), [
        { ip: '203.0.113.7', heldBy: [b] },
        { ip: '2001:db8::7', heldBy: [] },
      ]);
      // released twice (a retry): the same answer, nothing else changes
      assert.deepEqual(await store.releaseBlockHolds(customerId, a, ['203.0.113.7'], at(4000)), [{ ip: '203.0.113.7', heldBy: [b] }]);
      await store.updateIncident(b, { status: 'closed' });
      assert.deepEqual(await store.blockHolders(customerId, '203.0.113.7', a), [], 'a closed incident no longer holds the block');
      const n = await raw(store).selectFrom('block_holds').select(sql<number>`count(*)`.as('n')).where('customer_id', '=', customerId).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 3);
      await assert.rejects(store.holdBlocks(customerId, a, ['203.0.113.7/32'], T0), /not an IPv4 or IPv6/);
      await assert.rejects(store.releaseBlockHolds(customerId, a, ["1.2.3.4' or 1=1"], T0), /not an IPv4 or IPv6/);
    });

    it('feed unblock: the expiry job and a release racing from two processes — exactly one claims, the other never unblocks', async () => {
      const second = await make();
      try {
        for (let round = 0; round < 8; round++) {
          const customerId = uniqueId('racecust');
          const incidentId = await openIncident(store, customerId);
          const ip = `203.0.113.${round + 10}`;
          await store.addFeedEntries([{ customerId, ip, incidentId, addedAt: T0.toISOString(), expiresAt: at(60_000).toISOString() }]);
          const release = `release:${incidentId}`;
          const [x, y] = await Promise.all([
            store.claimFeedUnblock(customerId, ip, 'expiry', at(120_000)),
            second.claimFeedUnblock(customerId, ip, release, at(120_000)),
          ]);
          const outcomes = [x.outcome, y.outcome].sort();
          assert.deepEqual(outcomes, ['claimed', 'claimedByOther'], `round ${round}: ${JSON.stringify([x, y])}`);
          const winner = x.outcome === 'claimed' ? 'expiry' : release;
          const loser = winner === 'expiry' ? release : 'expiry';
          const lost = (x.outcome === 'claimed' ? y : x) as { by: string };
          assert.equal(lost.by, winner);
          // the loser can neither take the entry off nor re-claim it; the winner can, once
          assert.equal(await second.markFeedRemovedBy(customerId, ip, loser, at(121_000)), false);
          assert.equal((await store.claimFeedUnblock(customerId, ip, winner, at(121_000))).outcome, 'claimed', 'a retry of the winner keeps its claim');
          assert.equal(await store.markFeedRemovedBy(customerId, ip, winner, at(122_000)), true);
          assert.equal(await store.markFeedRemovedBy(customerId, ip, winner, at(123_000)), false, 'removed once');
          // after the removal: the winner still sees its own claim (a release's unblock after its unlist), the other sees it removed
          assert.equal((await store.claimFeedUnblock(customerId, ip, winner, at(124_000))).outcome, 'claimed');
          const after = await second.claimFeedUnblock(customerId, ip, loser, at(124_000));
          assert.equal(after.outcome, 'removed');
          assert.equal(after.outcome === 'removed' && after.entry.removedAt, at(122_000).toISOString());
          assert.deepEqual((await store.listExpiredFeed(at(200_000))).filter((e) => e.customerId === customerId), []);
        }
        assert.deepEqual(await store.claimFeedUnblock(uniqueId('none'), '198.51.100.9', 'expiry', T0), { outcome: 'notListed' });
        await assert.rejects(store.claimFeedUnblock('c', '1.2.3.4; drop table', 'expiry', T0), /not an IPv4 or IPv6/);
      } finally {
        await second.close();
      }
    });
  });
}
