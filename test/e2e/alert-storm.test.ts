import assert from 'node:assert/strict';
import { CONTOSO } from '../../src/sandbox/contoso';
import { waitFor } from '../support/bot-world';
import {
  approveSteps, checkStorm, graphChangesFor, handoffThreads, postPlan, startStormCluster, stormMix,
  type PlannedPost, type PostAnswer, type StormCluster,
} from '../support/storm-cluster';

/**
 * Issue 13 part 5, the suite's size (bench/alert-storm.ts is the full one): 121 alerts across 20
 * customers through nginx over three replicas on one PostgreSQL of the test's own — singles,
 * duplicates, correlated alerts, malformed bodies, a spray of 30 users at one customer (storm on) —
 * while one replica is SIGKILLed and restarted and PostgreSQL is restarted once; five incidents'
 * destructive steps are approved through nginx meanwhile. Then every promise the issue lists is
 * checked. No timing is asserted: waits are generous and only bound how long a failure takes.
 */
const t0 = Date.now();
/** STORM_TRACE=1 prints the phases as they end (where a slow run spends its time). */
const trace = (what: string) => { if (process.env.STORM_TRACE) process.stderr.write(`[storm +${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}\n`); };

describe('alert storm: three replicas, one SIGKILL, one PostgreSQL restart', function () {
  this.timeout(600_000);
  let c: StormCluster;
  let plan: PlannedPost[];
  let answers: PostAnswer[];
  const chaos: string[] = [];
  /** sample incidents whose destructive steps are approved: the post's seq → its steps */
  const samples = new Map<number, string[]>();
  const sampleUsers = new Map<number, string>(); // seq → Graph object id

  before(async function () {
    c = await startStormCluster({ replicas: 3, customers: 20, sprayCustomer: 1, stormMinUsers: 10, shiftsEveryMinute: true });
    trace('cluster up');
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' && c) process.stderr.write(`${c.diagnostics()}\n`);
    await c?.close();
  });

  it('every 202 alert is in exactly one incident, no duplicate incident, one card per incident, approved actions ran once, one handoff per shift', async () => {
    plan = stormMix({
      run: `st${Date.now().toString(36)}`, customers: c.generated, contoso: c.contoso, sprayCustomer: c.generated[0],
      singles: 70, duplicates: 8, correlated: 6, spray: 30, malformed: 6,
    });
    assert.equal(plan.length, 121);
    // Four singles of different customers get Graph users (so their lookup succeeds and the Entra
    // containment is asked for), plus Contoso's adele.vance (Entra, firewall, RADIUS).
    for (const p of plan.filter((x) => x.kind === 'single').filter((_, k) => k % 17 === 3).slice(0, 4)) {
      const customer = c.generated.find((g) => g.id === p.customerId)!;
      sampleUsers.set(p.seq, c.addGraphUser(customer, p.upn!.split('@')[0]));
      samples.set(p.seq, ['entra-contain']);
    }
    const contoso = plan.find((p) => p.kind === 'contoso')!;
    samples.set(contoso.seq, c.peers.sandbox.radius ? ['entra-contain', 'firewall-block', 'radius-disconnect'] : ['entra-contain', 'firewall-block']);
    assert.equal(samples.size, 5);

    let done = 0;
    const live: PostAnswer[] = [];
    const posting = postPlan(c.lbPort, plan, { spacingMs: 200, inflight: 24, onAnswer: (a, n) => { live[a.seq] = a; done = n; } });
    // Chaos while the alerts arrive: a replica SIGKILLed at a third (and restarted at once, same
    // port and environment), PostgreSQL restarted at two thirds.
    const chaosRun = (async () => {
      await waitFor('a third of the alerts answered', async () => done >= plan.length / 3, 120_000, 50);
      // the restart runs on while the storm goes on; PostgreSQL restarts whether or not it is back
      const restarting = c.killAndRestart(0).then((k) => chaos.push(`replica ${k.killedPid} SIGKILLed, ${k.newPid} listening ${k.restartMs} ms later`));
      await waitFor('two thirds of the alerts answered', async () => done >= (2 * plan.length) / 3, 120_000, 50);
      chaos.push(`PostgreSQL restarted in ${await c.restartPostgres()} ms at answer ${done} of ${plan.length}`);
      await restarting;
    })();
    // Approvals as soon as each sample's cards are out: during the chaos for most of them.
    const approvals = Promise.all([...samples].map(async ([seq, steps]) => {
      const incidentId = await waitFor(`sample ${seq} answered`, async () => live[seq]?.incidentId, 180_000, 100);
      return { seq, incidentId, approved: await approveSteps(c, incidentId, steps, 240_000) };
    }));
    answers = await posting;
    trace(`posted ${answers.length}`);
    await chaosRun;
    trace(chaos.join('; '));
    const approved = await approvals;
    trace('approved');

    // Every approved destructive step succeeds, once, and is seen once at the emulators.
    for (const { seq, incidentId, approved: ids } of approved) {
      for (const step of ids.keys()) {
        await waitFor(`${incidentId} ${step} to succeed`, async () => (await c.store.getAction(`${incidentId}:${step}`))?.status === 'succeeded', 180_000, 250);
        const succeeded = (await c.store.listTimeline(incidentId)).filter((e) => e.kind === 'step.succeeded' && (e.data as { step?: string } | null)?.step === step);
        assert.equal(succeeded.length, 1, `${incidentId}: ${step} succeeded once on the timeline`);
      }
      const p = plan[seq];
      if (p.kind === 'contoso') {
        assert.deepEqual(graphChangesFor(c, CONTOSO.tenantId, CONTOSO.adele.objectId, CONTOSO.adele.upn), { disable: 1, revoke: 1, passwordReset: 1 }, 'adele contained in Entra once');
        assert.equal(c.peers.sandbox.fortigate.received.filter((l) => /append member "IR-203\.0\.113\.7"/.test(l)).length, 1, "the attacker's IP blocked once");
      } else {
        const customer = c.generated.find((g) => g.id === p.customerId)!;
        assert.deepEqual(graphChangesFor(c, customer.tenantId, sampleUsers.get(seq)!, p.upn!), { disable: 1, revoke: 1, passwordReset: 1 }, `${p.upn} contained in Entra once`);
      }
    }

    // Cards settle (the card sweep re-posts any a kill interrupted), then the checks.
    const findings = await waitFor('the checks to hold once the cards settle', async () => {
      const f = await checkStorm(c, plan, answers);
      return f.problems.length ? undefined : f;
    }, 180_000, 2_000).catch(async () => checkStorm(c, plan, answers));
    trace(`checked: ${findings.problems.length} problems`);
    assert.deepEqual(findings.problems, [], `after the storm (${chaos.join('; ')})`);
    assert.equal(findings.accepted, 115);
    assert.equal(findings.refused400, 6);
    assert.equal(findings.stormIncidents, 1, 'the spray became one storm incident');
    // 70 singles + Contoso's + the spray's: 9 before the threshold and its storm incident (replicas
    // racing at the threshold may each open one more: src/intake/intake-service.ts stormOf)
    assert.ok(findings.incidents >= 73 && findings.incidents <= 85, `${findings.incidents} incidents`);

    // One handoff per shift: at least one shift change fell inside the run, none posted twice.
    await waitFor('a shift handoff', async () => handoffThreads(c).size > 0, 150_000, 1_000);
    for (const [shift, n] of handoffThreads(c)) assert.equal(n, 1, `shift ${shift} handed off ${n} times`);
  });
});
