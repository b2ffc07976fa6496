import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { GraphTenant } from './graph-tenant';

export interface GraphTenantsOptions {
  /** a customer whose Graph was not used for this long is released (GRAPH_IDLE_RELEASE_SECONDS) */
  idleReleaseMs: number;
  clock?: () => number;
  log?: Pick<Logger, 'debug'>;
}

/**
 * Each customer's Graph (credential, token, connections, throttle gate, client), made on first use
 * and kept while the customer is busy, so an incident's dozen Graph calls do not each fetch a token;
 * released after idleReleaseMs so that an MSP with a thousand customers keeps only the busy ones.
 *
 * The cache key is the customer's Graph settings plus a digest of its credential and CA: a rotated
 * secret or a changed endpoint gets a new client, never the old token.
 */
export class GraphTenants {
  private readonly byKey = new Map<string, GraphTenant>();
  private readonly clock: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: GraphTenantsOptions) {
    this.clock = opts.clock ?? Date.now;
    // Sweep at least every minute (and twice per idle period) so released means released, even
    // for a customer nobody asks for again.
    this.timer = setInterval(() => this.releaseIdle(), Math.max(1000, Math.min(60_000, opts.idleReleaseMs / 2)));
    this.timer.unref();
  }

  /** The customer's cached Graph, or a new one. */
  for(customer: CustomerConfig, secrets: SecretStore): GraphTenant {
    const key = cacheKey(customer, secrets);
    let t = this.byKey.get(key);
    if (t && this.idle(t)) { this.drop(key, t); t = undefined; }
    if (!t) {
      t = new GraphTenant(customer, secrets, this.clock);
      this.byKey.set(key, t);
    }
    t.touch();
    return t;
  }

  /** Releases every customer idle for idleReleaseMs (never one with a call under way); returns their ids. */
  releaseIdle(): string[] {
    const released: string[] = [];
    for (const [key, t] of this.byKey) {
      if (this.idle(t)) { this.drop(key, t); released.push(t.customer.id); }
    }
    if (released.length) this.opts.log?.debug({ customers: released.length }, 'graph: idle customers released');
    return released;
  }

  /** customer ids with a cached Graph now */
  cachedCustomers(): string[] {
    return [...this.byKey.values()].map((t) => t.customer.id);
  }

  close(): void {
    clearInterval(this.timer);
    for (const [key, t] of this.byKey) this.drop(key, t);
  }

  private idle(t: GraphTenant): boolean {
    return t.inFlight === 0 && this.clock() - t.lastUsedMs >= this.opts.idleReleaseMs;
  }

  private drop(key: string, t: GraphTenant): void {
    this.byKey.delete(key);
    t.release();
  }
}

function cacheKey(customer: CustomerConfig, secrets: SecretStore): string {
  const g = customer.graph;
  const credRef = g.credential.type === 'secret' ? g.credential.secretRef : g.credential.certificatePemRef;
  // Digest only: the key never holds a secret, yet a rotated one changes it.
  const digest = createHash('sha256').update(secrets.get(credRef)).update('\0').update(g.caCertificateRef ? secrets.get(g.caCertificateRef) : '').digest('hex');
  return JSON.stringify([customer.id, customer.tenantId.toLowerCase(), g.clientId, g.credential.type, credRef, g.baseUrl ?? '', g.authorityHost ?? '', g.caCertificateRef ?? '', g.timeoutMs, digest]);
}
