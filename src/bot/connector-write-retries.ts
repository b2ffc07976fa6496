import { retryPolicy, type Pipeline, type PipelinePolicy, type PipelineRequest, type RetryStrategy } from '@azure/core-rest-pipeline';
import type { Middleware, TurnContext } from 'botbuilder';
import type { ConnectorClient, ConnectorFactory } from 'botframework-connector';

/**
 * botbuilder's ConnectorClient (botframework-connector 4.23.3) is an @azure/core-client ServiceClient
 * built with @azure/core-rest-pipeline's default pipeline, whose `defaultRetryPolicy` retries any
 * call up to 3 times: a 429 or 503 after its Retry-After (throttlingRetryStrategy), a 5xx/408 or a
 * dropped connection with exponential back-off (exponentialRetryStrategy), whatever the method.
 * For our writes that is wrong twice over: each hidden retry is a call to Teams the shared limiter
 * (src/bot/shared-send-limiter.ts) never granted, and its Retry-After is slept inside this process
 * instead of being recorded for every replica; and a POST retried after a 5xx or a reset the
 * server may already have acted on is a duplicate card. Only the send queue (src/bot/send-queue.ts)
 * may decide to send again.
 *
 * No documented option reaches that policy: ConnectorClientOptions.requestPolicyFactories is
 * overwritten by ConnectorFactoryImpl.create (it installs its own accept-header policy) and would
 * run outside the retry phase anyway; `httpClient` sits below it; the compat ServiceClientContext
 * passes no `retryOptions` and no `pipeline` on to the ServiceClient. So the client's own pipeline
 * is edited, with core-rest-pipeline's public Pipeline API (removePolicy/addPolicy) on the
 * ServiceClient the context keeps in its (TypeScript-private) `client` field. If an upgrade moves
 * that field or renames the policy, this throws instead of letting hidden retries back in
 * (test/bot/connector-no-hidden-retry.test.ts fails first).
 *
 * What is left, by method:
 *  - POST (a new thread, a reply): exactly one HTTP request; any failure reaches the send queue,
 *    which retries a 429 through the shared limiter, Teams' documented 412/502/504 after a back-off
 *    (each attempt taking a slot again), and leaves the rest to its caller (the card sweep posts an
 *    unposted card; its claim stops a duplicate).
 *  - PUT, DELETE (update a card): idempotent, so a 5xx, 408 or dropped connection (a stale
 *    keep-alive socket) is still tried again here with back-off; a 429 is never: it goes to the
 *    send queue like a POST's.
 *  - GET, HEAD (the team's members): the default retries, unchanged; reads duplicate nothing and
 *    do not go through the send queue. TeamsInfo's Teams-specific calls build a TeamsConnectorClient
 *    of their own, which this does not change; the bot uses only its read (getTeamChannels).
 */

/** core-rest-pipeline's name for the retry policy createPipelineFromOptions installs. */
export const DEFAULT_RETRY_POLICY_NAME = 'defaultRetryPolicy';
/** Ours, in the same Retry phase. */
export const WRITE_RETRY_POLICY_NAME = 'teamsIrWriteRetries';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const IDEMPOTENT_WRITES = new Set(['PUT', 'DELETE']);
/** The connection errors core-rest-pipeline's own exponential strategy retries. */
const CONNECTION_ERRORS = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND']);
const MAX_IDEMPOTENT_RETRIES = 3;

/**
 * For idempotent writes: a server error (5xx but 501/505), a timeout (408) or a dropped connection
 * is tried again after 1 s, 2 s, 4 s (±20 %); anything else, a 429 above all, is returned as it came.
 */
export const transientFailureStrategy: RetryStrategy = {
  name: 'teamsIrTransientFailureRetry',
  retry({ retryCount, response, responseError }) {
    const status = response?.status;
    const transient = status !== undefined
      ? (status >= 500 && status !== 501 && status !== 505) || status === 408
      : CONNECTION_ERRORS.has(String(responseError?.code ?? ''));
    if (!transient) return { skipStrategy: true };
    return { retryAfterInMs: Math.round(1000 * 2 ** retryCount * (0.8 + Math.random() * 0.4)) };
  },
};

/** Thrown when the installed botframework-connector is not built the way this module relies on. */
export class ConnectorPipelineChangedError extends Error {
  constructor(what: string) {
    super(`botframework-connector's ConnectorClient is not built as expected (${what}): its hidden HTTP retries cannot be turned off; check src/bot/connector-write-retries.ts against the installed version`);
    this.name = 'ConnectorPipelineChangedError';
  }
}

function pipelineOf(client: ConnectorClient): Pipeline {
  const inner = (client as unknown as { client?: { pipeline?: Partial<Pipeline> } }).client;
  const pipeline = inner?.pipeline;
  if (!pipeline || typeof pipeline.getOrderedPolicies !== 'function' || typeof pipeline.removePolicy !== 'function' || typeof pipeline.addPolicy !== 'function') {
    throw new ConnectorPipelineChangedError('no core-rest-pipeline Pipeline on its ServiceClient');
  }
  return pipeline as Pipeline;
}

/**
 * Takes the default retry policy out of this client's pipeline for writes (see the top of this
 * file). Idempotent: a client already changed is left alone.
 */
export function removeHiddenWriteRetries(client: ConnectorClient): void {
  const pipeline = pipelineOf(client);
  const policies = pipeline.getOrderedPolicies();
  if (policies.some((p) => p.name === WRITE_RETRY_POLICY_NAME)) return;
  const retry = policies.find((p) => p.name === DEFAULT_RETRY_POLICY_NAME);
  if (!retry) throw new ConnectorPipelineChangedError(`no '${DEFAULT_RETRY_POLICY_NAME}' in its pipeline`);
  const idempotentRetry = retryPolicy([transientFailureStrategy], { maxRetries: MAX_IDEMPOTENT_RETRIES });
  const writeRetries: PipelinePolicy = {
    name: WRITE_RETRY_POLICY_NAME,
    sendRequest: (request: PipelineRequest, next) => {
      const method = request.method.toUpperCase();
      if (READS.has(method)) return retry.sendRequest(request, next);
      if (IDEMPOTENT_WRITES.has(method)) return idempotentRetry.sendRequest(request, next);
      return next(request);
    },
  };
  pipeline.removePolicy({ name: DEFAULT_RETRY_POLICY_NAME });
  pipeline.addPolicy(writeRetries, { phase: 'Retry' });
}

/** A factory whose clients are changed as above (the turn's factory, for code that makes its own clients). */
function writeRetriesFactory(inner: ConnectorFactory): ConnectorFactory {
  return {
    async create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
      const client = await inner.create(serviceUrl, audience);
      removeHiddenWriteRetries(client);
      return client;
    },
  };
}

/**
 * Adapter middleware (adapter.use): every turn, incoming or proactive (continueConversationAsync),
 * gets its connector client changed before the bot's logic sends anything with it. The adapter
 * builds a new client per turn. adapter.createConversationAsync calls Teams before any middleware
 * runs, which is why TeamsChannel.startThread creates threads with the turn's client instead.
 */
export const connectorWriteRetriesMiddleware: Middleware = {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const adapter = context.adapter as TurnContext['adapter'] & { ConnectorFactoryKey?: symbol };
    const client = context.turnState.get<ConnectorClient | undefined>(adapter.ConnectorClientKey);
    if (client) removeHiddenWriteRetries(client);
    const factory = adapter.ConnectorFactoryKey ? context.turnState.get<ConnectorFactory | undefined>(adapter.ConnectorFactoryKey) : undefined;
    if (factory && adapter.ConnectorFactoryKey) context.turnState.set(adapter.ConnectorFactoryKey, writeRetriesFactory(factory));
    await next();
  },
};
