import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startProductionApp } from '../support/production-app';
import { jsonFiller, listTree, multipartParts, sendStreaming } from '../support/raw-http';
import { MAX_JSON_BODY } from '../../src/http/json-body';

/**
 * Issue 9, item 2: restify's bodyParser saved multipart parts to the temp folder before the Bot
 * Framework token was checked. Now every body is JSON, read in memory with a byte limit.
 * The app runs with TMPDIR pointing at an empty folder of its own, which must stay empty.
 */
describe('HTTP edge: bodies are JSON only, limited while read, never written to disk (production mode)', function () {
  this.timeout(60_000);
  let root: string;
  let tmp: string;
  const savedTmp = process.env.TMPDIR;
  let app: Awaited<ReturnType<typeof startProductionApp>>;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'irbot-body-'));
    tmp = path.join(root, 'tmp');
    await mkdir(tmp);
    app = await startProductionApp({ parentDir: root });
    // from here on anything that writes to "the temp folder" writes into `tmp`
    process.env.TMPDIR = tmp;
  });
  after(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = savedTmp;
    await app?.dispose();
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(listTree(tmp), [], 'nothing was written to the temp folder'));

  const boundary = 'irbotboundary7MA4YWxkTrZu0gW';
  const multipart = (headers: Record<string, string> = {}) => sendStreaming(`${app.base}/api/messages`, {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers },
    chunks: () => multipartParts(boundary, 3, 20 * 1024 * 1024),
  });

  it('the reproduction: three 20 MB multipart parts to /api/messages get 415 (or 401 without a token) and leave nothing in the temp folder', async () => {
    // with a (forged) bearer token the request reaches the body reader, which refuses the type unread
    const r = await multipart({ authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.' });
    assert.equal(r.status, 415);
    assert.equal(JSON.parse(r.body).error.code, 'unsupported_media_type');
    // without one it is refused before that
    assert.equal((await multipart()).status, 401);
  });

  it('a chunked JSON body past the limit gets 413 on /api/alerts (authenticated) and /api/messages', async () => {
    const chunked = (url: string, authorization: string) => sendStreaming(url, {
      headers: { 'content-type': 'application/json', authorization, 'transfer-encoding': 'chunked' },
      chunks: () => jsonFiller(8 * MAX_JSON_BODY),
    });
    const alerts = await chunked(`${app.base}/api/alerts`, `Bearer ${app.secrets.contosoToken}`);
    assert.equal(alerts.status, 413);
    assert.equal(JSON.parse(alerts.body).error.code, 'payload_too_large');
    assert.equal((await chunked(`${app.base}/api/messages`, 'Bearer eyJhbGciOiJub25lIn0.e30.')).status, 413);
    assert.deepEqual(await app.store.listIncidents(), []);
  });

  it('a declared Content-Length past the limit gets 413 before the body is read', async () => {
    const r = await sendStreaming(`${app.base}/api/alerts`, {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${app.secrets.contosoToken}`, 'content-length': 40 * 1024 * 1024 },
      chunks: () => jsonFiller(40 * 1024 * 1024 - 8),
    });
    assert.equal(r.status, 413);
  });

  it('urlencoded, text, compressed and non-UTF-8 bodies get 415; the endpoints still work afterwards', async () => {
    for (const headers of <Array<Record<string, string>>>[
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      { 'content-type': 'application/json; charset=latin1' },
    ]) {
      const r = await fetch(`${app.base}/api/alerts`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${app.secrets.contosoToken}` }, body: '{"a":1}' });
      assert.equal(r.status, 415, JSON.stringify(headers));
    }
    assert.equal((await fetch(`${app.base}/healthz`)).status, 200);
    assert.deepEqual(await app.store.listIncidents(), []);
  });
});
