import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { verifyIncident } from '../../src/evidence/verify';
import type { Store } from '../../src/store/store';
import { withEvidenceStores } from './helpers';
import { seedIncident } from './seed-incident';

const ROOT = path.join(__dirname, '..', '..');

function runVerify(storeUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'scripts', 'verify.ts'), ...args],
      { env: { ...process.env, STORE_URL: storeUrl, LOG_LEVEL: 'silent' }, cwd: ROOT },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('evidence: verify', function () {
  this.timeout(60_000);
  withEvidenceStores((db) => {
    let store: Store;
    before(async () => { store = await db().make(); });

    it('passes an untouched incident, with the chain head and the counts', async () => {
      const s = await seedIncident(store);
      const r = await verifyIncident(store, s.incidentId);
      const timeline = await store.listTimeline(s.incidentId);
      assert.deepEqual(r.problems, []);
      assert.equal(r.ok, true);
      assert.equal(r.chainHead, timeline.at(-1)!.hash);
      assert.equal(r.checked.events, timeline.length);
      assert.equal(r.checked.payloads, s.evidence.length);
      assert.equal(r.checked.bytes, s.evidence.reduce((n, e) => n + e.size, 0));
    });

    it('names the payload whose stored bytes changed by one byte, and only that one', async () => {
      const s = await seedIncident(store);
      const target = s.evidence.find((e) => e.source === 'radius.coa')!;
      const [row] = await db().query<{ bytes: Buffer }>('select bytes from evidence_chunks where evidence_id = ? and seq = 0', [target.id]);
      const changed = Buffer.from(row.bytes);
      changed[10] ^= 0x01;
      await db().exec('update evidence_chunks set bytes = ? where evidence_id = ? and seq = 0', [changed, target.id]);
      const r = await verifyIncident(store, s.incidentId);
      assert.equal(r.ok, false);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0].kind, 'payload');
      assert.equal(r.problems[0].evidenceId, target.id);
      assert.equal(r.problems[0].source, 'radius.coa');
      assert.match(r.problems[0].message, /changed: SHA-256 is [0-9a-f]{64}, recorded [0-9a-f]{64}/);
    });

    it('names the timeline event whose content changed, and the one whose link then breaks', async () => {
      const s = await seedIncident(store);
      await db().exec('update timeline_events set summary = ? where incident_id = ? and seq = ?', ['Nothing happened here', s.incidentId, 2]);
      const r = await verifyIncident(store, s.incidentId);
      assert.equal(r.ok, false);
      assert.deepEqual(r.problems.map((p) => [p.kind, p.seq]), [['timeline', 2]]);
      assert.match(r.problems[0].message, /event 2 .* was changed after it was recorded/);

      // Re-hashing the edited event to hide it breaks the link of the next one instead.
      await db().exec('update timeline_events set hash = ? where incident_id = ? and seq = ?', ['f'.repeat(64), s.incidentId, 2]);
      const again = await verifyIncident(store, s.incidentId);
      assert.deepEqual(again.problems.map((p) => [p.kind, p.seq]), [['timeline', 2], ['timeline', 3]]);
      assert.match(again.problems[1].message, /prevHash does not match/);
    });

    it('npm run verify: exit 0 and OK when intact, exit 1 naming the record when not, 1 for an unknown incident', async function () {
      this.timeout(60_000);
      const s = await seedIncident(store);
      const ok = await runVerify(db().url, s.incidentId);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`${s.incidentId}: OK: \\d+ timeline events and ${s.evidence.length} payloads`));
      const target = s.evidence.find((e) => e.source === 'graph.signIns')!;
      await db().exec('update evidence_chunks set bytes = ? where evidence_id = ? and seq = 0', [Buffer.from('{"value":[]}'), target.id]);
      const bad = await runVerify(db().url, s.incidentId);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /FAILED: 1 problem/);
      assert.match(bad.stdout, new RegExp(`payload #${target.id} graph\\.signIns: .*size is 12 bytes`));
      const unknown = await runVerify(db().url, 'IR-DOES-NOT-EXIST');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stdout, /no such incident/);
    });
  });
});
