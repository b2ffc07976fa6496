import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { signIntakeBody } from '../../src/intake/intake-credentials';
import { MAX_JSON_BODY } from '../../src/http/json-body';
import { jsonFiller } from './raw-http';

/**
 * A storm of malformed alerts, for the test (every one refused, nothing stored, the good ones
 * unharmed) and bench/malformed-storm.ts (the good ones' answer time alone and amid the storm).
 * Each kind says what the right answer is: 400 for a body that is not an alert (with the field
 * when one is wrong), 401 for a sender that is not authenticated, 403 for a customer's credential
 * used for another customer's tenant, 413 for a body over the limit, 415 for a body that is not JSON.
 */
export interface IntakeCredentialsForStorm {
  contosoToken: string;
  fabrikamToken: string;
  contosoHmac: string;
}

export interface StormRequest {
  kind: string;
  /** the answer a malformed request must get (undefined for a good alert: 202) */
  expect?: { status: 400 | 401 | 403 | 413 | 415; code: string; field?: string };
  headers: Record<string, string | number>;
  chunks: () => Iterable<Buffer | string>;
  /**
   * The body is over the limit: after `chunks` the sender waits for the answer with the body
   * unfinished, as a client that stops when refused. (Bytes still in flight when the server closes
   * would make it reset the connection, and the answer could be lost on the way: that is TCP's,
   * not what is tested.)
   */
  unfinished?: boolean;
}

const FIXTURE = readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8');
type Alert = Record<string, unknown> & { evidence: Array<{ userAccount?: Record<string, unknown> }> };
const fixture = (): Alert => JSON.parse(FIXTURE) as Alert;

/** A valid Contoso alert for an account of its own and a detector of its own (no storm grouping). */
export function goodAlert(id: string): Alert {
  const a = fixture();
  a.id = id;
  a.detectorId = `detector-${id}`;
  a.evidence[0].userAccount = { ...a.evidence[0].userAccount, accountName: `u${createHash('sha256').update(id).digest('hex').slice(0, 12)}`, userPrincipalName: `${id}@contoso.com`, azureAdUserId: null, userSid: null };
  return a;
}

const json = (body: unknown) => () => [JSON.stringify(body)];
const withUpn = (id: string, upn: string) => {
  const a = goodAlert(id);
  a.evidence[0].userAccount!.userPrincipalName = upn;
  return a;
};

/** The good alert's request: Contoso's bearer token. */
export function goodRequest(id: string, c: IntakeCredentialsForStorm): StormRequest {
  return { kind: 'good', headers: { 'content-type': 'application/json', authorization: `Bearer ${c.contosoToken}` }, chunks: json(goodAlert(id)) };
}

/** The kinds of malformed request, in turn; `id` (a `bad-` alert id) is whatever id the body carries. */
export function malformedRequest(i: number, c: IntakeCredentialsForStorm): StormRequest {
  const id = `bad-${i}`;
  const contoso = { 'content-type': 'application/json', authorization: `Bearer ${c.contosoToken}` };
  const kinds: Array<() => StormRequest> = [
    () => ({ kind: 'bad JSON', expect: { status: 400, code: 'invalid_json' }, headers: contoso, chunks: () => [`{"id": "${id}", "tenantId": `] }),
    () => ({ kind: 'not UTF-8', expect: { status: 400, code: 'invalid_json' }, headers: contoso, chunks: () => [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])] }),
    () => ({ kind: 'not an object', expect: { status: 400, code: 'invalid_alert', field: '(body)' }, headers: contoso, chunks: json([id, 1, null]) }),
    () => ({ kind: 'id of the wrong type', expect: { status: 400, code: 'invalid_alert', field: 'id' }, headers: contoso, chunks: json({ ...goodAlert(id), id: 42 }) }),
    () => ({ kind: 'evidence of the wrong type', expect: { status: 400, code: 'invalid_alert', field: 'evidence' }, headers: contoso, chunks: json({ ...goodAlert(id), evidence: 'userAccount' }) }),
    () => ({ kind: 'severity an operator object', expect: { status: 400, code: 'invalid_alert', field: 'severity' }, headers: contoso, chunks: json({ ...goodAlert(id), severity: { $gt: '' } }) }),
    () => ({ kind: 'hostile id (markup)', expect: { status: 400, code: 'invalid_alert', field: 'id' }, headers: contoso, chunks: json({ ...goodAlert(id), id: `<script>alert("${id}")</script>` }) }),
    () => ({ kind: 'hostile id (path, 10,000 characters)', expect: { status: 400, code: 'invalid_alert', field: 'id' }, headers: contoso, chunks: json({ ...goodAlert(id), id: `../../etc/passwd/${'a'.repeat(10_000)}` }) }),
    () => ({ kind: 'hostile tenant (SQL)', expect: { status: 400, code: 'invalid_alert', field: 'tenantId' }, headers: contoso, chunks: json({ ...goodAlert(id), tenantId: "'; drop table alerts; --" }) }),
    () => ({ kind: 'hostile UPN (NUL, bidi override)', expect: { status: 400, code: 'invalid_alert', field: 'evidence' }, headers: contoso, chunks: json(withUpn(id, `adm\u0000in\u202e@contoso.com`)) }),
    // a lone surrogate, as JSON text (JSON.stringify would escape it the same way)
    () => ({ kind: 'hostile UPN (lone surrogate)', expect: { status: 400, code: 'invalid_alert', field: 'evidence' }, headers: contoso, chunks: () => [JSON.stringify(withUpn(id, 'PLACEHOLDER@contoso.com')).replace('PLACEHOLDER', 'ad\\ud800min')] }),
    () => ({ kind: 'hostile UPN (shell, 5,000 characters)', expect: { status: 400, code: 'invalid_alert', field: 'evidence' }, headers: contoso, chunks: json(withUpn(id, `$(rm -rf /)${'a'.repeat(5000)}@contoso.com`)) }),
    () => ({ kind: 'a batch with one bad alert', expect: { status: 400, code: 'invalid_alert', field: 'value.1.id' }, headers: contoso, chunks: json({ value: [goodAlert(`${id}-a`), { ...goodAlert(`${id}-b`), id: 7 }] }) }),
    // refused on its Content-Length alone, before a byte of it is sent
    () => ({ kind: 'oversized (declared)', expect: { status: 413, code: 'payload_too_large' }, headers: { ...contoso, 'content-length': 2 * MAX_JSON_BODY }, chunks: () => [], unfinished: true }),
    () => ({ kind: 'oversized (chunked)', expect: { status: 413, code: 'payload_too_large' }, headers: { ...contoso, 'transfer-encoding': 'chunked' }, chunks: () => jsonFiller(MAX_JSON_BODY + 1024), unfinished: true }),
    () => ({ kind: 'not JSON', expect: { status: 415, code: 'unsupported_media_type' }, headers: { ...contoso, 'content-type': 'application/x-www-form-urlencoded' }, chunks: () => [`id=${id}`] }),
    () => ({ kind: 'no token', expect: { status: 401, code: 'unauthorized' }, headers: { 'content-type': 'application/json' }, chunks: json(goodAlert(id)) }),
    () => ({ kind: 'wrong token', expect: { status: 401, code: 'unauthorized' }, headers: { 'content-type': 'application/json', authorization: `Bearer ${c.contosoToken.slice(1)}x` }, chunks: json(goodAlert(id)) }),
    () => ({ kind: "another customer's token", expect: { status: 403, code: 'forbidden_tenant' }, headers: { 'content-type': 'application/json', authorization: `Bearer ${c.fabrikamToken}` }, chunks: json(goodAlert(id)) }),
    () => {
      const body = JSON.stringify(goodAlert(id));
      return { kind: 'signed with a wrong key', expect: { status: 401, code: 'unauthorized' }, headers: { 'content-type': 'application/json', ...signIntakeBody('contoso', `${c.contosoHmac}x`, body) }, chunks: () => [body] };
    },
    () => {
      // the customer's own signature over a body that is no alert: refused, and the signature not spent
      const body = JSON.stringify({ ...goodAlert(id), tenantId: 'not-a-guid' });
      return { kind: 'signed, not an alert', expect: { status: 400, code: 'invalid_alert', field: 'tenantId' }, headers: { 'content-type': 'application/json', ...signIntakeBody('contoso', c.contosoHmac, body) }, chunks: () => [body] };
    },
  ];
  return kinds[i % kinds.length]();
}

export const MALFORMED_KINDS = 21;

export interface StormAnswer { status: number; body: string; ms: number }

/** Sends one request; resolves with its answer and the time to it (status 0 when none came). */
export function send(base: string, r: StormRequest, timeoutMs = 60_000): Promise<StormAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number, body: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ status, body, ms: performance.now() - started });
    };
    // A connection of its own: a kept-alive one that the server closes as it is reused would be
    // reset, and that race is the client's, not what is measured.
    const req = http.request(`${base}/api/alerts`, { method: 'POST', headers: r.headers, agent: false });
    const timer = setTimeout(() => { finish(0, 'no answer'); req.destroy(); }, timeoutMs);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => { finish(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8')); if (r.unfinished) req.destroy(); });
      res.on('error', () => finish(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8')));
    });
    req.on('error', (e) => finish(0, e.message));
    const it = r.chunks()[Symbol.iterator]();
    const pump = () => {
      while (!done && !req.destroyed) {
        const n = it.next();
        if (n.done) {
          if (r.unfinished) req.flushHeaders(); else req.end();
          return;
        }
        if (!req.write(n.value)) { req.once('drain', pump); return; }
      }
    };
    pump();
  });
}
