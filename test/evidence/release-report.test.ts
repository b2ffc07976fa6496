import assert from 'node:assert/strict';
import pino from 'pino';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { generateReport } from '../../src/evidence/report';
import { describeVerification, verifyIncident } from '../../src/evidence/verify';
import type { Store } from '../../src/store/store';
import { ALEX, APPROVERS, createAlertIncident, Recorder, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';
import { RADIUS_NONE, releaseActions, withInverses } from '../support/release-fakes';
import { withEvidenceStores, type EvidenceTestDb } from './helpers';

/** The report's release section (issue 14) and what `verify` checks of a release. */
withEvidenceStores((db: () => EvidenceTestDb) => {
  let store: Store;
  before(async () => { store = await db().make(); });

  async function released(): Promise<string> {
    const rec = new Recorder();
    const registry = new ActionRegistry(withInverses(testActions(rec)), releaseActions(rec, []));
    const customer = testCustomer();
    const e = new Engine({ store, registry, procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)), secrets: testSecrets, customers: () => customer, log: pino({ level: 'silent' }), retry: { maxAttempts: 1 } });
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    for (let i = 0; i < 10; i++) {
      await e.settle();
      const pending = await store.listApprovals({ incidentId: id, status: 'pending' });
      if (!pending.length) break;
      for (const p of pending) await e.decide({ approvalId: p.id, vote: 'approve', clicker: ALEX });
    }
    const r = await e.requestRelease({ incidentId: id, reason: 'travelling with a new phone', by: ALEX });
    assert.ok(r.ok, JSON.stringify(r));
    const gate = (await store.listApprovals({ incidentId: id, status: 'pending' }))[0];
    await e.decide({ approvalId: gate.id, vote: 'approve', clicker: APPROVERS[2], edits: { selected: 'firewall-block' } });
    await e.settle();
    assert.equal((await store.getIncident(id))!.status, 'released');
    return id;
  }

  async function report(id: string): Promise<string> {
    let out = '';
    for await (const piece of generateReport(store, id, { customers: () => testCustomer(), now: new Date() })) out += piece;
    return out;
  }

  it('the report says what was undone, by whom, when, with the hashes, and what stayed; verify passes', async () => {
    const id = await released();
    const md = await report(id);
    const section = md.slice(md.indexOf('## Release'), md.indexOf('## Timeline'));
    assert.match(section, /released as `falsePositive`: travelling with a new phone/);
    assert.match(section, /Requested by Alex Wilber at \d{4}-\d\d-\d\d/);
    assert.match(section, /Approval: `approved` by Approver 3 at/);
    assert.match(section, /Released at .* \(timeline event \d+, SHA-256 `[0-9a-f]{64}`\)/);
    const unblock = (await store.listEvidence(id)).find((e) => e.source === 'test.firewall.unblock')!;
    assert.ok(section.includes(`#${unblock.id} ${unblock.sha256}`), 'the undo names its payload with its hash');
    assert.match(section, /`release-firewall-block` \| `firewall\.unblock` \| `succeeded`/);
    assert.doesNotMatch(section, /Block the attacker's IPs.*not part of this release/);
    assert.match(section, /Contain the account where it lives: not part of this release/);
    assert.ok(section.includes(RADIUS_NONE));
    assert.match(section, /The approved plan is kept as evidence #\d+ \(SHA-256 `[0-9a-f]{64}`\)/);
    const v = await verifyIncident(store, id);
    assert.equal(v.ok, true, describeVerification(v).join('\n'));
  });

  it('verify names a payload of the release that was deleted from the store', async () => {
    const id = await released();
    const unblock = (await store.listEvidence(id)).find((e) => e.source === 'test.firewall.unblock')!;
    for (const t of ['evidence_chunks', 'evidence']) {
      try { await db().exec(`delete from ${t} where ${t === 'evidence' ? 'id' : 'evidence_id'} = ?`, [unblock.id]); } catch { /* no chunk table on this layout */ }
    }
    const v = await verifyIncident(store, id);
    assert.equal(v.ok, false);
    assert.deepEqual(v.problems.filter((p) => p.kind === 'release').map((p) => p.message), [`release-firewall-block names payload #${unblock.id}, which is no longer stored`]);
  });
});
