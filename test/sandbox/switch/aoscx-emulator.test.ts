import assert from 'node:assert/strict';
import { Client } from 'ssh2';
import { customerSchema, type CustomerConfig, type SwitchConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { createSwitchActions, type PortFactsOutput } from '../../../src/connectors/switch';
import { SshSession } from '../../../src/connectors/ssh';
import { AoscxSwitchDriver } from '../../../src/connectors/switch/aoscx-driver';
import { parseAoscxInterface, parseAoscxLldp, parseAoscxLog, parseAoscxMacTable, parseAoscxPortAccessClients } from '../../../src/connectors/switch/aoscx-parse';
import { cleanOutput, switchErrorLines } from '../../../src/connectors/switch/cli-output';
import { IosSwitchDriver } from '../../../src/connectors/switch/ios-driver';
import { parseMac, parseSwitchPort, type SwitchPort } from '../../../src/connectors/switch/switch-values';
import type { ActionContext } from '../../../src/connectors/types';
import { log } from '../../../src/log';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { AOSCX_MORE_PROMPT } from '../../../src/sandbox/switch/aoscx-cli';
import { AoscxCli, contosoAoscxSwitchState, startAoscxSwitchEmulator, type AoscxSwitchEmulator } from '../../../src/sandbox/switch/switch-emulator';
import { capture } from '../../connectors/switch/fixtures';

const USER = { username: 'ir-bot', password: 'cx-test-pass' };
const secrets = new EnvFileSecretStore({ SW_PASSWORD: USER.password });
const NAS_IP = '10.30.0.3';
const PORT = parseSwitchPort('aruba-aoscx', '1/1/12');

const swConfig = (emu: { port: number; hostKeySha256: string }, kind: 'aruba-aoscx' | 'cisco-ios' = 'aruba-aoscx') => ({
  id: 'sw-opo-1', kind, nasIp: NAS_IP, allowPortShutdown: true,
  ssh: { host: '127.0.0.1', port: emu.port, username: USER.username, passwordRef: 'env:SW_PASSWORD', hostKeySha256: emu.hostKeySha256, timeoutMs: 5000 },
});
function contoso(switches: unknown[]): CustomerConfig {
  return customerSchema.parse({
    id: CONTOSO.customerId, name: CONTOSO.name, tenantId: CONTOSO.tenantId, domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:GRAPH_SECRET' } },
    contacts: CONTOSO.contacts, approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    switches,
  });
}
const ctx = (customer: CustomerConfig): ActionContext => ({
  customer, secrets, incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun: false, log, now: () => new Date('2026-11-27T09:00:00Z'),
});
const MEGAN = { nasIp: NAS_IP, nasPortId: '1/1/12', callingStationId: '8C-8C-AA-4B-5C-6D', username: 'megan.bowen' };

describe('AOS-CX driver against the AOS-CX emulator', () => {
  let emu: AoscxSwitchEmulator;
  let driver: AoscxSwitchDriver;
  beforeEach(async () => {
    emu = await startAoscxSwitchEmulator({ users: [USER], state: contosoAoscxSwitchState() });
    driver = new AoscxSwitchDriver(contoso([swConfig(emu)]).switches![0] as SwitchConfig, { secrets, log });
  });
  afterEach(async () => { await emu.close(); });

  it('portFacts: exactly the driver\'s commands over one session, pager off first, every fact read back', async () => {
    const { facts, transcript } = await driver.portFacts(PORT, parseMac(MEGAN.callingStationId));
    assert.deepEqual(emu.received, [
      'no page',
      'show aaa authentication port-access interface 1/1/12 client-status',
      'show mac-address-table address 8c:8c:aa:4b:5c:6d',
      'show interface 1/1/12',
      'show logging | include 1/1/12',
      'show lldp neighbor-info 1/1/12',
    ]);
    assert.equal(emu.connections, 1);
    assert.deepEqual(facts.sessions, [{ interface: '1/1/12', mac: '8c8caa4b5c6d', userName: 'megan.bowen', ipv4: '10.30.0.21', method: '802.1X', status: 'dot1x Authenticated', authorised: true, vlan: undefined, role: 'contoso-staff' }]);
    assert.deepEqual(facts.macEntries, [{ mac: '8c8caa4b5c6d', vlan: '30', type: 'port-access-security', port: '1/1/12' }]);
    assert.deepEqual({ ...facts.status }, { port: '1/1/12', description: 'desk 1.12', status: 'up', linkUp: true, adminUp: true, vlan: '30', duplex: 'Full-duplex', speed: '1000 Mb/s', type: '1GbT', linkState: 'up for 29 minutes (since Fri Nov 27 08:40:58 UTC 2026)' });
    assert.deepEqual(facts.log.map((l) => l.message), ['Link status for interface 1/1/12 is up', 'Client 8c:8c:aa:4b:5c:6d on port 1/1/12 authenticated via dot1x']);
    assert.deepEqual(facts.neighbors, []);
    assert.deepEqual(facts.notes, []);
    // the transcript shows AOS-CX's prompt (space after the #) and no password
    const body = transcript.body.toString();
    assert.match(body, /^sw-opo-1# show aaa authentication port-access interface 1\/1\/12 client-status\nPort Access Client Status Details\n/);
    assert.doesNotMatch(body, /cx-test-pass/);
  });

  it('switch.portFacts action on an aruba-aoscx switch: the timeline line from the emulator', async () => {
    const action = createSwitchActions().find((a) => a.name === 'switch.portFacts')!;
    const r = await action.run({ sessions: [MEGAN] }, ctx(contoso([swConfig(emu)])));
    const out = r.output as PortFactsOutput;
    assert.deepEqual(out.ports.map((p) => p.outcome), ['ok']);
    assert.equal(r.summary, '1/1/12 on sw-opo-1, VLAN 30, 802.1X authorised as megan.bowen, link up for 29 minutes (since Fri Nov 27 08:40:58 UTC 2026), MAC 8c:8c:aa:4b:5c:6d');
  });

  it('switch.containPort and its undo switch.unshutPort on an aruba-aoscx switch', async () => {
    const c: CustomerConfig = { ...contoso([swConfig(emu)]), switchContainment: 'shut-port' };
    const act = (name: string) => createSwitchActions().find((a) => a.name === name)!;
    const row = { nasIp: NAS_IP, nasPortId: '1/1/12', outcome: 'ok', line: '1/1/12 on sw-opo-1, …', switchId: 'sw-opo-1', port: '1/1/12' };
    const p = await act('switch.containPort').preview!({ ports: [row] }, ctx(c));
    assert.deepEqual(p.changes, ['Shut 1/1/12 on sw-opo-1 (interface shutdown); undo: no shutdown']);
    const r = await act('switch.containPort').run({ ports: [row] }, ctx(c));
    assert.equal(emu.state.ports.find((x) => x.name === '1/1/12')!.adminShut, true);
    assert.deepEqual(emu.received.slice(-5), ['configure terminal', 'interface 1/1/12', 'shutdown', 'end', 'show interface 1/1/12']);
    const undo = act('switch.containPort').inverse!;
    assert.ok('action' in undo);
    const up = await act('switch.unshutPort').run(undo.input({ ports: [row] }, r.output), ctx(c));
    assert.equal(up.summary, '1/1/12 on sw-opo-1 brought back up (no shutdown)');
    assert.equal(emu.state.ports.find((x) => x.name === '1/1/12')!.adminShut, false);
  });

  it('shutPort then noShutPort: reads, configures in config-if context, re-reads; a second call changes nothing', async () => {
    const shut = await driver.shutPort(PORT);
    assert.equal(shut.changed, true);
    assert.deepEqual(emu.received, ['no page', 'show interface 1/1/12', 'configure terminal', 'interface 1/1/12', 'shutdown', 'end', 'show interface 1/1/12']);
    assert.equal(emu.state.ports.find((p) => p.name === '1/1/12')!.adminShut, true);
    assert.match(shut.transcript.body.toString(), /sw-opo-1\(config\)# interface 1\/1\/12\nsw-opo-1\(config-if\)# shutdown\nsw-opo-1\(config-if\)# end\nsw-opo-1# show interface 1\/1\/12\nInterface 1\/1\/12 is down \(Administratively down\)\n Admin state is down\n/);
    assert.equal(emu.state.log.at(-1)!.endsWith('Event|403|LOG_INFO|AMM|1/1|Link status for interface 1/1/12 is down'), true);
    assert.deepEqual(await driver.isShut(PORT).then((x) => x.shut), true);

    let from = emu.received.length;
    assert.equal((await driver.shutPort(PORT)).changed, false, 'already shut: reported, not configured again');
    // the driver keeps its SSH session: the pager is already off
    assert.deepEqual(emu.received.slice(from), ['show interface 1/1/12']);

    from = emu.received.length;
    assert.equal((await driver.noShutPort(PORT)).changed, true);
    assert.deepEqual(emu.received.slice(from), ['show interface 1/1/12', 'configure terminal', 'interface 1/1/12', 'no shutdown', 'end', 'show interface 1/1/12']);
    assert.equal(emu.state.ports.find((p) => p.name === '1/1/12')!.adminShut, false);
    from = emu.received.length;
    assert.equal((await driver.noShutPort(PORT)).changed, false);
    assert.deepEqual(emu.received.slice(from), ['show interface 1/1/12']);
    assert.equal(emu.connections, 1);
  });

  it('a bad port name never reaches the device; a port the switch lacks gets AOS-CX\'s error and nothing is configured', async () => {
    assert.throws(() => parseSwitchPort('aruba-aoscx', '1/1/12; reload'), /not an Aruba AOS-CX port name/);
    const forged = { kind: 'aruba-aoscx', full: '1/1/12\nreload', short: '1/1/12' } as SwitchPort;
    await assert.rejects(driver.shutPort(forged), /not an Aruba AOS-CX port name/);
    await assert.rejects(driver.portFacts(forged, parseMac(MEGAN.callingStationId)), /not an Aruba AOS-CX port name/);
    assert.equal(emu.connections, 0);
    assert.deepEqual(emu.received, []);

    await assert.rejects(driver.shutPort(parseSwitchPort('aruba-aoscx', '1/1/48')), /sw-opo-1 .*refused "show interface 1\/1\/48": "Invalid input: 1\/1\/48"/);
    assert.deepEqual(emu.received, ['no page', 'show interface 1/1/48']);
    assert.ok(emu.state.ports.every((p) => !p.adminShut));
  });

  it('a Cisco driver pointed at the AOS-CX switch stops at its pager command with a clear line', async () => {
    const ios = new IosSwitchDriver(contoso([swConfig(emu, 'cisco-ios')]).switches![0] as SwitchConfig, { secrets, log });
    await assert.rejects(ios.isShut(parseSwitchPort('cisco-ios', 'Gi1/0/12')), /refused "terminal length 0": "Invalid input: terminal": is this a cisco-ios switch\?/);
    assert.deepEqual(emu.received, ['terminal length 0']);
  });
});

describe('AOS-CX emulator output: the real captures\' layout, the same parsers', () => {
  const keys = (text: string) => new Set(cleanOutput(text).split('\n').map((l) => /^\s*([A-Za-z][A-Za-z0-9 \-]*?)\s*:/.exec(l)?.[1]).filter((k): k is string => !!k));

  it('client-status: line for line the real capture\'s layout (values aside), parsed alike', () => {
    const cli = new AoscxCli(contosoAoscxSwitchState());
    const out = cli.handle('show aaa authentication port-access interface 1/1/12 client-status').output;
    const real = capture('aruba-aoscx', 'show_aaa_authentication_port-access_interface_all_client-status.raw');
    // the heading and first client block of the capture; values cut after the `: `, blank lines dropped
    const shape = (text: string) => text.split('\n').map((l) => l.replace(/^(Client) .*$/, '$1').replace(/ : .*$/, ' :').trimEnd()).filter(Boolean);
    const firstBlock = real.slice(0, real.indexOf('\nClient ', real.indexOf('\nClient ') + 1));
    assert.deepEqual(shape(out), shape(firstBlock));
    assert.equal(parseAoscxPortAccessClients(out).length, 1);
    assert.equal(parseAoscxPortAccessClients(cli.handle('show aaa authentication port-access interface 1/1/11 client-status').output).length, 0);
    assert.equal(parseAoscxPortAccessClients(cli.handle('show aaa authentication port-access interface all client-status').output).length, 1);
  });

  it('mac-address-table: the real capture\'s header lines, byte for byte', () => {
    const out = new AoscxCli(contosoAoscxSwitchState()).handle('show mac-address-table address 8c:8c:aa:4b:5c:6d').output;
    const real = capture('aruba-aoscx', 'show_mac-address-table.raw').split('\n');
    const mine = out.split('\n');
    assert.equal(mine[0], real[0]);
    assert.deepEqual(mine.slice(2, 5), real.slice(2, 5));
    assert.equal(mine[1], 'Number of MAC addresses : 1');
    // the row's columns line up with the real rows'
    const realRow = real.find((l) => l.includes('port-access-security'))!;
    assert.equal(mine[5].indexOf('port-access-security'), realRow.indexOf('port-access-security'));
    assert.equal(mine[5].indexOf('1/1/12'), realRow.indexOf('1/1/30'));
    assert.deepEqual(parseAoscxMacTable(out), [{ mac: '8c8caa4b5c6d', vlan: '30', type: 'port-access-security', port: '1/1/12' }]);
  });

  it('show interface: every key the emulator prints is in a real capture (the access-port lines are in show_interface3)', () => {
    const cli = new AoscxCli(contosoAoscxSwitchState());
    const real = new Set([...keys(capture('aruba-aoscx', 'show_interface1.raw')), ...keys(capture('aruba-aoscx', 'show_interface3.raw'))]);
    const missing = [...keys(cli.handle('show interface 1/1/11').output)].filter((k) => !real.has(k));
    assert.deepEqual(missing, []);
    const down = parseAoscxInterface(cli.handle('show interface 1/1/11').output);
    assert.deepEqual(down.map((x) => [x.port, x.status, x.adminUp, x.vlan, x.linkState]), [['1/1/11', 'down', true, '30', 'down for 29 minutes (since Fri Nov 27 08:40:58 UTC 2026)']]);
  });

  it('logging and lldp go through the same parsers; a neighbour is found', () => {
    const state = contosoAoscxSwitchState();
    state.lldp.push({ port: '1/1/12', chassisName: 'phone-1-12', chassisId: '00:1b:4f:aa:bb:cc', description: 'Polycom VVX', managementAddress: '10.30.0.40', portId: '00:1b:4f:aa:bb:cc' });
    const cli = new AoscxCli(state);
    assert.deepEqual(parseAoscxLldp(cli.handle('show lldp neighbor-info 1/1/12').output), [{ protocol: 'lldp', localPort: '1/1/12', deviceId: 'phone-1-12', address: '10.30.0.40', platform: 'Polycom VVX', remotePort: '00:1b:4f:aa:bb:cc' }]);
    assert.equal(parseAoscxLog(cli.handle('show logging | include 1/1/1').output, '1/1/1').length, 1, 'the 1/1/12 lines the substring filter lets through are dropped by the parser');
  });

  it('is strict: unknown words, incomplete commands, config commands outside config context', () => {
    const cli = new AoscxCli(contosoAoscxSwitchState());
    assert.equal(cli.handle('show running-confg').output, 'Invalid input: running-confg');
    assert.equal(cli.handle('show interface').output, '% Command incomplete.');
    assert.equal(cli.handle('show interface 1/1/012').output, 'Invalid input: 1/1/012');
    assert.equal(cli.handle('show mac-address-table address 8c8c.aa4b.5c6d').output, 'Invalid input: 8c8c.aa4b.5c6d');
    assert.equal(cli.handle('shutdown').output, 'Invalid input: shutdown');
    for (const l of ['show running-confg', 'show interface', 'shutdown']) assert.equal(switchErrorLines(cli.handle(l).output).length, 1, l);
    assert.equal(cli.prompt(), 'sw-opo-1# ');
    cli.handle('configure terminal');
    assert.equal(cli.prompt(), 'sw-opo-1(config)# ');
    assert.equal(cli.handle('shutdown').output, 'Invalid input: shutdown', 'no interface selected yet');
    assert.equal(cli.handle('interface 1/1/99').output, 'Invalid input: 1/1/99');
    cli.handle('interface 1/1/11');
    assert.equal(cli.prompt(), 'sw-opo-1(config-if)# ');
    cli.handle('exit');
    assert.equal(cli.prompt(), 'sw-opo-1(config)# ');
    cli.handle('end');
    assert.equal(cli.prompt(), 'sw-opo-1# ');
  });
});

describe('AOS-CX emulator pager (before `no page`)', () => {
  let emu: AoscxSwitchEmulator;
  before(async () => { emu = await startAoscxSwitchEmulator({ users: [USER], state: contosoAoscxSwitchState() }); });
  after(async () => { await emu.close(); });

  it('the shared CliShell answers AOS-CX\'s pager too: the paged reply is byte for byte the unpaged one', async () => {
    const s = await SshSession.open({
      target: { host: '127.0.0.1', port: emu.port, username: USER.username, passwordRef: 'env:SW_PASSWORD', hostKeySha256: emu.hostKeySha256, timeoutMs: 5000 },
      secrets,
    });
    try {
      const cli = await s.cli();
      assert.equal(cli.currentPrompt, 'sw-opo-1# ');
      const paged = await cli.send('show interface 1/1/12');
      assert.doesNotMatch(paged, /MORE|\r/);
      await cli.send('no page');
      assert.equal(paged, await cli.send('show interface 1/1/12'));
      assert.equal(emu.received.filter((l) => l === 'show interface 1/1/12').length, 2);
    } finally { s.close(); }
  });

  it('pages `show interface` with AOS-CX\'s MORE line; answered with a space, the cleaned text parses as the unpaged one', async () => {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).once('error', reject)
        .connect({ host: '127.0.0.1', port: emu.port, username: USER.username, password: USER.password, hostVerifier: () => true });
    });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        client.shell((err, ch) => {
          if (err) { reject(err); return; }
          let buf = '';
          let sent = false;
          let pages = 0;
          ch.on('data', (d: Buffer) => {
            buf += d.toString('utf8');
            if (!sent && buf.endsWith('sw-opo-1# ')) { sent = true; buf = ''; ch.write('show interface 1/1/12\r'); return; }
            if (sent && buf.endsWith(AOSCX_MORE_PROMPT)) { pages++; ch.write(' '); return; }
            if (sent && buf.endsWith('\r\nsw-opo-1# ')) { assert.ok(pages >= 1, 'paged at least once'); ch.end(); resolve(buf); }
          });
        });
      });
      // the pager wipe `\r<spaces>\r` is taken out as the driver's CliShell does (PAGER_TRACES)
      const body = text.slice(text.indexOf('\n') + 1, text.lastIndexOf('sw-opo-1# ')).replace(/\r[ \t]+\r/g, '');
      assert.ok(body.includes(AOSCX_MORE_PROMPT));
      const unpaged = new AoscxCli(contosoAoscxSwitchState()).handle('show interface 1/1/12').output;
      assert.deepEqual(parseAoscxInterface(body), parseAoscxInterface(unpaged));
      // cleanOutput's AOS-CX pager pattern also takes the indent of the line after it: compare lines trimmed
      const lines = (t: string) => cleanOutput(t).split('\n').map((l) => l.trim()).filter(Boolean);
      assert.deepEqual(lines(body), lines(unpaged));
    } finally {
      client.end();
    }
  });
});
