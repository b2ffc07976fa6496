import http from 'node:http';
import https from 'node:https';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { runOptionsOf } from './run-options';

/**
 * The last link of the Graph client's middleware chain (in place of its fetch-based
 * HTTPMessageHandler): sends the request with node:https so that
 *  - a custom CA (the sandbox emulator's) is trusted for the configured origins only, through an
 *    https.Agent used for those origins, instead of any process-wide TLS setting;
 *  - every attempt has its own timeout (the RetryHandler above us re-enters per attempt);
 *  - the response body is read as bytes once, so evidence keeps exactly what Graph sent.
 */
export interface TransportOptions {
  /** origins (scheme://host:port) that may be called at all; anything else is refused before it leaves */
  allowedOrigins: string[];
  /** agent carrying the custom CA, used only for allowedOrigins; undefined = Node's default trust */
  agent?: https.Agent;
  /** per attempt, unless the request carries RunOptions (one cached client serves many runs) */
  timeoutMs: number;
  signal?: AbortSignal;
}

export class NodeHttpsTransport implements Middleware {
  constructor(private readonly opts: TransportOptions) {}

  async execute(context: Context): Promise<void> {
    const url = new URL(typeof context.request === 'string' ? context.request : context.request.url);
    if (!this.opts.allowedOrigins.includes(url.origin)) {
      // A nextLink or a redirect pointing elsewhere must never receive this tenant's token.
      throw new Error(`refusing to send a Graph request to ${url.origin}: not this customer's Graph endpoint`);
    }
    const options = context.options ?? {};
    const headers: Record<string, string> = {};
    new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).forEach((v, k) => { headers[k] = v; });
    const body = options.body === undefined || options.body === null ? undefined : Buffer.from(options.body as string);
    if (body) headers['content-length'] = String(body.length);
    const method = (options.method ?? 'GET').toUpperCase();
    const run = runOptionsOf(context);
    context.response = await this.send(url, method, headers, body, run?.timeoutMs ?? this.opts.timeoutMs, run ? run.signal : this.opts.signal);
  }

  private send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.request(url, {
        method, headers,
        agent: url.protocol === 'https:' ? this.opts.agent : undefined,
        signal,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          const nullBody = status === 204 || status === 205 || status === 304 || method === 'HEAD';
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: h }));
        });
      });
      const timer = setTimeout(() => req.destroy(new GraphTimeoutError(`no answer from ${url.origin} within ${timeoutMs} ms (${method} ${url.pathname})`)), timeoutMs);
      req.on('error', (e) => { clearTimeout(timer); reject(e); });
      req.end(body);
    });
  }
}

export class GraphTimeoutError extends Error {
  override name = 'GraphTimeoutError';
}
