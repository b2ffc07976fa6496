import assert from 'node:assert/strict';
import { Client } from 'pg';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { cardActionInvoke, postActivity } from '../support/bot-invoke';
import { graphCounts, sampleAlert, waitFor } from '../support/bot-world';
import { startReplicaCluster, type ReplicaCluster } from '../support/replica-cluster';
import type { BotChild } from '../support/bot-child';
import type { Store } from '../../src/store/store';
import type { RunningPeers } from '../../scripts/peers';
import type { TestDatabase } from '../support/store-factory';
import { startCutProxy, type CutProxy } from '../support/tcp-cut-proxy';

/**
 * Issue 13 parts 1 and 2, as an operator runs it: the sandbox's peers once (in this process, so the
 * test can read the emulators), three bot replicas as separate processes on one PostgreSQL
 * database, Debian's nginx in front of them. Alerts and clicks go through nginx only; one replica is
 * SIGKILLed mid-run. Replica 3 reaches PostgreSQL through a relay the test can cut, which is what a
 * database restart looks like to it.
 */
describe('cluster: three replicas on one PostgreSQL behind nginx', function () {
  this.timeout(300_000);
  let cluster: ReplicaCluster;
  let db: TestDatabase;
  let store: Store;
  let connector: RecordedConnector;
  let peers: RunningPeers;
  let proxy: CutProxy | undefined;
  let replicas: BotChild[];
  let lbPort = 0;
  let lb: (p: string) => string;

  before(async function () {
    connector = await startRecordedConnector();
    cluster = await startReplicaCluster({
      replicas: 3, connector, nginx: true,
      beforeReplicas: async (d) => {
        const pgUrl = new URL(d.url);
        proxy = await startCutProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
      },
      storeUrl: (i, url) => {
        if (i !== 2) return url;
        const viaProxy = new URL(url);
        viaProxy.port = String(proxy!.port);
        return viaProxy.toString();
      },
    });
    ({ db, store, peers, replicas, lbPort, lb } = cluster);
  });

  after(async function () {
    await cluster?.close(this.currentTest?.state === 'failed');
    await proxy?.close();
    await connector?.close();
  });

  const postAlert = async (url: string, alert: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' }, body: JSON.stringify(alert) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as { incidentId?: string; alertId?: string } };
  };
  const accepted = new Map<string, string>(); // alert id → incident id the 202 named

  it('alerts through nginx: every 202 alert is in exactly one incident, one thread per incident', async () => {
    const alerts = Array.from({ length: 6 }, () => sampleAlert());
    const sends = [...alerts, alerts[0], alerts[3]]; // two repeats: the same alert, not a second one
    const answers = await Promise.all(sends.map((a) => postAlert(lb('/api/alerts'), a)));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 202, `alert ${i} answered ${a.status} ${JSON.stringify(a.body)}`);
      const id = String(sends[i].id);
      if (accepted.has(id)) assert.equal(a.body.incidentId, accepted.get(id), 'a repeated alert names the same incident');
      accepted.set(id, a.body.incidentId!);
    }
    await assertAlertsStoredOnce();
    const incidents = new Set(accepted.values());
    await waitFor('one thread per incident', async () => connector.calls.filter((c) => c.kind === 'createConversation').length >= incidents.size, 30_000);
    assert.equal(connector.calls.filter((c) => c.kind === 'createConversation').length, incidents.size, 'one timeline card (thread) per incident');
  });

  it('clicks through nginx, one replica SIGKILLed mid-run: every approved action runs once at the emulators', async () => {
    const incidentId = [...accepted.values()][0];
    // The three approval cards are out first (a card whose post a kill interrupts waits for the
    // card sweep: a gap of its own, not this test's subject).
    const cards = new Map<string, { approvalId: string; conversationId: string; activityId: string }>();
    for (const stepId of ['entra-contain', 'firewall-block', 'radius-disconnect']) {
      const approval = await waitFor(`the ${stepId} approval`, async () =>
        (await store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:${stepId}`), 60_000);
      const card = await waitFor(`the ${stepId} card`, async () => {
        const v = await store.getState(`teams:approval:${approval.id}`);
        return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
      }, 30_000);
      cards.set(stepId, { approvalId: approval.id, ...card });
    }
    const click = async (stepId: string) => {
      const card = cards.get(stepId)!;
      const reply = await postActivity(lbPort, cardActionInvoke({
        verb: 'ir.approve', data: { approvalId: card.approvalId }, from: PLAYGROUND_USERS.alex,
        serviceUrl: connector.serviceUrl, conversationId: card.conversationId, replyToId: card.activityId,
      }));
      assert.equal(reply.status, 200, `approve ${stepId} answered HTTP ${reply.status}`);
    };
    await click('entra-contain');
    // Mid-run: the approved step is being claimed or run somewhere; replica 1 dies without a word.
    await replicas[0].kill();
    await click('firewall-block');
    await click('radius-disconnect');
    await waitFor('the incident to be contained', async () => (await store.getIncident(incidentId))?.status === 'contained', 90_000, 200);

    const counts = graphCounts(peers.sandbox.graph.state, CONTOSO.adele.objectId);
    assert.equal(counts.disable, 1, 'Adele disabled once');
    assert.equal(counts.revocations, 1, 'her sessions revoked once');
    assert.equal(counts.passwordResets, 1, 'her password reset once');
    assert.equal(peers.sandbox.fortigate.received.filter((l) => /append member "IR-203\.0\.113\.7"/.test(l)).length, 1, 'the attacker\'s IP blocked once');
    const disconnect = await store.getAction(`${incidentId}:radius-disconnect`);
    assert.equal(disconnect?.status, 'succeeded');
    for (const step of ['entra-contain', 'firewall-block', 'radius-disconnect']) {
      const steps = (await store.listTimeline(incidentId)).filter((e) => e.kind === 'step.succeeded' && (e.data as { step?: string } | null)?.step === step);
      assert.equal(steps.length, 1, `${step} succeeded once on the timeline`);
    }
  });

  it('PostgreSQL connection loss: killed backends are reconnected; a cut replica is not ready and nginx routes around it', async () => {
    // Every backend of the living replicas, pool and LISTEN connection alike.
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    const killed = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'teams-ir-bot%' and pid <> pg_backend_pid()");
    await admin.end();
    assert.ok((killed.rowCount ?? 0) >= 2, `backends terminated: ${killed.rowCount}`);
    const after = await postAlert(lb('/api/alerts'), sampleAlert());
    assert.equal(after.status, 202, `an alert after the backends were killed: ${after.status}`);
    accepted.set(after.body.alertId!, after.body.incidentId!);

    // Replica 3's database "restarts": its connections drop and new ones are refused.
    proxy!.cut();
    const ready = await fetch(`http://127.0.0.1:${replicas[2].port}/readyz`);
    assert.equal(ready.status, 503, '/readyz says not ready while its store is unreachable');
    const direct = await postAlert(`http://127.0.0.1:${replicas[2].port}/api/alerts`, sampleAlert());
    assert.equal(direct.status, 503, 'an alert the replica cannot store is refused with 503, never 202');
    // Through nginx every alert is accepted: a 503 or a dead replica passes it to the next one.
    const storm = await Promise.all(Array.from({ length: 6 }, () => sampleAlert()).map(async (a) => ({ a, r: await postAlert(lb('/api/alerts'), a) })));
    for (const { a, r } of storm) {
      assert.equal(r.status, 202, `through nginx during the cut: ${r.status}`);
      accepted.set(String(a.id), r.body.incidentId!);
    }
    proxy!.restore();
    await waitFor('replica 3 to be ready again', async () => (await fetch(`http://127.0.0.1:${replicas[2].port}/readyz`)).ok, 20_000, 200);
    const back = await postAlert(`http://127.0.0.1:${replicas[2].port}/api/alerts`, sampleAlert());
    assert.equal(back.status, 202, 'replica 3 stores alerts again');
    accepted.set(back.body.alertId!, back.body.incidentId!);
    await assertAlertsStoredOnce();
  });

  /** Every alert a 202 accepted is stored once, in the incident its answer named. */
  async function assertAlertsStoredOnce(): Promise<void> {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const rows = (await c.query<{ id: string; incident_id: string }>('select id, incident_id from alerts')).rows;
      for (const [alertId, incidentId] of accepted) {
        const mine = rows.filter((r) => r.id === alertId);
        assert.equal(mine.length, 1, `alert ${alertId} stored once`);
        assert.equal(mine[0].incident_id, incidentId, `alert ${alertId} in the incident its 202 named`);
      }
    } finally {
      await c.end();
    }
  }
});
