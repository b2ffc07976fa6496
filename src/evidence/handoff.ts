import type { CustomerConfig } from '../config/customers';
import { currentShift, previousShift, shiftStartsBetween, type CurrentShift, type ShiftsConfig } from '../config/shifts';
import type { Logger } from '../log';
import { stepTitle as stepTitleOf } from '../domain/incident-findings';
import { loadIncidentSnapshot, type IncidentSnapshot } from '../read-model/incident-snapshot';
import type { Store } from '../store/store';
import { latestReport } from './report';

/**
 * The shift handoff: one message at each shift change listing every open incident, its state,
 * what waits for approval and what is left, with links, @mentioning the incoming analyst. It is
 * posted once per shift change across restarts and several instances: the shift is claimed in the
 * store (compare-and-set on `handoff:last`) before anything is posted.
 */

export const HANDOFF_STATE_KEY = 'handoff:last';

export interface HandoffIncident {
  id: string;
  customerName: string;
  subjectUpn: string;
  title: string;
  severity: string;
  status: string;
  openedAt: string;
  pendingApprovals: string[];
  left: string[];
  links: { thread?: string; report?: string; ticket?: string; ticketNumber?: string };
}

export interface HandoffData {
  shiftKey: string;
  shiftName: string;
  timeZone: string;
  /** the shift's local start 'HH:MM' and date */
  localStart: string;
  localDate: string;
  startsAt: string;
  postedAt: string;
  /** set when posted after the change (the bot was down): a sentence saying so */
  late: { minutes: number; notice: string } | null;
  /** the incoming analyst: the bot adds the <at> mention */
  mention: { name: string; aadObjectId: string; upn: string };
  outgoing: { name: string; aadObjectId: string } | null;
  incidents: HandoffIncident[];
  summary: string;
}

export interface HandoffLinks {
  /** the bot's public base URL: the report link is <base>/reports/<incident>.md */
  publicBaseUrl?: string;
  /** a (signed) link to the incident's report; preferred over publicBaseUrl */
  report?: (incidentId: string) => string;
  /** a deep link to the incident's thread, if the bot knows it */
  thread?: (incidentId: string) => Promise<string | undefined> | string | undefined;
}

/** What is left on an incident, in plain sentences (the card escapes them). */
export function leftToDo(snapshot: Pick<IncidentSnapshot, 'incident' | 'findings' | 'actions' | 'approvals'>): { pending: string[]; left: string[] } {
  const { incident: inc, findings, actions, approvals } = snapshot;
  const stepTitle = (stepId: string) => stepTitleOf(findings, stepId);
  const pending = approvals.filter((a) => a.status === 'pending').map((p) => {
    const a = actions.find((x) => x.id === p.actionId);
    return `${stepTitle(a?.stepId ?? p.actionId.split(':').pop() ?? '')} (expires ${p.expiresAt.slice(11, 16)} UTC)`;
  });
  const left: string[] = [];
  for (const a of actions) {
    if (a.status === 'failed') left.push(`${stepTitle(a.stepId)}: failed, retry or do by hand`);
    else if (a.status === 'expired') left.push(`${stepTitle(a.stepId)}: approval expired, ask again`);
    else if (['waiting', 'ready', 'running'].includes(a.status)) left.push(`${stepTitle(a.stepId)}: ${a.status === 'waiting' ? 'not started' : 'in progress'}`);
  }
  if (!findings.ticket?.number) left.push('No ServiceNow ticket yet');
  if (inc.status === 'contained') left.push('Contained: confirm with the customer, then close');
  return { pending, left };
}

export async function buildHandoff(
  store: Store, now: Date, shift: CurrentShift,
  opts: { config?: ShiftsConfig; customers?: (id: string) => CustomerConfig | undefined; links?: HandoffLinks; late?: HandoffData['late'] } = {},
): Promise<HandoffData> {
  const open = await store.listIncidents({ open: true, limit: 1000 });
  const incidents: HandoffIncident[] = [];
  let pendingCount = 0;
  for (const inc of open.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
    const [snapshot, report] = await Promise.all([loadIncidentSnapshot(store, inc.id), latestReport(store, inc.id)]);
    if (!snapshot) continue;
    const { pending, left } = leftToDo(snapshot);
    pendingCount += pending.length;
    const ticket = snapshot.findings.ticket;
    const base = opts.links?.publicBaseUrl?.replace(/\/+$/, '');
    incidents.push({
      id: inc.id,
      customerName: opts.customers?.(inc.customerId)?.name ?? inc.customerId,
      subjectUpn: inc.subjectUpn,
      title: inc.title,
      severity: inc.severity,
      status: inc.status,
      openedAt: inc.createdAt,
      pendingApprovals: pending,
      left,
      links: {
        thread: (await opts.links?.thread?.(inc.id)) ?? undefined,
        report: !report ? undefined : opts.links?.report ? opts.links.report(inc.id) : base ? `${base}/reports/${encodeURIComponent(inc.id)}.md` : undefined,
        ticket: ticket?.link,
        ticketNumber: ticket?.number,
      },
    });
  }
  const outgoing = opts.config ? previousShift(shift, opts.config).analyst : undefined;
  return {
    shiftKey: shift.key,
    shiftName: shift.name,
    timeZone: shift.timeZone,
    localStart: shift.localStart,
    localDate: shift.localDate,
    startsAt: shift.startsAt.toISOString(),
    postedAt: now.toISOString(),
    late: opts.late ?? null,
    mention: { name: shift.analyst.name, aadObjectId: shift.analyst.aadObjectId, upn: shift.analyst.upn },
    outgoing: outgoing && outgoing.aadObjectId !== shift.analyst.aadObjectId ? { name: outgoing.name, aadObjectId: outgoing.aadObjectId } : null,
    incidents,
    summary: incidents.length === 0 ? 'No open incidents.'
      : `${incidents.length} open incident(s), ${pendingCount} approval(s) pending.`,
  };
}

export interface HandoffSchedulerDeps {
  store: Store;
  config: ShiftsConfig;
  post: (handoff: HandoffData) => Promise<void>;
  customers?: (id: string) => CustomerConfig | undefined;
  links?: HandoffLinks;
  log?: Logger;
  /** a handoff posted within this long after the shift start is on time (default 5 min) */
  graceMs?: number;
}

export type HandoffRun =
  | { posted: true; shiftKey: string; late: HandoffData['late'] }
  | { posted: false; shiftKey: string; reason: 'already-posted' | 'claimed-by-another-instance' };

const hm = (ms: number) => {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
};

export class HandoffScheduler {
  constructor(private readonly deps: HandoffSchedulerDeps) {}

  /** Call on a timer (every minute) and at start-up; posts at most once per shift change. */
  async runOnce(now: Date): Promise<HandoffRun> {
    const { store, config } = this.deps;
    const shift = currentShift(now, config);
    const last = await store.getState(HANDOFF_STATE_KEY);
    if (last === shift.key) return { posted: false, shiftKey: shift.key, reason: 'already-posted' };
    // Claim the shift BEFORE posting: of several instances (or a restart racing itself) exactly one
    // wins the compare-and-set; a crash after it loses this handoff rather than doubling it.
    if (!(await store.casState(HANDOFF_STATE_KEY, last, shift.key))) {
      return { posted: false, shiftKey: shift.key, reason: 'claimed-by-another-instance' };
    }
    const lateBy = now.getTime() - shift.startsAt.getTime();
    let late: HandoffData['late'] = null;
    if (lateBy > (this.deps.graceMs ?? 5 * 60_000)) {
      const lastStart = last ? parseShiftKeyStart(last, config) : undefined;
      const missed = lastStart ? shiftStartsBetween(lastStart, shift.startsAt, config).length - 1 : 0;
      late = {
        minutes: Math.round(lateBy / 60_000),
        notice: `Posted ${hm(lateBy)} late: the bot was down at ${shift.localStart} (${shift.timeZone})` +
          `${missed > 0 ? `; ${missed} earlier shift change(s) were missed too, this handoff replaces them` : ''}.`,
      };
    }
    const handoff = await buildHandoff(store, now, shift, { config, customers: this.deps.customers, links: this.deps.links, late });
    try {
      await this.deps.post(handoff);
    } catch (e) {
      // The shift stays claimed (no double post); the on-call can ask for it with @ir handoff.
      this.deps.log?.error({ err: e, shift: shift.key }, 'the handoff could not be posted; ask for it with @ir handoff');
      throw e;
    }
    this.deps.log?.info({ shift: shift.key, incidents: handoff.incidents.length, late: late?.minutes }, 'handoff posted');
    return { posted: true, shiftKey: shift.key, late };
  }
}

/** The start instant of a stored shift key, when it is one of this configuration's. */
function parseShiftKeyStart(key: string, config: ShiftsConfig): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})@(.+)$/.exec(key);
  if (!m || m[6] !== config.timeZone) return undefined;
  const noonAfter = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
  // the occurrence of that local date and start, found through the configuration
  for (const probe of [noonAfter, new Date(noonAfter.getTime() + 86_400_000)]) {
    const found = shiftStartsBetween(new Date(probe.getTime() - 2 * 86_400_000), probe, config).find((o) => o.key === key);
    if (found) return found.startsAt;
  }
  return undefined;
}
