import type { Engine } from '../engine/engine';
import type { CustomersFile } from '../config/customers';
import type { BotOperations, OpResult } from '../bot/operations';
import { refusalText } from '../bot/refusal-text';
import type { Refusal } from '../engine/results';

/** The bot's commands, carried out by the engine and the evidence service. */
export interface EvidenceOperations {
  report(incidentId: string, by: { aadObjectId: string; name: string }): Promise<OpResult>;
  verify(incidentId: string): Promise<OpResult>;
  handoff(by: { aadObjectId: string; name: string }): Promise<OpResult>;
  close(incidentId: string, reason: string, by: { aadObjectId: string; name: string }): Promise<OpResult>;
}

export function createBotOperations(deps: { engine: Engine; customers: CustomersFile; evidence: EvidenceOperations; /** BOT_NAME, for the commands a refusal suggests (default ir) */ botName?: string }): BotOperations {
  const { engine } = deps;
  // The engine refuses with a code and a plain sentence; the person reads it with the command that helps.
  const refused = (r: Refusal): OpResult => ({ ok: false, reason: refusalText(r, deps.botName ?? 'ir') });
  const fromDecide = (r: Awaited<ReturnType<Engine['decide']>>): OpResult =>
    r.ok ? { ok: true, message: r.decided ? `Recorded: ${r.approval.status}` : `Vote recorded; ${r.approval.requiredApprovers - r.approval.votes.filter((v) => v.vote === 'approve').length} more approver(s) needed` } : refused(r);
  return {
    decide: async (i) => fromDecide(await engine.decide(i)),
    decideByStep: async (i) => fromDecide(await engine.decideByStep(i)),
    retry: async (i) => { const r = await engine.retry(i.incidentId, i.stepId, i.clicker); return r.ok ? r : refused(r); },
    cancel: async (i) => { const r = await engine.cancel(i.incidentId, i.clicker); return r.ok ? r : refused(r); },
    customerFor: (i) => customerFor(deps.customers, i.upn, i.customerId),
    contain: async (i) => {
      const which = customerFor(deps.customers, i.upn, i.customerId);
      if ('error' in which) return { ok: false, reason: which.error };
      const customerId = which.customerId;
      const r = await engine.startForAccount({ customerId, upn: i.upn, requestedBy: i.clicker });
      return r.ok ? { ok: true, incidentId: r.incidentId, message: r.created ? `Containment started: ${r.incidentId} (its thread follows)` : `${r.incidentId} is already open for that account` } : refused(r);
    },
    report: (i) => deps.evidence.report(i.incidentId, i.clicker),
    verify: (i) => deps.evidence.verify(i.incidentId),
    handoff: (i) => deps.evidence.handoff(i.clicker),
    close: (i) => deps.evidence.close(i.incidentId, i.reason, i.clicker),
    release: async (i) => {
      const r = await engine.requestRelease({ incidentId: i.incidentId, reason: i.reason, by: i.clicker });
      return r.ok ? { ok: true, approvalId: r.approvalId, message: `Release of ${i.incidentId} waiting for approval` } : refused(r);
    },
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
