import assert from 'node:assert/strict';
import fc from 'fast-check';
import pino from 'pino';
import { firewallActions } from '../../../src/connectors/firewall';
import { threatFeedActions } from '../../../src/connectors/threat-feed';
import type { ActionContext, ActionDef } from '../../../src/connectors/types';
import { actionPorts } from '../../../src/operations/action-ports';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { contosoPanOsState, startPanOsEmulator, type PanOsEmulator } from '../../../src/sandbox/panos/panos-emulator';
import { openStore } from '../../../src/store/open-store';
import type { Store } from '../../../src/store/store';
import { customer } from './customers';
import { firewallConfig, fwSecrets, FW_USER } from './helpers';

/**
 * The release side of a block (issue 14), on the FortiGate and PAN-OS emulators with a real store
 * behind the ports: firewall.unblock and threatFeed.unlist are reference-counted per incident (an
 * IP another open incident holds stays blocked and listed), re-read before they change anything,
 * and never unblock what the feed's expiry job has claimed.
 */
const A = 'IR-20261127-REL1';
const B = 'IR-20261127-REL2';
const X = '203.0.113.7';      // blocked by A and by B
const Y = '203.0.113.8';      // blocked by A alone
const NOW = new Date('2026-11-27T09:00:00.000Z');
const LATER = new Date('2026-11-28T09:00:00.000Z');
const def = (name: string): ActionDef<any, any> => [...firewallActions, ...threatFeedActions].find((a) => a.name === name)!;

describe('firewall.unblock and threatFeed.unlist (release, reference-counted) on the FortiGate and PAN-OS emulators', function () {
  this.timeout(60_000);
  let store: Store;
  let fgt: FortiOsEmulator;
  let pan: PanOsEmulator;
  const contoso = () => customer(CONTOSO, [firewallConfig('fortigate', fgt, { id: 'contoso-fgt-1' }), firewallConfig('paloalto', pan, { id: 'contoso-pa-1' })]);
  const ctx = (incidentId: string, now = NOW, over: Partial<ActionContext> = {}): ActionContext => {
    const c = contoso();
    return { customer: c, secrets: fwSecrets, incidentId, idempotencyKey: `${incidentId}:x`, mayHaveRun: false, log: pino({ level: 'silent' }), now: () => now, ports: actionPorts(store)(c), ...over };
  };
  const incident = (id: string) => store.createIncident({
    id, customerId: 'contoso', tenantId: CONTOSO.tenantId, subjectUpn: `${id.toLowerCase()}@contoso.com`, subjectObjectId: null,
    severity: 'high', title: 'test', status: 'contained', procedure: null, createdAt: '2026-11-27T08:00:00.000Z', data: {},
  }, []);
  /** firewall.block then threatFeed.list for the incident, as the procedure runs them; returns the inverses' inputs */
  const contain = async (incidentId: string, ips: string[], now = NOW) => {
    const block = def('firewall.block');
    const blockIn = block.input.parse({ ips, incidentId });
    const b = await block.run(blockIn, ctx(incidentId, now));
    const list = def('threatFeed.list');
    const listIn = list.input.parse({ entries: b.output.feedEntries });
    const l = await list.run(listIn, ctx(incidentId, now));
    const inv = (d: ActionDef, i: unknown, o: unknown) => { const x = d.inverse!; assert.ok('action' in x); return { action: x.action, input: x.input(i, o) }; };
    return { unblock: inv(block, blockIn, b.output), unlist: inv(list, listIn, l.output) };
  };
  const fgtMembers = () => fgt.state.addrgrp.get('IR-Block')!.member;
  const panMembers = () => pan.state.running.addressGroup.get('IR-Block')!.static;
  const served = async (at = NOW) => (await store.listFeed('contoso', at)).map((e) => e.ip).sort();

  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
    for (const id of [A, B]) await incident(id);
    fgt = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: contosoFortiGateState() });
    pan = await startPanOsEmulator({ users: [FW_USER], state: contosoPanOsState() });
  });
  afterEach(async () => { await Promise.all([fgt.close(), pan.close()]); await store.close(); });

  it('releasing A unblocks and unlists only the IP no other open incident holds; X stays "still blocked for B"; a retry changes nothing', async () => {
    const a = await contain(A, [X, Y]);
    await contain(B, [X]);
    assert.deepEqual(a.unblock, { action: 'firewall.unblock', input: { ips: [X, Y], incidentId: A } });
    assert.deepEqual(a.unlist, { action: 'threatFeed.unlist', input: { ips: [X, Y] } });
    assert.deepEqual(fgtMembers(), ['none', `IR-${X}`, `IR-${Y}`]);

    // the release runs in reverse order: the feed first, then the firewalls
    const unlist = def('threatFeed.unlist');
    const up = await unlist.preview!(unlist.input.parse(a.unlist.input), ctx(A));
    assert.deepEqual(up.changes, [`Take ${Y} off Contoso's threat feed (listed until 2026-12-04T09:00:00.000Z)`]);
    assert.deepEqual(up.notChanged, [{ item: X, reason: `still blocked for ${B}` }]);
    const ul = await unlist.run(unlist.input.parse(a.unlist.input), ctx(A));
    assert.deepEqual(ul.output, { unlisted: [Y], stillListed: [{ ip: X, heldBy: [B] }], notChanged: [] });
    assert.deepEqual(await served(), [X]);

    const unblock = def('firewall.unblock');
    assert.equal(unblock.risk, 'change');
    const input = unblock.input.parse(a.unblock.input);
    const p = await unblock.preview!(input, ctx(A));
    assert.deepEqual(p.changes, [
      `Unblock ${Y} on contoso-fgt-1 (fortigate): take IR-${Y} out of IR-Block and delete it; off the threat feed`,
      `Unblock ${Y} on contoso-pa-1 (paloalto): take IR-${Y} out of IR-Block and delete it; off the threat feed`,
    ]);
    assert.deepEqual(p.notChanged, [{ item: X, reason: `still blocked for ${B}` }]);
    const r = await unblock.run(input, ctx(A));
    assert.deepEqual(r.output.stillHeld, [{ ip: X, heldBy: [B] }]);
    assert.deepEqual(r.output.devices.map((d: any) => [d.firewallId, d.removed]), [['contoso-fgt-1', [Y]], ['contoso-pa-1', [Y]]]);
    assert.equal(r.summary, `Unblocked 1 IP(s) on 2 firewall(s) (2 removed, 0 not blocked); ${X} still blocked for ${B}`);
    assert.deepEqual(fgtMembers(), ['none', `IR-${X}`]);
    assert.equal(fgt.state.address.has(`IR-${Y}`), false);
    assert.deepEqual(panMembers(), ['IR-placeholder', `IR-${X}`]);
    assert.deepEqual(r.raw.map((x: any) => x.source), ['fortigate.cli', 'paloalto.cli', 'firewall.blockHolds']);

    // a retry after a crash: re-reads, sends no change, commits nothing
    const commits = pan.state.commits;
    const fFrom = fgt.received.length;
    const again = await unblock.run(input, ctx(A, NOW, { mayHaveRun: true }));
    assert.deepEqual(again.output.devices.map((d: any) => [d.removed, d.notBlocked]), [[[], [Y]], [[], [Y]]]);
    assert.equal(pan.state.commits, commits);
    assert.ok(!fgt.received.slice(fFrom).some((l) => /^(unselect|delete|config)/.test(l)), fgt.received.slice(fFrom).join('\n'));

    // B closes without a release: its hold no longer counts, and A's release (run again) takes X off
    await store.updateIncident(B, { status: 'closed' });
    const last = await unblock.run(input, ctx(A, NOW, { mayHaveRun: true }));
    assert.deepEqual(last.output.stillHeld, []);
    assert.deepEqual(fgtMembers(), ['none']);
    assert.deepEqual(panMembers(), ['IR-placeholder']);
    assert.deepEqual(await served(), []);
  });

  it("a block of an IP another open incident already blocked is not 'nothing to do': it runs to hold the IP, so releasing the first keeps it", async () => {
    // The engine skips a step whose preview says nothingToDo; B's block must still record B's hold.
    await contain(A, [X]);
    const block = def('firewall.block');
    const bIn = block.input.parse({ ips: [X], incidentId: B });
    const p = await block.preview!(bIn, ctx(B));
    assert.equal(p.nothingToDo, false, JSON.stringify(p));
    assert.deepEqual(p.changes, [`Hold ${X} for ${B} too: it is already blocked for ${A}, and stays blocked while either incident is open`]);
    await block.run(bIn, ctx(B));
    assert.equal((await block.preview!(bIn, ctx(B))).nothingToDo, true, 'held: nothing left to do');
    assert.deepEqual(await store.blockHolders('contoso', X, A), [B]);
    assert.equal((await block.preview!(block.input.parse({ ips: [X], incidentId: A }), ctx(A))).nothingToDo, true, 'A holds it already');
  });

  it('the expiry job and a release never both unblock: an entry the expiry job took off is not re-removed, one it claimed is left to it', async () => {
    const a = await contain(A, [X, Y]);
    const feed = actionPorts(store)(contoso()).threatFeed!;
    // X's week has ended and the expiry job has already taken it off (claimed, devices, removed)
    const unblockExpired = def('firewall.unblockExpired');
    const exp = await unblockExpired.run(unblockExpired.input.parse({ ip: X, expiresAt: '2026-12-04T09:00:00.000Z' }), ctx(A, new Date('2026-12-04T10:00:00Z')));
    assert.match(exp.summary, /^Block expired: removed 203\.0\.113\.7 from IR-Block on contoso-fgt-1, IR-Block on contoso-pa-1$/);
    // Y: the expiry job has claimed it and is still working on it
    assert.equal((await feed.claimUnblock(Y, 'expiry', LATER)).outcome, 'claimed');
    const unblock = def('firewall.unblock');
    const fFrom = fgt.received.length;
    const r = await unblock.run(unblock.input.parse(a.unblock.input), ctx(A, LATER));
    assert.deepEqual(r.output.devices, []);
    assert.deepEqual(r.output.notTouched, [
      { ip: X, reason: `its block expired (2026-12-04T09:00:00.000Z) and it was already removed at 2026-12-04T10:00:00.000Z: not removed again` },
      { ip: Y, reason: 'its block expired (2026-12-04T09:00:00.000Z): the expiry job takes it off' },
    ]);
    assert.equal(fgt.received.length, fFrom, 'no firewall contacted');
    const ul = await def('threatFeed.unlist').run(a.unlist.input, ctx(A, LATER));
    assert.deepEqual(ul.output.unlisted, []);
    assert.match(ul.summary, /203\.0\.113\.7: expired .* already removed at 2026-12-04T10:00:00\.000Z: not removed again; 203\.0\.113\.8: expired .*the expiry job takes it off/);
    // and the other way round: an entry a release took off is left alone by the expiry job
    await store.addFeedEntries([{ customerId: 'contoso', ip: '198.51.100.99', incidentId: A, addedAt: NOW.toISOString(), expiresAt: '2026-11-27T10:00:00.000Z' }]);
    assert.equal((await feed.claimUnblock('198.51.100.99', `release:${A}`, NOW)).outcome, 'claimed');
    const from2 = fgt.received.length;
    const e2 = await unblockExpired.run(unblockExpired.input.parse({ ip: '198.51.100.99', expiresAt: '2026-11-27T10:00:00.000Z' }), ctx(A, LATER));
    assert.equal(e2.summary, `Block expired: 198.51.100.99 not touched (the release of ${A} takes it off)`);
    assert.equal(fgt.received.length, from2);
  });

  it('refuses without the block holds port, and refuses bad IPs before any device is contacted', async () => {
    const unblock = def('firewall.unblock');
    await assert.rejects(unblock.run({ ips: [X] }, ctx(A, NOW, { ports: {} })), /no block holds were given/);
    await assert.rejects(def('threatFeed.unlist').run({ ips: [X] }, ctx(A, NOW, { ports: { threatFeed: actionPorts(store)(contoso()).threatFeed } })), /no block holds were given/);
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string(), fc.constantFrom(`${X}; delete firewall address`, `${X}\nend`, `"${X}"`, '10.0.0.0/8', '')), async (bad) => {
      const parsed = unblock.input.safeParse({ ips: [bad] });
      if (parsed.success) {
        // only a real address parses (canonical), and it reaches a device as that address alone
        assert.match(String(parsed.data.ips[0]), /^[0-9a-f.:]+$/);
        return;
      }
      await assert.rejects(def('threatFeed.unlist').run({ ips: [bad] }, ctx(A)), /not an IPv4 or IPv6|ips/);
    }), { numRuns: 60 });
    assert.equal(fgt.connections, 0);
    assert.equal(pan.connections ?? 0, 0);
  });
});
