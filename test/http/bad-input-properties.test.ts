import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { startProductionApp } from '../support/production-app';
import { startSandboxApp } from '../support/sandbox-app';
import { listTree, sendStreaming } from '../support/raw-http';
import { CONTOSO, FABRIKAM } from '../../src/sandbox/contoso';
import { signIntakeBody } from '../../src/intake/intake-credentials';
import { MAX_JSON_BODY } from '../../src/http/json-body';
import type { Store } from '../../src/store/store';

/**
 * Issue 9, "Bad input": random bodies, content types, encodings, sizes and credentials at the HTTP
 * edge of the real app (production and sandbox mode) never produce a 5xx, never write to the temp
 * folder (the app runs with TMPDIR pointing at an empty folder of its own), and never change
 * another customer's data (Fabrikam's incidents and alerts, posted with Fabrikam's credential
 * before, stay exactly as they were; nothing here holds a Fabrikam credential).
 */
describe('HTTP edge: bad input never gives a 5xx, never touches the disk, never changes another customer (fast-check)', function () {
  this.timeout(90_000);
  const savedTmp = process.env.TMPDIR;
  let root: string;
  let tmp: string;
  let prod: Awaited<ReturnType<typeof startProductionApp>>;
  let sandbox: Awaited<ReturnType<typeof startSandboxApp>>;
  let fabrikamBefore: { prod: string; sandbox: string };

  const sample = JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown>;

  /** What intake could change for a customer: its incidents and every alert on them. */
  const customerData = async (store: Store, customerId: string) => {
    const incidents = await store.listIncidents({ customerId, limit: 1000 });
    const alerts = await Promise.all(incidents.map(async (i) => (await store.listAlerts(i.id)).map((a) => [a.customerId, a.id, a.raw])));
    return JSON.stringify({ ids: incidents.map((i) => [i.id, i.customerId, i.subjectUpn]), alerts });
  };

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'irbot-props-'));
    tmp = path.join(root, 'tmp');
    await mkdir(tmp);
    prod = await startProductionApp({ parentDir: root });
    sandbox = await startSandboxApp({ playground: false, env: { IR_MODE: 'sandbox', LOG_LEVEL: 'silent' } });
    // Fabrikam's real alert, in each app, with Fabrikam's own credential
    const fabrikamAlert = JSON.stringify({ ...sample, id: 'da-fabrikam-real', tenantId: FABRIKAM.tenantId });
    for (const [base, token] of [[prod.base, prod.secrets.fabrikamToken], [`http://127.0.0.1:${sandbox.port}`, 'sandbox-token']]) {
      const r = await fetch(`${base}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: fabrikamAlert });
      assert.equal(r.status, 202, await r.text());
    }
    fabrikamBefore = { prod: await customerData(prod.store, FABRIKAM.customerId), sandbox: await customerData(sandbox.store, FABRIKAM.customerId) };
    process.env.TMPDIR = tmp;
  });
  after(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = savedTmp;
    await prod?.dispose();
    await sandbox?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  // --- generators --------------------------------------------------------------------------
  const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
  const contentType = fc.oneof(
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-16', 'application/vnd.x+json',
      'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/xml'),
    printable(40),
  );
  const contentEncoding = fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'br');
  /** an alert with any of its fields replaced: tenants of both customers and none, odd ids and text */
  const alertLike = fc.record({
    tenantId: fc.constantFrom(CONTOSO.tenantId, FABRIKAM.tenantId, '11111111-2222-4333-8444-555555555555', 'not-a-guid', ''),
    id: fc.oneof(fc.constant('da-fabrikam-real'), printable(30), fc.string({ unit: 'grapheme', maxLength: 20 })),
    title: fc.string({ unit: 'binary', maxLength: 50 }),
    severity: fc.constantFrom('high', 'low', 'bogus', 7),
    drop: fc.subarray(['evidence', 'createdDateTime', 'title', 'tenantId']),
    batch: fc.boolean(),
  }).map(({ drop, batch, ...f }) => {
    const a: Record<string, unknown> = { ...sample, ...f };
    for (const k of drop) delete a[k];
    return JSON.stringify(batch ? { value: [a, { ...a, id: `${String(a.id)}-2` }] } : a);
  });
  /** bytes that print as their size and first characters when fast-check reports a counterexample */
  const bytes = (b: Buffer) => Object.assign(b, { [fc.toStringMethod]: () => `<${b.length} bytes: ${JSON.stringify(b.subarray(0, 120).toString('latin1'))}>` });
  const body = fc.oneof(
    { weight: 3, arbitrary: alertLike.map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf16le')) },
    // around and past the limit
    { weight: 1, arbitrary: fc.constantFrom(MAX_JSON_BODY - 16, MAX_JSON_BODY + 1, 3 * MAX_JSON_BODY).map((n) => Buffer.from(`{"x":"${'A'.repeat(n)}"}`)) },
  ).map(bytes);
  const chunked = fc.boolean();

  const send = (url: string, b: Buffer, headers: Record<string, string | undefined>, isChunked: boolean) => {
    const h: Record<string, string | number> = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
    if (isChunked) h['transfer-encoding'] = 'chunked'; else h['content-length'] = b.length;
    return sendStreaming(url, { headers: h, chunks: function* () { for (let i = 0; i < b.length; i += 64 * 1024) yield b.subarray(i, i + 64 * 1024); } });
  };
  const isInvoke = (b: Buffer) => {
    try {
      return (JSON.parse(b.toString('utf8')) as { type?: unknown })?.type === 'invoke';
    } catch {
      return false;
    }
  };
  const tmpUntouched = () => assert.deepEqual(listTree(tmp), [], 'nothing written to the temp folder');
  const fabrikamUnchanged = async () => {
    assert.equal(await customerData(prod.store, FABRIKAM.customerId), fabrikamBefore.prod);
    assert.equal(await customerData(sandbox.store, FABRIKAM.customerId), fabrikamBefore.sandbox);
  };

  it('POST /api/alerts (production and sandbox)', async () => {
    const auth = fc.constantFrom('none', 'contoso-token', 'contoso-signed', 'stale-signature', 'wrong-token', 'sandbox-token', 'basic', 'garbage');
    await fc.assert(fc.asyncProperty(fc.constantFrom('production', 'sandbox'), auth, contentType, contentEncoding, body, chunked, async (mode, how, type, enc, b, isChunked) => {
      const base = mode === 'production' ? prod.base : `http://127.0.0.1:${sandbox.port}`;
      const token = mode === 'production' ? prod.secrets.contosoToken : 'sandbox-token';
      const headers: Record<string, string | undefined> = { 'content-type': type || undefined, 'content-encoding': enc };
      if (how === 'contoso-token') headers.authorization = `Bearer ${token}`;
      if (how === 'wrong-token') headers.authorization = 'Bearer wrong-wrong-wrong-wrong';
      if (how === 'sandbox-token') headers.authorization = 'Bearer sandbox-token';
      if (how === 'basic') headers.authorization = 'Basic Y29udG9zbzpzYW5kYm94';
      if (how === 'garbage') headers.authorization = 'Bearer';
      if (how === 'contoso-signed' || how === 'stale-signature') {
        Object.assign(headers, signIntakeBody('contoso', prod.secrets.contosoHmac, b, new Date(Date.now() - (how === 'stale-signature' ? 3_600_000 : 0))));
      }
      const r = await send(`${base}/api/alerts`, b, headers, isChunked);
      assert.ok(r.status < 500, `${r.status} ${r.body.slice(0, 300)}`);
      // a sandbox-token is the MSP-wide credential of the sandbox only (in production it is refused)
      const mayStore = how === 'contoso-token' || (how === 'contoso-signed' && mode === 'production') || (mode === 'sandbox' && how === 'sandbox-token');
      if (!mayStore) assert.ok(r.status >= 400, `${how} in ${mode} was accepted: ${r.status}`);
      tmpUntouched();
      if (mode === 'production' || how !== 'sandbox-token') await fabrikamUnchanged();
    }), { numRuns: 40 });
  });

  it('POST /api/messages (production: nothing without a valid Bot Framework token; sandbox: any activity)', async () => {
    const activity = fc.record({
      type: fc.constantFrom('message', 'conversationUpdate', 'invoke', 'installationUpdate', 'messageReaction', 'bogus'),
      text: fc.string({ maxLength: 60 }),
      name: fc.constantFrom(undefined, 'adaptiveCard/action', 'fileConsent/invoke', 'x'),
      value: fc.option(fc.jsonValue({ maxDepth: 2 })),
      conversation: fc.record({ id: printable(30), isGroup: fc.boolean(), tenantId: fc.constantFrom(FABRIKAM.tenantId, CONTOSO.tenantId, 'x') }),
      from: fc.record({ id: printable(20), aadObjectId: fc.constantFrom('00000000-0000-4000-8000-000000000020', 'x') }),
      channelData: fc.option(fc.record({ team: fc.record({ id: printable(20) }), channel: fc.record({ id: printable(20), name: fc.constantFrom('sec-ir', 'general') }) })),
    }).map((a) => bytes(Buffer.from(JSON.stringify({
      ...a, id: 'a1', channelId: 'msteams', recipient: { id: '28:bot' },
      // a reply, if any, goes nowhere: a closed port on this machine
      serviceUrl: 'http://127.0.0.1:9/',
    }))));
    const anyBody = fc.oneof({ weight: 2, arbitrary: activity }, { weight: 3, arbitrary: body });
    const prodChannelBefore = await prod.store.getRef('teams:channel');
    const prodIncidents = (await prod.store.listIncidents({ limit: 1000 })).length;
    await fc.assert(fc.asyncProperty(fc.constantFrom('production', 'sandbox'), fc.constantFrom(undefined, 'Bearer eyJhbGciOiJub25lIn0.e30.', 'Bearer x', 'Basic eA=='), fc.oneof(fc.constant('application/json'), contentType), contentEncoding, anyBody, chunked,
      async (mode, authorization, jsonType, enc, b, isChunked) => {
        const base = mode === 'production' ? prod.base : `http://127.0.0.1:${sandbox.port}`;
        const r = await send(`${base}/api/messages`, b, { 'content-type': jsonType || undefined, 'content-encoding': enc, authorization }, isChunked);
        // The one 5xx allowed: 501 is the Bot Framework protocol's answer to an invoke the bot has no
        // handler for (Teams reads an invoke's status); it changes nothing and reveals nothing.
        const unhandledInvoke = r.status === 501 && isInvoke(b);
        assert.ok(r.status < 500 || unhandledInvoke, `${mode}: ${r.status} ${r.body.slice(0, 300)}`);
        if (mode === 'production') {
          assert.ok(r.status >= 400, `production accepted an unauthenticated activity: ${r.status}`);
          assert.deepEqual(await prod.store.getRef('teams:channel'), prodChannelBefore);
          assert.equal((await prod.store.listIncidents({ limit: 1000 })).length, prodIncidents);
        }
        tmpUntouched();
        await fabrikamUnchanged();
      }), { numRuns: 40 });
  });

  it('GET /feeds/:customer/blocklist.txt: only the customer\'s own Basic credentials read its feed', async () => {
    const good = `Basic ${Buffer.from(`${prod.secrets.feedUser}:${prod.secrets.feedPassword}`).toString('base64')}`;
    const segment = fc.oneof(fc.constantFrom('contoso', 'fabrikam', 'CONTOSO', '..', '%2e%2e', 'contoso%00', ''), printable(30).map(encodeURIComponent));
    const authorization = fc.oneof(
      fc.constantFrom(undefined, good, `Basic ${Buffer.from(`${prod.secrets.feedUser}:${prod.secrets.feedPassword}x`).toString('base64')}`, 'Basic', 'Basic !!!', `Bearer ${prod.secrets.apiToken}`, `Basic ${Buffer.from('contoso-feed:').toString('base64')}`),
      printable(60).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    );
    await fc.assert(fc.asyncProperty(segment, authorization, fc.constantFrom('GET', 'HEAD', 'POST'), async (seg, auth, method) => {
      const r = await fetch(`${prod.base}/feeds/${seg}/blocklist.txt`, { method, headers: auth ? { authorization: auth } : {} });
      await r.arrayBuffer();
      assert.ok(r.status < 500, `${r.status}`);
      if (r.status === 200) assert.ok(seg === 'contoso' && auth === good && method !== 'POST', `feed served to ${seg} ${auth}`);
      tmpUntouched();
    }), { numRuns: 40 });
    await fabrikamUnchanged();
  });
});
