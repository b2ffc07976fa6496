import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { parseIp, type IpAddress } from '../../domain/net';
import type { Logger } from '../../log';
import type { FeedEntry, Store } from '../../store/store';
import { createFirewallDriver, firewallDrivers } from '../firewall/registry';
import type { FirewallDriverFactory } from '../firewall/driver';
import type { RawPayload } from '../types';

export interface FeedExpiryDeps {
  store: Pick<Store, 'listExpiredFeed' | 'markFeedRemoved' | 'appendTimeline' | 'putEvidence'>;
  customer(id: string): CustomerConfig | undefined;
  secrets: SecretStore;
  log?: Logger;
  drivers?: Record<string, FirewallDriverFactory>;
}

export interface FeedExpiryOutcome {
  removed: Array<{ customerId: string; ip: string }>;
  failed: Array<{ customerId: string; firewallId?: string; error: string }>;
}

/**
 * Rolls back blocks whose week has ended: takes the address objects off every firewall of the
 * customer (out of the group, then deleted), then marks the feed entries removed and records the
 * rollback on each incident's timeline with the CLI transcript as evidence. A customer whose
 * devices fail keeps its entries, so the next run tries again.
 */
export class FeedExpiryJob {
  constructor(private readonly deps: FeedExpiryDeps) {}

  async runOnce(now: Date): Promise<FeedExpiryOutcome> {
    const expired = await this.deps.store.listExpiredFeed(now);
    const byCustomer = new Map<string, FeedEntry[]>();
    for (const e of expired) byCustomer.set(e.customerId, [...(byCustomer.get(e.customerId) ?? []), e]);
    const outcome: FeedExpiryOutcome = { removed: [], failed: [] };
    for (const [customerId, entries] of byCustomer) {
      const customer = this.deps.customer(customerId);
      if (!customer) {
        outcome.failed.push({ customerId, error: `customer ${customerId} is no longer configured: its ${entries.length} expired block(s) must be removed by hand` });
        continue;
      }
      await this.expireForCustomer(customer, entries, now, outcome);
    }
    return outcome;
  }

  private async expireForCustomer(customer: CustomerConfig, entries: FeedEntry[], now: Date, outcome: FeedExpiryOutcome): Promise<void> {
    const ips = entries.map((e) => parseIp(e.ip, 'feed ip'));
    const perDevice: Array<{ firewallId: string; removed: IpAddress[]; transcript: RawPayload }> = [];
    for (const fw of customer.firewalls) {
      const driver = createFirewallDriver(fw, { secrets: this.deps.secrets, log: this.deps.log }, this.deps.drivers ?? firewallDrivers);
      try {
        const r = await driver.unblockIps(ips);
        perDevice.push({ firewallId: fw.id, removed: r.removed, transcript: r.transcript });
      } catch (e) {
        outcome.failed.push({ customerId: customer.id, firewallId: fw.id, error: (e as Error).message });
        this.deps.log?.warn({ customerId: customer.id, firewallId: fw.id, err: (e as Error).message }, 'feed expiry: unblock failed, will retry');
      } finally {
        await driver.close();
      }
    }
    if (perDevice.length < customer.firewalls.length) return;   // retried on the next run
    const byIncident = new Map<string, FeedEntry[]>();
    for (const e of entries) byIncident.set(e.incidentId, [...(byIncident.get(e.incidentId) ?? []), e]);
    for (const [incidentId, list] of byIncident) {
      const mine = new Set(list.map((e) => parseIp(e.ip)));
      for (const d of perDevice) {
        await this.deps.store.putEvidence({
          incidentId, actionId: null, source: d.transcript.source, contentType: d.transcript.contentType,
          collectedAt: d.transcript.collectedAt, rangeFrom: null, rangeTo: null, recordCount: d.transcript.recordCount ?? null,
          note: `feed expiry: ${d.transcript.note ?? d.firewallId}`, body: d.transcript.body,
        });
      }
      await this.deps.store.appendTimeline(incidentId, [{
        source: 'firewall',
        kind: 'feed.expired',
        summary: `Block expired: removed ${[...mine].join(', ')} from ${customer.firewalls.map((f) => `${f.blockGroup} on ${f.id}`).join(', ') || 'the threat feed (no firewall configured)'}`,
        data: {
          ips: [...mine],
          firewalls: perDevice.map((d) => ({ firewallId: d.firewallId, removed: d.removed.filter((ip) => mine.has(ip)) })),
          expiresAt: list.map((e) => e.expiresAt),
        },
      }]);
      for (const e of list) {
        await this.deps.store.markFeedRemoved(customer.id, e.ip, now);
        outcome.removed.push({ customerId: customer.id, ip: e.ip });
      }
    }
  }
}
