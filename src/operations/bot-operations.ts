import type { Engine } from '../engine/engine';
import type { CustomersFile } from '../config/customers';
import type { BotOperations, OpResult } from '../bot/operations';

/**
 * The bot's commands, carried out by the engine and (once wired) the evidence service. Anything
 * not wired says so plainly instead of pretending.
 */
export interface EvidenceOperations {
  report(incidentId: string, by: { aadObjectId: string; name: string }): Promise<OpResult>;
  verify(incidentId: string): Promise<OpResult>;
  handoff(by: { aadObjectId: string; name: string }): Promise<OpResult>;
  close(incidentId: string, reason: string, by: { aadObjectId: string; name: string }): Promise<OpResult>;
}

export function createBotOperations(deps: { engine: Engine; customers: CustomersFile; evidence?: EvidenceOperations }): BotOperations {
  const { engine } = deps;
  const notWired = (what: string): OpResult => ({ ok: false, reason: `${what} is not available in this build` });
  const fromDecide = (r: Awaited<ReturnType<Engine['decide']>>): OpResult =>
    r.ok ? { ok: true, message: r.decided ? `Recorded: ${r.approval.status}` : `Vote recorded; ${r.approval.requiredApprovers - r.approval.votes.filter((v) => v.vote === 'approve').length} more approver(s) needed` } : r;
  return {
    decide: async (i) => fromDecide(await engine.decide(i)),
    decideByStep: async (i) => fromDecide(await engine.decideByStep(i)),
    retry: (i) => engine.retry(i.incidentId, i.stepId, i.clicker),
    cancel: (i) => engine.cancel(i.incidentId, i.clicker),
    customerFor: (i) => customerFor(deps.customers, i.upn, i.customerId),
    contain: async (i) => {
      const which = customerFor(deps.customers, i.upn, i.customerId);
      if ('error' in which) return { ok: false, reason: which.error };
      const customerId = which.customerId;
      const r = await engine.startForAccount({ customerId, upn: i.upn, requestedBy: i.clicker });
      return r.ok ? { ok: true, incidentId: r.incidentId, message: r.created ? `Containment started: ${r.incidentId} (its thread follows)` : `${r.incidentId} is already open for that account` } : r;
    },
    report: (i) => (deps.evidence ? deps.evidence.report(i.incidentId, i.clicker) : Promise.resolve(notWired('The forensic report'))),
    verify: (i) => (deps.evidence ? deps.evidence.verify(i.incidentId) : Promise.resolve(notWired('Verification'))),
    handoff: (i) => (deps.evidence ? deps.evidence.handoff(i.clicker) : Promise.resolve(notWired('The handoff'))),
    close: (i) => (deps.evidence ? deps.evidence.close(i.incidentId, i.reason, i.clicker) : Promise.resolve(notWired('Closing'))),
  };
}

/** Without a customer, the UPN's domain decides; an ambiguous or unknown domain is refused. */
export function customerFor(customers: CustomersFile, upn: string, customerId?: string): { customerId: string } | { error: string } {
  if (customerId) {
    return customers.customers.some((c) => c.id === customerId) ? { customerId } : { error: `unknown customer "${customerId.slice(0, 64)}"` };
  }
  const domain = upn.split('@')[1]?.toLowerCase();
  const matches = customers.customers.filter((c) => c.domains.some((d) => d.toLowerCase() === domain));
  if (matches.length !== 1) {
    return { error: matches.length ? `${domain} belongs to several customers: add the customer id` : `no customer has the domain ${String(domain).slice(0, 60)}: add the customer id` };
  }
  return { customerId: matches[0].id };
}
