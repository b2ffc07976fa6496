import type { CustomerConfig } from '../../config/customers';
import type { AlertSource, AlertSourceDeps, AlertSourceFactory } from './alert-source';
import { DefenderAlertSource } from './defender-alert-source';

/** One line per alert source. Every customer's alerts come from Defender XDR today (Graph is mandatory). */
export const alertSources: Record<'defender', AlertSourceFactory> = {
  defender: (customer, deps) => new DefenderAlertSource(customer, deps),
};

export function createAlertSource(customer: CustomerConfig, deps: AlertSourceDeps, registry: Record<string, AlertSourceFactory> = alertSources): AlertSource {
  const factory = registry.defender;
  if (!factory) throw new Error(`no alert source for customer ${customer.id}`);
  return factory(customer, deps);
}
