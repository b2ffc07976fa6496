/**
 * First card: how long from an alert reaching POST /api/alerts to the incident's timeline card
 * reaching the Teams connector (the card's createConversation), through the whole app: startApp in
 * sandbox mode on free ports (emulators, FreeRADIUS NAS, the real Agents Playground as the mocked
 * Bot Connector). Each alert names a different user, so each opens its own incident and thread.
 *
 * How it is measured:
 * - the bot learns #sec-ir from the installationUpdate the Playground sends when a client opens the
 *   channel (same shape, built from .m365agentsplayground.yml), except that its serviceUrl points at
 *   a pass-through proxy in a child process in front of the Playground's /_connector; the proxy
 *   timestamps each POST /v3/conversations when it arrives and forwards everything unchanged, so the
 *   Playground still answers (its process clock is the same wall clock: performance.timeOrigin+now);
 * - spaced alerts (the figure asked for): one at a time, each POSTed 600 ms after the previous card
 *   arrived, because the bot's send queue (src/bot/send-queue.ts) starts new threads in the channel
 *   at most one per 500 ms; so each card shows the pipeline's own latency. The earlier incidents'
 *   procedures keep running meanwhile (the Graph emulator 404s these users, so their lookups fail
 *   fast, and approval cards go out): the bot is busy, as in an alert storm;
 * - then a back-to-back burst (the next POST as soon as the previous card arrived), where the
 *   queue's pacing shows;
 * - only the first post of each incident's card counts (not its later in-place updates, approval
 *   cards or failure notes), and only for incidents the POST itself created (`created: true`);
 * - the baseline is the same requests' own round trip (request start → 202 response).
 * The alert is not raised in the sandbox Defender first: the Graph poller would then be able to open
 * the incident before the POST, and the POST would measure a duplicate.
 *   npx tsx bench/first-card-latency.ts [alerts=100] [burst=20]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PROXY_FLAG = '--connector-proxy';
const now = () => performance.timeOrigin + performance.now();

// ------------------------------------------------------------------------------- the proxy (child)

/** Forwards every Bot Connector call to `target`; reports each createConversation's arrival over IPC. */
function runConnectorProxy(target: string): void {
  const base = new URL(target);
  const server = http.createServer((req, res) => {
    const arrived = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const route = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
      if (req.method === 'POST' && route === '/v3/conversations') {
        let summary = '';
        try {
          summary = String((JSON.parse(body.toString('utf8')) as { activity?: { summary?: unknown } }).activity?.summary ?? '');
        } catch {
          summary = '';
        }
        process.send?.({ kind: 'createConversation', at: arrived, summary });
      }
      const headers = { ...req.headers, host: base.host, 'content-length': String(body.length) };
      const out = http.request(
        { hostname: base.hostname, port: base.port, method: req.method, path: `${base.pathname.replace(/\/$/, '')}${req.url}`, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'proxy', message: err.message } }));
      });
      out.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ kind: 'listening', port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => server.close(() => process.exit(0)));
}

interface Proxy {
  serviceUrl: string;
  /** arrival time (ms, wall clock) of the first createConversation whose summary starts with the incident id */
  cards: Map<string, number>;
  waitForCard(incidentId: string, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const child: ChildProcess = fork(__filename, [PROXY_FLAG, target], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const cards = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the connector proxy exited (${code}) before listening`)));
    child.on('message', (m: { kind: string; port?: number; at?: number; summary?: string }) => {
      if (m.kind === 'listening') resolve(m.port!);
      if (m.kind === 'createConversation') {
        // The timeline card's thread summary is `${incidentId}: ${subjectUpn}` (src/bot/teams-notifier.ts).
        const id = /^(IR-[A-Za-z0-9-]+): bench\.user/.exec(m.summary ?? '')?.[1];
        if (id && !cards.has(id)) {
          cards.set(id, m.at!);
          waiters.get(id)?.();
        }
      }
    });
  });
  return {
    serviceUrl: `http://127.0.0.1:${port}`,
    cards,
    waitForCard: (incidentId, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        if (cards.has(incidentId)) return resolve(cards.get(incidentId)!);
        const timer = setTimeout(() => {
          waiters.delete(incidentId);
          reject(new Error(`no card for ${incidentId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(incidentId, () => {
          clearTimeout(timer);
          waiters.delete(incidentId);
          resolve(cards.get(incidentId)!);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

// ------------------------------------------------------------------------------- the bench (parent)

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

/** The Defender alert of the fixture, for another (nonexistent) user of the sandbox customer. */
function alertFor(sample: Record<string, unknown>, n: number): Record<string, unknown> {
  const local = `bench.user${String(n).padStart(3, '0')}`;
  const evidence = (sample.evidence as Array<Record<string, unknown>>).map((e) =>
    e['@odata.type'] === '#microsoft.graph.security.userEvidence'
      ? { ...e, userAccount: { ...(e.userAccount as object), accountName: local, azureAdUserId: randomUUID(), displayName: `Bench User ${n}`, userPrincipalName: `${local}@contoso.com`, userSid: null } }
      : e,
  );
  const t = Date.now();
  return {
    ...sample,
    id: `da${t}_${randomUUID().slice(0, 8)}`,
    // each alert its own detector: this bench measures a thread per incident, and storms (on by
    // default) fold a burst of one detector across accounts into one incident (bench/storm-intake.ts)
    detectorId: `bench-first-card-${n}`,
    providerAlertId: null,
    description: `Sign-ins for ${local}@contoso.com from two countries too far apart for the time between them.`,
    createdDateTime: new Date(t - 120_000).toISOString(),
    lastUpdateDateTime: new Date(t - 60_000).toISOString(),
    evidence,
  };
}

/** The installationUpdate the Playground sends when a client opens #sec-ir (its InstallationUpdateActivityGenerator). */
function installationUpdate(cfg: import('../src/sandbox/playground/config').PlaygroundConfig, serviceUrl: string): Record<string, unknown> {
  const channel = cfg.team.channels.find((c) => c.name === 'sec-ir');
  if (!channel) throw new Error('.m365agentsplayground.yml has no sec-ir channel');
  return {
    type: 'installationUpdate',
    action: 'add',
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl,
    from: { id: cfg.currentUser.id, name: cfg.currentUser.name, aadObjectId: cfg.currentUser.aadObjectId },
    recipient: { id: cfg.bot.id, name: cfg.bot.name },
    conversation: { id: channel.id, conversationType: 'channel', isGroup: true, tenantId: cfg.tenantId, name: channel.name },
    channelData: {
      tenant: { id: cfg.tenantId },
      team: { id: cfg.team.id, name: cfg.team.name, aadGroupId: cfg.team.aadGroupId },
      channel: { id: channel.id },
      source: { name: 'message' },
      settings: { selectedChannel: { id: channel.id } },
    },
    entities: [{ locale: 'en-US', type: 'clientInfo' }],
    locale: 'en-US',
  };
}

async function main(): Promise<void> {
  const alerts = Number(process.argv[2] ?? 100);
  const burst = Number(process.argv[3] ?? 20);
  // Logging costs time on the measured path; LOG_LEVEL=info shows it anyway.
  process.env.LOG_LEVEL ??= 'silent';
  const { startApp } = await import('../src/main');
  const { loadPlaygroundConfig } = await import('../src/sandbox/playground/config');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-first-card-'));
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  let proxy: Proxy | undefined;
  try {
    // The environment of test/support/sandbox-app.ts: sandbox mode, every port ephemeral, a private store.
    app = await startApp({
      ...process.env,
      IR_MODE: 'sandbox',
      MicrosoftAppId: '',
      CUSTOMERS_FILE: '',
      PORT: '0',
      HOST: '127.0.0.1',
      STORE_URL: process.env.STORE_URL ?? `sqlite:${path.join(dir, 'ir.sqlite')}`,
      SANDBOX_DATA_DIR: path.join(dir, 'sandbox'),
      SANDBOX_GRAPH_PORT: '0',
      SANDBOX_SERVICENOW_PORT: '0',
      SANDBOX_FORTIGATE_PORT: '0',
      SANDBOX_SWITCH_PORT: '0',
      SANDBOX_NAS_PORT: '0',
      PLAYGROUND_PORT: '0',
      SANDBOX_PLAYGROUND: 'true',
      IR_QUIET_BANNER: 'true',
    });
    if (!app.playgroundUrl) throw new Error('the app started without the Playground');
    proxy = await startProxy(`${app.playgroundUrl}/_connector`);
    const base = `http://127.0.0.1:${app.port}`;
    const token = app.env.mspWideAlertToken!;

    const install = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(installationUpdate(loadPlaygroundConfig(), proxy.serviceUrl)),
    });
    if (install.status >= 300) throw new Error(`the bot refused the installationUpdate: ${install.status} ${await install.text()}`);
    const deadline = Date.now() + 20_000;
    while (!(await app.store.getRef('teams:channel')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!(await app.store.getRef('teams:channel'))) throw new Error('the bot did not learn #sec-ir from the installationUpdate');

    const sample = JSON.parse(readFileSync(path.resolve(__dirname, '../test/fixtures/graph/alert-impossible-travel.json'), 'utf8')) as Record<string, unknown>;
    const post = async (n: number) => {
      const body = JSON.stringify(alertFor(sample, n));
      const start = now();
      const res = await fetch(`${base}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      const answered = now();
      const json = (await res.json()) as { incidentId?: string; created?: boolean };
      if (res.status !== 202 || !json.incidentId || json.created !== true) throw new Error(`alert ${n}: ${res.status} ${JSON.stringify(json)} (expected 202 and a new incident)`);
      return { start, answered, incidentId: json.incidentId };
    };
    const measured: string[] = [];

    // Warm-up (not counted): the first card pays for the first connector round trips and code loading.
    for (let n = 0; n < 3; n++) {
      const p = await post(1000 + n);
      await proxy.waitForCard(p.incidentId, 30_000);
    }
    await new Promise((r) => setTimeout(r, 600));

    const measure = async (count: number, first: number, gapMs: number) => {
      const cardMs: number[] = [];
      const postMs: number[] = [];
      for (let n = first; n < first + count; n++) {
        const p = await post(n);
        const at = await proxy!.waitForCard(p.incidentId, 30_000);
        measured.push(p.incidentId);
        cardMs.push(at - p.start);
        postMs.push(p.answered - p.start);
        if (gapMs) await new Promise((r) => setTimeout(r, Math.max(0, at + gapMs - now())));
      }
      return { cardMs, postMs };
    };
    const report = (title: string, r: { cardMs: number[]; postMs: number[] }) => {
      const card = quantile(r.cardMs, 0.5);
      const bare = quantile(r.postMs, 0.5);
      console.log(title);
      console.log(`  POST /api/alerts → card's createConversation at the connector: median ${card.toFixed(1)} ms, p95 ${quantile(r.cardMs, 0.95).toFixed(1)} ms, max ${Math.max(...r.cardMs).toFixed(1)} ms`);
      console.log(`  baseline, the same POSTs' round trip (202):                   median ${bare.toFixed(1)} ms, p95 ${quantile(r.postMs, 0.95).toFixed(1)} ms`);
      console.log(`  ratio of medians (card / bare POST):                          ${(card / bare).toFixed(2)}`);
    };

    const spaced = await measure(alerts, 0, 600);
    const burstResult = burst > 0 ? await measure(burst, alerts, 0) : undefined;
    // A card counts only if the Playground accepted it: the bot keeps the thread only after a 2xx.
    await new Promise((r) => setTimeout(r, 1000));
    const notKept: string[] = [];
    for (const id of measured) {
      const ref = await app.store.getState(`teams:card:${id}`);
      if (!ref || ref.startsWith('posting:')) notKept.push(id);
    }
    if (notKept.length) throw new Error(`${notKept.length} card(s) reached the connector but were not accepted: ${notKept.slice(0, 5).join(', ')}`);
    report(`first card latency, ${alerts} alerts for ${alerts} users, each 600 ms after the previous card (store ${app.store.dialect}):`, spaced);
    if (burstResult) report(`back to back, ${burst} more alerts, each as soon as the previous card arrived (the send queue's 500 ms pacing of new threads shows):`, burstResult);
  } finally {
    await proxy?.close().catch(() => undefined);
    await app?.close().catch((e) => console.error('closing the app failed:', e));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === PROXY_FLAG) {
  runConnectorProxy(process.argv[3]);
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
