import { ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError, type RawPayload } from '../types';
import { graphErrorToConnectorError, type GraphOperation } from './graph-errors';
import { GraphTenant, firstLine } from './graph-tenant';
import type { GraphTenants } from './graph-tenants';
import { RunOptions } from './run-options';

export { PUBLIC_GRAPH, PUBLIC_AUTHORITY } from './graph-tenant';

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
  /** the process's per-customer Graph cache; without it this session has a Graph of its own */
  tenants?: GraphTenants;
}

/**
 * One customer's Graph for one run (an action, a poll): the customer's cached GraphTenant
 * (credential and token for that customer's tenant and app only, a client whose transport can reach
 * only that customer's configured endpoints, that customer's throttle gate) with this run's signal,
 * timeout and retries, and helpers that keep every response as evidence. Never shared across tenants.
 */
export class GraphSession {
  readonly tenantId: string;
  readonly customerId: string;
  readonly customerName: string;
  readonly baseUrl: string;
  private readonly now: () => Date;
  private readonly tenant: () => GraphTenant;
  private readonly run: RunOptions;
  private readonly maxRetries: number;

  constructor(readonly customer: CustomerConfig, secrets: SecretStore, opts: GraphSessionOptions = {}) {
    this.customerId = customer.id;
    this.customerName = customer.name;
    this.now = opts.now ?? (() => new Date());
    const pool = opts.tenants;
    // Looked up per call: a long run outliving an idle release gets the customer's new Graph.
    const own = pool ? undefined : new GraphTenant(customer, secrets);
    this.tenant = pool ? () => pool.for(customer, secrets) : () => own!;
    const first = this.tenant();
    this.tenantId = first.tenantId;
    this.baseUrl = first.baseUrl;
    this.run = new RunOptions(opts.timeoutMs ?? customer.graph.timeoutMs, opts.signal);
    this.maxRetries = opts.maxRetries ?? 3;
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
    const tenant = this.tenant();
    tenant.inFlight++;
    try {
      return await this.sendWith<T>(tenant, method, url, c);
    } finally {
      tenant.inFlight--;
      tenant.touch();
    }
  }

  private async sendWith<T>(tenant: GraphTenant, method: string, url: string, c: GraphCall): Promise<GraphResult<T>> {
    // Get the token first so that a credential problem is reported as such, not as a Graph error.
    await tenant.accessToken(this.run.signal);
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
      let req = tenant.client.api(url).responseType(ResponseType.RAW)
        .middlewareOptions([new RetryHandlerOptions(1, this.maxRetries), this.run]);
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
