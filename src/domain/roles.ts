import type { CustomerConfig } from '../config/customers';

/**
 * Who may see and do what for a customer. Readers see status, incidents, reports, verification
 * and the handoff; approvers also contain, approve, reject, retry, cancel and close. Approvers are
 * readers too. Pure: group membership is resolved by the caller (AccessControl) and passed in.
 */
export type Role = 'reader' | 'approver';

export type RoleLists = Pick<CustomerConfig, 'readers' | 'approvers'>;

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** Every group any customer names, readers' and approvers' (what to ask Graph about one person). */
export function allGroupIds(customers: readonly RoleLists[]): string[] {
  const out = new Set<string>();
  for (const c of customers) for (const g of [...c.readers.groupIds, ...c.approvers.groupIds]) out.add(g.toLowerCase());
  return [...out];
}

export function listed(list: { objectIds: readonly string[]; groupIds: readonly string[] }, objectId: string, memberOf: ReadonlySet<string>): boolean {
  return list.objectIds.some((id) => same(id, objectId)) || list.groupIds.some((g) => memberOf.has(g.toLowerCase()));
}

/** The person's role for one customer, or undefined (neither reader nor approver). */
export function roleFor(customer: RoleLists, objectId: string, memberOf: ReadonlySet<string>): Role | undefined {
  if (!objectId) return undefined;
  if (listed(customer.approvers, objectId, memberOf)) return 'approver';
  if (listed(customer.readers, objectId, memberOf)) return 'reader';
  return undefined;
}

export const mayDo = (has: Role | undefined, needs: 'reader' | 'approver'): boolean =>
  has === 'approver' || (has === 'reader' && needs === 'reader');
