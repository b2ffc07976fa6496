import type { Logger } from './log';
import type { Store } from './store/store';

/** The PostgreSQL NOTIFY channel the replicas wake each other on. */
export const WAKE_CHANNEL = 'irbot_wake';
const MAX_INCIDENT_ID = 200;

/**
 * Replicas on one PostgreSQL: when an approval is decided on one of them (whichever the load
 * balancer sent the click to), the others hear it at once and look at that incident, so the replica
 * with a free slot claims the approved step without waiting for its next poll. The poll stays the
 * fallback: a notification lost (the LISTEN connection down, SQLite) only costs that wait. The
 * store decides who runs the step (its lease claim), never the notification.
 */
export class ReplicaWake {
  private stop: (() => Promise<void>) | undefined;
  private readonly pending = new Set<string>();

  constructor(private readonly o: {
    store: Store;
    workerId: string;
    /** look at this incident now (the engine's public entry that schedules one incident) */
    wake: (incidentId: string) => void | Promise<void>;
    log: Logger;
  }) {}

  async start(): Promise<void> {
    this.stop = await this.o.store.subscribe(WAKE_CHANNEL, (payload) => this.heard(payload));
  }

  /** Tells the other replicas that this incident has work now. Never throws: the poll covers a failure. */
  announce(incidentId: string): void {
    const payload = JSON.stringify({ from: this.o.workerId, incidentId });
    this.o.store.notify(WAKE_CHANNEL, payload).catch((err) => this.o.log.debug({ err: (err as Error).message, incidentId }, 'replica wake not sent; the poll will find the work'));
  }

  async close(): Promise<void> {
    await this.stop?.();
    this.stop = undefined;
  }

  private heard(payload: string): void {
    let msg: { from?: unknown; incidentId?: unknown };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    if (msg.from === this.o.workerId || typeof msg.incidentId !== 'string' || !msg.incidentId || msg.incidentId.length > MAX_INCIDENT_ID) return;
    // A burst of decisions on one incident is one look.
    if (this.pending.has(msg.incidentId)) return;
    this.pending.add(msg.incidentId);
    const incidentId = msg.incidentId;
    setImmediate(() => {
      this.pending.delete(incidentId);
      Promise.resolve().then(() => this.o.wake(incidentId)).catch((err) => this.o.log.debug({ err: (err as Error).message, incidentId }, 'replica wake: the incident could not be scheduled; the poll will retry'));
    });
  }
}
