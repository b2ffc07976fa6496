import { createHash, timingSafeEqual } from 'node:crypto';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';

// Compare digests: equal length whatever was sent, so the time taken says nothing about the secret.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/**
 * Checks `Authorization: Basic ...` against the customer's own feed credentials (customer.threatFeed
 * references). False for a customer without a feed, a missing secret, or any malformed header.
 */
export function checkFeedBasicAuth(authorizationHeader: string | undefined, customer: CustomerConfig, secrets: SecretStore): boolean {
  const feed = customer.threatFeed;
  if (!feed || typeof authorizationHeader !== 'string') return false;
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(authorizationHeader.trim());
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  let username: string;
  let password: string;
  try {
    username = secrets.get(feed.usernameRef);
    password = secrets.get(feed.passwordRef);
  } catch {
    return false;
  }
  // Both compared, always: no early exit on the user name.
  const userOk = same(decoded.slice(0, colon), username);
  const passOk = same(decoded.slice(colon + 1), password);
  return userOk && passOk;
}
