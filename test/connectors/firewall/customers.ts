import { customerSchema, type CustomerConfig, type FirewallConfig } from '../../../src/config/customers';
import type { ActionContext } from '../../../src/connectors/types';
import { CONTOSO, FABRIKAM } from '../../../src/sandbox/contoso';
import { log } from '../../../src/log';
import { fwSecrets } from './helpers';

export function customer(which: typeof CONTOSO | typeof FABRIKAM, firewalls: FirewallConfig[], over: Record<string, unknown> = {}): CustomerConfig {
  return customerSchema.parse({
    id: which.customerId,
    name: which.name,
    tenantId: which.tenantId,
    domains: [which.domain],
    graph: { clientId: which.graphClientId, credential: { type: 'secret', secretRef: 'env:GRAPH_SECRET' } },
    contacts: { ciso: { name: 'CISO', email: `ciso@${which.domain}` }, onCall: { name: 'On call', email: `oncall@${which.domain}` } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    egressRanges: which === CONTOSO ? [CONTOSO.egressRange] : [],
    firewalls,
    threatFeed: { usernameRef: 'env:FEED_USER', passwordRef: 'env:FEED_PASS', ttlDays: 7 },
    ...over,
  });
}

export const NOW = new Date('2026-11-27T09:00:00.000Z');

export function actionContext(c: CustomerConfig, over: Partial<ActionContext> = {}): ActionContext {
  return {
    customer: c,
    secrets: fwSecrets,
    incidentId: 'IR-20261127-7K3Q',
    idempotencyKey: 'IR-20261127-7K3Q:block',
    mayHaveRun: false,
    log,
    now: () => NOW,
    ...over,
  };
}
