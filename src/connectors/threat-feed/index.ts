export { renderBlocklist } from './render-blocklist';
export { checkFeedBasicAuth } from './feed-auth';
export { handleFeedRequest, type FeedResponse, type FeedRequestDeps } from './feed-request';
export { FeedExpiryJob, type FeedExpiryDeps, type FeedExpiryOutcome } from './feed-expiry-job';
