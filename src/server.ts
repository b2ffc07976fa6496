import restify, { type Request, type Response, type Next, type Server } from 'restify';
import type { Store } from './store/store';
import type { Logger } from './log';
import { bearerMatches } from './http/bearer';
import { incidentView } from './http/incident-view';
import { IntakeService, UnknownTenantError } from './intake/intake-service';
import { AlertValidationError } from './intake/normalize-alert';
import { parseIncidentId } from './intake/incident-id';

export const MAX_ALERT_BODY = 1024 * 1024;

export interface FeedResponse { status: number; headers: Record<string, string>; body: string }

export interface ServerDeps {
  store: Store;
  intake: IntakeService;
  log: Logger;
  alertWebhookToken: string;
  apiToken: string;
  /** the bot's /api/messages handler (from src/bot), absent when the bot is not mounted */
  messages?: (req: Request, res: Response) => Promise<void>;
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

  const readJson = (req: Request, res: Response, next: Next) => {
    const type = req.header('content-type') ?? '';
    if (!/^application\/(.+\+)?json\b/i.test(type)) {
      sendError(res, 415, 'unsupported_media_type', 'send the alert as application/json');
      return next(false);
    }
    const declared = Number(req.header('content-length') ?? 0);
    if (declared > MAX_ALERT_BODY) {
      sendError(res, 413, 'payload_too_large', `the body is over ${MAX_ALERT_BODY} bytes`);
      return next(false);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_ALERT_BODY) {
        done = true;
        sendError(res, 413, 'payload_too_large', `the body is over ${MAX_ALERT_BODY} bytes`);
        req.destroy();
        return next(false);
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        (req as Request & { rawText?: string }).rawText = text;
        req.body = JSON.parse(text);
      } catch (e) {
        sendError(res, 400, 'invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
        return next(false);
      }
      return next();
    });
    req.on('error', () => { if (!done) { done = true; next(false); } });
  };

  server.post('/api/alerts', requireToken(deps.alertWebhookToken), readJson, async (req: Request, res: Response) => {
    try {
      const results = await deps.intake.receive(req.body, 'webhook', (req as Request & { rawText?: string }).rawText);
      res.status(202);
      if (results.length === 1) {
        res.json({ incidentId: results[0].incidentId, created: results[0].created, alertId: results[0].alertId });
      } else {
        res.json({ results: results.map((r) => ({ alertId: r.alertId, incidentId: r.incidentId, created: r.created })) });
      }
    } catch (e) {
      if (e instanceof AlertValidationError) return sendError(res, 400, 'invalid_alert', e.message, { field: e.field });
      if (e instanceof UnknownTenantError) return sendError(res, 422, 'unknown_tenant', e.message, { tenantId: e.tenantId });
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
    // botbuilder reads req.body: parse JSON for this route only.
    server.post('/api/messages', restify.plugins.bodyParser({ maxBodySize: 4 * 1024 * 1024, mapParams: false }), async (req: Request, res: Response) => {
      await messages(req, res);
    });
  }

  server.get('/healthz', async (_req: Request, res: Response) => { res.json({ status: 'ok' }); });
  server.get('/readyz', async (_req: Request, res: Response) => {
    try {
      await deps.store.ping();
      res.json({ status: 'ready', store: deps.store.dialect });
    } catch (e) {
      res.status(503);
      res.json({ status: 'not ready', store: deps.store.dialect, error: (e as Error).message });
    }
  });

  server.on('restifyError', (req: Request, res: Response, err: Error & { statusCode?: number }, cb: () => void) => {
    // Keep restify's own errors (405, 404 on unknown routes) in our error shape.
    (err as unknown as { toJSON: () => unknown }).toJSON = () => ({ error: { code: err.name, message: err.message } });
    return cb();
  });
  return server;
}
