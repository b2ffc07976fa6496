import type { Pipeline, PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
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
 * Reads (GET/HEAD: the team's members) keep the default retries: repeating them duplicates
 * nothing, and they do not go through the send queue. TeamsInfo's Teams-specific calls build a
 * TeamsConnectorClient of their own, which this does not change; the bot uses only its read
 * (getTeamChannels), never its sends.
 */

/** core-rest-pipeline's name for the retry policy createPipelineFromOptions installs. */
export const DEFAULT_RETRY_POLICY_NAME = 'defaultRetryPolicy';
/** Ours, in the same Retry phase. */
export const SINGLE_ATTEMPT_POLICY_NAME = 'teamsIrSingleAttemptForWrites';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Thrown when the installed botframework-connector is not built the way this module relies on. */
export class ConnectorPipelineChangedError extends Error {
  constructor(what: string) {
    super(`botframework-connector's ConnectorClient is not built as expected (${what}): its hidden HTTP retries cannot be turned off; check src/bot/connector-single-attempt.ts against the installed version`);
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
 * Makes every write (POST, PUT, DELETE, PATCH) of this client exactly one HTTP request: its 429s,
 * 5xx and connection errors reach the caller. Idempotent: a client already changed is left alone.
 */
export function makeWritesSingleAttempt(client: ConnectorClient): void {
  const pipeline = pipelineOf(client);
  const policies = pipeline.getOrderedPolicies();
  if (policies.some((p) => p.name === SINGLE_ATTEMPT_POLICY_NAME)) return;
  const retry = policies.find((p) => p.name === DEFAULT_RETRY_POLICY_NAME);
  if (!retry) throw new ConnectorPipelineChangedError(`no '${DEFAULT_RETRY_POLICY_NAME}' in its pipeline`);
  const singleAttempt: PipelinePolicy = {
    name: SINGLE_ATTEMPT_POLICY_NAME,
    sendRequest: (request: PipelineRequest, next) =>
      SAFE_METHODS.has(request.method.toUpperCase()) ? retry.sendRequest(request, next) : next(request),
  };
  pipeline.removePolicy({ name: DEFAULT_RETRY_POLICY_NAME });
  pipeline.addPolicy(singleAttempt, { phase: 'Retry' });
}

/** A factory whose clients are changed as above (the turn's factory, for code that makes its own clients). */
function singleAttemptFactory(inner: ConnectorFactory): ConnectorFactory {
  return {
    async create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
      const client = await inner.create(serviceUrl, audience);
      makeWritesSingleAttempt(client);
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
export const singleAttemptConnectorMiddleware: Middleware = {
  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const adapter = context.adapter as TurnContext['adapter'] & { ConnectorFactoryKey?: symbol };
    const client = context.turnState.get<ConnectorClient | undefined>(adapter.ConnectorClientKey);
    if (client) makeWritesSingleAttempt(client);
    const factory = adapter.ConnectorFactoryKey ? context.turnState.get<ConnectorFactory | undefined>(adapter.ConnectorFactoryKey) : undefined;
    if (factory && adapter.ConnectorFactoryKey) context.turnState.set(adapter.ConnectorFactoryKey, singleAttemptFactory(factory));
    await next();
  },
};
