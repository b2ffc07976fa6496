import { CardFactory } from 'botbuilder';
import { FOLLOW_UP_CISO_ACTION } from '../evidence/ciso-follow-up';
import { renderReleaseCard } from './render-release-card';
import { RELEASE_GATE_ACTION } from '../engine/release-gate';
import type { ApprovalRecord, Store } from '../store/store';
import type { Notifier } from '../engine/notifier';
import type { Logger } from '../log';
import { ChannelUnknownError, type TeamsChannel } from './teams-channel';
import { fullListRef, pendingApprovalLine, renderApprovalCard, renderTimelineCard } from './render-cards';
import { loadSnapshot } from './incident-snapshot';
import { inert, utc } from './inert-text';
import { renderEmailDraftCard, renderHandoffCard } from './render-evidence-cards';
import { NOTIFY_CISO_ACTION, type EmailDraft } from '../evidence/ciso-email';
import type { HandoffData } from '../evidence/handoff';
import { approverView, readOnlyView } from './user-specific-view';
import { fitTextMessage } from './card-budget';
import { subjectDisplay } from '../domain/subject-display';
import { HANDOFF_THREAD_PRIORITY, threadPriority } from './thread-priority';

/** User-specific approval views (production Teams): who is listed in `refresh.userIds`, and who may approve. */
export interface ApprovalAudience {
  audience(customerId: string): Promise<{ userIds: string[]; whoMayApprove: string }>;
}

interface PostedRef { conversationId: string; activityId: string }

/**
 * A posting claim older than this is taken for a dead claimant's and may be taken over. A live
 * claimant renews its claim every POSTING_RENEW_MS while its post waits: in a storm a new thread
 * waits minutes for the channel's shared Teams slot, and a claim that went stale while its owner was
 * still waiting let a second replica's sweep post the same card (2–3 timeline cards per incident in
 * the full storm bench).
 */
const POSTING_STALE_MS = 60_000;
const POSTING_RENEW_MS = 15_000;
/** How long a posted card's reference is tried again while the store is out of reach (a failover). */
const KEEP_POSTED_MS = 15 * 60_000;
/** A released claim: stale at once, so the next render may post. */
const RELEASED = 'posting:released:1970-01-01T00:00:00.000Z';

/**
 * When a `posting:<worker>:<ISO time>` claim was made. The time is read from the END of the marker:
 * a worker id is `host:pid:random` and holds colons itself, so splitting on ':' read "pid:random:time",
 * which is no date, and a claim left by a killed replica never went stale (its card was never posted).
 */
export function postingSince(marker: string): number {
  const m = /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/.exec(marker);
  // an unreadable marker counts as stale, so the card is posted rather than lost
  return m ? Date.parse(m[1]) : 0;
}

/**
 * "This card is behind the store": set when an in-place update failed (Teams kept answering 429,
 * an outage), with the time the failed render read the store; cleared by the first update that
 * read the store at or after that time. The sweep re-renders every marked card, so a card
 * converges to the store's state instead of waiting for the incident's next change, which may
 * never come (a closed incident).
 */
const STALE_CARD = 'teams:stale:card:';
const STALE_APPROVAL = 'teams:stale:approval:';

/**
 * A failed send the sweep should try again: throttling, a timeout, a server error, the network or
 * the store. Not a refusal that would repeat forever (a message deleted in Teams answers 404 to
 * every update); Microsoft's guidance retries 412 too.
 */
function worthRetrying(e: unknown): boolean {
  const status = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status !== 'number' || status === 408 || status === 412 || status === 429 || status >= 500;
}

/**
 * Renders the store to Teams: one timeline card per incident, posted once as the root of a new
 * thread and then updated in place; one approval card per approval, replied into the thread and
 * replaced by its outcome. A "posting" marker is claimed with compare-and-set before a post, so two
 * instances (or a re-render racing the first) never post the same card twice.
 */
export class TeamsNotifier implements Notifier {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly deps: {
      store: Store;
      channel: TeamsChannel;
      customerName(id: string): string;
      log: Logger;
      workerId: string;
      now?: () => Date;
      /** tests: how long a claim lives without renewal, and how often a live claimant renews it */
      posting?: { staleMs: number; renewMs: number; keepPostedMs?: number };
      /** set: open approval cards are posted read-only with a refresh for the approvers (Universal Actions) */
      views?: ApprovalAudience;
    },
  ) {}

  private channelUnknownLogged = false;

  /** A failed send is logged with its error; "no channel yet" once, in one line (the sweep posts later). */
  private warn(e: unknown, fields: Record<string, unknown>, msg: string): void {
    if (e instanceof ChannelUnknownError) {
      if (!this.channelUnknownLogged) this.deps.log.warn(fields, `${msg}: ${e.message}; cards are posted once it is known`);
      this.channelUnknownLogged = true;
      return;
    }
    this.deps.log.warn({ ...fields, err: e }, msg);
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  incidentChanged(incidentId: string): Promise<void> {
    // Coalesce bursts: while a render runs, further changes mark the incident dirty and one more
    // render follows, reading the latest state.
    const running = this.inFlight.get(incidentId);
    if (running) {
      this.dirty.add(incidentId);
      return running;
    }
    const p = (async () => {
      try {
        do {
          this.dirty.delete(incidentId);
          await this.renderTimeline(incidentId);
        } while (this.dirty.has(incidentId));
      } catch (e) {
        this.warn(e, { incidentId }, 'timeline card not updated');
      } finally {
        this.inFlight.delete(incidentId);
      }
    })();
    this.inFlight.set(incidentId, p);
    return p;
  }

  /** Posts the card if it was never posted, else updates it; returns the thread. */
  async ensureThread(incidentId: string): Promise<PostedRef | undefined> {
    const key = `teams:card:${incidentId}`;
    const existing = await this.readRef(key);
    if (existing) return existing;
    await this.incidentChanged(incidentId);
    return this.readRef(key);
  }

  private async readRef(key: string): Promise<PostedRef | undefined> {
    const v = await this.deps.store.getState(key);
    if (!v || v.startsWith('posting:')) return undefined;
    return JSON.parse(v) as PostedRef;
  }

  private get staleMs(): number { return this.deps.posting?.staleMs ?? POSTING_STALE_MS; }

  private marker(): string {
    return `posting:${this.deps.workerId}:${this.now().toISOString()}`;
  }

  private isStale(marker: string): boolean {
    return this.now().getTime() - postingSince(marker) > this.staleMs;
  }

  /** Claims the right to post `key`: the claim's marker, or undefined when someone else is posting or has posted. */
  private async claimPosting(key: string): Promise<string | undefined> {
    const marker = this.marker();
    const current = await this.deps.store.getState(key);
    if (current === undefined) return (await this.deps.store.casState(key, undefined, marker)) ? marker : undefined;
    if (current.startsWith('posting:') && this.isStale(current)) {
      return (await this.deps.store.casState(key, current, marker)) ? marker : undefined;
    }
    return undefined;
  }

  /**
   * Runs `post` while holding the claim `marker` on `key`, renewing the claim's time (compare-and-set,
   * so a claim taken over meanwhile is never overwritten) until `post` settles. Only a claimant that
   * died stops renewing, so only its claim goes stale. Returns the claim as last renewed, after the
   * last renewal has settled, so the caller's next write (the posted reference) cannot be followed by
   * a renewal.
   */
  private async holdingClaim<T>(key: string, marker: string, post: () => Promise<T>): Promise<{ result: T; held: string }> {
    let held = marker;
    let renewal: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      renewal = renewal.then(async () => {
        const next = this.marker();
        if (await this.deps.store.casState(key, held, next)) held = next;
      }).catch((err) => this.deps.log.warn({ err, key }, 'posting claim not renewed'));
    }, this.deps.posting?.renewMs ?? POSTING_RENEW_MS);
    timer.unref?.();
    try {
      const result = await post();
      clearInterval(timer);
      await renewal;
      return { result, held };
    } catch (e) {
      clearInterval(timer);
      await renewal;
      // Release our claim (a stale marker) so the next render may post; never someone else's claim.
      await this.deps.store.casState(key, held, RELEASED).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Posts under the claim `marker` and keeps what was posted: the card's reference replaces the
   * claim. Teams accepted the post, so from here on the claim is never released: a lost reference
   * means a second card once the claim goes stale. Seen in the storm bench, where PostgreSQL restarts
   * mid-storm: a connection lost while the reference (or the timeline event after it) was committed
   * made the old code release the claim — over the stored reference — and the sweep post the card
   * again. Returns undefined when another replica's card won (ours was then removed).
   */
  private async postOnce(key: string, marker: string, post: () => Promise<PostedRef>): Promise<PostedRef | undefined> {
    const { result: posted, held } = await this.holdingClaim(key, marker, post);
    const value = JSON.stringify(posted);
    const kept = await this.untilStored(key, async () => {
      if (await this.deps.store.casState(key, held, value)) return true;
      // An earlier attempt whose commit was reported lost may have landed.
      const current = await this.deps.store.getState(key);
      if (current === value) return true;
      if (current === undefined) return this.deps.store.casState(key, undefined, value);
      return false;
    });
    if (kept) return posted;
    // The store was out of reach for longer than a claim lives, and another replica took the claim
    // over and posted: two cards for one thing. Ours goes; theirs is the one the store knows.
    this.deps.log.warn({ key, activityId: posted.activityId }, 'a second card was posted while the store was out of reach; removing it');
    await this.deps.channel.remove(posted.conversationId, posted.activityId)
      .catch((err) => this.deps.log.warn({ err, key }, 'the second card could not be removed'));
    return undefined;
  }

  /**
   * Runs a store write that must land (a card Teams already shows), again while the store is out of
   * reach (a PostgreSQL restart or failover outlasting the store's own retries), for up to
   * KEEP_POSTED_MS.
   */
  private async untilStored<T>(key: string, write: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (Date.now() - started > (this.deps.posting?.keepPostedMs ?? KEEP_POSTED_MS)) throw err;
        this.deps.log.warn({ err, key, attempt }, 'a posted card\'s reference is not stored yet; trying again');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
      }
    }
  }

  private async renderTimeline(incidentId: string): Promise<void> {
    const readAt = this.now().toISOString();
    const snap = await loadSnapshot(this.deps.store, incidentId, this.deps.customerName);
    if (!snap) return;
    const activity = { attachments: [CardFactory.adaptiveCard(renderTimelineCard(snap))] };
    const key = `teams:card:${incidentId}`;
    const ref = await this.readRef(key);
    if (ref) {
      await this.updateOrMarkStale(`${STALE_CARD}${incidentId}`, readAt, () => this.deps.channel.update(ref.conversationId, ref.activityId, activity));
      return;
    }
    const marker = await this.claimPosting(key);
    if (!marker) return;
    const posted = await this.postOnce(key, marker, () => this.deps.channel.startThread({
      ...activity,
      summary: `${incidentId}: ${subjectDisplay(snap.incident.subjectUpn)}`,
    }, { priority: threadPriority(snap.incident.severity) }));
    if (!posted) return;
    // The card is kept: a failure from here on is a missing timeline line, never a second card.
    await this.deps.store.appendTimeline(incidentId, [{ source: 'teams', kind: 'card.posted', summary: 'Timeline card posted in the IR channel', data: { activityId: posted.activityId } }]);
    // The event above changed the timeline: show it on the card we just posted.
    this.dirty.add(incidentId);
  }

  /**
   * Runs an in-place update. Failed: the card is marked stale (kept at the latest failed read, so
   * an older failure never hides a newer one) and the error goes on. Succeeded: a marker from a
   * render that read the store no later than this one is cleared (this card shows at least that).
   */
  private async updateOrMarkStale(staleKey: string, readAt: string, update: () => Promise<void>): Promise<void> {
    try {
      await update();
    } catch (e) {
      if (worthRetrying(e)) await this.markStale(staleKey, readAt).catch((err) => this.deps.log.warn({ err, staleKey }, 'could not mark the card for the sweep'));
      throw e;
    }
    const marked = await this.deps.store.getState(staleKey);
    if (marked !== undefined && marked <= readAt) await this.deps.store.deleteState(staleKey, marked);
  }

  private async markStale(staleKey: string, readAt: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.deps.store.getState(staleKey);
      if (current !== undefined && current >= readAt) return;
      if (await this.deps.store.casState(staleKey, current, readAt)) return;
    }
  }

  async approvalRequested(approval: ApprovalRecord): Promise<void> {
    const key = `teams:approval:${approval.id}`;
    try {
      if (!(await this.deps.channel.channel())) throw new ChannelUnknownError();
      const thread = await this.ensureThread(approval.incidentId);
      if (!thread) throw new Error('the incident thread could not be started');
      const marker = await this.claimPosting(key);
      if (!marker) return;
      const card = await this.approvalCard(approval.id).catch(async (e: unknown) => {
        await this.deps.store.casState(key, marker, RELEASED).catch(() => undefined);
        throw e;
      });
      if (!card) {
        await this.deps.store.casState(key, marker, RELEASED);
        return;
      }
      const posted = await this.postOnce(key, marker, async () => ({
        conversationId: thread.conversationId,
        activityId: await this.deps.channel.reply(thread.conversationId, { attachments: [CardFactory.adaptiveCard(card)] }),
      }));
      if (posted) await this.untilStored(key, () => this.deps.store.setApprovalCard(approval.id, posted.activityId));
    } catch (e) {
      this.warn(e, { approvalId: approval.id }, 'approval card not posted; the next sweep tries again');
    }
    await this.incidentChanged(approval.incidentId);
  }

  /**
   * Posts what should be in the channel and is not: a timeline card or an approval card whose post
   * was interrupted (a crash between claiming and posting, a Teams outage), and updates every card
   * marked stale by a failed update. Runs at start-up and on
   * a timer; the posting claims keep two instances from posting the same card.
   */
  async sweep(): Promise<void> {
    if (!(await this.deps.channel.channel())) return;
    const missing = async (key: string) => {
      const v = await this.deps.store.getState(key);
      if (!v) return true;
      if (!v.startsWith('posting:')) return false;
      return this.isStale(v);
    };
    // Every open incident without a posted card, however many are open (one query, not the newest N).
    for (const inc of await this.deps.store.listOpenIncidentsWithoutState('teams:card:')) {
      if (await missing(`teams:card:${inc.id}`)) await this.incidentChanged(inc.id);
    }
    for (const a of await this.deps.store.listApprovals({ status: 'pending' })) {
      if (await missing(`teams:approval:${a.id}`)) await this.approvalRequested(a);
    }
    // Cards whose last update failed (a 429 storm outlasting the retries), open or closed alike.
    for (const { key } of await this.deps.store.listState(STALE_CARD)) await this.incidentChanged(key.slice(STALE_CARD.length));
    for (const { key } of await this.deps.store.listState(STALE_APPROVAL)) await this.refreshApprovalCard(key.slice(STALE_APPROVAL.length));
  }

  /**
   * The approval card as the channel shows it (`shared`), or as an approver's client fetches it on
   * refresh (`approver`). Without user-specific views both are the same card, with the buttons.
   */
  async approvalCard(approvalId: string, notice?: string, view: 'shared' | 'approver' = 'shared'): Promise<Record<string, unknown> | undefined> {
    const card = await this.renderApproval(approvalId, notice);
    if (!card || !this.deps.views || card.approval.status !== 'pending') return card?.card;
    const a = await this.deps.views.audience(card.customerId);
    const o = { approvalId, ...a };
    return view === 'approver' ? approverView(card.card, o) : readOnlyView(card.card, o);
  }

  private async renderApproval(approvalId: string, notice?: string): Promise<{ card: Record<string, unknown>; approval: ApprovalRecord; customerId: string } | undefined> {
    const approval = await this.deps.store.getApproval(approvalId);
    if (!approval) return undefined;
    const [incident, action] = await Promise.all([this.deps.store.getIncident(approval.incidentId), this.deps.store.getAction(approval.actionId)]);
    if (!incident || !action) return undefined;
    const customerName = this.deps.customerName(incident.customerId);
    const draft = (action.preview as { data?: { draft?: EmailDraft } } | null)?.data?.draft;
    if ((action.name === NOTIFY_CISO_ACTION || action.name === FOLLOW_UP_CISO_ACTION) && draft) {
      // The email's approval card is the draft itself, editable until it is sent.
      const sent = action.result as { output?: { via?: string } } | null;
      const outcome = approval.status === 'approved'
        ? `${action.status === 'succeeded' ? 'Sent' : action.status === 'failed' ? `Approved by ${approval.decidedBy}, but sending failed: ${action.error ?? ''}` : 'Sending'}${action.status === 'failed' ? '' : ` (approved by ${approval.decidedBy} at ${utc(approval.decidedAt)})`}`
        : approval.status === 'rejected' ? `Discarded by ${approval.decidedBy} at ${utc(approval.decidedAt)}${approval.reason ? `: ${approval.reason}` : ''}`
          : approval.status === 'expired' ? `Not sent: the draft expired at ${utc(approval.expiresAt)}`
            : approval.status === 'pending' ? pendingApprovalLine(approval) : '';
      const card = renderEmailDraftCard({
        approvalId: approval.id, incidentId: incident.id, customerName, draft,
        open: approval.status === 'pending', outcome,
        outcomeColor: approval.status === 'approved' ? (action.status === 'failed' ? 'Attention' : 'Good') : approval.status === 'rejected' ? 'Default' : 'Warning',
        sentVia: sent?.output?.via, expiresAt: approval.expiresAt, warnings: (action.preview as { warnings?: string[] }).warnings, notice,
      });
      return { card, approval, customerId: incident.customerId };
    }
    if (action.name === RELEASE_GATE_ACTION) return { card: renderReleaseCard({ approval, incident, action, customerName, notice }), approval, customerId: incident.customerId };
    return { card: renderApprovalCard({ approval, incident, action, customerName, notice }), approval, customerId: incident.customerId };
  }

  async approvalDecided(approval: ApprovalRecord): Promise<void> {
    await this.refreshApprovalCard(approval.id);
    await this.incidentChanged(approval.incidentId);
  }

  async approvalVoted(approval: ApprovalRecord): Promise<void> {
    await this.refreshApprovalCard(approval.id);
  }

  /** Replaces the approval card for everybody with what the store says now. */
  async refreshApprovalCard(approvalId: string): Promise<void> {
    try {
      const readAt = this.now().toISOString();
      const raw = await this.deps.store.getState(`teams:approval:${approvalId}`);
      if (!raw || raw.startsWith('posting:')) return;
      const ref = JSON.parse(raw) as PostedRef;
      const card = await this.approvalCard(approvalId);
      if (card) {
        await this.updateOrMarkStale(`${STALE_APPROVAL}${approvalId}`, readAt,
          () => this.deps.channel.update(ref.conversationId, ref.activityId, { attachments: [CardFactory.adaptiveCard(card)] }));
      }
    } catch (e) {
      this.warn(e, { approvalId }, 'approval card not updated');
    }
  }

  /** Approval cards of an incident's steps are refreshed when the step's result arrives. */
  async refreshApprovalsOf(incidentId: string): Promise<void> {
    const approvals = await this.deps.store.listApprovals({ incidentId });
    await Promise.all(approvals.filter((a) => a.status !== 'pending').map((a) => this.refreshApprovalCard(a.id)));
  }

  async stepEvidence(incidentId: string, stepId: string, text: string): Promise<void> {
    try {
      const thread = await this.ensureThread(incidentId);
      if (!thread) return;
      const lines = text.split('\n').map((l) => inert(l, 500)).filter(Boolean).slice(0, 40);
      const { text: fitted } = fitTextMessage(lines, '\n\n', fullListRef(incidentId)) as { text: string };
      await this.deps.channel.reply(thread.conversationId, { text: fitted, textFormat: 'markdown' });
    } catch (e) {
      this.warn(e, { incidentId, stepId }, 'evidence reply not posted');
    }
    await this.refreshApprovalsOf(incidentId);
  }

  /** The shift handoff: a new thread in the IR channel, @mentioning the incoming analyst. */
  async postHandoff(handoff: HandoffData): Promise<void> {
    await this.deps.channel.startThread({ attachments: [CardFactory.adaptiveCard(renderHandoffCard(handoff))], summary: `Shift handoff: ${handoff.shiftName}` }, { priority: HANDOFF_THREAD_PRIORITY });
  }

  /** A plain reply in the incident's thread (report summaries, ticket numbers, verify results). */
  async replyInThread(incidentId: string, markdown: string): Promise<void> {
    const thread = await this.ensureThread(incidentId);
    if (!thread) throw new Error(`no thread for ${incidentId}`);
    await this.deps.channel.reply(thread.conversationId, { text: markdown, textFormat: 'markdown' });
  }
}
