import { Client } from 'pg';
import type { Logger } from '../log';

/** Channel names are SQL identifiers in LISTEN: only these characters are ever sent. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
/** Reconnect pauses after losing the listening connection: 0.25 s doubling to 5 s. */
const MIN_RECONNECT_MS = 250;
const MAX_RECONNECT_MS = 5_000;

export type WakeHandler = (payload: string) => void;

export function assertChannelName(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`store channel "${channel.slice(0, 80)}" must be a lower-case identifier`);
}

/**
 * PostgreSQL LISTEN on one dedicated connection (a pooled one would be handed to other queries and
 * lose its LISTEN). A notification is only a hint to look at the store sooner: when the connection
 * drops (a restart, a failover, pg_terminate_backend) it is opened again with back-off and every
 * channel listened to again, and whatever was notified meanwhile is found by the engine's poll.
 */
export class PgWakeChannel {
  private client: Client | undefined;
  private readonly handlers = new Map<string, Set<WakeHandler>>();
  private connecting: Promise<void> | undefined;
  private closed = false;
  private retryMs = MIN_RECONNECT_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly url: string, private readonly log?: Logger) {}

  async subscribe(channel: string, handler: WakeHandler): Promise<() => Promise<void>> {
    assertChannelName(channel);
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    if (!this.client) await this.connect();
    else if (first) await this.client.query(`LISTEN ${channel}`).catch(() => undefined);
    return async () => {
      set!.delete(handler);
      if (set!.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.client?.query(`UNLISTEN ${channel}`).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.url, application_name: 'teams-ir-bot:listen', connectionTimeoutMillis: 5_000, keepAlive: true });
    // Without a listener an 'error' on the client would end the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      for (const h of this.handlers.get(n.channel) ?? []) {
        try { h(n.payload ?? ''); } catch (err) { this.log?.warn({ err, channel: n.channel }, 'store: a wake handler failed'); }
      }
    });
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      this.lost(client, err as Error);
      return;
    }
    if (this.closed) { await client.end().catch(() => undefined); return; }
    this.client = client;
    if (this.retryMs > MIN_RECONNECT_MS) this.log?.info('store: listening for wake-ups again');
    this.retryMs = MIN_RECONNECT_MS;
  }

  private lost(client: Client, err?: Error): void {
    if (this.closed || (this.client && this.client !== client)) return;
    if (this.client === client) this.client = undefined;
    if (this.retryTimer) return;
    this.log?.warn({ err: err?.message, retryInMs: this.retryMs }, 'store: the LISTEN connection was lost; the poll covers the gap');
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RECONNECT_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; void this.connect(); }, wait);
    this.retryTimer.unref();
  }
}
