import assert from 'node:assert/strict';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { FeedExpiryJob, checkFeedBasicAuth, handleFeedRequest, renderBlocklist } from '../../../src/connectors/threat-feed';
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

    it('expiry removes the objects on the device, marks the store and writes the timeline', async () => {
      const fw = firewallConfig('fortigate', emu, { id: 'contoso-fgt-1' });
      const contoso = customer(CONTOSO, [fw]);
      const incidentId = 'IR-20261120-EXP1';
      const driver = new FortiGateDriver(fw, { secrets: fwSecrets });
      await driver.blockIps([parseIp('203.0.113.66'), parseIp('2001:db8::66')], { incidentId });
      await driver.close();
      await store.addFeedEntries(['203.0.113.66', '2001:db8::66'].map((ip) => ({ customerId: 'contoso', ip, incidentId, addedAt: '2026-11-20T09:00:00.000Z', expiresAt: '2026-11-27T09:00:00.000Z' })));
      const job = new FeedExpiryJob({ store, customer: (id) => (id === 'contoso' ? contoso : undefined), secrets: feedSecrets });
      const from = emu.received.length;
      const r = await job.runOnce(new Date('2026-11-27T10:00:00Z'));
      assert.deepEqual(r.failed.filter((f) => f.customerId === 'contoso'), []);
      assert.deepEqual(r.removed.filter((x) => x.customerId === 'contoso').map((x) => x.ip).sort(), ['2001:db8::66', '203.0.113.66']);
      assert.equal(emu.state.address.has('IR-203.0.113.66'), false);
      assert.equal(emu.state.address6.has('IR-2001-db8--66'), false);
      assert.deepEqual(emu.state.addrgrp.get('IR-Block')!.member, ['none']);
      assert.deepEqual(emu.state.addrgrp6.get('IR-Block6')!.member, ['none']);
      assert.ok(emu.received.slice(from).includes('unselect member "IR-203.0.113.66"'));
      assert.deepEqual(await store.listExpiredFeed(new Date('2026-11-27T10:00:00Z')), []);
      const timeline = await store.listTimeline(incidentId);
      assert.equal(timeline.at(-1)!.kind, 'feed.expired');
      assert.equal(timeline.at(-1)!.summary, 'Block expired: removed 203.0.113.66, 2001:db8::66 from IR-Block on contoso-fgt-1');
      const evidence = await store.listEvidence(incidentId);
      assert.equal(evidence.at(-1)!.source, 'fortigate.cli');
      // Nothing left to do: a second run contacts no device.
      const conns = emu.connections;
      await job.runOnce(new Date('2026-11-27T11:00:00Z'));
      assert.equal(emu.connections, conns);
    });

    it('keeps the entries when a device refuses, so the next run retries', async () => {
      const fw = firewallConfig('fortigate', emu, { id: 'contoso-fgt-1' });
      emu.state.addrgrp.delete('IR-Block');
      await store.addFeedEntries([{ customerId: 'contoso', ip: '203.0.113.77', incidentId: 'IR-20261120-EXP2', addedAt: '2026-11-20T09:00:00.000Z', expiresAt: '2026-11-27T09:00:00.000Z' }]);
      const job = new FeedExpiryJob({ store, customer: () => customer(CONTOSO, [fw]), secrets: feedSecrets });
      const r = await job.runOnce(new Date('2026-11-27T10:00:00Z'));
      assert.match(r.failed[0].error, /block group IR-Block does not exist/);
      assert.deepEqual((await store.listExpiredFeed(new Date('2026-11-27T10:00:00Z'))).map((e) => e.ip), ['203.0.113.77']);
    });
  });
});
