import assert from 'node:assert/strict';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { FeedExpiryJob, checkFeedBasicAuth, expiryStepId, handleFeedRequest, renderBlocklist, threatFeedActions } from '../../../src/connectors/threat-feed';
import { firewallActions } from '../../../src/connectors/firewall';
import type { CustomerConfig } from '../../../src/config/customers';
import { ActionRegistry } from '../../../src/engine/action-registry';
import { Engine } from '../../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../../src/engine/procedure';
import { actionPorts } from '../../../src/operations/action-ports';
import pino from 'pino';
import { openStore } from '../../../src/store/open-store';
import type { FeedEntry, Store } from '../../../src/store/store';
import { CONTOSO, FABRIKAM } from '../../../src/sandbox/contoso';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { FortiGateDriver } from '../../../src/connectors/fortigate/fortigate-driver';
import { parseIp } from '../../../src/domain/net';
import { FW_USER, firewallConfig, fwSecrets } from '../firewall/helpers';
import { customer } from '../firewall/customers';

const feedSecrets = new EnvFileSecretStore({ FEED_USER: CONTOSO.feed.username, FEED_PASS: CONTOSO.feed.password, FAB_FEED_USER: 'fabrikam', FAB_FEED_PASS: 'fabrikam-feed', FW_PASSWORD: FW_USER.password });
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const entry = (ip: string, over: Partial<FeedEntry> = {}): FeedEntry => ({
  customerId: 'contoso', ip, incidentId: 'IR-20261127-7K3Q', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z', removedAt: null, ...over,
});

describe('threat feed', () => {
  it('renders unexpired, unremoved entries, IPv4 then IPv6 in address order, deterministically', () => {
    const now = new Date('2026-11-30T00:00:00Z');
    const entries = [
      entry('2001:db8:bad:cafe::7'),
      entry('203.0.113.70'),
      entry('203.0.113.7', { incidentId: 'IR-20261127-AAAA' }),
      entry('198.51.100.9', { expiresAt: '2026-11-29T00:00:00.000Z' }),          // expired
      entry('192.0.2.1', { removedAt: '2026-11-28T00:00:00.000Z' }),             // removed
      entry('203.0.113.9', { incidentId: 'bad id\nwith newline' }),              // comment sanitised
    ];
    const text = renderBlocklist(entries, now);
    assert.equal(text, [
      '203.0.113.7 # IR-20261127-AAAA expires 2026-12-04T09:00:00.000Z',
      '203.0.113.9 # incident expires 2026-12-04T09:00:00.000Z',
      '203.0.113.70 # IR-20261127-7K3Q expires 2026-12-04T09:00:00.000Z',
      '2001:db8:bad:cafe::7 # IR-20261127-7K3Q expires 2026-12-04T09:00:00.000Z',
      '',
    ].join('\n'));
    assert.equal(renderBlocklist([...entries].reverse(), now), text);
    assert.equal(renderBlocklist([], now), '');
  });

  it('checks Basic auth against the customer\'s own feed credentials', () => {
    const contoso = customer(CONTOSO, []);
    assert.equal(checkFeedBasicAuth(basic('contoso', 'sandbox-feed'), contoso, feedSecrets), true);
    assert.equal(checkFeedBasicAuth(basic('contoso', 'sandbox-feeD'), contoso, feedSecrets), false);
    assert.equal(checkFeedBasicAuth(basic('fabrikam', 'sandbox-feed'), contoso, feedSecrets), false);
    assert.equal(checkFeedBasicAuth('Bearer abc', contoso, feedSecrets), false);
    assert.equal(checkFeedBasicAuth(undefined, contoso, feedSecrets), false);
    assert.equal(checkFeedBasicAuth(basic('contoso', 'sandbox-feed'), customer(CONTOSO, [], { threatFeed: undefined }), feedSecrets), false);
    assert.equal(checkFeedBasicAuth(basic('contoso', 'sandbox-feed'), contoso, new EnvFileSecretStore({})), false, 'missing secret: refused, no throw');
  });

  describe('with the store and the FortiOS emulator', () => {
    let store: Store;
    let emu: FortiOsEmulator;
    const incident = (id: string, customerId = 'contoso') => store.createIncident({
      id, customerId, tenantId: customerId === 'contoso' ? CONTOSO.tenantId : FABRIKAM.tenantId, subjectUpn: `${id.toLowerCase()}@${customerId}.com`, subjectObjectId: null,
      severity: 'high', title: 'test', status: 'contained', procedure: null, createdAt: '2026-11-20T09:00:00.000Z', data: {},
    }, []);
    before(async () => {
      store = await openStore('sqlite::memory:');
      await incident('IR-20261127-7K3Q');
      await incident('IR-20261127-FABR', 'fabrikam');
      await incident('IR-20261120-EXP1');
      await incident('IR-20261120-EXP2');
    });
    after(async () => { await store.close(); });
    beforeEach(async () => { emu = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: contosoFortiGateState() }); });
    afterEach(() => emu.close());

    it('serves the customer\'s feed over handleFeedRequest, 401 for anyone else', async () => {
      await store.addFeedEntries([{ customerId: 'contoso', ip: '203.0.113.7', incidentId: 'IR-20261127-7K3Q', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z' }]);
      await store.addFeedEntries([{ customerId: 'fabrikam', ip: '192.0.2.50', incidentId: 'IR-20261127-FABR', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z' }]);
      const customers = new Map([['contoso', customer(CONTOSO, [])], ['fabrikam', customer(FABRIKAM, [], { threatFeed: { usernameRef: 'env:FAB_FEED_USER', passwordRef: 'env:FAB_FEED_PASS' } })]]);
      const deps = { customer: (id: string) => customers.get(id), secrets: feedSecrets, store, now: () => new Date('2026-11-28T00:00:00Z') };
      const ok = await handleFeedRequest('contoso', basic('contoso', 'sandbox-feed'), deps);
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '203.0.113.7 # IR-20261127-7K3Q expires 2026-12-04T09:00:00.000Z\n');
      assert.equal(ok.headers['content-type'], 'text/plain; charset=utf-8');
      const wrong = await handleFeedRequest('contoso', basic('contoso', 'nope'), deps);
      const unknown = await handleFeedRequest('nobody', basic('contoso', 'sandbox-feed'), deps);
      for (const r of [wrong, unknown]) {
        assert.equal(r.status, 401);
        assert.match(r.headers['www-authenticate'], /^Basic realm="threat-feed"/);
        assert.doesNotMatch(r.body, /203\.0\.113\.7/);
      }
      // Contoso's credentials never open Fabrikam's feed.
      assert.equal((await handleFeedRequest('fabrikam', basic('contoso', 'sandbox-feed'), deps)).status, 401);
      const fab = await handleFeedRequest('fabrikam', basic('fabrikam', 'fabrikam-feed'), deps);
      assert.equal(fab.body, '192.0.2.50 # IR-20261127-FABR expires 2026-12-04T09:00:00.000Z\n');
    });

    /** The engine the job asks to run each unblock (as main.ts wires it), and the job. */
    const expiry = (customerOf: (id: string) => CustomerConfig | undefined, now: Date) => {
      const registry = new ActionRegistry(firewallActions, threatFeedActions);
      const procedures = new ProcedureCatalog(parseProcedure('name: Feed test\nversion: 1\nsteps:\n  - { id: feed, action: threatFeed.list, with: { entries: [] } }\n', 'test.yaml', registry));
      const engine = new Engine({
        store, registry, procedures, secrets: feedSecrets, customers: customerOf, ports: actionPorts(store),
        clock: { now: () => now }, log: pino({ level: 'silent' }), retry: { maxAttempts: 1 },
      });
      return new FeedExpiryJob({ feed: store, customer: customerOf, runAdHoc: (id, req) => engine.runAdHoc(id, req) });
    };

    it('threatFeed.list puts the block step\'s entries on the customer\'s feed, through the context\'s port', async () => {
      const contoso = customer(CONTOSO, []);
      const [list] = threatFeedActions;
      const ports = actionPorts(store)(contoso);
      const ctx = { customer: contoso, secrets: feedSecrets, incidentId: 'IR-20261127-7K3Q', idempotencyKey: 'k', mayHaveRun: false, log: pino({ level: 'silent' }), now: () => new Date('2026-11-27T09:00:00Z'), ports };
      const entries = [{ customerId: 'contoso', ip: '203.0.113.91', incidentId: 'IR-20261127-7K3Q', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z' }];
      const r = await list.run(list.input.parse({ entries }), ctx) as { output: { listed: number }; summary: string; raw: Array<{ body: Buffer }> };
      assert.equal(r.output.listed, 1);
      assert.equal(r.summary, "Listed 203.0.113.91 on Contoso's threat feed until 2026-12-04T09:00:00.000Z");
      assert.deepEqual(JSON.parse(r.raw[0].body.toString()).map((e: { ip: string }) => e.ip), ['203.0.113.91']);
      assert.ok((await ports.threatFeed!.listed(new Date('2026-11-28T00:00:00Z'))).some((e) => e.ip === '203.0.113.91'));
      // an entry of another customer or another incident is refused, and nothing is written
      await assert.rejects(list.run(list.input.parse({ entries: [{ ...entries[0], ip: '203.0.113.92', customerId: 'fabrikam' }] }), ctx), /cannot go on Contoso's feed/);
      await assert.rejects(list.run(list.input.parse({ entries: [{ ...entries[0], ip: '203.0.113.92', incidentId: 'IR-20261127-FABR' }] }), ctx), /cannot be listed by IR-20261127-7K3Q/);
      assert.ok(!(await store.listFeed('contoso', new Date('2026-11-28T00:00:00Z'))).some((e) => e.ip === '203.0.113.92'));
      await store.markFeedRemoved('contoso', '203.0.113.91', new Date('2026-11-28T00:00:00Z'));
    });

    it('expiry removes the objects on the device, marks the store and writes the timeline', async () => {
      const fw = firewallConfig('fortigate', emu, { id: 'contoso-fgt-1' });
      const contoso = customer(CONTOSO, [fw]);
      const incidentId = 'IR-20261120-EXP1';
      const driver = new FortiGateDriver(fw, { secrets: fwSecrets });
      await driver.blockIps([parseIp('203.0.113.66'), parseIp('2001:db8::66')], { incidentId });
      await driver.close();
      await store.addFeedEntries(['203.0.113.66', '2001:db8::66'].map((ip) => ({ customerId: 'contoso', ip, incidentId, addedAt: '2026-11-20T09:00:00.000Z', expiresAt: '2026-11-27T09:00:00.000Z' })));
      const now = new Date('2026-11-27T10:00:00Z');
      const job = expiry((id) => (id === 'contoso' ? contoso : undefined), now);
      const from = emu.received.length;
      const r = await job.runOnce(now);
      assert.deepEqual(r.failed.filter((f) => f.customerId === 'contoso'), []);
      assert.deepEqual(r.removed.filter((x) => x.customerId === 'contoso').map((x) => x.ip).sort(), ['2001:db8::66', '203.0.113.66']);
      assert.equal(emu.state.address.has('IR-203.0.113.66'), false);
      assert.equal(emu.state.address6.has('IR-2001-db8--66'), false);
      assert.deepEqual(emu.state.addrgrp.get('IR-Block')!.member, ['none']);
      assert.deepEqual(emu.state.addrgrp6.get('IR-Block6')!.member, ['none']);
      assert.ok(emu.received.slice(from).includes('unselect member "IR-203.0.113.66"'));
      assert.deepEqual(await store.listExpiredFeed(now), []);
      // each entry is an action of the incident that listed it, run by the engine: row, evidence, timeline
      for (const ip of ['203.0.113.66', '2001:db8::66']) {
        const a = (await store.getAction(`${incidentId}:${expiryStepId({ ip, expiresAt: '2026-11-27T09:00:00.000Z' })}`))!;
        assert.equal(a.name, 'firewall.unblockExpired');
        assert.equal(a.status, 'succeeded');
        assert.equal(a.result!.summary, `Block expired: removed ${ip} from IR-Block on contoso-fgt-1`);
        const evidence = (await store.listEvidence(incidentId)).filter((e) => e.actionId === a.id);
        assert.deepEqual(evidence.map((e) => e.source), ['fortigate.cli']);
        assert.match(evidence[0].note!, /^feed expiry: /);
      }
      const timeline = await store.listTimeline(incidentId);
      assert.deepEqual(timeline.filter((e) => e.kind === 'step.succeeded').map((e) => e.summary).sort(), [
        'Expired block of 2001:db8::66: Block expired: removed 2001:db8::66 from IR-Block on contoso-fgt-1',
        'Expired block of 203.0.113.66: Block expired: removed 203.0.113.66 from IR-Block on contoso-fgt-1',
      ]);
      // Nothing left to do: a second run contacts no device.
      const conns = emu.connections;
      await expiry(() => contoso, new Date('2026-11-27T11:00:00Z')).runOnce(new Date('2026-11-27T11:00:00Z'));
      assert.equal(emu.connections, conns);
    });

    it('keeps the entries when a device refuses, so the next run retries', async () => {
      const fw = firewallConfig('fortigate', emu, { id: 'contoso-fgt-1' });
      emu.state.addrgrp.delete('IR-Block');
      await store.addFeedEntries([{ customerId: 'contoso', ip: '203.0.113.77', incidentId: 'IR-20261120-EXP2', addedAt: '2026-11-20T09:00:00.000Z', expiresAt: '2026-11-27T09:00:00.000Z' }]);
      const now = new Date('2026-11-27T10:00:00Z');
      const job = expiry(() => customer(CONTOSO, [fw]), now);
      const r = await job.runOnce(now);
      assert.match(r.failed[0].error, /block group IR-Block does not exist/);
      assert.deepEqual((await store.listExpiredFeed(now)).map((e) => e.ip), ['203.0.113.77']);
      const id = `IR-20261120-EXP2:${expiryStepId({ ip: '203.0.113.77', expiresAt: '2026-11-27T09:00:00.000Z' })}`;
      assert.equal((await store.getAction(id))!.status, 'failed');
      // the device is fixed: the next run runs the same action row again, and it succeeds
      emu.state.addrgrp.set('IR-Block', { member: ['none'] } as never);
      const again = await job.runOnce(now);
      assert.deepEqual(again.removed.map((x) => x.ip), ['203.0.113.77']);
      const row = (await store.getAction(id))!;
      assert.equal(row.status, 'succeeded');
      assert.equal(row.attempts, 2);
    });
  });
});
