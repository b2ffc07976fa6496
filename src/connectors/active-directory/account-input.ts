import { z } from 'zod';
import type { ActiveDirectoryConfig, CustomerConfig } from '../../config/customers';
import { ConnectorError } from '../types';
import { parseSid } from './sid';

/**
 * Characters AD never allows in a sAMAccountName (" / \ [ ] : ; | = , + * ? < > and controls).
 * Refused at the action's input with a clear line; the driver encodes whatever reaches it through
 * filter objects anyway, so a value that slipped by would match only itself.
 */
const SAM_FORBIDDEN = /["/\\[\]:;|=,+*?<>\u0000-\u001f]/;

export const samAccountName = z.string().min(1).max(20, 'not a sAMAccountName: longer than 20 characters').superRefine((v, c) => {
  const bad = SAM_FORBIDDEN.exec(v);
  if (bad) c.addIssue({ code: z.ZodIssueCode.custom, message: `not a sAMAccountName: contains ${JSON.stringify(bad[0])}` });
  if (/^[. ]+$/.test(v)) c.addIssue({ code: z.ZodIssueCode.custom, message: 'not a sAMAccountName: only dots and spaces' });
});

const sid = z.unknown().transform((v, c): string => {
  try { return parseSid(v); } catch (e) { c.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message }); return z.NEVER; }
});

/** An on-premises account as an alert names it: by SID and/or sAMAccountName, with its domain when given. */
export const accountInput = z.object({
  sid: sid.optional(),
  samAccountName: samAccountName.optional(),
  /** NetBIOS (CONTOSO) or DNS (contoso.local) name: must be one of the customer's AD domains */
  domain: z.string().max(255).regex(/^[A-Za-z0-9.\-]+$/, 'not a domain name').optional(),
  /** the DN the lookup saw: compared only (a different one now is reported as a move), never used to write */
  expectedDn: z.string().max(2048).optional(),
}).strict().refine((a) => a.sid !== undefined || a.samAccountName !== undefined, { message: 'needs a SID or a sAMAccountName' });
export type AccountInput = z.infer<typeof accountInput>;

/** The customer's AD section, or a clear error when the customer has none. */
export function adConfigOf(customer: CustomerConfig): ActiveDirectoryConfig {
  const ad = (customer as CustomerConfig & { activeDirectory?: ActiveDirectoryConfig }).activeDirectory;
  if (!ad) throw new ConnectorError(`${customer.name} has no activeDirectory section in the customers file: the on-premises steps cannot run`, { source: 'ad' });
  return ad;
}

/** Refuses a domain that is not one of the customer's (a NetBIOS or DNS name, any case). */
export function checkDomain(ad: ActiveDirectoryConfig, customerName: string, domain: string | undefined): void {
  if (domain === undefined) return;
  const d = domain.toLowerCase();
  const known = ad.domains.some((x) => x.netbios.toLowerCase() === d || x.dns.toLowerCase() === d);
  if (!known) {
    const names = ad.domains.flatMap((x) => [x.netbios, x.dns]).join(', ');
    throw new ConnectorError(`domain ${JSON.stringify(domain)} is not one of ${customerName}'s Active Directory domains (${names}): nothing was looked up or changed`, { source: 'ad' });
  }
}
