import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { GraphSession } from '../../../src/connectors/graph/graph-session';
import { GraphTenants } from '../../../src/connectors/graph/graph-tenants';
import { getUser } from '../../../src/connectors/graph/entra-read';
import { parseUpn } from '../../../src/domain/identity';
import { CONTOSO, FABRIKAM } from '../../../src/sandbox/contoso';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { graphSandboxCustomers } from '../../support/graph-sandbox';

const adele = parseUpn(CONTOSO.adele.upn);
const lee = parseUpn('lee.gu@contoso.com');
const megan = parseUpn('megan.bowen@fabrikam.com');

describe('Graph per customer: cached, released when idle, throttled per tenant', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  before(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
  });
  after(async () => { await emu.close(); });
  afterEach(() => emu.clearFaults());

  const tokensFor = (tenantId: string) => emu.state.tokens.filter((t) => t.tenantId === tenantId.toLowerCase()).length;

  it('one token per customer while it is busy; an idle customer is released and its Graph made again', async () => {
    let now = 1_000_000;
    const tenants = new GraphTenants({ idleReleaseMs: 900_000, clock: () => now });
    try {
      const session = (c = env.contoso) => new GraphSession(c, env.secrets, { tenants });
      const before = tokensFor(CONTOSO.tenantId);
      await getUser(session(), adele);
      await getUser(session(), lee);
      await getUser(session(), adele);
      assert.equal(tokensFor(CONTOSO.tenantId) - before, 1, 'three runs, one token request');
      assert.deepEqual(tenants.cachedCustomers(), [CONTOSO.customerId]);

      now += 600_000; // Fabrikam is busy later than Contoso
      await getUser(session(env.fabrikam), megan);
      assert.deepEqual(tenants.releaseIdle(), [], 'nobody idle for 15 minutes yet');
      now += 300_000; // Contoso: 15 minutes since its last call; Fabrikam: 5
      assert.deepEqual(tenants.releaseIdle(), [CONTOSO.customerId]);
      assert.deepEqual(tenants.cachedCustomers(), [FABRIKAM.customerId]);

      const { user } = await getUser(session(), adele);
      assert.equal(user.objectId, CONTOSO.adele.objectId, 'a released customer works on its next call');
      assert.equal(tokensFor(CONTOSO.tenantId) - before, 2, 'its Graph (and token) was made again');
      assert.deepEqual(tenants.cachedCustomers().sort(), [CONTOSO.customerId, FABRIKAM.customerId].sort());
    } finally {
      tenants.close();
    }
  });

  it('a customer with a call under way is not released, however long the call takes', async () => {
    let now = 0;
    const tenants = new GraphTenants({ idleReleaseMs: 10_000, clock: () => now });
    try {
      await getUser(new GraphSession(env.contoso, env.secrets, { tenants }), adele); // token cached
      emu.setLatency('GET /users/*', 300);
      const slow = getUser(new GraphSession(env.contoso, env.secrets, { tenants }), lee);
      await new Promise((r) => setTimeout(r, 100));
      now += 60_000;
      assert.deepEqual(tenants.releaseIdle(), [], 'the call is still under way');
      await slow;
      assert.deepEqual(tenants.releaseIdle(), [], 'idle time counts from the end of the last call');
      now += 10_000;
      assert.deepEqual(tenants.releaseIdle(), [CONTOSO.customerId]);
    } finally {
      tenants.close();
    }
  });

  it('a rotated secret gets a new client, never the old token', async () => {
    const tenants = new GraphTenants({ idleReleaseMs: 900_000 });
    try {
      await getUser(new GraphSession(env.contoso, env.secrets, { tenants }), adele);
      const rotated = new EnvFileSecretStore({ CONTOSO_GRAPH_SECRET: 'a-rotated-secret-the-tenant-does-not-know', GRAPH_SANDBOX_CA: emu.caPem });
      await assert.rejects(getUser(new GraphSession(env.contoso, rotated, { tenants }), adele), /could not get a Graph token/);
      assert.equal(tenants.cachedCustomers().length, 2, 'one entry per credential');
    } finally {
      tenants.close();
    }
  });

  it("a 429 with Retry-After from one tenant slows that customer's calls only", async () => {
    const tenants = new GraphTenants({ idleReleaseMs: 900_000 });
    try {
      const contoso = () => new GraphSession(env.contoso, env.secrets, { tenants, maxRetries: 3 });
      const fabrikam = () => new GraphSession(env.fabrikam, env.secrets, { tenants, maxRetries: 3 });
      await Promise.all([getUser(contoso(), adele), getUser(fabrikam(), megan)]); // tokens in hand
      const mark = emu.state.requests.length;
      emu.throttleTenant(CONTOSO.tenantId, 2, 1);

      let contosoDone = 0;
      const first = getUser(contoso(), adele).then((r) => { contosoDone++; return r; });
      // wait until Contoso's Graph has received the 429
      const gate = tenants.for(env.contoso, env.secrets).throttle;
      for (let i = 0; i < 300 && gate.waitMs() === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(gate.waitMs() > 1000, 'Contoso is held back by its Retry-After');
      const throttled = emu.state.requests.slice(mark).find((q) => q.status === 429);
      assert.ok(throttled, 'Contoso was throttled');
      assert.equal(throttled.tokenTenantId, CONTOSO.tenantId.toLowerCase());
      const second = getUser(contoso(), lee).then((r) => { contosoDone++; return r; });

      // Fabrikam's calls go on during Contoso's wait
      for (let i = 0; i < 3; i++) {
        const { user } = await getUser(fabrikam(), megan);
        assert.equal(user.displayName, 'Megan Bowen (Fabrikam)');
      }
      assert.equal(contosoDone, 0, "Fabrikam's three reads finished while Contoso was still waiting");

      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.user.objectId, CONTOSO.adele.objectId);
      assert.equal(b.user.displayName, 'Lee Gu');
      const after429 = emu.state.requests.slice(mark).filter((q) => q.tokenTenantId === CONTOSO.tenantId.toLowerCase() && Date.parse(q.at) >= Date.parse(throttled!.at) && q !== throttled);
      const throttledAt = Date.parse(throttled.at);
      // The second call started after the 429 yet sent nothing until Retry-After had passed.
      const leeRequests = after429.filter((q) => q.path.includes('lee.gu'));
      assert.ok(leeRequests.length > 0);
      assert.ok(leeRequests.every((q) => Date.parse(q.at) - throttledAt >= 1800), `lee's calls at +${leeRequests.map((q) => Date.parse(q.at) - throttledAt).join(', ')} ms`);
      assert.ok(after429.every((q) => q.status === 200), 'one 429, then only answers');
      const fabrikamDuring = emu.state.requests.slice(mark).filter((q) => q.tokenTenantId === FABRIKAM.tenantId.toLowerCase() && Date.parse(q.at) - throttledAt < 1900);
      assert.ok(fabrikamDuring.length >= 3 && fabrikamDuring.every((q) => q.status === 200), 'Fabrikam was answered during the wait');
    } finally {
      tenants.close();
    }
  });

  it("the emulator's tenant throttle leaves other tenants alone", async () => {
    emu.throttleTenant(FABRIKAM.tenantId, 0);
    const { user } = await getUser(new GraphSession(env.contoso, env.secrets), adele);
    assert.equal(user.objectId, CONTOSO.adele.objectId);
    await assert.rejects(getUser(new GraphSession(env.fabrikam, env.secrets, { maxRetries: 0 }), megan), /throttling|429/i);
  });
});
