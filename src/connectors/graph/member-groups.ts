import type { SecretStore } from '../../config/secrets';
import { segment } from './graph-session';
import { mspGraphSession, type MspGraphSettings } from './msp-graph';

export type { MspGraphSettings } from './msp-graph';

/** Graph accepts at most 20 group ids per checkMemberGroups call. */
const BATCH = 20;

/**
 * Which of the given groups a person of the MSP tenant belongs to, transitively:
 * `POST /users/{id}/checkMemberGroups` (GroupMember.Read.All). Used for readers' and approvers'
 * `groupIds`; the answer is the subset of `groupIds`, lower-cased.
 */
export async function checkMemberGroups(msp: MspGraphSettings, secrets: SecretStore, objectId: string, groupIds: readonly string[]): Promise<string[]> {
  if (!groupIds.length) return [];
  const s = mspGraphSession(msp, secrets, 'MSP directory', { timeoutMs: 10_000, maxRetries: 1 });
  const out: string[] = [];
  for (let i = 0; i < groupIds.length; i += BATCH) {
    const r = await s.call<{ value?: unknown }>('POST', `/v1.0/users/${segment(objectId)}/checkMemberGroups`, {
      source: 'graph.checkMemberGroups',
      body: { groupIds: groupIds.slice(i, i + BATCH) },
      op: { does: 'check which IR reader/approver groups a person belongs to', permissions: ['GroupMember.Read.All', 'Directory.Read.All'], object: `user ${objectId}` },
    });
    const value = Array.isArray(r.data?.value) ? r.data.value : [];
    for (const g of value) if (typeof g === 'string') out.push(g.toLowerCase());
  }
  return out;
}
