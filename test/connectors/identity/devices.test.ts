import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { DeviceMerger, devicesFromAlert, devicesFromEntra, devicesFromSignIns, identityDevices } from '../../../src/connectors/identity/devices';
import { listSignIns } from '../../../src/connectors/graph/entra-read';
import { listNonInteractiveSignIns } from '../../../src/connectors/graph/token-activity';
import { GraphSession } from '../../../src/connectors/graph/graph-session';
import { parseUpn } from '../../../src/domain/identity';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { graphActionContext, graphSandboxCustomers } from '../../support/graph-sandbox';

/**
 * identity.devices against the Graph emulator (GET /v1.0/users/{id}/registeredDevices and
 * /ownedDevices cast to microsoft.graph.device, the fields of the v1.0 device resource), with the
 * sign-ins as entra.signIns reads them and the MDI fixture alert's device evidence.
 */
describe('identity.devices: the alert, the sign-ins and the Entra devices of the account', () => {
  let emu: GraphEmulator;
  let env: ReturnType<typeof graphSandboxCustomers>;
  before(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
  });
  after(async () => { await emu.close(); });

  const signInsOf = async (upn: string) => {
    const ctx = graphActionContext(env.contoso, env.secrets);
    const s = new GraphSession(ctx.customer, ctx.secrets, { now: ctx.now });
    // as entra.signIns gives them to the devices step (output.allSignIns): interactive and non-interactive
    const since = new Date(Date.now() - 24 * 3600_000);
    const interactive = (await listSignIns(s, parseUpn(upn), since, new Date())).signIns;
    return [...interactive, ...(await listNonInteractiveSignIns(s, parseUpn(upn), since, new Date())).signIns];
  };

  it('adm-avance: WS-0412 from the alert (DNS name), its sign-ins and its registered devices is one row, named and described as Entra has it', async () => {
    const ctx = graphActionContext(env.contoso, env.secrets);
    const input = identityDevices.input.parse({
      objectId: CONTOSO.admAvance.objectId,
      signIns: await signInsOf(CONTOSO.admAvance.upn),
      alertDevices: [{ name: 'ws-0412.contoso.local', mdeDeviceId: '7be1a4b3c9d2e6f5a8b1c4d7e0f3a6b9c2d5e8f1', azureAdDeviceId: null, osPlatform: 'Windows11' }],
    });
    const r = await identityDevices.run(input, ctx);
    assert.equal(r.output.devices.length, 1, JSON.stringify(r.output.devices));
    const d = r.output.devices[0];
    assert.deepEqual({ ...d, lastSeen: undefined }, {
      name: 'WS-0412', deviceId: '7e2c9f3a-4d5b-4e6f-9a7b-8c9d0e1f2a3b', os: 'Windows 10.0.22631.4602', trustType: 'ServerAd', compliant: true, managed: true,
      lastSeen: undefined, seenIn: ['alert', 'sign-in', 'registered'], signIns: 2,
    });
    assert.ok(d.lastSeen);
    // both relationships read, cast to devices, with the documented fields selected
    const paths = emu.state.requests.filter((q) => /\/(registered|owned)Devices/.test(q.path)).map((q) => q.path);
    assert.ok(paths.some((p) => p.startsWith(`/users/${CONTOSO.admAvance.objectId}/registeredDevices/microsoft.graph.device?$select=id,deviceId,displayName,`)), paths.join(', '));
    assert.ok(paths.some((p) => p.startsWith(`/users/${CONTOSO.admAvance.objectId}/ownedDevices/microsoft.graph.device?$select=`)), paths.join(', '));
    assert.deepEqual(r.raw.map((p) => p.source), ['graph.registeredDevices', 'graph.ownedDevices']);
    assert.match(r.summary, /^1 device: WS-0412 \(alert, sign-in, registered\)$/);
  });

  it('adele.vance: her laptop (sign-ins, registered, owned), her phone (registered, owned) and the attacker\'s unregistered browser (sign-ins only)', async () => {
    const ctx = graphActionContext(env.contoso, env.secrets);
    const r = await identityDevices.run(identityDevices.input.parse({ objectId: CONTOSO.adele.objectId, signIns: await signInsOf(CONTOSO.adele.upn), alertDevices: [] }), ctx);
    const byName = new Map(r.output.devices.map((d) => [d.name, d]));
    assert.deepEqual(byName.get('LIS-LT-0412')?.seenIn, ['sign-in', 'registered', 'owned']);
    assert.equal(byName.get('LIS-LT-0412')?.signIns, 3);
    assert.deepEqual(byName.get("Adele's iPhone")?.seenIn, ['registered', 'owned']);
    const unregistered = byName.get('unregistered device (Windows10, Edge 120.0.0)');
    assert.ok(unregistered, [...byName.keys()].join(', '));
    assert.equal(unregistered.signIns, 4, 'the Singapore sign-ins, the failed one included');
    assert.equal(r.output.devices.length, 3);
  });

  it('an on-premises-only account reads no Entra devices and says so; bad rows from a source are skipped, not fatal', async () => {
    const ctx = graphActionContext(env.contoso, env.secrets);
    const before = emu.state.requests.length;
    const r = await identityDevices.run(identityDevices.input.parse({ objectId: null, signIns: null, alertDevices: [{ name: 'PC-1.contoso.local', osPlatform: 'Windows10' }, { name: null }] }), ctx);
    assert.equal(emu.state.requests.length, before, 'no Graph call');
    assert.deepEqual(r.output.devices.map((d) => d.name), ['PC-1.contoso.local']);
    assert.match(r.output.notes[0], /on-premises-only account/);
    assert.throws(() => identityDevices.input.parse({ objectId: 'x', signIns: 'not a list' }));

    const m = new DeviceMerger();
    devicesFromSignIns(m, [{ createdDateTime: 42, deviceDetail: 'garbage' }, { createdDateTime: '2026-11-27T01:00:00Z', deviceDetail: { displayName: 'PC-1', deviceId: 'not-a-guid' } }]);
    devicesFromEntra(m, [{ '@odata.type': '#microsoft.graph.user', displayName: 'not a device' }, { displayName: null }], 'owned');
    devicesFromAlert(m, [{ name: 'pc-1.contoso.local' }]);
    const list = m.list();
    assert.deepEqual(list.map((d) => [d.name, d.seenIn]), [['PC-1', ['sign-in', 'alert']], ['unregistered device (no device detail)', ['sign-in']]]);
  });
});
