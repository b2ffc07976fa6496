import type { CustomerConfig } from '../config/customers';
import type { GroupMembership } from '../domain/approval-policy';
import { allGroupIds, roleFor, type Role } from '../domain/roles';
import type { Logger } from '../log';

/** Which of these groups the person is in (Graph checkMemberGroups against the MSP tenant). */
export type MemberGroupsLookup = (objectId: string, groupIds: readonly string[]) => Promise<string[]>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Graph did not answer whether the person is in the groups (throttled, down, refused): nothing may rest on it. */
export class MembershipUnconfirmed extends Error {
  constructor(objectId: string, cause: unknown) {
    super(`the group membership of ${objectId} could not be confirmed with Microsoft Graph`, { cause });
    this.name = 'MembershipUnconfirmed';
  }
}

interface CacheEntry {
  /** when the lookup that filled it started */
  at: number;
  groups: Promise<Set<string>>;
}

/**
 * Roles per customer for a person of the MSP tenant, by object id or group. Two ways to ask Graph
 * about groups:
 * - cached (`memberOf`, `roles`): what the person may see (status, listings, who gets a card's
 *   buttons) is asked once per person and kept for `ttlMs` per replica, so that reading does not
 *   throttle Graph; a failed lookup counts as "in no group" (fail closed) and is not cached.
 * - now (`memberOfNow`, the engine's `groupMembership()` port, `isAdmin`): what changes something
 *   (a vote, a command the engine authorises, pinning the channel) asks Graph at that moment, so a
 *   removal from an approvers' group takes effect at once, on every replica. Its answer refreshes
 *   the cache; a failure rejects (the caller refuses) and leaves the cache as it was.
 */
export class AccessControl {
  private readonly groups: string[];
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: {
    customers: readonly CustomerConfig[];
    memberGroups?: MemberGroupsLookup;
    /** MSP admins (object ids) who may install the bot and pin its channel, besides every approver */
    admins?: readonly string[];
    ttlMs?: number;
    log: Logger;
    now?: () => number;
  }) {
    this.groups = allGroupIds(deps.customers);
    this.ttlMs = deps.ttlMs ?? 5 * 60_000;
    this.now = deps.now ?? Date.now;
    if (this.groups.length && !deps.memberGroups) {
      deps.log.warn({ groups: this.groups.length }, 'readers/approvers name groups but the MSP Graph app is not configured (MSP_TENANT_ID, MSP_GRAPH_CLIENT_ID): group members get no role');
    }
  }

  /** Whether there is anything to ask Graph about this id (a GUID, groups configured, a Graph app). */
  private asks(id: string): boolean {
    return GUID.test(id) && this.groups.length > 0 && !!this.deps.memberGroups;
  }

  /** The configured groups (readers' and approvers') the person is in, lower-cased; from the cache when fresh enough. */
  memberOf(objectId: string): Promise<Set<string>> {
    const id = objectId.toLowerCase();
    if (!this.asks(id)) return Promise.resolve(new Set());
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.groups;
    const entry: CacheEntry = { at: this.now(), groups: Promise.resolve(new Set()) };
    entry.groups = this.lookup(id).catch((err) => {
      this.deps.log.warn({ err, objectId: id }, 'group membership lookup failed: treated as no group');
      // not cached; a newer entry (an answer asked for since) stays
      if (this.cache.get(id) === entry) this.cache.delete(id);
      return new Set<string>();
    });
    this.cache.set(id, entry);
    return entry.groups;
  }

  /**
   * The configured groups the person is in, asked of Graph now (never the cache). Rejects with
   * MembershipUnconfirmed when Graph does not answer; the answer replaces the cached one.
   */
  async memberOfNow(objectId: string): Promise<Set<string>> {
    const id = objectId.toLowerCase();
    if (!this.asks(id)) return new Set();
    const at = this.now();
    let groups: Set<string>;
    try {
      groups = await this.lookup(id);
    } catch (err) {
      this.deps.log.warn({ err, objectId: id }, 'group membership not confirmed by Graph: the request that needed it is refused');
      throw new MembershipUnconfirmed(id, err);
    }
    // An entry started after this lookup is as fresh or fresher: it stays.
    const cached = this.cache.get(id);
    if (!cached || cached.at <= at) this.cache.set(id, { at, groups: Promise.resolve(groups) });
    return groups;
  }

  private async lookup(id: string): Promise<Set<string>> {
    const g = await this.deps.memberGroups!(id, this.groups);
    return new Set(g.map((x) => x.toLowerCase()));
  }

  /** customer id → role, for every customer the person reads or approves (cached groups: for what the person sees). */
  async roles(objectId: string): Promise<Map<string, Role>> {
    if (!GUID.test(objectId)) return new Map();
    return this.rolesIn(objectId, await this.memberOf(objectId));
  }

  /** As `roles`, with groups asked of Graph now; rejects with MembershipUnconfirmed when Graph does not answer. */
  async rolesNow(objectId: string): Promise<Map<string, Role>> {
    if (!GUID.test(objectId)) return new Map();
    return this.rolesIn(objectId, await this.memberOfNow(objectId));
  }

  private rolesIn(objectId: string, memberOf: ReadonlySet<string>): Map<string, Role> {
    const out = new Map<string, Role>();
    for (const c of this.deps.customers) {
      const r = roleFor(c, objectId, memberOf);
      if (r) out.set(c.id, r);
    }
    return out;
  }

  async roleFor(objectId: string, customerId: string): Promise<Role | undefined> {
    return (await this.roles(objectId)).get(customerId);
  }

  /**
   * May install the bot and so pin its channel: a listed MSP admin, or an approver of any customer.
   * Pinning decides where every card goes: the approver's groups are asked of Graph now, and a
   * Graph that does not answer says no.
   */
  async isAdmin(objectId: string): Promise<boolean> {
    if (!GUID.test(objectId)) return false;
    if ((this.deps.admins ?? []).some((a) => a.toLowerCase() === objectId.toLowerCase())) return true;
    // an approver by object id needs no Graph call
    if ([...this.rolesIn(objectId, new Set()).values()].includes('approver')) return true;
    try {
      return [...(await this.rolesNow(objectId)).values()].includes('approver');
    } catch (e) {
      if (e instanceof MembershipUnconfirmed) return false;
      throw e;
    }
  }

  /** The engine's port: approver groups asked of Graph now, for votes and the commands the engine authorises. */
  groupMembership(): GroupMembership {
    return {
      memberOfNow: async (objectId, groupIds) => {
        const mine = await this.memberOfNow(objectId);
        return new Set(groupIds.map((g) => g.toLowerCase()).filter((g) => mine.has(g)));
      },
    };
  }
}
