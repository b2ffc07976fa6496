import type { CustomerConfig } from '../../config/customers';
import { GraphMailer } from '../graph/graph-mailer';
import type { Mailer, MailerDeps, MailerFactory } from './mailer';
import { SmtpMailer } from './smtp-mailer';

/** One line per way mail leaves, keyed by the customer's `mail.via`. */
export const mailers: Record<CustomerConfig['mail']['via'], MailerFactory> = {
  graph: (_customer, deps) => new GraphMailer(deps),
  smtp: (customer, deps) => new SmtpMailer(customer.mail as Extract<CustomerConfig['mail'], { via: 'smtp' }>, deps),
};

export function createMailer(customer: CustomerConfig, deps: MailerDeps, registry: Record<string, MailerFactory> = mailers): Mailer {
  const factory = registry[customer.mail.via];
  if (!factory) throw new Error(`no mailer for mail.via ${JSON.stringify(customer.mail.via)} (customer ${customer.id})`);
  return factory(customer, deps);
}
