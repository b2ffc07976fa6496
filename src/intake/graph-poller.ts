import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { Store } from '../store/store';
import type { Logger } from '../log';
import { GraphSession } from '../connectors/graph/graph-session';
import { listAlertsUpdatedSince } from '../connectors/graph/defender';
import type { GraphTenants } from '../connectors/graph/graph-tenants';

/**
 * Polls a customer's Defender alerts_v2 on lastUpdateDateTime. The watermark lives in the Store
 * (`poller:<customerId>:alerts`) as { at, ids }: `at` is the newest lastUpdateDateTime handed over
 * and `ids` the alerts handed over with exactly that time. The query is `ge at`, so an alert updated
 * in the same instant as the watermark is not missed, and the ids stop it being handed over twice.
 * The watermark moves (compare-and-set) only after onAlert succeeded for every alert up to it, so a
 * crash in between replays from the old watermark: at-least-once into an idempotent intake.
 */
export interface PollerWatermark { at: string; ids: string[] }

export type OnAlert = (raw: unknown, customerId: string) => Promise<void>;

export interface PollResult { handed: number; pages: number; watermark: PollerWatermark }

export function pollerKey(customerId: string): string {
  return `poller:${customerId}:alerts`;
}

export async function pollAlertsOnce(o: {
  customer: CustomerConfig; secrets: SecretStore; store: Store; onAlert: OnAlert;
  /** where a customer with no watermark starts; 24 h back by default */
  initialLookbackMs?: number; now?: () => Date; pageSize?: number;
  graphTenants?: GraphTenants;
}): Promise<PollResult> {
  const now = o.now ?? (() => new Date());
  const key = pollerKey(o.customer.id);
  const stored = await o.store.getState(key);
  let wm: PollerWatermark = stored ? parseWatermark(stored) : { at: new Date(now().getTime() - (o.initialLookbackMs ?? 24 * 3600_000)).toISOString(), ids: [] };
  let current = stored;
  const session = new GraphSession(o.customer, o.secrets, { tenants: o.graphTenants });
  const page = await listAlertsUpdatedSince(session, new Date(wm.at), o.pageSize);
  const alerts = page.items
    .filter((a) => typeof a.id === 'string' && typeof a.lastUpdateDateTime === 'string' && !Number.isNaN(Date.parse(a.lastUpdateDateTime)))
    .sort((a, b) => Date.parse(String(a.lastUpdateDateTime)) - Date.parse(String(b.lastUpdateDateTime)));
  let handed = 0;
  for (const a of alerts) {
    const at = new Date(String(a.lastUpdateDateTime)).toISOString();
    const id = String(a.id);
    if (Date.parse(at) < Date.parse(wm.at)) continue;
    if (at === wm.at && wm.ids.includes(id)) continue;
    await o.onAlert(a, o.customer.id);
    handed++;
    const next: PollerWatermark = at === wm.at ? { at, ids: [...wm.ids, id] } : { at, ids: [id] };
    const value = JSON.stringify(next);
    if (!(await o.store.casState(key, current, value))) {
      throw new Error(`poller watermark ${key} was changed by another poller; stopping this run (the other one carries on)`);
    }
    current = value;
    wm = next;
  }
  return { handed, pages: page.pages, watermark: wm };
}

function parseWatermark(s: string): PollerWatermark {
  try {
    const v = JSON.parse(s) as PollerWatermark;
    if (typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) && Array.isArray(v.ids)) return { at: new Date(v.at).toISOString(), ids: v.ids.map(String) };
  } catch { /* fall through */ }
  throw new Error(`the stored poller watermark is unreadable: ${s.slice(0, 80)}`);
}

/** Runs pollAlertsOnce every pollIntervalSeconds for each customer with pollAlerts on; returns stop(). */
export function startGraphPoller(o: { customers: CustomerConfig[]; secrets: SecretStore; store: Store; onAlert: OnAlert; log: Logger; graphTenants?: GraphTenants }): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  for (const c of o.customers.filter((x) => x.graph.pollAlerts)) {
    let running = false;
    const tick = async () => {
      if (running || stopped) return;
      running = true;
      try {
        const r = await pollAlertsOnce({ customer: c, secrets: o.secrets, store: o.store, onAlert: o.onAlert, graphTenants: o.graphTenants });
        if (r.handed) o.log.info({ customer: c.id, handed: r.handed }, 'graph poller handed alerts to intake');
      } catch (e) {
        o.log.warn({ customer: c.id, err: (e as Error).message }, 'graph poller run failed; will retry next interval');
      } finally {
        running = false;
      }
    };
    timers.push(setInterval(tick, c.graph.pollIntervalSeconds * 1000));
    void tick();
  }
  return () => { stopped = true; timers.forEach(clearInterval); };
}
