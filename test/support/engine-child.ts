/**
 * An engine in its own process, for the crash tests: the parent SIGKILLs it at chosen points and
 * starts another. Env: STORE_URL, COUNTER_URL (the HTTP counter the destructive action calls),
 * INCIDENT_ID (start it), HOLD ('before-call' | 'after-call' | 'unblock-after-call' | '': where the first attempt stops
 * and waits to be killed), WORKER_ID. Reports to the parent over IPC.
 */
import { z } from 'zod';
import pino from 'pino';
import type { ActionDef } from '../../src/connectors/types';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { openStore } from '../../src/store/open-store';
import { testCustomer, testSecrets } from './engine-fixtures';

export const CRASH_PROCEDURE = `
name: Crash test
version: 1
steps:
  - { id: scope, action: crash.scope, with: { upn: { from: incident.subjectUpn } } }
  - id: block
    action: crash.block
    needs: [scope]
    with: { ips: { from: incident.suspiciousIps } }
  - { id: after, action: crash.scope, needs: [block], with: { upn: { from: incident.subjectUpn } } }
`;

const send = (m: Record<string, unknown>) => process.send?.(m);
const hold = () => new Promise(() => undefined); // wait here until SIGKILL

async function counterState(base: string): Promise<{ blocked: string[]; count: number }> {
  const r = await fetch(`${base}/state`);
  return (await r.json()) as { blocked: string[]; count: number };
}

export function crashActions(counterUrl: string, holdAt: string): ActionDef[] {
  const scope: ActionDef<{ upn: string }, unknown> = {
    name: 'crash.scope',
    risk: 'read',
    description: 'reads nothing, quickly',
    input: z.object({ upn: z.string() }),
    async run(i) {
      return { output: { upn: i.upn }, summary: `looked at ${i.upn}`, raw: [] };
    },
  };
  const block: ActionDef<{ ips: string[] }, unknown> = {
    name: 'crash.block',
    risk: 'destructive',
    description: 'blocks IPs on the counter server',
    input: z.object({ ips: z.array(z.string()).min(1) }),
    async preview(i) {
      const s = await counterState(counterUrl);
      const todo = i.ips.filter((ip) => !s.blocked.includes(ip));
      return { title: `Block ${i.ips.join(', ')}`, facts: [], changes: todo.map((ip) => `Block ${ip}`), warnings: [], nothingToDo: todo.length === 0 };
    },
    async run(i, ctx) {
      if (ctx.mayHaveRun) {
        // The connector contract: re-read the target before acting again.
        const s = await counterState(counterUrl);
        if (i.ips.every((ip) => s.blocked.includes(ip))) {
          send({ ev: 'reread-done' });
          return { output: { ipsBlocked: i.ips, alreadyDone: true }, summary: `already blocked: ${i.ips.join(', ')}`, raw: [] };
        }
      }
      if (holdAt === 'before-call' && !ctx.mayHaveRun) {
        send({ ev: 'before-call' });
        await hold();
      }
      send({ ev: 'calling' });
      const r = await fetch(`${counterUrl}/block`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey }, body: JSON.stringify({ ips: i.ips }) });
      const body = Buffer.from(await r.arrayBuffer());
      send({ ev: 'called' });
      if (holdAt === 'after-call') await hold();
      return {
        output: { ipsBlocked: i.ips },
        summary: `blocked ${i.ips.join(', ')}`,
        raw: [{ source: 'counter.block', contentType: 'application/json', body, collectedAt: new Date().toISOString() }],
      };
    },
  };
  // the release's way back (issue 14): declared on the block, run by the release after a crash test kills it mid-call
  block.inverse = { action: 'crash.unblock', input: (fi) => ({ ips: (fi as { ips: string[] }).ips }) };
  const unblock: ActionDef<{ ips: string[] }, unknown> = {
    name: 'crash.unblock',
    risk: 'change',
    description: 'unblocks IPs on the counter server',
    input: z.object({ ips: z.array(z.string()).min(1) }),
    async run(i, ctx) {
      if (ctx.mayHaveRun) {
        const s = await counterState(counterUrl);
        if (i.ips.every((ip) => !s.blocked.includes(ip))) return { output: { alreadyDone: true }, summary: `already unblocked: ${i.ips.join(', ')}`, raw: [] };
      }
      send({ ev: 'unblocking' });
      const r = await fetch(`${counterUrl}/unblock`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': ctx.idempotencyKey }, body: JSON.stringify({ ips: i.ips }) });
      const body = Buffer.from(await r.arrayBuffer());
      send({ ev: 'unblocked' });
      if (holdAt === 'unblock-after-call' && !ctx.mayHaveRun) await hold();
      return { output: { unblocked: i.ips }, summary: `unblocked ${i.ips.join(', ')}`, raw: [{ source: 'counter.unblock', contentType: 'application/json', body, collectedAt: new Date().toISOString() }] };
    },
  };
  return [scope, block, unblock] as ActionDef[];
}

async function main(): Promise<void> {
  const store = await openStore(process.env.STORE_URL);
  const registry = new ActionRegistry(crashActions(process.env.COUNTER_URL!, process.env.HOLD ?? ''));
  const customer = testCustomer();
  const engine = new Engine({
    store,
    registry,
    procedures: new ProcedureCatalog(parseProcedure(CRASH_PROCEDURE, 'crash.yaml', registry)),
    customers: (id) => (id === customer.id ? customer : undefined),
    secrets: testSecrets,
    log: pino({ level: process.env.ENGINE_CHILD_LOG ?? 'silent' }),
    workerId: process.env.WORKER_ID,
    leaseMs: Number(process.env.LEASE_MS ?? 1500),
    tickIntervalMs: 100,
    notifier: {
      incidentChanged: () => undefined,
      approvalRequested: (a) => { send({ ev: 'approval-requested', approvalId: a.id }); },
      approvalDecided: () => undefined,
      stepEvidence: (_i, stepId, text) => { send({ ev: 'step', stepId, text }); },
    },
  });
  if (process.env.INCIDENT_ID) await engine.startIncident(process.env.INCIDENT_ID);
  engine.start();
  send({ ev: 'started' });
  process.on('SIGTERM', () => {
    void engine.stop().then(() => store.close()).then(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err) => {
    send({ ev: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  });
}
