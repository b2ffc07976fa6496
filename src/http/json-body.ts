import getRawBody from 'raw-body';
import type { Next, Request, Response } from 'restify';

/**
 * The one body reader of the HTTP edge. Every endpoint that takes a body takes JSON only, read into
 * memory with a byte limit that is enforced while reading: nothing a client sends ever reaches the
 * disk (restify's bodyParser saved multipart parts to the temp folder before any authentication).
 *   - a content type other than JSON, a charset other than UTF-8 or any Content-Encoding: 415,
 *     answered before a byte of the body is read;
 *   - a declared Content-Length over the limit: 413, before reading; a chunked body that grows past
 *     the limit: 413 as soon as it does;
 *   - bytes that are not UTF-8, or text that is not JSON: 400.
 * A refused request's connection is closed, so the rest of an oversized upload is never read.
 */
export const MAX_JSON_BODY = 1024 * 1024;

/** The bytes exactly as received (an HMAC signature covers these) and their parsed JSON. */
export interface JsonBodyRequest extends Request {
  rawBody?: Buffer;
  rawText?: string;
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json$/i;

export interface BodyRefusal { status: 400 | 413 | 415; code: string; message: string }

/** Checks the headers alone; undefined when the body may be read. */
export function refuseByHeaders(req: Pick<Request, 'header'>, limit = MAX_JSON_BODY): BodyRefusal | undefined {
  const [type, ...params] = (req.header('content-type') ?? '').split(';').map((p) => p.trim());
  if (!JSON_TYPE.test(type)) {
    return { status: 415, code: 'unsupported_media_type', message: 'send the body as application/json' };
  }
  const charset = params.map((p) => /^charset\s*=\s*"?([^";]*)"?$/i.exec(p)?.[1]).find((c) => c !== undefined);
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return { status: 415, code: 'unsupported_media_type', message: 'the body must be UTF-8 JSON' };
  }
  const encoding = (req.header('content-encoding') ?? '').trim();
  if (encoding !== '' && encoding.toLowerCase() !== 'identity') {
    return { status: 415, code: 'unsupported_media_type', message: 'compressed bodies are not accepted (no Content-Encoding)' };
  }
  const declared = req.header('content-length');
  if (declared !== undefined && Number(declared) > limit) return tooLarge(limit);
  return undefined;
}

const tooLarge = (limit: number): BodyRefusal => ({ status: 413, code: 'payload_too_large', message: `the body is over ${limit} bytes` });

function refuse(res: Response, r: BodyRefusal): void {
  // The client may still be sending: close the connection rather than read (or wait for) the rest.
  res.setHeader('connection', 'close');
  res.status(r.status);
  res.json({ error: { code: r.code, message: r.message } });
}

/**
 * Reads the body as UTF-8 JSON into req.body (and req.rawBody / req.rawText), or answers the
 * refusal. Resolves once the request may go on; `false` means a response has been sent.
 */
export async function readJsonBody(req: JsonBodyRequest, res: Response, limit = MAX_JSON_BODY): Promise<boolean> {
  const early = refuseByHeaders(req, limit);
  if (early) {
    refuse(res, early);
    return false;
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(req, { limit, length: req.header('content-length') ?? undefined });
  } catch (e) {
    const type = (e as { type?: string }).type;
    if (type === 'entity.too.large') refuse(res, tooLarge(limit));
    else if (type === 'request.size.invalid') refuse(res, { status: 400, code: 'invalid_body', message: 'the body is shorter or longer than its Content-Length' });
    // aborted by the client: nobody is left to answer
    else if (!res.headersSent && !req.destroyed) refuse(res, { status: 400, code: 'invalid_body', message: 'the body could not be read' });
    return false;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw);
  } catch {
    refuse(res, { status: 400, code: 'invalid_json', message: 'the body is not valid UTF-8' });
    return false;
  }
  try {
    req.body = JSON.parse(text);
  } catch (e) {
    refuse(res, { status: 400, code: 'invalid_json', message: `the body is not valid JSON: ${(e as Error).message.slice(0, 200)}` });
    return false;
  }
  req.rawBody = raw;
  req.rawText = text;
  return true;
}

/** readJsonBody as restify middleware. */
export function jsonBody(limit = MAX_JSON_BODY) {
  return (req: Request, res: Response, next: Next): void => {
    readJsonBody(req as JsonBodyRequest, res, limit).then((ok) => next(ok ? undefined : false), () => next(false));
  };
}
