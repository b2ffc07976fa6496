import assert from 'node:assert/strict';
import https from 'node:https';
import { startGraphEmulator, type GraphEmulator, routeMatcher } from '../../../src/sandbox/graph/emulator';
import { CONTOSO, FABRIKAM } from '../../../src/sandbox/contoso';
import fixture from '../../fixtures/graph/alert-impossible-travel.json';

function request(emu: GraphEmulator, method: string, path: string, o: { token?: string; body?: string; contentType?: string } = {}): Promise<{ status: number; json: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${emu.url}${path}`, {
      method, ca: emu.caPem,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body ? { 'content-type': o.contentType ?? 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function token(emu: GraphEmulator, tenant: string, clientId: string, secret: string): Promise<{ status: number; json: any }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: `${emu.url}/.default` }).toString();
  return request(emu, 'POST', `/${tenant}/oauth2/v2.0/token`, { body, contentType: 'application/x-www-form-urlencoded' });
}

describe('Graph emulator', () => {
  let emu: GraphEmulator;
  before(async () => { emu = await startGraphEmulator(); });
  after(async () => { await emu.close(); });

  it('serves OpenID metadata and mints tokens per tenant and client, refusing a wrong secret', async () => {
    const meta = await request(emu, 'GET', `/${CONTOSO.tenantId}/v2.0/.well-known/openid-configuration`);
    assert.equal(meta.json.token_endpoint, `${emu.url}/${CONTOSO.tenantId}/oauth2/v2.0/token`);
    const ok = await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'Bearer');
    const bad = await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, 'wrong');
    assert.equal(bad.status, 401);
    assert.match(bad.json.error_description, /^AADSTS7000215/);
    const crossed = await token(emu, FABRIKAM.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret);
    assert.equal(crossed.status, 400, "Contoso's app does not exist in Fabrikam's tenant");
  });

  it('rejects requests without a valid token, in Graph error shape', async () => {
    const none = await request(emu, 'GET', '/v1.0/users/adele.vance@contoso.com');
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'InvalidAuthenticationToken');
    assert.ok(none.json.error.innerError['request-id']);
    const forged = await request(emu, 'GET', '/v1.0/users/adele.vance@contoso.com', { token: 'a.b.c' });
    assert.equal(forged.status, 401);
  });

  it("a Contoso token cannot touch a Fabrikam object; unknown routes are 400 in Graph's shape", async () => {
    const t = (await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret)).json.access_token;
    const cross = await request(emu, 'PATCH', '/v1.0/users/admin@fabrikam.com', { token: t, body: JSON.stringify({ accountEnabled: false }) });
    assert.equal(cross.status, 403);
    assert.equal(emu.state.tenants.get(FABRIKAM.tenantId)!.users.get('f2b3c4d5-e6f7-4a8b-9c0d-1e2f3a4b5c6d')!.accountEnabled, true);
    const unknown = await request(emu, 'GET', '/v1.0/nothingHere', { token: t });
    assert.equal(unknown.status, 400);
    assert.equal(typeof unknown.json.error.message, 'string');
  });

  it('serves the impossible-travel fixture alert re-timed to now, and filters alerts_v2 by lastUpdateDateTime', async () => {
    const t = (await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret)).json.access_token;
    const a = await request(emu, 'GET', `/v1.0/security/alerts_v2/${fixture.id}`, { token: t });
    assert.equal(a.status, 200);
    assert.equal(a.json.detectorId, 'ImpossibleTravel');
    assert.deepEqual(a.json.evidence.map((e: any) => e['@odata.type']), fixture.evidence.map((e) => e['@odata.type']));
    assert.ok(Date.now() - Date.parse(a.json.lastUpdateDateTime) < 60 * 60_000, 'fresh');
    const since = new Date(Date.now() - 30 * 60_000).toISOString();
    const list = await request(emu, 'GET', `/v1.0/security/alerts_v2?$filter=${encodeURIComponent(`lastUpdateDateTime ge ${since}`)}`, { token: t });
    assert.deepEqual(list.json.value.map((x: any) => x.id).sort(), [fixture.id, 'fa3b1c2d4e5f60718293a4b5c6d7e8f9_1'].sort());
    const badFilter = await request(emu, 'GET', `/v1.0/security/alerts_v2?$filter=${encodeURIComponent("title eq 'x'")}`, { token: t });
    assert.equal(badFilter.status, 400);
  });

  it('injects faults a limited number of times and latency per route', async () => {
    const t = (await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret)).json.access_token;
    emu.injectFault('GET /users/*', { status: 429, retryAfterSeconds: 3, times: 1 });
    const throttled = await request(emu, 'GET', '/v1.0/users/adele.vance@contoso.com', { token: t });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '3');
    assert.equal((await request(emu, 'GET', '/v1.0/users/adele.vance@contoso.com', { token: t })).status, 200);
    emu.setLatency('/auditLogs/**', 150);
    const t0 = Date.now();
    await request(emu, 'GET', '/v1.0/auditLogs/directoryAudits', { token: t });
    assert.ok(Date.now() - t0 >= 140);
    emu.clearFaults();
    assert.ok(routeMatcher('PATCH /users/*')('PATCH /users/x@y.com'));
    assert.ok(!routeMatcher('PATCH /users/*')('GET /users/x@y.com'));
    assert.ok(!routeMatcher('/users/*')('GET /users/x/memberOf'));
  });

  it('refuses a password that does not meet complexity and never logs a password', async () => {
    const t = (await token(emu, CONTOSO.tenantId, CONTOSO.graphClientId, CONTOSO.graphClientSecret)).json.access_token;
    const weak = await request(emu, 'PATCH', '/v1.0/users/lee.gu@contoso.com', { token: t, body: JSON.stringify({ passwordProfile: { password: 'abc', forceChangePasswordNextSignIn: true } }) });
    assert.equal(weak.status, 400);
    assert.ok(!JSON.stringify(emu.state.requests).includes('"abc"'));
  });
});
