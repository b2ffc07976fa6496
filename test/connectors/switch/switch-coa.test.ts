import assert from 'node:assert/strict';
import fc from 'fast-check';
import { customerSchema, customersFileSchema, type CustomerConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { portCommandAttributes } from '../../../src/connectors/radius/coa/port-command';
import { createSocket } from 'node:dgram';
import { sendDisconnectRequests } from '../../../src/connectors/radius/coa/disconnect-client';
import { ciscoAvPairAttr, decodePacket, encodeRequest, encodeResponse, integerAttr, RadiusAttr, RadiusCode, stringAttr } from '../../../src/connectors/radius/coa/radius-packet';
import { createSwitchActions, type ContainPortOutput } from '../../../src/connectors/switch';
import type { ActionContext } from '../../../src/connectors/types';
import { log } from '../../../src/log';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { contosoAccessSwitchState, startIosSwitchEmulator, type IosSwitchEmulator } from '../../../src/sandbox/switch/switch-emulator';
import { startFreeRadius, type FreeRadiusInstance } from '../../support/freeradius';

/**
 * switch.containPort in the CoA modes (issue 12 §1): Cisco's `subscriber:command=bounce-host-port`
 * / `disable-host-port` in a CoA-Request to the switch as NAS. The NAS here is the real FreeRADIUS
 * with a coa listener (src/sandbox/radius/freeradius-instance.ts, knownPorts): it ACKs the port
 * commands for the clients it hosts, NAKs 503 other sessions and 405 other commands, as a Cisco
 * switch does. The SSH side (reading the port before a disable, the undo) is the IOS emulator.
 */

const SECRET = 'nas-secret';
const USER = { username: 'ir-bot', password: 'sw-test-pass' };
const secrets = new EnvFileSecretStore({ SW_PASSWORD: USER.password, NAS_SECRET: SECRET });
const MAC = '3C-22-FB-12-34-56';
// a row of the switch-ports step (output.ports), as the procedure passes it on
const PORT_ROW = { nasIp: '10.20.0.3', nasPortId: 'GigabitEthernet1/0/12', outcome: 'ok', line: 'Gi1/0/12 on sw-lis-3, …', switchId: 'sw-lis-3', port: 'Gi1/0/12', callingStationId: MAC, acctSessionId: '0000000A' };

function rawCustomer(mode: string, emu: { port: number; hostKeySha256: string }, coaPort: number, over: Record<string, unknown> = {}) {
  return {
    id: CONTOSO.customerId, name: CONTOSO.name, tenantId: CONTOSO.tenantId, domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:GRAPH_SECRET' } },
    contacts: CONTOSO.contacts, approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    radius: {
      accounting: { kind: 'detail-local', directory: '/var/log/freeradius/radacct' },
      disconnect: { mode: 'direct', timeoutMs: 1000, retries: 1 },
      nas: [{ id: 'sw-lis-3-coa', ip: '10.20.0.3', coaHost: '127.0.0.1', coaPort, secretRef: 'env:NAS_SECRET' }],
    },
    switches: [{
      id: 'sw-lis-3', kind: 'cisco-ios', nasIp: '10.20.0.3', allowPortShutdown: true,
      ssh: { host: '127.0.0.1', port: emu.port, username: USER.username, passwordRef: 'env:SW_PASSWORD', hostKeySha256: emu.hostKeySha256, timeoutMs: 5000 },
    }],
    switchContainment: mode,
    ...over,
  };
}
const ctx = (customer: CustomerConfig, mayHaveRun = false): ActionContext => ({
  customer, secrets, incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun, log, now: () => new Date('2026-11-27T09:00:00Z'),
});
const act = (name: string) => createSwitchActions().find((a) => a.name === name)!;
const gi12 = (emu: IosSwitchEmulator) => emu.state.ports.find((p) => p.name === 'GigabitEthernet1/0/12')!;

describe('customers file: the CoA containment modes', () => {
  const emu = { port: 2222, hostKeySha256: 'SHA256:' + 'A'.repeat(43) };
  const issues = (raw: unknown) => {
    const r = customersFileSchema.safeParse({ customers: [raw] });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.slice(2).join('.')}: ${i.message}`);
  };

  it('accepts both modes with the switch as a direct NAS, and refuses what cannot work with the reason', () => {
    assert.deepEqual(issues(rawCustomer('coa-bounce-host-port', emu, 3799)), []);
    assert.deepEqual(issues(rawCustomer('coa-disable-host-port', emu, 3799)), []);
    const base = rawCustomer('coa-disable-host-port', emu, 3799);
    assert.deepEqual(issues({ ...base, radius: undefined }), ['switchContainment: coa-disable-host-port sends a RADIUS CoA to the switch: it needs radius: with the switch as a nas entry']);
    assert.deepEqual(issues({ ...base, radius: { ...base.radius, nas: [{ ...base.radius.nas[0], ip: '10.20.0.9' }] } }),
      ['switches.0.nasIp: coa-disable-host-port: no radius.nas entry has ip 10.20.0.3 (the NAS that receives the CoA for sw-lis-3, with its shared secret)']);
    assert.deepEqual(issues({ ...base, switches: [{ ...base.switches[0], kind: 'aruba-aoscx' }] }),
      ['switches.0.kind: coa-disable-host-port is Cisco\'s CoA command (Cisco-AVPair subscriber:command): sw-lis-3 is aruba-aoscx; use shut-port or set allowPortShutdown: false']);
    const viaRadclient = { ...base, radius: { ...base.radius, disconnect: { mode: 'radclient-ssh', ssh: { host: '192.0.2.5', username: 'ir', passwordRef: 'env:R', hostKeySha256: 'SHA256:' + 'B'.repeat(43) } } } };
    assert.deepEqual(issues(viaRadclient), ['radius.disconnect.mode: coa-disable-host-port sends the CoA-Request from the bot: radius.disconnect.mode must be direct']);
    // a switch where containment is not allowed needs no NAS: the action refuses it anyway
    assert.deepEqual(issues({ ...base, switches: [{ ...base.switches[0], kind: 'aruba-aoscx', allowPortShutdown: false }] }), []);
    assert.ok(issues({ ...base, switchContainment: 'coa-reauthenticate' }).some((m) => m.startsWith('switchContainment: ')));
  });
});

describe('CoA port command attributes', () => {
  it('carry the values as accounting gave them, each checked, and one Cisco-AVPair with the command', () => {
    const attrs = portCommandAttributes({ nasIp: '10.20.0.3', callingStationId: MAC, acctSessionId: '0000000A', nasPortId: 'Gi1/0/12' }, 'disable-host-port', 'cisco-ios');
    const pkt = decodePacket(encodeRequest(43, 7, attrs, SECRET));
    assert.deepEqual(pkt.attributes.map((a) => a.type), [RadiusAttr.NasIpAddress, RadiusAttr.CallingStationId, RadiusAttr.AcctSessionId, RadiusAttr.NasPortId, RadiusAttr.VendorSpecific]);
    assert.equal(pkt.attributes[1].value.toString(), MAC);
    assert.equal(pkt.attributes[3].value.toString(), 'Gi1/0/12');
    const vsa = pkt.attributes[4].value;
    assert.deepEqual([vsa.readUInt32BE(0), vsa[4], vsa[5]], [9, 1, vsa.length - 4]);
    assert.equal(vsa.subarray(6).toString(), 'subscriber:command=disable-host-port');
  });

  it('any Calling-Station-Id, Acct-Session-Id or NAS-Port-Id outside its grammar is refused before anything is built', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('callingStationId', 'acctSessionId', 'nasPortId'), (value, field) => {
      const ref = { nasIp: '10.20.0.3', callingStationId: MAC, acctSessionId: '0000000A', nasPortId: 'GigabitEthernet1/0/12', [field]: value };
      let attrs;
      try {
        attrs = portCommandAttributes(ref, 'bounce-host-port', 'cisco-ios');
      } catch (e) {
        assert.match((e as Error).message, new RegExp(`^${field}: `));
        return;
      }
      // accepted: it is in the grammar, so it carries no quote, control character, space or separator
      assert.match(value, /^[A-Za-z0-9._:/-]+$/);
      assert.equal(attrs.length, 5);
      assert.equal(attrs.filter((a) => a.type === RadiusAttr.VendorSpecific).length, 1);
    }), { numRuns: 1000 });
    assert.throws(() => portCommandAttributes({ nasIp: '10.20.0.3', callingStationId: MAC }, 'reload' as never, 'cisco-ios'), /command: not a Cisco port CoA command/);
  });
});

describe('CoA-Request exchanges', function () {
  this.timeout(20000);

  it('FreeRADIUS as the switch NAKs a command it does not support with 405 Unsupported-Service', async () => {
    const fr = await startFreeRadius({ nasCount: 1, secret: SECRET, knownPorts: [{ callingStationId: MAC }] });
    try {
      const { exchanges } = await sendDisconnectRequests([{
        key: 'x', target: { nasId: 'sw', host: '127.0.0.1', port: fr.coaPorts[0], secret: SECRET },
        attributes: [stringAttr(RadiusAttr.CallingStationId, MAC), ciscoAvPairAttr('subscriber:command=reauthenticate')],
      }], { requestCode: RadiusCode.CoaRequest, timeoutMs: 1000, retries: 1 });
      assert.equal(exchanges[0].outcome, 'nak');
      assert.equal(exchanges[0].replyCode, 'CoA-NAK');
      assert.deepEqual(exchanges[0].errorCause, { code: 405, text: 'Unsupported Service' });
    } finally {
      await fr.stop();
    }
  });

  it('a Disconnect-ACK in answer to a CoA-Request is refused and recorded, never taken as the answer', async () => {
    const nas = createSocket('udp4');
    await new Promise<void>((r) => nas.bind(0, '127.0.0.1', () => r()));
    try {
      nas.on('message', (req, rinfo) => {
        nas.send(encodeResponse(RadiusCode.DisconnectAck, req, [], SECRET), rinfo.port, rinfo.address);
        setTimeout(() => nas.send(encodeResponse(RadiusCode.CoaNak, req, [integerAttr(RadiusAttr.ErrorCause, 503)], SECRET), rinfo.port, rinfo.address), 20);
      });
      const { exchanges } = await sendDisconnectRequests([{
        key: 'x', target: { nasId: 'sw', host: '127.0.0.1', port: nas.address().port, secret: SECRET },
        attributes: portCommandAttributes({ nasIp: '10.20.0.3', callingStationId: MAC }, 'bounce-host-port', 'cisco-ios'),
      }], { requestCode: RadiusCode.CoaRequest, timeoutMs: 1000, retries: 0 });
      assert.equal(exchanges[0].outcome, 'nak');
      assert.equal(exchanges[0].errorCause?.code, 503);
      assert.deepEqual(exchanges[0].ignoredReplies.map((r) => r.reason), ['unexpected Disconnect-ACK in answer to a CoA-Request']);
    } finally {
      nas.close();
    }
  });
});

describe('switch.containPort by RADIUS CoA against FreeRADIUS as the NAS and the Cisco IOS emulator', function () {
  this.timeout(30000);
  let fr: FreeRadiusInstance;
  let emu: IosSwitchEmulator;
  before(async () => {
    fr = await startFreeRadius({ nasCount: 1, secret: SECRET, knownPorts: [{ callingStationId: MAC, acctSessionId: '0000000A' }] });
  });
  after(async () => { await fr?.stop(); });
  beforeEach(async () => { emu = await startIosSwitchEmulator({ users: [USER], state: contosoAccessSwitchState() }); });
  afterEach(async () => { await emu.close(); });
  const customer = (mode: string) => customerSchema.parse(rawCustomer(mode, emu, fr.coaPorts[0]));

  it('bounce: one CoA-Request with the session identifiers and Cisco-AVPair, the ACK kept as evidence; no SSH, and nothing for the undo', async () => {
    const c = customer('coa-bounce-host-port');
    const contain = act('switch.containPort');
    const p = await contain.preview!({ ports: [PORT_ROW] }, ctx(c));
    assert.deepEqual(p.changes, [`Bounce GigabitEthernet1/0/12 on sw-lis-3 by RADIUS CoA-Request to NAS sw-lis-3-coa (127.0.0.1:${fr.coaPorts[0]}), Cisco-AVPair subscriber:command=bounce-host-port, client ${MAC}: the link goes down and comes back up; nothing to undo`]);
    const r = await contain.run({ ports: [PORT_ROW] }, ctx(c));
    assert.equal(emu.connections, 0, 'a bounce needs no SSH session');
    const out = r.output as ContainPortOutput;
    assert.equal(out.mode, 'coa-bounce-host-port');
    assert.equal(out.ports.length, 1);
    assert.equal(out.ports[0].changed, false);
    assert.deepEqual(out.ports[0].undo, { none: 'a bounce ends by itself: the link went down and came back up' });
    assert.match(out.ports[0].line, /^Gi1\/0\/12 on sw-lis-3 bounced by CoA \(CoA-ACK at 127\.0\.0\.1:\d+\): nothing to undo/);
    const inv = contain.inverse!;
    assert.ok('action' in inv && inv.action === 'switch.unshutPort');
    const undoInput = inv.input({ ports: [PORT_ROW] }, r.output);
    assert.deepEqual(undoInput, {
      ports: [], unchanged: [{ item: 'GigabitEthernet1/0/12 on sw-lis-3', reason: 'a bounce ends by itself: the link went down and came back up' }],
    }, 'a bounced port is not brought up by the undo');
    assert.match(inv.note ?? '', /bounced port came back up by itself/);
    // the release card: nothing to do, with the reason; running the undo changes nothing
    const unshut = act('switch.unshutPort');
    const rp = await unshut.preview!(unshut.input.parse(undoInput), ctx(c));
    assert.equal(rp.nothingToDo, true);
    assert.deepEqual(rp.notChanged, [{ item: 'GigabitEthernet1/0/12 on sw-lis-3', reason: 'a bounce ends by itself: the link went down and came back up' }]);
    assert.equal((await unshut.run(unshut.input.parse(undoInput), ctx(c))).summary, 'no port to bring back up');
    assert.equal(emu.connections, 0);
    assert.equal(r.raw.length, 1);
    assert.equal(r.raw[0].source, 'radius.coa');
    const text = r.raw[0].body.toString();
    assert.ok(!text.includes(SECRET));
    const ex = JSON.parse(text).exchanges[0];
    assert.equal(ex.request.code, 'CoA-Request');
    assert.deepEqual(ex.request.attributes.map((a: any) => [a.name, a.value]), [
      ['NAS-IP-Address', '10.20.0.3'], ['Calling-Station-Id', MAC], ['Acct-Session-Id', '0000000A'], ['NAS-Port-Id', 'GigabitEthernet1/0/12'], ['Cisco-AVPair', 'subscriber:command=bounce-host-port'],
    ]);
    assert.equal(ex.reply.code, 'CoA-ACK');
    assert.equal(ex.command, 'bounce-host-port');
  });

  it('disable: reads the port over SSH, sends the CoA once, records no shutdown as the undo; a retry sends nothing; the undo brings the port back', async () => {
    const c = customer('coa-disable-host-port');
    const contain = act('switch.containPort');
    const p = await contain.preview!({ ports: [PORT_ROW] }, ctx(c));
    assert.match(p.changes[0], /^Disable GigabitEthernet1\/0\/12 on sw-lis-3 by RADIUS CoA-Request .*subscriber:command=disable-host-port.*; undo: no shutdown over SSH$/);
    const from = emu.received.length;
    const r = await contain.run({ ports: [PORT_ROW] }, ctx(c));
    assert.deepEqual(emu.received.slice(from), ['terminal length 0', 'show interfaces GigabitEthernet1/0/12 status'], 'SSH only reads: the CoA does the change');
    const out = r.output as ContainPortOutput;
    assert.deepEqual(out.ports.map((x) => [x.changed, x.undo, x.coa?.outcome]), [[true, { action: 'no shutdown', switchId: 'sw-lis-3', port: 'GigabitEthernet1/0/12' }, 'ack']]);
    assert.match(out.ports[0].line, /^Gi1\/0\/12 on sw-lis-3 disabled by CoA \(CoA-ACK at .*\) \(undo: no shutdown on GigabitEthernet1\/0\/12\)$/);
    assert.deepEqual(r.raw.map((x) => x.source), ['switch.cli', 'radius.coa']);
    const ex = JSON.parse(r.raw[1].body.toString()).exchanges[0];
    assert.equal(ex.request.attributes.at(-1).value, 'subscriber:command=disable-host-port');

    // FreeRADIUS answers for the switch; the switch's own effect of the ACK is the port shut:
    gi12(emu).adminShut = true;
    const again = emu.received.length;
    const r2 = await contain.run({ ports: [PORT_ROW] }, ctx(c, true));
    const out2 = r2.output as ContainPortOutput;
    assert.equal(out2.ports[0].changed, false);
    assert.equal(out2.ports[0].line, 'Gi1/0/12 on sw-lis-3 was already down: no CoA sent');
    assert.deepEqual(r2.raw.map((x) => x.source), ['switch.cli'], 'no CoA-Request on the retry');
    assert.deepEqual(emu.received.slice(again), ['terminal length 0', 'show interfaces GigabitEthernet1/0/12 status']);

    // the declared inverse: no shutdown over SSH on the port this run disabled
    const inv = contain.inverse!;
    assert.ok('action' in inv);
    const undoInput = inv.input({ ports: [PORT_ROW] }, r.output);
    assert.deepEqual(undoInput, { ports: [{ switchId: 'sw-lis-3', port: 'GigabitEthernet1/0/12' }] });
    const up = await act('switch.unshutPort').run(undoInput, ctx(c));
    assert.equal(up.summary, 'Gi1/0/12 on sw-lis-3 brought back up (no shutdown)');
    assert.equal(gi12(emu).adminShut, false);
  });

  it('a session the NAS does not host: CoA-NAK 503 with its Error-Cause, kept as evidence; the step fails with that line', async () => {
    const c = customer('coa-disable-host-port');
    await assert.rejects(act('switch.containPort').run({ ports: [{ ...PORT_ROW, acctSessionId: '0000000B' }] }, ctx(c)), (e: Error & { opts?: { raw?: Array<{ source: string; body: Buffer }> } }) => {
      assert.match(e.message, /^no switch port was contained: Gi1\/0\/12 on sw-lis-3 NOT disabled: CoA-NAK 503 Session Context Not Found at 127\.0\.0\.1:\d+$/);
      const coa = e.opts!.raw!.find((x) => x.source === 'radius.coa')!;
      const ex = JSON.parse(coa.body.toString()).exchanges[0];
      assert.equal(ex.reply.code, 'CoA-NAK');
      assert.deepEqual(ex.reply.errorCause, { code: 503, text: 'Session Context Not Found' });
      return true;
    });
    assert.equal(gi12(emu).adminShut, false);
  });

  it('the chain as the procedure runs it: radius accounting row → switch.portFacts → its output.ports → containPort', async () => {
    const c = customer('coa-bounce-host-port');
    const facts = await act('switch.portFacts').run({ sessions: [{ nasIp: '10.20.0.3', nasPortId: 'GigabitEthernet1/0/12', callingStationId: MAC, username: 'adele.vance', acctSessionId: '0000000A' }] }, ctx(c));
    const rows = (facts.output as { ports: Array<Record<string, unknown>> }).ports;
    assert.deepEqual([rows[0].outcome, rows[0].callingStationId, rows[0].acctSessionId], ['ok', MAC, '0000000A']);
    const r = await act('switch.containPort').run({ ports: rows }, ctx(c));
    assert.equal((r.output as ContainPortOutput).ports[0].coa?.outcome, 'ack', 'FreeRADIUS knows 3C-22-FB-12-34-56 with session 0000000A only');
  });

  it('values outside the grammar are refused per row with the reason, nothing sent for them; the good row still goes', async () => {
    const c = customer('coa-bounce-host-port');
    const r = await act('switch.containPort').run({ ports: [
      { ...PORT_ROW, callingStationId: `${MAC}"\nCisco-AVPair = "subscriber:command=disable-host-port` },
      { ...PORT_ROW, switchId: 'sw-lis-3', port: 'Gi1/0/13', nasPortId: 'Gi1/0/13', acctSessionId: '0000 000C' },
      { ...PORT_ROW, port: 'Gi1/0/14', nasPortId: 'Gi1/0/14', callingStationId: undefined },
      PORT_ROW,
    ] }, ctx(c));
    const out = r.output as ContainPortOutput;
    assert.deepEqual(out.refused.map((x) => x.item), ['GigabitEthernet1/0/12 on sw-lis-3', 'GigabitEthernet1/0/13 on sw-lis-3', 'GigabitEthernet1/0/14 on sw-lis-3']);
    assert.match(out.refused[0].reason, /^callingStationId: not a MAC address/);
    assert.match(out.refused[1].reason, /^acctSessionId: not an Acct-Session-Id/);
    assert.match(out.refused[2].reason, /no Calling-Station-Id/);
    assert.equal(out.ports.length, 1);
    assert.equal(out.ports[0].coa?.outcome, 'ack');
    const body = JSON.parse(r.raw[0].body.toString());
    assert.equal(body.exchanges.length, 1, 'only the good row reached the NAS');
  });
});
