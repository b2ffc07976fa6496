import https from 'node:https';
import { ClientCertificateCredential, ClientSecretCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { createDefaultHttpClient, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import { AuthenticationHandler, Client, RetryHandler, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError } from '../types';
import { NodeHttpsTransport } from './https-transport';
import { TenantThrottle } from './tenant-throttle';

export const PUBLIC_GRAPH = 'https://graph.microsoft.com';
export const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
const TRANSIENT_TOKEN_ERROR = /endpoints_resolution_error|network_error|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up/i;

/**
 * What one customer's Graph costs to set up, kept while the customer is busy (GraphTenants caches
 * it and releases it when idle): the credential for that customer's tenant and app only, its access
 * token, the https agent with its kept-alive connections, that customer's throttle gate, and a
 * Graph client whose transport can reach only the customer's configured endpoints. Never shared
 * across customers. Per-run things (signal, timeout, retries, clock) travel with each request.
 */
export class GraphTenant {
  readonly tenantId: string;
  readonly baseUrl: string;
  readonly graphOrigin: string;
  readonly client: Client;
  readonly throttle: TenantThrottle;
  /** calls under way (a tenant is never released in the middle of one) */
  inFlight = 0;
  lastUsedMs: number;
  private readonly agent: https.Agent | undefined;
  private credential: TokenCredential;
  private readonly scope: string;
  private readonly authorityHost: string;
  private readonly authorityOrigin: string;
  private pending: Promise<AccessToken> | undefined;
  private cached: AccessToken | undefined;
  private released = false;

  constructor(readonly customer: CustomerConfig, private readonly secrets: SecretStore, private readonly clock: () => number = Date.now) {
    const g = customer.graph;
    this.tenantId = customer.tenantId.toLowerCase();
    this.baseUrl = (g.baseUrl ?? PUBLIC_GRAPH).replace(/\/+$/, '');
    this.authorityHost = (g.authorityHost ?? PUBLIC_AUTHORITY).replace(/\/+$/, '');
    this.graphOrigin = new URL(this.baseUrl).origin;
    this.authorityOrigin = new URL(this.authorityHost).origin;
    const caPem = g.caCertificateRef ? secrets.get(g.caCertificateRef) : undefined;
    this.agent = caPem ? new https.Agent({ ca: caPem, keepAlive: true }) : undefined;
    this.credential = this.buildCredential();
    this.scope = `${this.graphOrigin === PUBLIC_GRAPH ? PUBLIC_GRAPH : this.graphOrigin}/.default`;
    this.lastUsedMs = clock();

    const auth = new AuthenticationHandler({ getAccessToken: () => this.accessToken() });
    const retry = new RetryHandler(new RetryHandlerOptions(1, 3));
    this.throttle = new TenantThrottle(clock);
    const transport = new NodeHttpsTransport({ allowedOrigins: [this.graphOrigin], agent: this.agent, timeoutMs: g.timeoutMs });
    auth.setNext(retry);
    retry.setNext(this.throttle);
    this.throttle.setNext(transport);
    this.client = Client.initWithMiddleware({
      middleware: auth,
      customHosts: this.graphOrigin === PUBLIC_GRAPH ? undefined : new Set([new URL(this.baseUrl).hostname]),
    });
  }

  get isReleased(): boolean { return this.released; }

  /** marks the customer's Graph as used now (idle release counts from the last call's end) */
  touch(): void { this.lastUsedMs = this.clock(); }

  /**
   * The customer's access token, shared until a minute before it expires. One token request at a
   * time: @azure/identity aborts a credential's pending metadata requests when another getToken on
   * it finishes, so concurrent calls would fail each other with endpoints_resolution_error. A
   * caller's signal stops its own wait, never the request other callers share.
   */
  async accessToken(signal?: AbortSignal): Promise<string> {
    const g = this.customer.graph;
    try {
      if (this.cached && this.cached.expiresOnTimestamp - 60_000 > Date.now()) return this.cached.token;
      this.pending ??= this.fetchToken().finally(() => { this.pending = undefined; });
      this.cached = await (signal ? abortable(this.pending, signal) : this.pending);
      return this.cached.token;
    } catch (e) {
      const ref = g.credential.type === 'secret' ? g.credential.secretRef : g.credential.certificatePemRef;
      // The message names the tenant, the app and the secret *reference*, never a value.
      throw new ConnectorError(
        `${this.customer.name}: could not get a Graph token for tenant ${this.tenantId} with app ${g.clientId} ` +
        `(credential ${ref}, authority ${this.authorityHost}): ${firstLine((e as Error).message)}`,
        { retryable: false, source: 'graph.token', cause: e },
      );
    }
  }

  /** Drops the token and closes the kept-alive connections; the pool makes a new one on next use. */
  release(): void {
    this.released = true;
    this.cached = undefined;
    this.agent?.destroy();
  }

  private async fetchToken(): Promise<AccessToken> {
    try {
      const t = await this.credential.getToken(this.scope);
      if (!t) throw new Error('no token returned');
      return t;
    } catch (first) {
      // MSAL reports any failure to fetch the authority's metadata as endpoints_resolution_error
      // and drops the cause; a reset connection or a busy authority is not a credential problem,
      // so try again (twice, with a fresh credential and a growing pause) before giving up.
      let last = first;
      for (const pauseMs of [500, 2000]) {
        if (!TRANSIENT_TOKEN_ERROR.test((last as Error).message) || this.released) break;
        await new Promise((r) => setTimeout(r, pauseMs));
        this.credential = this.buildCredential();
        try {
          const t = await this.credential.getToken(this.scope);
          if (t) return t;
          last = new Error('no token returned');
        } catch (e) {
          last = e;
        }
      }
      throw last;
    }
  }

  private buildCredential(): TokenCredential {
    const { customer, secrets, agent, authorityHost, authorityOrigin } = this;
    const g = customer.graph;
    const options = {
      authorityHost,
      // Only Microsoft's cloud has the instance discovery endpoint; elsewhere MSAL must trust the host as given.
      disableInstanceDiscovery: authorityOrigin !== PUBLIC_AUTHORITY,
      // The tenant is the customer's, fixed: a token for any other tenant is never requested.
      additionallyAllowedTenants: [] as string[],
      httpClient: agent ? scopedCaHttpClient(authorityOrigin, agent) : undefined,
    };
    if (g.credential.type === 'secret') {
      return new ClientSecretCredential(customer.tenantId, g.clientId, secrets.get(g.credential.secretRef), options);
    }
    return new ClientCertificateCredential(customer.tenantId, g.clientId, { certificate: secrets.get(g.credential.certificatePemRef) }, options);
  }
}

/** The default Azure HTTP client, with the custom CA agent for the authority origin only. */
function scopedCaHttpClient(origin: string, agent: https.Agent): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest(request: PipelineRequest) {
      if (new URL(request.url).origin === origin) request.agent = agent;
      return inner.sendRequest(request);
    },
  };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function firstLine(s: string): string {
  return String(s).split('\n')[0].slice(0, 400);
}
