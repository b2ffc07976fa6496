import restify, { type Request, type Response, type Next, type Server } from 'restify';
import type { Store } from './store/store';
import { isConnectionError } from './store/dialect';
import type { Logger } from './log';
import { bearerMatches } from './http/bearer';
import { incidentView } from './http/incident-view';
import { jsonBody, readJsonBody, MAX_JSON_BODY, type JsonBodyRequest } from './http/json-body';
import { IntakeService, UnknownTenantError, ForbiddenTenantError } from './intake/intake-service';
import { IntakeCredentials, SignatureReplayError, type CredentialCheck, type SignatureHeaders } from './intake/intake-credentials';
import { AlertValidationError } from './intake/normalize-alert';
import { parseIncidentId } from './domain/incident-id';

export const MAX_ALERT_BODY = MAX_JSON_BODY;

export interface FeedResponse { status: number; headers: Record<string, string>; body: string }

export interface ServerDeps {
  store: Store;
  intake: IntakeService;
  log: Logger;
  /** who may post alerts, for which customers (per-customer tokens and signatures) */
  intakeCredentials: IntakeCredentials;
  apiToken: string;
  /** the bot's /api/messages handler (from src/bot), absent when the bot is not mounted */
  messages?: (req: Request, res: Response) => Promise<void>;
  /** production: a Teams request without a bearer token is refused before its body is read */
  messagesNeedBearer?: boolean;
  /** why this replica takes no work (it runs other procedure versions or schema than the others), or undefined */
  refusing?: () => string | undefined;
  /** GET /feeds/:customer/blocklist.txt */
  feed?: (customerId: string, authorization: string | undefined) => Promise<FeedResponse>;
  /** GET /reports/:incident.md (operator token, or a signed link from the thread) */
  report?: (incidentId: string) => Promise<{ name: string; body: Buffer } | undefined>;
  reportLinks?: { verify(incidentId: string, exp: unknown, sig: unknown): boolean };
}

function sendError(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  res.status(status);
  res.json({ error: { code, message, ...extra } });
}

/**
 * The HTTP surface: Teams (/api/messages), alert intake, the operator API, the threat feed and the
 * health probes. Authentication happens before a body is read, so a refused request costs nothing
 * and stores nothing.
 */
export function createServer(deps: ServerDeps): Server {
  const server = restify.createServer({ name: 'teams-ir-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.queryParser({ mapParams: false }));

  const requireToken = (token: string) => (req: Request, res: Response, next: Next) => {
    if (!bearerMatches(req.header('authorization'), token)) {
      res.header('WWW-Authenticate', 'Bearer');
      sendError(res, 401, 'unauthorized', 'missing or wrong bearer token');
      return next(false);
    }
    return next();
  };

  // Authentication first: a bearer token is checked before the body is read; a signature's headers
  // (customer, freshness) before it is read and the signature itself over the bytes as received.
  /** A replica that takes no work answers 503 (the sender or the load balancer tries another). */
  const refused = (res: Response): boolean => {
    const refusal = deps.refusing?.();
    if (!refusal) return false;
    res.header('Retry-After', '5');
    sendError(res, 503, 'replica_refuses_work', `this replica takes no work: ${refusal}`);
    return true;
  };

  server.post('/api/alerts', async (req: Request, res: Response) => {
    if (refused(res)) return;
    const creds = deps.intakeCredentials;
    const header = (name: string) => req.header(name);
    const unauthorized = (message: string) => {
      res.header('WWW-Authenticate', 'Bearer');
      res.setHeader('connection', 'close');
      sendError(res, 401, 'unauthorized', message);
    };
    let check: CredentialCheck | undefined;
    let signed: SignatureHeaders | undefined;
    if (IntakeCredentials.isSigned(header)) {
      const parsed = creds.parseSignatureHeaders(header);
      if ('ok' in parsed) return unauthorized(parsed.ok ? 'unexpected' : parsed.message);
      signed = parsed;
    } else {
      check = creds.checkBearer(req.header('authorization'));
      if (!check.ok) return unauthorized(check.message);
    }
    const body = req as JsonBodyRequest;
    if (!(await readJsonBody(body, res, MAX_ALERT_BODY))) return;
    let spendSignature: (() => Promise<void>) | undefined;
    if (signed) {
      const verified = creds.verifySignature(signed, body.rawBody!);
      if (verified.ok) spendSignature = verified.spend;
      check = verified;
    }
    if (!check?.ok) return unauthorized(check?.message ?? 'not authenticated');
    try {
      const results = await deps.intake.receive(req.body, 'webhook', check.scope, body.rawText, { beforeStoring: spendSignature });
      res.status(202);
      if (results.length === 1) {
        res.json({ incidentId: results[0].incidentId, created: results[0].created, alertId: results[0].alertId });
      } else {
        res.json({ results: results.map((r) => ({ alertId: r.alertId, incidentId: r.incidentId, created: r.created })) });
      }
    } catch (e) {
      if (e instanceof SignatureReplayError) return unauthorized(e.message);
      if (e instanceof AlertValidationError) return sendError(res, 400, 'invalid_alert', e.message, { field: e.field });
      if (e instanceof ForbiddenTenantError) return sendError(res, 403, 'forbidden_tenant', e.message, { tenantId: e.tenantId });
      if (e instanceof UnknownTenantError) return sendError(res, 422, 'unknown_tenant', e.message, { tenantId: e.tenantId });
      if (isConnectionError(e)) {
        // Not stored (or not known to be): the sender keeps the alert and sends it again; a repeat is
        // recognised by its alert id, so it can never make a second incident.
        deps.log.warn({ err: (e as Error).message }, 'alert intake: the store is unreachable; answered 503');
        res.header('Retry-After', '5');
        return sendError(res, 503, 'store_unavailable', 'the store is unreachable; the alert was not accepted, send it again');
      }
      deps.log.error({ err: e }, 'alert intake failed');
      return sendError(res, 500, 'internal', 'the alert could not be stored; nothing was recorded, send it again');
    }
  });

  server.get('/api/incidents', requireToken(deps.apiToken), async (req: Request, res: Response) => {
    const q = req.query as Record<string, string | undefined>;
    const incidents = await deps.store.listIncidents({
      open: q.status === 'open' ? true : undefined,
      customerId: q.customer && /^[a-z0-9-]{1,63}$/.test(q.customer) ? q.customer : undefined,
      limit: Math.min(Number(q.limit) || 100, 500),
    });
    res.json({ value: await Promise.all(incidents.map((i) => incidentView(deps.store, i, { timeline: false }))) });
  });

  server.get('/api/incidents/:id', requireToken(deps.apiToken), async (req: Request, res: Response) => {
    const id = parseIncidentId(String(req.params.id ?? ''));
    const inc = id ? await deps.store.getIncident(id) : undefined;
    if (!inc) return sendError(res, 404, 'not_found', `no incident ${JSON.stringify(String(req.params.id).slice(0, 40))}`);
    res.json(await incidentView(deps.store, inc, { timeline: true }));
  });

  if (deps.report) {
    const report = deps.report;
    server.get('/reports/:file', async (req: Request, res: Response) => {
      const id = parseIncidentId(String(req.params.file ?? '').replace(/\.md$/, ''));
      const q = req.query as Record<string, unknown>;
      const signed = !!id && !!deps.reportLinks?.verify(id, q.exp, q.sig);
      if (!signed && !bearerMatches(req.header('authorization'), deps.apiToken)) {
        return sendError(res, 401, 'unauthorized', 'a signed report link or the operator bearer token is needed');
      }
      const r = id ? await report(id) : undefined;
      if (!r) return sendError(res, 404, 'not_found', 'no report for that incident');
      res.setHeader('content-type', 'text/markdown; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="${r.name}"`);
      res.sendRaw(200, r.body);
    });
  }

  if (deps.feed) {
    const feed = deps.feed;
    server.get('/feeds/:customer/blocklist.txt', async (req: Request, res: Response) => {
      const customer = String(req.params.customer ?? '');
      const r = await feed(customer, req.header('authorization'));
      for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
      res.sendRaw(r.status, r.body);
    });
  }

  if (deps.messages) {
    const messages = deps.messages;
    // botbuilder reads req.body: the same JSON-only reader, in memory, with the byte limit. In
    // production a request without a bearer token cannot be from the Bot Framework: refused unread.
    const needBearer = (req: Request, res: Response, next: Next) => {
      if (deps.messagesNeedBearer && !/^Bearer\s+\S+/i.test(req.header('authorization') ?? '')) {
        res.setHeader('connection', 'close');
        sendError(res, 401, 'unauthorized', 'a Bot Framework bearer token is needed');
        return next(false);
      }
      return next();
    };
    server.post('/api/messages', needBearer, jsonBody(MAX_JSON_BODY), async (req: Request, res: Response) => {
      // botbuilder answers 500 to a body that is no activity at all; that is the sender's error
      const activity = req.body as { type?: unknown } | null;
      if (typeof activity !== 'object' || activity === null || Array.isArray(activity) || typeof activity.type !== 'string' || activity.type === '') {
        return sendError(res, 400, 'invalid_activity', 'the body is not a Bot Framework activity (an object with a "type")');
      }
      if (refused(res)) return;
      // A click or command the store cannot record now is refused with 503 (Teams sends it again)
      // rather than taken and lost; a store lost during the turn is answered the same way (teams-app).
      try {
        await deps.store.ping();
      } catch (e) {
        deps.log.warn({ err: (e as Error).message, activityType: activity.type }, 'bot message: the store is unreachable; answered 503');
        res.header('Retry-After', '5');
        return sendError(res, 503, 'store_unavailable', 'the store is unreachable; nothing was done, send it again');
      }
      await messages(req, res);
    });
  }

  server.get('/healthz', async (_req: Request, res: Response) => { res.json({ status: 'ok' }); });
  server.get('/readyz', async (_req: Request, res: Response) => {
    const refusal = deps.refusing?.();
    if (refusal) {
      res.status(503);
      res.json({ status: 'not ready', store: deps.store.dialect, error: `this replica takes no work: ${refusal}` });
      return;
    }
    try {
      await deps.store.ping();
      res.json({ status: 'ready', store: deps.store.dialect });
    } catch (e) {
      // The probe is unauthenticated: the store's own error (host names, user) goes to the log only.
      deps.log.warn({ err: e }, 'not ready: the store does not answer');
      res.status(503);
      res.json({ status: 'not ready', store: deps.store.dialect, error: 'the store does not answer' });
    }
  });

  server.on('restifyError', (req: Request, res: Response, err: Error & { statusCode?: number }, cb: () => void) => {
    // Keep restify's own errors (405, 404 on unknown routes) in our error shape.
    (err as unknown as { toJSON: () => unknown }).toJSON = () => ({ error: { code: err.name, message: err.message } });
    return cb();
  });
  return server;
}
