/**
 * Teams' rate limits across replicas (issue 13 part 4). A burst of N incidents' messages (each: a
 * new thread for the timeline card, 3 in-place updates of it, 1 approval card replied in the thread)
 * sent through the real Bot Framework client by R replicas (R bots, each with its own Store instance
 * on one database, in this process) against the recorded Bot Connector enforcing Teams' documented
 * limits over every caller (test/support/bot-connector-recorder.ts). Four runs in the same session:
 * 1 and 3 replicas, with the shared limiter (src/bot/shared-send-limiter.ts) and without it (each
 * replica pacing alone at 150 ms, retrying 429s after their Retry-After, 4 attempts, as before).
 * Figures: time to the last card (thread) at the connector, cards/s, 429s answered, sends that gave
 * up (each would have waited for the sweep), total time.
 * Then the limiter's cost per send: 200 replies to 200 different threads one after another (no
 * limit reached), with the gate against without it, median per send of 3 alternating rounds, and
 * takeSendSlot alone.
 *   npx tsx bench/teams-rate.ts [incidents=40] [postgres|sqlite]
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createTeamsBot, type TeamsBot } from '../src/bot/teams-app';
import { SendQueue } from '../src/bot/send-queue';
import { SharedSendLimiter } from '../src/bot/shared-send-limiter';
import { conversationRateKey, PER_BOT_PER_THREAD } from '../src/bot/teams-rate-limits';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { startRecordedConnector, TEAM, type RecordedConnector } from '../test/support/bot-connector-recorder';
import { createTestDatabase, type StoreDialectName, type TestDatabase } from '../test/support/store-factory';

const N = Number(process.argv[2] ?? 40);
const DIALECT = (process.argv[3] ?? 'postgres') as StoreDialectName;
const quiet = pino({ level: 'silent' });

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function replicas(db: TestDatabase, n: number, connector: RecordedConnector, shared: boolean): Promise<{ bots: TeamsBot[]; stores: Store[]; limiters: SharedSendLimiter[] }> {
  const stores: Store[] = [];
  const limiters: SharedSendLimiter[] = [];
  for (let i = 0; i < n; i++) stores.push(await openStore(db.url));
  await stores[0].putRef('teams:channel', connector.channelRef());
  const bots = stores.map((store, i) => createTeamsBot({
    mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
    queue: new SendQueue({ minGapMs: 150, gate: shared ? limiters[limiters.push(new SharedSendLimiter({ store })) - 1] : undefined }),
    ops: {} as never, customerName: (id) => id, log: quiet, workerId: `bench-${i}`,
    access: { roles: async () => new Map(), isAdmin: async () => false },
  }));
  return { bots, stores, limiters };
}

async function burst(r: number, shared: boolean): Promise<string> {
  const db = await createTestDatabase(DIALECT);
  const connector = await startRecordedConnector({ enforceLimits: true });
  const { bots, stores, limiters } = await replicas(db, r, connector, shared);
  let gaveUp = 0;
  const t0 = Date.now();
  const card = (i: number) => ({ summary: `IR-BENCH-${i}: user${i}`, text: `incident ${i}` });
  await Promise.all(Array.from({ length: N }, async (_, i) => {
    const bot = bots[i % r];
    try {
      const t = await bot.channel.startThread(card(i));
      for (let u = 0; u < 3; u++) await bot.channel.update(t.conversationId, t.activityId, { text: `incident ${i} update ${u}` });
      await bot.channel.reply(t.conversationId, { text: `approval ${i}` });
    } catch {
      gaveUp++;
    }
  }));
  const total = Date.now() - t0;
  const threads = connector.calls.filter((c) => c.kind === 'createConversation');
  const lastCard = Math.max(...threads.map((c) => c.at)) - t0;
  const line = `${r} replica${r > 1 ? 's' : ' '} ${shared ? 'shared limiter' : 'alone         '}: ${threads.length}/${N} cards, last card at ${(lastCard / 1000).toFixed(1)} s (${(threads.length / (lastCard / 1000)).toFixed(2)} cards/s), ${connector.throttled.length} answered 429, ${gaveUp} sends gave up, ${connector.calls.length} calls in ${(total / 1000).toFixed(1)} s`;
  const sum = (k: 'granted' | 'waits' | 'waitedMs' | 'holds') => limiters.reduce((n, l) => n + l.stats[k], 0);
  const limiterLine = shared ? `; limiter: ${sum('granted')} slots, ${sum('waits')} waits (${(sum('waitedMs') / 1000).toFixed(1)} s slept in all), ${sum('holds')} Retry-After holds` : '';
  const byLimit = new Map<string, number>();
  for (const t of connector.throttled) { const k = t.limit.replace(/conversation \S+/, 'conversation'); byLimit.set(k, (byLimit.get(k) ?? 0) + 1); }
  const limitsLine = byLimit.size ? ` [429 by limit: ${[...byLimit].map(([k, v]) => `${k}: ${v}`).join(', ')}]` : '';
  for (const s of stores) await s.close();
  await connector.close();
  await db.dispose();
  return line + limiterLine + limitsLine;
}

async function costPerSend(): Promise<string> {
  const db = await createTestDatabase(DIALECT);
  const connector = await startRecordedConnector();
  const store = await openStore(db.url);
  await store.putRef('teams:channel', connector.channelRef());
  const make = (shared: boolean) => createTeamsBot({
    mode: 'sandbox', appType: 'MultiTenant', channelName: 'sec-ir', botName: 'ir', store,
    queue: new SendQueue({ minGapMs: 0, gate: shared ? new SharedSendLimiter({ store, perApp: [{ windowMs: 1_000, max: 10_000 }] }) : undefined }),
    ops: {} as never, customerName: (id) => id, log: quiet, workerId: 'bench',
    access: { roles: async () => new Map(), isAdmin: async () => false },
  });
  const withGate = make(true);
  const without = make(false);
  const per = { with: [] as number[], without: [] as number[] };
  let thread = 0;
  const round = async (bot: TeamsBot, into: number[]) => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const conv = `${TEAM.channelId};messageid=${++thread}`;
      const t = performance.now();
      await bot.channel.reply(conv, { text: 'x' });
      times.push(performance.now() - t);
    }
    into.push(median(times));
  };
  await round(withGate, []); // warm-up (connections, JIT)
  for (let k = 0; k < 3; k++) {
    await round(without, per.without);
    await round(withGate, per.with);
  }
  const slot: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await store.takeSendSlot([{ key: conversationRateKey(`bench-${i}`), windows: PER_BOT_PER_THREAD }], new Date());
    slot.push(performance.now() - t);
  }
  await store.close();
  await connector.close();
  await db.dispose();
  const w = median(per.with);
  const wo = median(per.without);
  return `cost per send (200 replies to different threads, median of 3 rounds): with the gate ${w.toFixed(2)} ms, without ${wo.toFixed(2)} ms (+${(w - wo).toFixed(2)} ms, ratio ${(w / wo).toFixed(2)}); takeSendSlot alone median ${median(slot).toFixed(2)} ms`;
}

async function main(): Promise<void> {
  process.stdout.write(`teams-rate: ${N} incidents (thread + 3 updates + 1 reply each) against the enforcing recorder, ${DIALECT}\n`);
  const only = process.env.TEAMS_RATE_ONLY; // e.g. "1s" to run only 1 replica with the shared limiter
  for (const [r, shared] of [[1, true], [3, true], [1, false], [3, false]] as const) {
    if (only && only !== `${r}${shared ? 's' : 'a'}`) continue;
    process.stdout.write(`${await burst(r, shared)}\n`);
  }
  if (!only) process.stdout.write(`${await costPerSend()}\n`);
}

main().then(() => process.exit(0), (e) => { process.stderr.write(`${(e as Error).stack ?? e}\n`); process.exit(1); });
