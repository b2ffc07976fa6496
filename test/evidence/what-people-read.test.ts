import assert from 'node:assert/strict';
import { ENGINE_DATA_KEYS, RECORDED_FINDINGS, isRecordedFindingKey, readFindings } from '../../src/domain/incident-findings';
import { draftCisoEmail, loadCisoSnapshot } from '../../src/evidence/ciso-email';
import { buildHandoff } from '../../src/evidence/handoff';
import { generateReport } from '../../src/evidence/report';
import { incidentView } from '../../src/http/incident-view';
import type { Store } from '../../src/store/store';
import { startProcedureSandbox, type ProcedureSandbox, type SandboxRun } from '../support/sandbox-procedure-run';
import { withTestStores } from '../support/store-factory';

/**
 * What the CISO, the report's reader, the next shift and the operator API read, from an incident
 * the real procedure ran against the sandbox emulators (test/support/sandbox-procedure-run.ts):
 * the impossible travel with its cities, distance and speed, the countries, and the containment
 * actions in the order they ran.
 */
describe('what people read: findings written by the real procedure, read through IncidentFindings', function () {
  this.timeout(180_000);
  withTestStores((_name, make) => {
    let sb: ProcedureSandbox;
    let store: Store;
    let run: SandboxRun;

    // A fresh sandbox per store: the first run leaves the account disabled and the IP blocked.
    before(async function () {
      this.timeout(120_000);
      sb = await startProcedureSandbox();
      store = await make();
      run = await sb.run(store);
    });
    after(async () => { await sb?.close(); });

    it('every key the procedure recorded is a finding and reads with the expected shape', async () => {
      const inc = (await store.getIncident(run.incidentId))!;
      const recorded = Object.keys(inc.data).filter((k) => !ENGINE_DATA_KEYS.includes(k));
      assert.ok(recorded.length >= 10, recorded.join(', '));
      for (const k of recorded) {
        assert.ok(isRecordedFindingKey(k), `${k} is not in RECORDED_FINDINGS`);
        assert.ok(RECORDED_FINDINGS[k].safeParse(inc.data[k]).success, `${k} = ${JSON.stringify(inc.data[k]).slice(0, 200)} does not fit`);
      }
      const f = readFindings(inc.data);
      assert.deepEqual(f.unreadable, []);
      assert.deepEqual(f.countries, ['PT', 'SG']);
      const hop = f.impossibleTravel![0];
      assert.equal(hop.from.city, 'Lisbon');
      assert.equal(hop.from.country, 'PT');
      assert.equal(hop.to.city, 'Singapore');
      assert.equal(hop.to.country, 'SG');
      assert.ok(hop.distanceKm > 11_000 && hop.distanceKm < 12_500, String(hop.distanceKm));
      assert.ok(hop.speedKmh > 900, String(hop.speedKmh));
      assert.deepEqual(f.steps.filter((s) => s.kind === 'containment').map((s) => s.id), ['entra-contain', 'radius-disconnect', 'switch-contain', 'firewall-block']);
      // switch containment is off for the sandbox's Contoso (customers file switchContainment): skipped with the reason
      const sc = f.steps.find((s) => s.id === 'switch-contain')!;
      assert.equal(sc.status, 'skipped');
      assert.match(sc.error ?? '', /switch containment is off for Contoso \(customers file: switchContainment\)/);
    });

    it("the CISO email's what happened states the impossible travel (cities, distance, speed) and the countries; what we did lists the containment actions in order, nothing hidden", async () => {
      const snap = await loadCisoSnapshot(store, run.incidentId, run.customer, { now: new Date() });
      const d = draftCisoEmail(snap);
      const happened = d.body.slice(d.body.indexOf('What happened:'), d.body.indexOf('What we did:')).replace(/\s+/g, ' ');
      assert.match(happened, /from Lisbon, Portugal \(PT\) at \d\d:\d\d UTC and from Singapore \(SG\) 50 minutes later: 11,\d00 km apart, which would take 1\d,\d00 km\/h \(impossible travel\)/);
      assert.match(happened, /came from Portugal \(PT\) and Singapore \(SG\)\./);

      const did = d.body.slice(d.body.indexOf('What we did:\n') + 13, d.body.indexOf('\n\nWhat is left:')).split('\n').filter((l) => l.startsWith('- '));
      assert.ok(!/…and \d+ more/.test(d.body), 'no containment action hidden behind "…and N more"');
      assert.ok(!/Look up|Sign-ins of the last|Directory changes|RADIUS sessions of the last|VPN sessions on the firewalls/.test(did.join('\n')), `read-only look-ups are not things we did: ${did.join(' | ')}`);
      const order = ['Disabled the account', 'Revoked all its sign-in sessions', 'Reset its password'];
      const at = (p: string) => did.findIndex((l) => l.includes(p));
      for (const p of order) assert.ok(at(p) >= 0, `${p} in: ${did.join(' | ')}`);
      assert.ok(at(order[0]) < at(order[1]) && at(order[1]) < at(order[2]), did.join(' | '));
      const blocked = did.find((l) => /^- Blocked 203\.0\.113\.\d+ at the firewall for 7 days \(until \d{4}-\d\d-\d\d\)\.$/.test(l));
      assert.ok(blocked, `the IP block with its seven days: ${did.join(' | ')}`);
      assert.ok(at('Reset its password') < did.indexOf(blocked), 'Entra ran before the firewall');
      const radius = (await store.getAction(`${run.incidentId}:radius-disconnect`))!;
      if (radius.status === 'succeeded') {
        const ended = did.findIndex((l) => /network \(RADIUS\) session/.test(l));
        assert.ok(ended > at('Reset its password') && ended < did.indexOf(blocked), `in the order they ran: ${did.join(' | ')}`);
      }
    });

    it('the CISO email has one line for the switch port and one for the firewall rule that let the attacker in, right after what happened', async () => {
      const snap = await loadCisoSnapshot(store, run.incidentId, run.customer, { now: new Date() });
      const d = draftCisoEmail(snap);
      const lines = d.body.split('\n');
      const rule = lines.filter((l) => l.startsWith('Firewall rule: '));
      assert.deepEqual(rule, ['Firewall rule: 203.0.113.7 came in through rule 5 "WAN-to-DMZ-HTTPS" on contoso-fgt-1 (accept).']);
      const port = lines.filter((l) => l.startsWith('Switch port: '));
      if (run.customer.radius) assert.deepEqual(port, ['Switch port: Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456.']);
      else assert.deepEqual(port, [], 'no RADIUS session, no port: nothing to say');
      assert.ok(lines.indexOf(rule[0]) < lines.indexOf('What we did:'));
      assert.ok(lines.length <= 40, `one screen: ${lines.length} lines`);
    });

    it("the report's summary reads the same way: sentences, not raw keys with JSON; what was done in the order it ran; the raw data below", async () => {
      let md = '';
      for await (const piece of generateReport(store, run.incidentId, { customers: () => run.customer, now: new Date() })) md += piece;
      const summary = md.slice(md.indexOf('## Summary'), md.indexOf('### Findings as recorded'));
      const plain = summary.replace(/\\(.)/g, '$1');
      assert.match(plain, /from Lisbon, Portugal \(PT\) at \d\d:\d\d UTC and from Singapore \(SG\) 50 minutes later: 11,\d00 km apart, which would take 1\d,\d00 km\/h \(impossible travel\)/);
      assert.match(plain, /came from Portugal \(PT\) and Singapore \(SG\)/);
      assert.ok(!/ipSelection|impossibleTravel|\{"block"/.test(summary), 'no raw keys or JSON in the summary');
      const done = plain.slice(plain.indexOf('### What was done'), plain.indexOf('### Every step')).split('\n').filter((l) => l.startsWith('- '));
      assert.match(done[0], /^- Disabled the account/);
      assert.ok(done.some((l) => /^- Blocked 203\.0\.113\.\d+ at the firewall for 7 days/.test(l)), done.join(' | '));
      const raw = md.slice(md.indexOf('### Findings as recorded'), md.indexOf('## Timeline'));
      assert.match(raw, /`impossibleTravel`/);
      assert.match(raw, /`countries`/);
    });

    it('the handoff and the operator API read the same findings and step titles', async () => {
      const view = await incidentView(store, (await store.getIncident(run.incidentId))!, { timeline: false }) as { findings: { countries?: string[] }; actions: Array<{ step: string; title: string }> };
      assert.deepEqual(view.findings.countries, ['PT', 'SG']);
      assert.equal(view.actions.find((a) => a.step === 'entra-contain')!.title, 'Contain the account where it lives');
      const shift = { key: 'k', name: 'Day', timeZone: 'UTC', localStart: '08:00', localDate: '2026-11-27', startsAt: new Date(), analyst: { name: 'A', aadObjectId: '00000000-0000-4000-8000-000000000001', upn: 'a@msp.example' } };
      const h = await buildHandoff(store, new Date(), shift as never);
      const mine = h.incidents.find((i) => i.id === run.incidentId)!;
      assert.ok(mine.pendingApprovals.some((p) => p.startsWith('Email to the customer')), mine.pendingApprovals.join(' | '));
    });
  });
});
