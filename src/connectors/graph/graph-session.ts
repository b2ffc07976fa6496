import https from 'node:https';
import { ClientCertificateCredential, ClientSecretCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { createDefaultHttpClient, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import {
  AuthenticationHandler, Client, ResponseType, RetryHandler, RetryHandlerOptions,
  type AuthenticationProvider,
} from '@microsoft/microsoft-graph-client';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError, type RawPayload } from '../types';
import { NodeHttpsTransport } from './https-transport';
import { graphErrorToConnectorError, type GraphOperation } from './graph-errors';

export const PUBLIC_GRAPH = 'https://graph.microsoft.com';
export const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
const TRANSIENT_TOKEN_ERROR = /endpoints_resolution_error|network_error|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up/i;

export interface GraphCall {
  /** what this call is, for errors and evidence: which permission, which object */
  op: GraphOperation;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** the request body as it may be kept in evidence (e.g. the password redacted); omitted = body */
  bodyForEvidence?: unknown;
  /** evidence source label, e.g. 'graph.signIns' */
  source: string;
  headers?: Record<string, string>;
}

export interface GraphResult<T> {
  status: number;
  data: T;
  /** the response as received, and for writes the request we sent (redacted) before it */
  raw: RawPayload[];
}

export interface GraphPage<T> {
  items: T[];
  raw: RawPayload[];
  pages: number;
  /** true when maxPages stopped us before the last nextLink */
  truncated: boolean;
}

export interface GraphSessionOptions {
  /** overrides the customer's timeoutMs */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** retry attempts for 429/503/504 (Graph client RetryHandler); 3 by default */
  maxRetries?: number;
  /** clock for evidence timestamps */
  now?: () => Date;
}

/**
 * One customer's Graph: a credential for that customer's tenant and app registration only, a Graph
 * client whose transport can reach only that customer's configured endpoints, and helpers that keep
 * every response as evidence. Built per customer (and per action run); never shared across tenants.
 */
export class GraphSession {
  readonly tenantId: string;
  readonly customerId: string;
  readonly customerName: string;
  readonly baseUrl: string;
  private readonly client: Client;
  private readonly provider: AuthenticationProvider;
  private readonly now: () => Date;

  constructor(readonly customer: CustomerConfig, secrets: SecretStore, opts: GraphSessionOptions = {}) {
    const g = customer.graph;
    this.tenantId = customer.tenantId.toLowerCase();
    this.customerId = customer.id;
    this.customerName = customer.name;
    this.now = opts.now ?? (() => new Date());
    this.baseUrl = (g.baseUrl ?? PUBLIC_GRAPH).replace(/\/+$/, '');
    const authorityHost = (g.authorityHost ?? PUBLIC_AUTHORITY).replace(/\/+$/, '');
    const graphOrigin = new URL(this.baseUrl).origin;
    const authorityOrigin = new URL(authorityHost).origin;
    const caPem = g.caCertificateRef ? secrets.get(g.caCertificateRef) : undefined;
    const agent = caPem ? new https.Agent({ ca: caPem, keepAlive: true }) : undefined;

    let credential = buildCredential(customer, secrets, authorityHost, authorityOrigin, agent);
    const scope = `${graphOrigin === PUBLIC_GRAPH ? PUBLIC_GRAPH : graphOrigin}/.default`;
    // One token request at a time per session: @azure/identity aborts a credential's pending metadata
    // requests when another getToken on it finishes, so concurrent calls of one session (parallel
    // Graph calls) would fail each other with endpoints_resolution_error. The token is shared until
    // a minute before it expires.
    let pending: Promise<AccessToken> | undefined;
    let cached: AccessToken | undefined;
    const fetchToken = async (): Promise<AccessToken> => {
      try {
        const t = await credential.getToken(scope, { abortSignal: opts.signal });
        if (!t) throw new Error('no token returned');
        return t;
      } catch (first) {
        // MSAL reports any failure to fetch the authority's metadata as endpoints_resolution_error
        // and drops the cause; a reset connection or a busy authority is not a credential problem,
        // so try again (twice, with a fresh client and a growing pause) before giving up.
        let last = first;
        for (const pauseMs of [500, 2000]) {
          if (!TRANSIENT_TOKEN_ERROR.test((last as Error).message) || opts.signal?.aborted) break;
          await new Promise((r) => setTimeout(r, pauseMs));
          credential = buildCredential(customer, secrets, authorityHost, authorityOrigin, agent);
          try {
            const t = await credential.getToken(scope, { abortSignal: opts.signal });
            if (t) return t;
            last = new Error('no token returned');
          } catch (e) {
            last = e;
          }
        }
        throw last;
      }
    };
    this.provider = {
      getAccessToken: async () => {
        try {
          if (cached && cached.expiresOnTimestamp - 60_000 > Date.now()) return cached.token;
          pending ??= fetchToken().finally(() => { pending = undefined; });
          cached = await pending;
          return cached.token;
        } catch (e) {
          const ref = g.credential.type === 'secret' ? g.credential.secretRef : g.credential.certificatePemRef;
          // The message names the tenant, the app and the secret *reference*, never a value.
          throw new ConnectorError(
            `${customer.name}: could not get a Graph token for tenant ${this.tenantId} with app ${g.clientId} ` +
            `(credential ${ref}, authority ${authorityHost}): ${firstLine((e as Error).message)}`,
            { retryable: false, source: 'graph.token', cause: e },
          );
        }
      },
    };

    const auth = new AuthenticationHandler(this.provider);
    const retry = new RetryHandler(new RetryHandlerOptions(1, opts.maxRetries ?? 3));
    const transport = new NodeHttpsTransport({
      allowedOrigins: [graphOrigin], agent, timeoutMs: opts.timeoutMs ?? g.timeoutMs, signal: opts.signal,
    });
    auth.setNext(retry);
    retry.setNext(transport);
    this.client = Client.initWithMiddleware({
      middleware: auth,
      customHosts: graphOrigin === PUBLIC_GRAPH ? undefined : new Set([new URL(this.baseUrl).hostname]),
    });
  }

  /** One request. `path` starts with the version: '/v1.0/users/...'. Throws ConnectorError on non-2xx. */
  async call<T = unknown>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, c: GraphCall): Promise<GraphResult<T>> {
    const url = path.startsWith('https://') || path.startsWith('http://') ? path : `${this.baseUrl}${path}${queryString(c.query)}`;
    return this.send<T>(method, url, c);
  }

  async get<T = unknown>(path: string, c: GraphCall): Promise<GraphResult<T>> {
    return this.call<T>('GET', path, c);
  }

  /** Follows @odata.nextLink (only on this customer's Graph origin) up to maxPages. */
  async getAllPages<T = unknown>(path: string, c: GraphCall & { maxPages?: number }): Promise<GraphPage<T>> {
    const maxPages = c.maxPages ?? 50;
    const items: T[] = [];
    const raw: RawPayload[] = [];
    let next: string | undefined = `${this.baseUrl}${path}${queryString(c.query)}`;
    let pages = 0;
    while (next && pages < maxPages) {
      const r: GraphResult<{ value?: T[]; '@odata.nextLink'?: string }> = await this.send('GET', next, { ...c, query: undefined });
      pages++;
      const value = Array.isArray(r.data?.value) ? r.data.value : [];
      items.push(...value);
      for (const p of r.raw) raw.push({ ...p, recordCount: value.length, note: `${p.note} (page ${pages})` });
      next = typeof r.data?.['@odata.nextLink'] === 'string' ? r.data['@odata.nextLink'] : undefined;
    }
    return { items, raw, pages, truncated: next !== undefined };
  }

  private async send<T>(method: string, url: string, c: GraphCall): Promise<GraphResult<T>> {
    // Get the token first so that a credential problem is reported as such, not as a Graph error.
    await this.provider.getAccessToken();
    const shownPath = displayPath(url);
    const raw: RawPayload[] = [];
    if (c.body !== undefined) {
      raw.push({
        source: `${c.source}.request`, contentType: 'application/json',
        body: Buffer.from(JSON.stringify(c.bodyForEvidence ?? c.body)),
        collectedAt: this.now().toISOString(), note: `${method} ${shownPath} (request as sent${c.bodyForEvidence ? ', secrets redacted' : ''})`,
      });
    }
    let res: Response;
    try {
      let req = this.client.api(url).responseType(ResponseType.RAW);
      if (c.headers) req = req.headers(c.headers);
      const body = c.body === undefined ? undefined : JSON.stringify(c.body);
      if (body !== undefined) req = req.header('Content-Type', 'application/json');
      res = method === 'GET' ? await req.get()
        : method === 'POST' ? await req.post(body)
        : method === 'PATCH' ? await req.patch(body)
        : await req.delete();
    } catch (e) {
      throw transportFailure(e, this, method, shownPath);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    raw.push({
      source: c.source, contentType: res.headers.get('content-type')?.split(';')[0] ?? 'application/octet-stream',
      body: bytes, collectedAt: this.now().toISOString(), note: `${method} ${shownPath} -> ${res.status}`,
    });
    let data: unknown = undefined;
    if (bytes.length && (res.headers.get('content-type') ?? '').includes('json')) {
      try { data = JSON.parse(bytes.toString('utf8')); } catch { data = undefined; }
    }
    if (res.status < 200 || res.status > 299) {
      throw graphErrorToConnectorError({
        status: res.status, body: data, retryAfter: res.headers.get('retry-after'),
        op: c.op, customerName: this.customerName, tenantId: this.tenantId, clientId: this.customer.graph.clientId,
        method, path: shownPath,
      });
    }
    return { status: res.status, data: data as T, raw };
  }
}

function buildCredential(customer: CustomerConfig, secrets: SecretStore, authorityHost: string, authorityOrigin: string, agent: https.Agent | undefined): TokenCredential {
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

/** Encodes each value: OData literals (quotes doubled upstream) and non-ASCII survive intact. */
export function queryString(q: GraphCall['query']): string {
  if (!q) return '';
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v)).replace(/'/g, '%27')}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A path segment from a UPN or id: percent-encoded (quotes and non-ASCII included). */
export function segment(value: string): string {
  return encodeURIComponent(value).replace(/'/g, '%27');
}

function displayPath(url: string): string {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.pathname) + (u.search ? decodeURIComponent(u.search).slice(0, 300) : '');
  } catch {
    return url.slice(0, 300);
  }
}

function firstLine(s: string): string {
  return String(s).split('\n')[0].slice(0, 400);
}

function transportFailure(e: unknown, s: GraphSession, method: string, path: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  // The Graph client wraps thrown errors in GraphError; find what is underneath.
  const err = e as { message?: string; name?: string; code?: string; body?: unknown };
  if (err?.body instanceof ConnectorError) return err.body;
  const msg = firstLine(err?.message ?? String(e));
  if (/token for tenant/.test(msg)) return new ConnectorError(msg, { retryable: false, source: 'graph.token', cause: e });
  return new ConnectorError(
    `${s.customerName}: Graph ${method} ${path} failed before an answer came back: ${msg}`,
    { retryable: !/refusing to send/.test(msg), source: 'graph', cause: e },
  );
}
