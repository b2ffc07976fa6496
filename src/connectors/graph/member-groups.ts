import type { SecretRef, SecretStore } from '../../config/secrets';
import { customerSchema } from '../../config/customers';
import { GraphSession, segment } from './graph-session';

/** The MSP's own Graph app (the tenant its SOC engineers sign in to), as main.ts configures it. */
export interface MspGraphSettings {
  tenantId: string;
  clientId: string;
  credential: SecretRef;
  authorityHost?: string;
  baseUrl?: string;
  caCertificateRef?: SecretRef;
}

/** Graph accepts at most 20 group ids per checkMemberGroups call. */
const BATCH = 20;

/**
 * Which of the given groups a person of the MSP tenant belongs to, transitively:
 * `POST /users/{id}/checkMemberGroups` (GroupMember.Read.All). Used for readers' and approvers'
 * `groupIds`; the answer is the subset of `groupIds`, lower-cased.
 */
export async function checkMemberGroups(msp: MspGraphSettings, secrets: SecretStore, objectId: string, groupIds: readonly string[]): Promise<string[]> {
  if (!groupIds.length) return [];
  // The MSP is modelled as a customer record so the same tenant-scoped session code is used.
  const asCustomer = customerSchema.parse({
    id: 'msp', name: 'MSP directory', tenantId: msp.tenantId, domains: ['msp.example'],
    graph: { clientId: msp.clientId, credential: { type: 'secret', secretRef: msp.credential }, authorityHost: msp.authorityHost, baseUrl: msp.baseUrl, caCertificateRef: msp.caCertificateRef },
    contacts: { ciso: { name: 'MSP', email: 'soc@msp.example' }, onCall: { name: 'MSP', email: 'soc@msp.example' } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000000'] },
  });
  const s = new GraphSession(asCustomer, secrets, { timeoutMs: 10_000, maxRetries: 1 });
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
