import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { isSecretKey, redactionOptions, REDACTED, scrubText, withRedactedChildren } from '../src/log-redaction';
import { log } from '../src/log';

/** A logger with the process logger's redaction, writing its lines where the test can read them. */
function capture() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const logger = withRedactedChildren(pino({ level: 'info', ...redactionOptions }, sink));
  return { logger, lines, text: () => lines.join('\n'), json: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('log redaction', () => {
  const SECRET = 'S3cr3t-Value-9f8e7d';

  it('redacts child bindings, and a grandchild keeps its parent\'s bindings', () => {
    const c = capture();
    const child = c.logger.child({ customer: 'contoso', nas: { sharedSecret: SECRET } });
    child.child({ incidentId: 'IR-1', Token: SECRET }).info('bound');
    assert.doesNotMatch(c.text(), new RegExp(SECRET));
    const line = c.json()[0];
    assert.equal(line.customer, 'contoso');
    assert.equal(line.nas.sharedSecret, REDACTED);
    assert.equal(line.incidentId, 'IR-1');
    assert.equal(line.Token, REDACTED);
  });

  it('the process logger carries the same redaction', () => {
    assert.equal(Object.prototype.hasOwnProperty.call(log, 'child'), true, 'log.child is the redacting one');
    // the child writes to the process's stdout; its serialised bindings are what every line carries
    const probe = log.child({ apiKey: SECRET, nested: { Authorization: `Bearer ${SECRET}` } });
    assert.deepEqual(probe.bindings(), { apiKey: REDACTED, nested: { Authorization: REDACTED } });
  });

  it('redacts a nested Authorization header, whatever its case, and keeps the rest of the line', () => {
    const c = capture();
    c.logger.info({ req: { method: 'POST', url: '/api/alerts', headers: { Authorization: 'Bearer x', 'content-type': 'application/json', Cookie: `session=${SECRET}` } } }, 'request');
    const line = c.json()[0];
    assert.equal(line.req.headers.Authorization, REDACTED);
    assert.equal(line.req.headers.Cookie, REDACTED);
    assert.equal(line.req.headers['content-type'], 'application/json');
    assert.equal(line.req.url, '/api/alerts');
    assert.equal(line.msg, 'request');
    assert.doesNotMatch(c.text(), /Bearer x|S3cr3t/);
  });

  it('redacts secret-named keys at any depth and in arrays, case-insensitively', () => {
    const c = capture();
    const names = ['password', 'Password', 'PASSWORD', 'secret', 'clientSecret', 'client_secret', 'token', 'accessToken', 'authorization',
      'cookie', 'unicodePwd', 'sharedSecret', 'apiKey', 'API-KEY', 'privateKey', 'passwordProfile', 'pass', 'auth'];
    const nested = Object.fromEntries(names.map((n) => [n, SECRET]));
    c.logger.warn({ a: { b: [{ c: { d: nested } }, nested] }, top: nested, count: 3, passwordRef: 'env:CONTOSO_FGT_PASSWORD' }, 'deep');
    const line = c.json()[0];
    for (const n of names) {
      assert.equal(line.a.b[0].c.d[n], REDACTED, `a.b[0].c.d.${n}`);
      assert.equal(line.a.b[1][n], REDACTED, `a.b[1].${n}`);
      assert.equal(line.top[n], REDACTED, `top.${n}`);
    }
    assert.equal(line.count, 3);
    assert.equal(line.passwordRef, 'env:CONTOSO_FGT_PASSWORD', 'a reference names where the secret is, and stays');
    assert.doesNotMatch(c.text(), new RegExp(SECRET));
  });

  it('redacts what an error message, its stack, its cause and its fields carry; the error keeps its type', () => {
    const c = capture();
    class ConnectorFailure extends Error {
      constructor(message: string, readonly status: number, readonly detail: Record<string, unknown>, options?: ErrorOptions) { super(message, options); this.name = 'ConnectorFailure'; }
    }
    const cause = new Error(`ssh login failed for admin with password=${SECRET}`);
    const err = new ConnectorFailure(
      `GET https://graph.example/v1?client_secret=${SECRET}&sig=${SECRET}x failed; Authorization: Bearer eyJ${SECRET}`,
      401,
      { headers: { 'X-Api-Key': SECRET }, upn: 'adele.vance@contoso.com' },
      { cause },
    );
    c.logger.error({ err, incidentId: 'IR-20261127-7K3Q' }, 'connector failed');
    c.logger.error(err);
    c.logger.error(new Error(`connect to postgres://irbot:${SECRET}@db.internal:5432/ir refused`));
    const [first, second, third] = c.json();
    assert.equal(first.err.type, 'ConnectorFailure');
    assert.equal(first.err.status, 401);
    assert.equal(first.err.detail.headers['X-Api-Key'], REDACTED);
    assert.equal(first.err.detail.upn, 'adele.vance@contoso.com');
    assert.match(first.err.message, /client_secret=\[redacted\]&sig=\[redacted\] failed/);
    assert.match(first.err.message, /Bearer \[redacted\]/);
    assert.match(first.err.message, /password=\[redacted\]/, 'the cause\'s message is redacted too');
    assert.match(first.err.stack, /ConnectorFailure/);
    assert.equal(first.incidentId, 'IR-20261127-7K3Q');
    assert.match(second.msg, /client_secret=\[redacted\]/, 'an error logged alone: its message becomes msg, redacted');
    assert.match(third.msg, /postgres:\/\/irbot:\[redacted\]@db\.internal/);
    assert.doesNotMatch(c.text(), new RegExp(SECRET));
  });

  it('redacts the message text and format arguments', () => {
    const c = capture();
    c.logger.info(`retrying with password=${SECRET} and token: ${SECRET}`);
    c.logger.info('url %s', `https://x.example/cb?code=${SECRET}&state=ok`);
    assert.doesNotMatch(c.text(), new RegExp(SECRET));
    assert.match(c.json()[1].msg, /code=\[redacted\]&state=ok/);
  });

  it('stays bounded on cyclic, deep and huge values, and logs Buffers by size only', () => {
    const c = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { password: SECRET };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    c.logger.info({ cyclic, deep, big: Array.from({ length: 10_000 }, (_, i) => ({ i, token: SECRET })), raw: Buffer.from(SECRET) }, 'bounded');
    const line = c.json()[0];
    assert.equal(line.cyclic.self, '[circular]');
    assert.equal(line.big.length, 101);
    assert.equal(line.big[100], '[9900 more]');
    assert.equal(line.raw, `[${SECRET.length} bytes]`);
    assert.doesNotMatch(c.text(), new RegExp(SECRET));
  });

  it('names secret keys and text precisely enough not to hide ordinary fields', () => {
    for (const k of ['Password', 'CLIENTSECRET', 'x-api-key', 'set-cookie', 'unicodePwd', 'refresh_token', 'radiusSharedSecret']) assert.equal(isSecretKey(k), true, k);
    for (const k of ['author', 'upn', 'keyboard', 'code', 'status', 'message', 'incidentId']) assert.equal(isSecretKey(k), false, k);
    assert.equal(scrubText('exit code: 1, signal: SIGTERM, author: Alex'), 'exit code: 1, signal: SIGTERM, author: Alex');
  });
});
