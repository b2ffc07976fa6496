import type { CustomerConfig } from '../config/customers';
import type { GroupMembership } from '../domain/approval-policy';
import { allGroupIds, roleFor, type Role } from '../domain/roles';
import type { Logger } from '../log';

/** Which of these groups the person is in (Graph checkMemberGroups against the MSP tenant). */
export type MemberGroupsLookup = (objectId: string, groupIds: readonly string[]) => Promise<string[]>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Roles per customer for a person of the MSP tenant, by object id or group. Group membership is
 * asked of Graph once per person and kept for `ttlMs` (a removal from a group takes effect within
 * that time); a failed lookup counts as "in no group" (fail closed) and is not cached.
 */
export class AccessControl {
  private readonly groups: string[];
  private readonly cache = new Map<string, { at: number; groups: Promise<Set<string>> }>();
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

  /** The configured groups (readers' and approvers') the person is in, lower-cased. */
  memberOf(objectId: string): Promise<Set<string>> {
    const id = objectId.toLowerCase();
    if (!GUID.test(id) || !this.groups.length || !this.deps.memberGroups) return Promise.resolve(new Set());
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.groups;
    const lookup = this.deps.memberGroups;
    const groups = lookup(id, this.groups).then((g) => new Set(g.map((x) => x.toLowerCase())), (err) => {
      this.deps.log.warn({ err, objectId: id }, 'group membership lookup failed: treated as no group');
      this.cache.delete(id);
      return new Set<string>();
    });
    this.cache.set(id, { at: this.now(), groups });
    return groups;
  }

  /** customer id → role, for every customer the person reads or approves. */
  async roles(objectId: string): Promise<Map<string, Role>> {
    const out = new Map<string, Role>();
    if (!GUID.test(objectId)) return out;
    const memberOf = await this.memberOf(objectId);
    for (const c of this.deps.customers) {
      const r = roleFor(c, objectId, memberOf);
      if (r) out.set(c.id, r);
    }
    return out;
  }

  async roleFor(objectId: string, customerId: string): Promise<Role | undefined> {
    return (await this.roles(objectId)).get(customerId);
  }

  /** May install the bot and so pin its channel: a listed MSP admin, or an approver of any customer. */
  async isAdmin(objectId: string): Promise<boolean> {
    if (!GUID.test(objectId)) return false;
    if ((this.deps.admins ?? []).some((a) => a.toLowerCase() === objectId.toLowerCase())) return true;
    return [...(await this.roles(objectId)).values()].includes('approver');
  }

  /** The engine's port: approver groups checked through the same cache. */
  groupMembership(): GroupMembership {
    return { isMember: async (objectId, groupId) => (await this.memberOf(objectId)).has(groupId.toLowerCase()) };
  }
}
