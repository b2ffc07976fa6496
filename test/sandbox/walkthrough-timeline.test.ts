import assert from 'node:assert/strict';
import { readFindings } from '../../src/domain/incident-findings';
import { latestReport } from '../../src/evidence/report';
import { verifyIncident } from '../../src/evidence/verify';
import { CONTOSO } from '../../src/sandbox/contoso';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { startProcedureSandbox, type ProcedureSandbox, type SandboxRun } from '../support/sandbox-procedure-run';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';

/**
 * Issue 12, the sandbox walkthrough: the real procedure, run against the sandbox's FreeRADIUS, Cisco
 * switch and FortiGate emulators, puts on the incident's timeline where Adele's laptop is plugged in
 * (the port of her RADIUS session) and the firewall rule that let the attacker's IP in.
 */
describe('sandbox walkthrough: the timeline shows the switch port of each RADIUS session and the rule that matched the attacker', function () {
  this.timeout(180_000);
  let sb: ProcedureSandbox;
  let db: TestDatabase;
  let store: Store;
  let run: SandboxRun;

  before(async function () {
    this.timeout(120_000);
    sb = await startProcedureSandbox();
    db = await createTestDatabase('sqlite');
    store = await openStore(db.url);
    run = await sb.run(store);
  });
  after(async () => {
    await store?.close();
    await db?.dispose();
    await sb?.close();
  });

  it('the switch-port step read Gi1/0/12 on sw-lis-3 from the wired session (FreeRADIUS accounting), and the timeline says so', async function () {
    if (!sb.customer.radius) this.skip(); // FreeRADIUS not installed: Contoso has no NAS, so no session to place
    const action = (await store.getAction(`${run.incidentId}:switch-ports`))!;
    assert.equal(action.status, 'succeeded', JSON.stringify(action.result ?? action.error));
    const line = (await store.listTimeline(run.incidentId)).find((t) => t.kind === 'step.succeeded' && t.data.step === 'switch-ports');
    assert.ok(line, 'no switch-port line on the timeline');
    assert.equal(line.summary, 'Switch port of each RADIUS session: Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456');
    // the VPN sessions name no port: only the wired one was looked up
    const f = readFindings((await store.getIncident(run.incidentId))!.data);
    assert.equal(f.switchPorts?.length, 1, JSON.stringify(f.switchPorts));
    assert.match(f.switchPorts![0], /^Gi1\/0\/12 on sw-lis-3, VLAN 20, /);
  });

  it('the firewall-rule step names the FortiGate policy that matched 203.0.113.7, before the block', async () => {
    const rule = (await store.getAction(`${run.incidentId}:firewall-rule`))!;
    assert.equal(rule.status, 'succeeded', JSON.stringify(rule.result ?? rule.error));
    const timeline = await store.listTimeline(run.incidentId);
    const line = timeline.find((t) => t.kind === 'step.succeeded' && t.summary.includes(`${CONTOSO.attackerIp} → `));
    assert.ok(line, `no matched-rule line: ${timeline.map((t) => t.summary).join(' | ')}`);
    assert.equal(line.summary, `Firewall rule matching the attacker's IPs: ${CONTOSO.attackerIp} → 198.51.100.1:443/tcp on ${CONTOSO.fortigate.id} (from wan1): rule 5 "WAN-to-DMZ-HTTPS" (accept)`);
    const f = readFindings((await store.getIncident(run.incidentId))!.data);
    assert.deepEqual(f.matchedRules?.map((m) => [m.firewallId, m.policyId, m.allows]), [[CONTOSO.fortigate.id, '5', true]]);
    // read before the block: the rule seen is the one that let the attacker in, not the block
    const block = timeline.find((t) => t.kind === 'step.succeeded' && t.data.step === 'firewall-block');
    assert.ok(block, 'the block ran');
    assert.equal(line.data.step, 'firewall-rule');
    assert.ok(line.seq < block.seq, 'the rule was read before the block');
  });

  it('the sign-ins step records token activity from interactive and non-interactive sign-ins and says which were counted', async () => {
    const f = readFindings((await store.getIncident(run.incidentId))!.data);
    assert.deepEqual(f.tokenActivity && { kinds: f.tokenActivity.kinds, interactive: f.tokenActivity.interactive, nonInteractive: f.tokenActivity.nonInteractive, sessions: f.tokenActivity.sessions },
      { kinds: ['interactiveUser', 'nonInteractiveUser'], interactive: 4, nonInteractive: 3, sessions: 3 });
    const line = (await store.listTimeline(run.incidentId)).find((t) => t.kind === 'step.succeeded' && t.data.step === 'entra-signins');
    assert.match(line?.summary ?? '', /token activity: 3 sessions from 4 interactive and 3 non-interactive sign-ins/);
  });

  it('the report has the "Switch ports" and "Firewall rules matched" sections with each raw transcript and its SHA-256, and verify passes', async function () {
    const report = await latestReport(store, run.incidentId);
    assert.ok(report, 'the forensic-report step stored a report');
    const md = (await store.getEvidenceBody(report.id)).toString('utf8');
    if (process.env.DUMP_REPORT) (await import('node:fs')).writeFileSync(process.env.DUMP_REPORT, md);
    const evidence = await store.listEvidence(run.incidentId);
    const section = (title: string) => {
      const at = md.indexOf(`### ${title}\n`);
      assert.ok(at >= 0, `no section ${title}`);
      const next = md.indexOf('\n### ', at + 4);
      return md.slice(at, next < 0 ? undefined : next);
    };
    const rules = section('Firewall rules matched');
    const ruleAction = (await store.getAction(`${run.incidentId}:firewall-rule`))!;
    const lookups = evidence.filter((e) => e.actionId === ruleAction.id);
    assert.ok(lookups.length >= 1, 'the policy lookup transcript was kept');
    for (const e of lookups) {
      assert.ok(rules.includes(e.sha256), 'each lookup payload with its hash');
      assert.ok(rules.includes('diagnose firewall iprope lookup'), 'the raw lookup command as sent');
    }
    assert.match(rules, /`203\.0\.113\.7` → `198\.51\.100\.1`:`443`\/`tcp` on `[^`]+` \(`from wan1`\): rule `5` `WAN-to-DMZ-HTTPS`, action `accept`, lets it through/);
    // and not repeated among the containment transcripts
    assert.ok(!section('Containment and follow-up actions').includes(lookups[0].sha256));
    if (sb.customer.radius) {
      const ports = section('Switch ports');
      const portAction = (await store.getAction(`${run.incidentId}:switch-ports`))!;
      const transcripts = evidence.filter((e) => e.actionId === portAction.id);
      assert.equal(transcripts.length, 1, 'one transcript per port read');
      assert.ok(ports.includes(transcripts[0].sha256));
      assert.ok(ports.includes('show authentication sessions interface GigabitEthernet1/0/12 details'), 'the raw CLI transcript');
      assert.match(ports, /`ok`: `Gi1\/0\/12 on sw-lis-3, VLAN 20, /);
      assert.match(ports, /port log as the switch timestamped it: `[^`]+`/);
    }
    const v = await verifyIncident(store, run.incidentId);
    assert.deepEqual(v.problems, []);
    assert.ok(v.ok);
  });
});
