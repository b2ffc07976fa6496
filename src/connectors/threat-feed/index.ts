export { renderBlocklist } from './render-blocklist';
export { checkFeedBasicAuth } from './feed-auth';
export { handleFeedRequest, type FeedResponse, type FeedRequestDeps } from './feed-request';
export { FeedExpiryJob, expiryStepId, type FeedExpiryDeps, type FeedExpiryOutcome, type RunAdHoc } from './feed-expiry-job';
export { ServedThreatFeed, type ThreatFeed, type FeedEntries } from './threat-feed';
export { createThreatFeed, threatFeeds } from './registry';
export { threatFeedActions, listOnFeedAction } from './actions';
