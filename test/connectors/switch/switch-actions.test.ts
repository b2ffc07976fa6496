import assert from 'node:assert/strict';
import { customerSchema, type CustomerConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { createSwitchActions, type PortFactsOutput } from '../../../src/connectors/switch';
import type { ActionContext, ActionDef } from '../../../src/connectors/types';
import { log } from '../../../src/log';
import { connectorAvailability } from '../../../src/engine/customer-capabilities';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { startCliSshServer, type CliSshServer } from '../../../src/sandbox/ssh-cli-server';
import { contosoAccessSwitchState, IosCli, startIosSwitchEmulator, type IosSwitchEmulator } from '../../../src/sandbox/switch/switch-emulator';

const USER = { username: 'ir-bot', password: 'sw-test-pass' };
const secrets = new EnvFileSecretStore({ SW_PASSWORD: USER.password });

function contoso(switches: unknown[]): CustomerConfig {
  return customerSchema.parse({
    id: CONTOSO.customerId, name: CONTOSO.name, tenantId: CONTOSO.tenantId, domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:GRAPH_SECRET' } },
    contacts: CONTOSO.contacts, approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    switches,
  });
}
const sw = (id: string, nasIp: string, emu: { port: number; hostKeySha256: string }, timeoutMs = 5000, allowPortShutdown = false) => ({
  id, kind: 'cisco-ios', nasIp, allowPortShutdown,
  ssh: { host: '127.0.0.1', port: emu.port, username: USER.username, passwordRef: 'env:SW_PASSWORD', hostKeySha256: emu.hostKeySha256, timeoutMs },
});
const ctx = (customer: CustomerConfig): ActionContext => ({
  customer, secrets, incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun: false, log, now: () => new Date('2026-11-27T09:00:00Z'),
});
const ADELE = { nasIp: '10.20.0.3', nasPortId: 'GigabitEthernet1/0/12', callingStationId: '3C-22-FB-12-34-56', username: 'adele.vance' };

describe('switch.portFacts against the Cisco IOS emulator', () => {
  let emu: IosSwitchEmulator;
  let action: ActionDef;
  beforeEach(async () => {
    emu = await startIosSwitchEmulator({ users: [USER], state: contosoAccessSwitchState() });
    action = createSwitchActions().find((a) => a.name === 'switch.portFacts')!;
  });
  afterEach(async () => { await emu.close(); });

  it('finds the port from the RADIUS row and reads it with exactly these commands over one session', async () => {
    const c = contoso([sw('sw-lis-3', '10.20.0.3', emu)]);
    // Start and Interim-Update of the same session: one port read.
    const r = await action.run({ sessions: [ADELE, { ...ADELE, callingStationId: '3c:22:fb:12:34:56' }] }, ctx(c));
    assert.equal(action.risk, 'read');
    assert.deepEqual(emu.received, [
      'terminal length 0',
      'show authentication sessions interface GigabitEthernet1/0/12 details',
      'show mac address-table address 3c22.fb12.3456',
      'show interfaces GigabitEthernet1/0/12 status',
      'show logging | include (GigabitEthernet|Gi)1/0/12([^0-9]|$)',
      'show cdp neighbors GigabitEthernet1/0/12 detail',
    ]);
    assert.equal(emu.connections, 1);
    assert.equal(r.summary, 'Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456');
    const out = r.output as PortFactsOutput;
    assert.equal(out.ports.length, 1);
    assert.equal(out.ports[0].facts!.log.length, 5, 'the five Gi1/0/12 lines, not the Gi1/0/1 uplink line');
    assert.equal(r.raw.length, 1);
    assert.equal(r.raw[0].source, 'switch.cli');
    assert.match(r.raw[0].body.toString(), /^sw-lis-3#show authentication sessions interface GigabitEthernet1\/0\/12 details\n +Interface:  GigabitEthernet1\/0\/12\n/);
    assert.doesNotMatch(r.raw[0].body.toString(), /sw-test-pass/);
  });

  it('refuses a row whose port or MAC is outside the grammar, and still reads the other rows', async () => {
    emu.state.ports.push({ name: 'GigabitEthernet1/0/13', link: false, adminShut: true, vlan: '20', type: '10/100/1000BaseTX' });
    const c = contoso([sw('sw-lis-3', '10.20.0.3', emu)]);
    const r = await action.run({ sessions: [
      { ...ADELE, nasPortId: 'GigabitEthernet1/0/12 ; reload' },
      { ...ADELE, callingStationId: '3C-22-FB-12-34' },
      { ...ADELE, nasIp: '10.99.0.1' },
      { ...ADELE, nasPortId: 'Gi1/0/13', callingStationId: 'a0b1.c2d3.e4f5' },
    ] }, ctx(c));
    const out = r.output as PortFactsOutput;
    assert.deepEqual(out.ports.map((p) => p.outcome), ['refused', 'refused', 'refused', 'ok']);
    assert.match(out.ports[0].line, /^refused: sw-lis-3: nasPortId: not a Cisco IOS Ethernet port name/);
    assert.match(out.ports[1].line, /not a MAC address/);
    assert.match(out.ports[2].line, /no switch of Contoso.* NAS-IP-Address 10\.99\.0\.1/);
    assert.equal(out.ports[3].line, 'Gi1/0/13 on sw-lis-3, VLAN 20, no 802.1X/MAB session for this MAC now, link disabled, MAC a0b1.c2d3.e4f5 (not in the MAC table)');
    assert.ok(emu.received.every((l) => !l.includes('reload')));
  });

  it('a port the switch does not have: the switch answers % Invalid input, the row fails with that line', async () => {
    const c = contoso([sw('sw-lis-3', '10.20.0.3', emu)]);
    await assert.rejects(action.run({ sessions: [{ ...ADELE, nasPortId: 'GigabitEthernet1/0/48' }] }, ctx(c)),
      (e: Error & { opts?: { raw?: unknown[] } }) => {
        assert.match(e.message, /sw-lis-3 .* refused "show authentication sessions interface GigabitEthernet1\/0\/48 details": "% Invalid input detected at '\^' marker\."/);
        assert.equal(e.opts?.raw?.length, 1);
        return true;
      });
  });

  it('the emulator is strict: an unknown command gets the IOS error with the caret', () => {
    const cli = new IosCli(contosoAccessSwitchState());
    assert.equal(cli.handle('show running-confg').output, `${' '.repeat('sw-lis-3#show '.length)}^\n% Invalid input detected at '^' marker.\n`);
    assert.equal(cli.handle('show interfaces Gi1/0/12 status').output.split('\n')[2], 'Gi1/0/12  desk 3.12          connected    20         a-full a-1000 10/100/1000BaseTX');
  });
});

describe('switch.portFacts on a device that never shows a known prompt', () => {
  let server: CliSshServer;
  before(async () => {
    server = await startCliSshServer({ users: [USER], newSession: () => ({ greeting: () => 'Press RETURN to get started!\n', prompt: () => 'Press RETURN to get started!\n', handle: () => ({ output: '' }) }) });
  });
  after(async () => { await server.close(); });

  it('fails with a clear line naming the device and what it printed', async () => {
    const c = contoso([sw('sw-odd', '10.20.0.9', server, 500)]);
    const action = createSwitchActions().find((a) => a.name === 'switch.portFacts')!;
    await assert.rejects(action.run({ sessions: [{ ...ADELE, nasIp: '10.20.0.9' }] }, ctx(c)), /no prompt from 127\.0\.0\.1:\d+ .* waiting for the first prompt; last output: "Press RETURN to get started!/);
  });
});

describe('switch.containPort and its undo switch.unshutPort against the Cisco IOS emulator', () => {
  let emu: IosSwitchEmulator;
  const act = (name: string) => createSwitchActions().find((a) => a.name === name)!;
  const withMode = (c: CustomerConfig, mode: 'off' | 'shut-port'): CustomerConfig => ({ ...c, switchContainment: mode });
  // the rows the switch-ports step records (output.ports), as the procedure passes them on
  const PORT_ROW = { nasIp: '10.20.0.3', nasPortId: 'GigabitEthernet1/0/12', outcome: 'ok', line: 'Gi1/0/12 on sw-lis-3, …', switchId: 'sw-lis-3', port: 'Gi1/0/12' };
  beforeEach(async () => { emu = await startIosSwitchEmulator({ users: [USER], state: contosoAccessSwitchState() }); });
  afterEach(async () => { await emu.close(); });

  it('is off by default per customer: the procedure step is skipped with the reason, and the action refuses, nothing sent', async () => {
    const c = contoso([sw('sw-lis-3', '10.20.0.3', emu, 5000, true)]);
    assert.equal(c.switchContainment, 'off');
    assert.deepEqual(connectorAvailability('switch.containPort', c), { ok: false, reason: 'switch containment is off for Contoso (customers file: switchContainment)' });
    assert.deepEqual(connectorAvailability('switch.portFacts', c), { ok: true }, 'the port read is not containment');
    assert.deepEqual(connectorAvailability('switch.containPort', withMode(c, 'shut-port')), { ok: true });
    const bad = customerSchema.safeParse({ ...c, switchContainment: 'reboot-switch' });
    assert.ok(!bad.success && bad.error.issues.some((i) => i.path.join('.') === 'switchContainment'), 'an unknown mode is refused by the customers file');
    assert.ok(customerSchema.safeParse({ ...c, switchContainment: 'shut-port' }).success);
    assert.equal(act('switch.containPort').risk, 'destructive');
    await assert.rejects(act('switch.containPort').run({ ports: [PORT_ROW] }, ctx(c)), /switch containment is off for Contoso \(customers file: switchContainment\)/);
    assert.equal(emu.connections, 0);
  });

  it('a switch where shutdown is not allowed, a port outside the vendor set, another customer\'s switch and an unplaced row are each refused with the reason', async () => {
    const c = withMode(contoso([sw('sw-lis-3', '10.20.0.3', emu)]), 'shut-port');
    const rows = [PORT_ROW, { ...PORT_ROW, switchId: 'sw-other' }, { ...PORT_ROW, outcome: 'failed' }];
    await assert.rejects(act('switch.containPort').run({ ports: rows }, ctx(c)), /no port to contain: Gi1\/0\/12 on sw-lis-3: shutting ports on sw-lis-3 is off \(switches\[\]\.allowPortShutdown: false\); Gi1\/0\/12 on sw-other: Contoso has no such switch; Gi1\/0\/12 on sw-lis-3: the port read did not place the device there/);
    const c2 = withMode(contoso([sw('sw-lis-3', '10.20.0.3', emu, 5000, true)]), 'shut-port');
    const p = await act('switch.containPort').preview!({ ports: [PORT_ROW, { ...PORT_ROW, port: 'Gi1/0/12; reload' }] }, ctx(c2));
    assert.deepEqual(p.changes, ['Shut GigabitEthernet1/0/12 on sw-lis-3 (interface shutdown); undo: no shutdown']);
    assert.equal(p.notChanged?.length, 1);
    assert.match(p.notChanged![0].reason, /port/);
    assert.ok(!emu.received.some((l) => /reload/.test(l)), 'the bad name never reached the switch');
  });

  it('previews exactly which port on which switch, shuts it once, records the undo; the declared inverse brings it back, and an already-up port is reported, not changed', async () => {
    const c = withMode(contoso([sw('sw-lis-3', '10.20.0.3', emu, 5000, true)]), 'shut-port');
    const contain = act('switch.containPort');
    const p = await contain.preview!({ ports: [PORT_ROW] }, ctx(c));
    assert.deepEqual(p.changes, ['Shut GigabitEthernet1/0/12 on sw-lis-3 (interface shutdown); undo: no shutdown']);
    assert.ok(p.facts.some((f) => f.label === 'Port' && f.value === 'GigabitEthernet1/0/12 on sw-lis-3 (cisco-ios, NAS 10.20.0.3)'), JSON.stringify(p.facts));
    const from = emu.received.length;
    const r = await contain.run({ ports: [PORT_ROW] }, ctx(c));
    assert.deepEqual(emu.received.slice(from), [
      'terminal length 0',
      'show interfaces GigabitEthernet1/0/12 status',
      'configure terminal',
      'interface GigabitEthernet1/0/12',
      'shutdown',
      'end',
      'show interfaces GigabitEthernet1/0/12 status',
    ]);
    const out = r.output as { mode: string; ports: Array<{ switchId: string; port: string; changed: boolean; line: string; undo: unknown }> };
    assert.equal(out.mode, 'shut-port');
    assert.deepEqual(out.ports, [{ switchId: 'sw-lis-3', port: 'GigabitEthernet1/0/12', changed: true, line: 'Gi1/0/12 on sw-lis-3 shut (undo: no shutdown on GigabitEthernet1/0/12)', undo: { action: 'no shutdown', switchId: 'sw-lis-3', port: 'GigabitEthernet1/0/12' } }]);
    assert.equal(emu.state.ports.find((x) => x.name === 'GigabitEthernet1/0/12')!.adminShut, true);
    // a retry after a crash reads the port and sends no change
    const again = emu.received.length;
    const r2 = await contain.run({ ports: [PORT_ROW] }, { ...ctx(c), mayHaveRun: true });
    assert.equal((r2.output as typeof out).ports[0].changed, false);
    assert.deepEqual(emu.received.slice(again), ['terminal length 0', 'show interfaces GigabitEthernet1/0/12 status']);

    // the inverse (issue 14 contract): switch.unshutPort on the ports this run shut, and only those
    const inv = contain.inverse!;
    assert.ok('action' in inv && inv.action === 'switch.unshutPort');
    const undoInput = inv.input({ ports: [PORT_ROW] }, r.output);
    assert.deepEqual(undoInput, { ports: [{ switchId: 'sw-lis-3', port: 'GigabitEthernet1/0/12' }] });
    assert.deepEqual(inv.input({ ports: [PORT_ROW] }, r2.output), {
      ports: [], unchanged: [{ item: 'GigabitEthernet1/0/12 on sw-lis-3', reason: 'the containment found it already shut and left it as it was' }],
    }, 'a port found already shut is not brought up by the undo');
    const unshut = act('switch.unshutPort');
    const up = await unshut.run(undoInput, ctx(c));
    assert.equal(up.summary, 'Gi1/0/12 on sw-lis-3 brought back up (no shutdown)');
    assert.equal(emu.state.ports.find((x) => x.name === 'GigabitEthernet1/0/12')!.adminShut, false);
    // already up: re-read, reported, nothing configured
    const before = emu.received.length;
    const up2 = await unshut.run(undoInput, ctx(c));
    assert.equal(up2.summary, 'Gi1/0/12 on sw-lis-3 was already up: not changed');
    assert.deepEqual(emu.received.slice(before), ['terminal length 0', 'show interfaces GigabitEthernet1/0/12 status']);
    const p2 = await unshut.preview!(undoInput, ctx(c));
    assert.equal(p2.nothingToDo, true);
    assert.match(p2.notChanged![0].reason, /already up/);
  });
});
