import type { Logger } from './log';
import type { Store } from './store/store';

/** What a replica runs: the procedure versions it can execute and the schema migrations its code has. */
export interface ReplicaRuns {
  procedures: string[];
  migrations: string[];
}

interface Entry extends ReplicaRuns { seenAt: string }
type Registry = Record<string, Entry>;

/** the store's record of what each live replica runs (one state row, changed by compare-and-set) */
export const REPLICAS_KEY = 'replicas:runs';

/**
 * Replicas on one store must run the same procedure versions and the same schema: an incident
 * started on one replica's `procedure@3` must be resumable by any other, and a replica whose code
 * lacks (or has extra) migrations reads rows it does not understand. At start a replica compares
 * what it runs with the live replicas the store has recorded; when it differs, it takes no work and
 * says why (one log line, /readyz). A replica is live while it refreshes its entry (every
 * `refreshMs`); entries older than `liveMs` are dropped (a replica that died, or was replaced).
 */
export class ReplicaVersions {
  private timer: NodeJS.Timeout | undefined;
  private readonly liveMs: number;
  private readonly refreshMs: number;
  private readonly now: () => Date;

  constructor(private readonly o: {
    store: Store; workerId: string; runs: ReplicaRuns; log: Logger;
    liveMs?: number; refreshMs?: number; now?: () => Date;
  }) {
    this.liveMs = o.liveMs ?? 120_000;
    this.refreshMs = o.refreshMs ?? 30_000;
    this.now = o.now ?? (() => new Date());
  }

  /**
   * Records this replica and returns undefined when it runs what the live others run; otherwise
   * returns why not (and records nothing, so the others go on). `reason` names versions only (it is
   * shown on the unauthenticated /readyz); `otherReplica` (a host name and pid) is for the log.
   */
  async join(): Promise<{ reason: string; otherReplica: string } | undefined> {
    const self = { procedures: [...this.o.runs.procedures].sort(), migrations: [...this.o.runs.migrations].sort() };
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.o.store.getState(REPLICAS_KEY);
      const live = this.liveEntries(current);
      delete live[this.o.workerId];
      for (const [other, e] of Object.entries(live)) {
        const reason = difference(self, e);
        if (reason) return { reason, otherReplica: other };
      }
      live[this.o.workerId] = { ...self, seenAt: this.now().toISOString() };
      if (await this.o.store.casState(REPLICAS_KEY, current, JSON.stringify(live))) {
        this.timer = setInterval(() => { void this.refresh(); }, this.refreshMs);
        this.timer.unref();
        return undefined;
      }
    }
    throw new Error(`${REPLICAS_KEY}: could not record this replica (too many concurrent changes)`);
  }

  /** Leaves the record (a clean stop): a replica started next is compared with the others only. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.update((live) => { delete live[this.o.workerId]; }).catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    await this.update((live) => {
      live[this.o.workerId] = { procedures: [...this.o.runs.procedures].sort(), migrations: [...this.o.runs.migrations].sort(), seenAt: this.now().toISOString() };
    }).catch((err) => this.o.log.debug({ err: (err as Error).message }, 'replica record not refreshed; next time'));
  }

  private async update(change: (live: Registry) => void): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.o.store.getState(REPLICAS_KEY);
      const live = this.liveEntries(current);
      change(live);
      if (await this.o.store.casState(REPLICAS_KEY, current, JSON.stringify(live))) return;
    }
  }

  private liveEntries(current: string | undefined): Registry {
    let all: Registry = {};
    try { all = current ? (JSON.parse(current) as Registry) : {}; } catch { all = {}; }
    const cutoff = this.now().getTime() - this.liveMs;
    const live: Registry = {};
    for (const [id, e] of Object.entries(all)) {
      if (e && Array.isArray(e.procedures) && Array.isArray(e.migrations) && Date.parse(e.seenAt) >= cutoff) live[id] = e;
    }
    return live;
  }
}

function difference(self: ReplicaRuns, other: ReplicaRuns): string | undefined {
  const diff = (a: string[], b: string[]) => ({ onlyHere: a.filter((x) => !b.includes(x)), onlyThere: b.filter((x) => !a.includes(x)) });
  const p = diff(self.procedures, other.procedures);
  if (p.onlyHere.length || p.onlyThere.length) {
    return `it runs other procedure versions than a live replica: only here ${list(p.onlyHere)}; only there ${list(p.onlyThere)}`;
  }
  const m = diff(self.migrations, other.migrations);
  if (m.onlyHere.length || m.onlyThere.length) {
    return `its schema migrations differ from a live replica's: only here ${list(m.onlyHere)}; only there ${list(m.onlyThere)}`;
  }
  return undefined;
}

const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
