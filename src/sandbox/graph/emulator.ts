import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { generateSandboxTls } from './self-signed-tls';
import { IdentityPlatform } from './identity-platform';
import { GraphHttpError, routes, type RouteReply } from './graph-routes';
import { buildStory, seededRandom } from './story';
import type { EmulatorState, EmulatorTenant } from './state';

/**
 * A Microsoft Graph + identity platform emulator over https (a CA minted at start: see
 * self-signed-tls.ts for why https). Stateful, tenant-isolated by the bearer token, with per-route
 * latency and faults. `url` is both the Graph base URL and the authority host; `caPem` is the CA a
 * connector must trust for that origin only.
 */
export interface GraphFault {
  status: 429 | 503 | 403;
  retryAfterSeconds?: number;
  /** how many matching requests fail; unlimited when omitted */
  times?: number;
  /** only requests with a token for this tenant fail (Graph throttles per tenant and app) */
  tenantId?: string;
}

export interface GraphEmulatorOptions {
  port?: number;
  host?: string;
  now?: () => Date;
  /** replaces the built-in Contoso/Fabrikam/MSP story */
  tenants?: EmulatorTenant[];
}

export interface GraphEmulator {
  url: string;
  authorityHost: string;
  /** PEM of the CA that signed the emulator's certificate */
  caPem: string;
  state: EmulatorState;
  close(): Promise<void>;
  /** routePattern: '[METHOD ]/path' without the version, '*' = one segment, '**' = anything; or a RegExp on 'METHOD /path' (also tried on 'METHOD /<version>/path', so that one version alone can fail) */
  injectFault(routePattern: string | RegExp, fault: GraphFault): void;
  setLatency(routePattern: string | RegExp, ms: number | [number, number]): void;
  /** every Graph request of one tenant answers 429 with this Retry-After (`times` of them, or until clearFaults) */
  throttleTenant(tenantId: string, retryAfterSeconds: number, times?: number): void;
  clearFaults(): void;
}

interface Rule<T> { match: (methodPath: string) => boolean; value: T; left: number; versioned?: boolean }

export function routeMatcher(pattern: string | RegExp): (methodPath: string) => boolean {
  if (pattern instanceof RegExp) return (mp) => pattern.test(mp);
  const m = /^(GET|POST|PATCH|DELETE|PUT)\s+(.*)$/i.exec(pattern.trim());
  const method = m ? m[1].toUpperCase() : '[A-Z]+';
  const path = (m ? m[2] : pattern.trim()).split(/(\*\*|\*)/).map((part) =>
    part === '**' ? '.*' : part === '*' ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('');
  const re = new RegExp(`^${method} ${path}$`);
  return (mp) => re.test(mp);
}

export async function startGraphEmulator(opts: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const now = opts.now ?? (() => new Date());
  const tls = generateSandboxTls();
  const state: EmulatorState = {
    tenants: new Map((opts.tenants ?? buildStory(now())).map((t) => [t.id.toLowerCase(), t])),
    outbox: [], revocations: [], tokens: [], requests: [],
  };
  const faults: Array<Rule<GraphFault>> = [];
  const latencies: Array<Rule<number | [number, number]>> = [];
  const jitter = seededRandom(7);
  let baseUrl = '';
  const identity = new IdentityPlatform(state, () => baseUrl, now);

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, graphError('InternalServerError', String((e as Error).message)));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const raw = await readBody(req);
    const method = (req.method ?? 'GET').toUpperCase();

    // ---- identity platform (authority) ----
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (oidc && method === 'GET') return send(res, 200, identity.openIdConfiguration(oidc[1]));
    const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (tok && method === 'POST') {
      const [status, body] = identity.token(decodeURIComponent(tok[1]), new URLSearchParams(raw.toString('utf8')));
      return send(res, status, body);
    }
    if (/^\/common\/discovery\/instance$/.test(url.pathname)) {
      return send(res, 200, { tenant_discovery_endpoint: `${baseUrl}/common/v2.0/.well-known/openid-configuration`, 'api-version': '1.1', metadata: [] });
    }

    // ---- Graph ----
    const vm = /^\/(v1\.0|beta)(\/.*)$/.exec(url.pathname);
    const path = vm ? safeDecode(vm[2]) : url.pathname;
    const methodPath = `${method} ${path}`;
    const log = { at: now().toISOString(), method, path: path + (url.search ? safeDecode(url.search) : ''), tokenTenantId: null as string | null, clientId: null as string | null, status: 0, body: undefined as unknown };
    state.requests.push(log);
    const reply = (status: number, body?: unknown, headers?: Record<string, string>) => { log.status = status; send(res, status, body, headers); };

    const delay = latencies.find((l) => l.match(methodPath))?.value;
    if (delay !== undefined) {
      const ms = Array.isArray(delay) ? delay[0] + jitter() * (delay[1] - delay[0]) : delay;
      await new Promise((r) => setTimeout(r, ms));
    }
    if (!vm) return reply(404, graphError('UnknownError', `No HTTP resource was found that matches the request URI '${url.pathname}'.`));

    let body: unknown;
    if (raw.length) {
      try { body = JSON.parse(raw.toString('utf8')); } catch { return reply(400, graphError('BadRequest', 'Unable to read JSON request payload.')); }
    }
    log.body = redact(body);

    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const claims = auth ? identity.verify(auth[1]) : undefined;
    if (!claims) return reply(401, graphError('InvalidAuthenticationToken', auth ? 'Access token validation failure. Invalid audience or signature.' : 'Access token is empty.'));
    log.tokenTenantId = claims.tid;
    log.clientId = claims.appid;
    const tenant = state.tenants.get(claims.tid);
    if (!tenant || !tenant.apps.has(claims.appid)) return reply(401, graphError('InvalidAuthenticationToken', 'Access token validation failure: unknown tenant or application.'));

    const route = routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) {
      const known = routes.some((r) => r.pattern.test(path));
      return known
        ? reply(405, graphError('Request_BadRequest', `Specified HTTP method is not allowed for the request target.`))
        : reply(400, graphError('BadRequest', `Resource not found for the segment '${path.split('/')[1] ?? ''}'.`));
    }

    const fault = faults.find((f) => f.left > 0 && (f.match(methodPath) || (f.versioned && f.match(`${method} /${vm[1]}${path}`))) && (!f.value.tenantId || f.value.tenantId.toLowerCase() === claims.tid));
    if (fault) {
      fault.left--;
      const f = fault.value;
      if (f.status === 403) return reply(403, graphError('Authorization_RequestDenied', `Insufficient privileges to complete the operation. Missing application permission: ${route.permissions.join(' or ')}.`));
      const headers: Record<string, string> = f.retryAfterSeconds !== undefined ? { 'Retry-After': String(f.retryAfterSeconds) } : {};
      return reply(f.status, graphError(f.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
        f.status === 429 ? 'Too many requests. Please retry after the interval in the Retry-After header.' : 'The service is temporarily unavailable.'), headers);
    }

    const roles = new Set(claims.roles);
    if (!route.permissions.some((p) => roles.has(p))) {
      return reply(403, graphError('Authorization_RequestDenied', `Insufficient privileges to complete the operation. Missing application permission: ${route.permissions.join(' or ')}.`));
    }

    let out: RouteReply;
    try {
      out = route.handle({
        method, path, version: vm[1], params: (route.pattern.exec(path) ?? []).slice(1), query: url.searchParams, body,
        tenant, state, now: now(), selfUrl: `${baseUrl}${url.pathname}`, baseUrl, roles,
      });
    } catch (e) {
      if (e instanceof GraphHttpError) return reply(e.status, graphError(e.code, e.message));
      throw e;
    }
    return reply(out.status, out.body, out.headers);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  baseUrl = `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;

  return {
    url: baseUrl,
    authorityHost: baseUrl,
    caPem: tls.caPem,
    state,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
    injectFault: (p, fault) => faults.unshift({ match: routeMatcher(p), value: fault, left: fault.times ?? Number.POSITIVE_INFINITY, versioned: p instanceof RegExp }),
    setLatency: (p, ms) => latencies.unshift({ match: routeMatcher(p), value: ms, left: Number.POSITIVE_INFINITY }),
    throttleTenant: (tenantId, retryAfterSeconds, times) =>
      faults.unshift({ match: () => true, value: { status: 429, retryAfterSeconds, times, tenantId }, left: times ?? Number.POSITIVE_INFINITY }),
    clearFaults: () => { faults.length = 0; latencies.length = 0; },
  };
}

export function graphError(code: string, message: string): Record<string, unknown> {
  return { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() } } };
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' }),
    'request-id': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** The request log keeps bodies for tests, never a password. */
function redact(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const b = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const p = b.passwordProfile as Record<string, unknown> | undefined;
  if (p && 'password' in p) p.password = '[redacted]';
  return b;
}
