import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { FeedEntries } from './threat-feed';
import { checkFeedBasicAuth } from './feed-auth';
import { renderBlocklist } from './render-blocklist';

export interface FeedResponse { status: number; headers: Record<string, string>; body: string }

export interface FeedRequestDeps {
  customer(id: string): CustomerConfig | undefined;
  secrets: SecretStore;
  store: Pick<FeedEntries, 'listFeed'>;
  now?: () => Date;
}

const CUSTOMER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * GET /feeds/<customerId>/blocklist.txt for the HTTP layer. An unknown customer and a wrong password
 * get the same 401, so the feed does not reveal which customers exist.
 */
export async function handleFeedRequest(customerId: string, authorizationHeader: string | undefined, deps: FeedRequestDeps): Promise<FeedResponse> {
  const customer = CUSTOMER_ID.test(customerId) ? deps.customer(customerId) : undefined;
  if (!customer || !checkFeedBasicAuth(authorizationHeader, customer, deps.secrets)) {
    return {
      status: 401,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic realm="threat-feed", charset="UTF-8"', 'cache-control': 'no-store' },
      body: 'authentication required\n',
    };
  }
  const now = deps.now?.() ?? new Date();
  const body = renderBlocklist(await deps.store.listFeed(customer.id, now), now);
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body };
}
