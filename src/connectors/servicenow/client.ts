import { createHash } from 'node:crypto';
import type { ServiceNowConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError, type RawPayload } from '../types';

/**
 * The transport to one ServiceNow instance: Basic auth, 429/Retry-After handling, errors a person can
 * act on, and a RawPayload for every request/response pair (the Authorization header never included).
 * Operations (open-security-incident.ts) build on it; they never call fetch themselves.
 */

export interface ServiceNowClientOptions {
  instanceUrl: string;
  username: string;
  password: string;
  /** the secret references, named in credential errors (never the values) */
  credentialRefs?: { usernameRef: string; passwordRef: string };
  /** retries after a 429 before giving up (the engine may still retry the action later) */
  maxRetries?: number;
  /** a Retry-After longer than this is not waited out in-process: the action fails retryable */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => Date;
}

export type RequestBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; bytes: Buffer; contentType: string };

export interface ServiceNowResponse {
  status: number;
  headers: Record<string, string>;
  /** parsed JSON body, or undefined when the body was not JSON */
  json: unknown;
  bytes: Buffer;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** Checks the instance URL: an origin only, https unless it is the local emulator (Basic auth must not travel in clear). */
export function parseInstanceUrl(value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConnectorError(`ServiceNow instance URL is not a URL: ${JSON.stringify(value.slice(0, 100))}`, { source: 'servicenow' });
  }
  if (u.username || u.password) throw new ConnectorError('ServiceNow instance URL must not carry credentials; use usernameRef/passwordRef', { source: 'servicenow' });
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) {
    throw new ConnectorError(`ServiceNow instance URL must be https:// (got ${u.protocol}//${u.host})`, { source: 'servicenow' });
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new ConnectorError(`ServiceNow instance URL must be the instance origin only, e.g. https://contoso.service-now.com (got ${u.href})`, { source: 'servicenow' });
  }
  return u;
}

export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** ServiceNow's error text (`{"error":{"message","detail"}}`), made safe to show: one line, bounded. */
export function serviceNowErrorText(json: unknown): string {
  const err = (json as { error?: { message?: unknown; detail?: unknown } } | undefined)?.error;
  const parts = [err?.message, err?.detail].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  const text = parts.join(': ').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class ServiceNowClient {
  readonly origin: string;
  readonly instanceHost: string;
  /** every request/response this client made, in order, as evidence */
  readonly evidence: RawPayload[] = [];
  private readonly authorization: string;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => Date;

  constructor(private readonly opts: ServiceNowClientOptions) {
    const u = parseInstanceUrl(opts.instanceUrl);
    this.origin = u.origin;
    this.instanceHost = u.host;
    this.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`, 'utf8').toString('base64')}`;
    this.maxRetries = opts.maxRetries ?? 3;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchImpl = opts.fetch ?? fetch;
    this.sleep = opts.sleep ?? defaultSleep;
    this.now = opts.now ?? (() => new Date());
  }

  static fromConfig(config: ServiceNowConfig, secrets: SecretStore, extra: Partial<ServiceNowClientOptions> = {}): ServiceNowClient {
    return new ServiceNowClient({
      instanceUrl: config.instanceUrl,
      username: secrets.get(config.usernameRef),
      password: secrets.get(config.passwordRef),
      credentialRefs: { usernameRef: config.usernameRef, passwordRef: config.passwordRef },
      ...extra,
    });
  }

  /**
   * One API call. `path` is a fixed API path built by the caller from validated parts; every
   * variable value goes in `query`, which is URL-encoded here. 429 is retried after Retry-After
   * (bounded); any other non-2xx becomes a ConnectorError saying what to do.
   */
  async request(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    query: Record<string, string>,
    body: RequestBody | undefined,
    what: { source: string; action: string },
  ): Promise<ServiceNowResponse> {
    const url = new URL(path, this.origin);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Accept: 'application/json' };
    let payload: Buffer | undefined;
    if (body?.kind === 'json') {
      headers['Content-Type'] = 'application/json';
      payload = Buffer.from(JSON.stringify(body.value), 'utf8');
    } else if (body?.kind === 'bytes') {
      headers['Content-Type'] = body.contentType;
      payload = body.bytes;
    }

    for (let attempt = 0; ; attempt++) {
      const sentAt = this.now();
      let res: Response;
      let bytes: Buffer;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, timeout]) : timeout;
      try {
        res = await this.fetchImpl(url, { method, headers: { ...headers, Authorization: this.authorization }, body: payload, signal });
        bytes = Buffer.from(await res.arrayBuffer());
      } catch (e) {
        if (this.opts.signal?.aborted) throw e;
        const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : describeNetworkError(e);
        this.record(method, url, headers, payload, body, sentAt, undefined, undefined, what.source, reason);
        // The request may have been applied before the connection failed: the caller re-reads before retrying.
        throw new ConnectorError(`ServiceNow ${this.instanceHost} did not answer ${what.action}: ${reason}`, { retryable: true, source: what.source, cause: e });
      }
      const resHeaders: Record<string, string> = {};
      res.headers.forEach((v, k) => { resHeaders[k] = v; });
      this.record(method, url, headers, payload, body, sentAt, res.status, { headers: resHeaders, bytes }, what.source);
      let json: unknown;
      if ((resHeaders['content-type'] ?? '').includes('json') && bytes.length > 0) {
        try {
          json = JSON.parse(bytes.toString('utf8'));
        } catch {
          json = undefined;
        }
      }
      if (res.status >= 200 && res.status < 300) return { status: res.status, headers: resHeaders, json, bytes };

      if (res.status === 429) {
        const wait = parseRetryAfter(resHeaders['retry-after'], this.now()) ?? 1000 * 2 ** attempt;
        if (attempt >= this.maxRetries || wait > this.maxRetryAfterMs) {
          throw new ConnectorError(
            `ServiceNow ${this.instanceHost} is rate-limiting the integration user (429 on ${what.action}, Retry-After ${Math.ceil(wait / 1000)} s after ${attempt + 1} attempt(s)); try again later`,
            { retryable: true, status: 429, source: what.source },
          );
        }
        await this.sleep(wait, this.opts.signal);
        continue;
      }
      throw this.errorFor(res.status, json, what);
    }
  }

  private errorFor(status: number, json: unknown, what: { source: string; action: string }): ConnectorError {
    const said = serviceNowErrorText(json);
    const suffix = said ? ` (ServiceNow said: ${said})` : '';
    const refs = this.opts.credentialRefs;
    switch (status) {
      case 401:
        return new ConnectorError(
          `ServiceNow rejected the credentials for ${this.instanceHost}${refs ? `: check the secrets ${refs.usernameRef} and ${refs.passwordRef}` : ''}${suffix}`,
          { status, source: what.source },
        );
      case 403:
        return new ConnectorError(
          `ServiceNow ${this.instanceHost} refused ${what.action}: the integration user needs the sn_si.write role (Security Incident Response write)${suffix}`,
          { status, source: what.source },
        );
      case 404:
        return new ConnectorError(`ServiceNow ${this.instanceHost}: not found while ${what.action}: check the table name in the customer config${suffix}`, { status, source: what.source });
      default:
        return new ConnectorError(`ServiceNow ${this.instanceHost} answered ${status} to ${what.action}${suffix}`, {
          status,
          source: what.source,
          retryable: status >= 500 || status === 408,
        });
    }
  }

  private record(
    method: string,
    url: URL,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    body: RequestBody | undefined,
    sentAt: Date,
    status: number | undefined,
    response: { headers: Record<string, string>; bytes: Buffer } | undefined,
    source: string,
    failure?: string,
  ): void {
    // A report upload is kept as its hash and size: the report itself is evidence in its own right.
    const requestBody =
      body?.kind === 'json' ? body.value
      : body?.kind === 'bytes' && payload ? { sha256: sha256Hex(payload), sizeBytes: payload.length, contentType: body.contentType }
      : undefined;
    const envelope = {
      request: { method, url: url.href, headers, body: requestBody, sentAt: sentAt.toISOString() },
      response: response
        ? { status, headers: response.headers, body: response.bytes.toString('utf8') }
        : { failure },
    };
    this.evidence.push({
      source,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(envelope), 'utf8'),
      collectedAt: this.now().toISOString(),
      note: `${method} ${url.pathname} -> ${status ?? failure}`,
    });
  }
}

function describeNetworkError(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
