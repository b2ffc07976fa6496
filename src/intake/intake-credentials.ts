import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { Logger } from '../log';
import type { Store } from '../store/store';

/**
 * Who may post alerts, and for which customers (issue 9, item 7). A credential belongs to customers:
 *   - `Authorization: Bearer <token>`: the customer(s) whose `intake.webhookTokenRef` resolves to that
 *     token; the MSP-wide token (sandbox, or ALERT_WEBHOOK_TOKEN_MSP_WIDE=true) belongs to all;
 *   - a signed body: `X-IR-Customer: <customer id>`, `X-IR-Timestamp: <unix seconds>` and
 *     `X-IR-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body bytes>">` with the
 *     customer's `intake.hmacSecretRef`. The timestamp must be within 5 minutes of now, and each
 *     signature is accepted once (remembered in the store, so every replica agrees).
 * The intake then refuses any alert whose tenant is not one of the credential's customers.
 */

export const SIGNATURE_WINDOW_MS = 5 * 60_000;
export const HEADER_CUSTOMER = 'x-ir-customer';
export const HEADER_TIMESTAMP = 'x-ir-timestamp';
export const HEADER_SIGNATURE = 'x-ir-signature';
/** secrets are re-read this often, so a rotated mounted secret takes effect without a restart */
const REFRESH_MS = 60_000;

/** The customers a credential may post alerts for: a set of customer ids, or every customer. */
export type IntakeScope = { kind: 'customers'; customerIds: ReadonlySet<string> } | { kind: 'all' };

export type CredentialCheck =
  | { ok: true; scope: IntakeScope; via: 'token' | 'msp-token' | 'signature' }
  | { ok: false; status: 401; message: string };

interface TokenEntry { digest: Buffer; scope: IntakeScope }

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();
const refused = (message: string): CredentialCheck => ({ ok: false, status: 401, message });

export interface SignatureHeaders { customerId: string; timestamp: number; signature: Buffer }

export class IntakeCredentials {
  private tokens = new Map<string, TokenEntry>();
  private hmacKeys = new Map<string, string>();
  private loadedAt = -Infinity;
  private readonly warned = new Set<string>();

  constructor(private readonly o: {
    customers: readonly CustomerConfig[];
    secrets: SecretStore;
    store: Pick<Store, 'claimOnce'>;
    /** accepted for every customer; undefined in production unless explicitly allowed */
    mspWideToken?: string;
    log?: Logger;
    now?: () => Date;
  }) {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** (Re)builds the token map from the secrets: token digest → the customers it belongs to. */
  private load(): void {
    const t = this.now().getTime();
    if (t - this.loadedAt < REFRESH_MS) return;
    const byToken = new Map<string, { digest: Buffer; customers: Set<string> }>();
    const hmacKeys = new Map<string, string>();
    for (const c of this.o.customers) {
      const token = this.secret(c, c.intake.webhookTokenRef, 'webhookTokenRef');
      if (token !== undefined) {
        const digest = sha256(token);
        const hex = digest.toString('hex');
        if (!byToken.has(hex)) byToken.set(hex, { digest, customers: new Set() });
        byToken.get(hex)!.customers.add(c.id);
      }
      const key = this.secret(c, c.intake.hmacSecretRef, 'hmacSecretRef');
      if (key !== undefined) hmacKeys.set(c.id, key);
    }
    const tokens = new Map<string, TokenEntry>();
    for (const [hex, e] of byToken) tokens.set(hex, { digest: e.digest, scope: { kind: 'customers', customerIds: e.customers } });
    if (this.o.mspWideToken) {
      const digest = sha256(this.o.mspWideToken);
      tokens.set(digest.toString('hex'), { digest, scope: { kind: 'all' } });
    }
    this.tokens = tokens;
    this.hmacKeys = hmacKeys;
    this.loadedAt = t;
  }

  private secret(c: CustomerConfig, ref: string | undefined, key: string): string | undefined {
    if (!ref) return undefined;
    try {
      return this.o.secrets.get(ref);
    } catch {
      // Named by reference, never by value; once per customer and key, not per request.
      const k = `${c.id}:${key}`;
      if (!this.warned.has(k)) {
        this.warned.add(k);
        this.o.log?.warn({ customer: c.id, ref }, `intake.${key} does not resolve: that credential is not accepted`);
      }
      return undefined;
    }
  }

  /** Customers with no way to send alerts (no intake credential, no polling, no MSP-wide token). */
  unreachableCustomers(): string[] {
    this.load();
    if (this.o.mspWideToken) return [];
    const withToken = new Set([...this.tokens.values()].flatMap((e) => (e.scope.kind === 'customers' ? [...e.scope.customerIds] : [])));
    return this.o.customers.filter((c) => !withToken.has(c.id) && !this.hmacKeys.has(c.id) && !c.graph.pollAlerts).map((c) => c.id);
  }

  /** Whether the request carries a signature (then the body must be read before it can be checked). */
  static isSigned(header: (name: string) => string | undefined): boolean {
    return header(HEADER_SIGNATURE) !== undefined;
  }

  /** `Authorization: Bearer <token>`, looked up by its SHA-256 and compared in constant time. */
  checkBearer(authorization: string | undefined): CredentialCheck {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return refused('send Authorization: Bearer <the customer\'s webhook token>, or a signed body (X-IR-Signature)');
    this.load();
    const digest = sha256(m[1]);
    const entry = this.tokens.get(digest.toString('hex'));
    if (!entry || !timingSafeEqual(entry.digest, digest)) return refused('wrong bearer token');
    return { ok: true, scope: entry.scope, via: entry.scope.kind === 'all' ? 'msp-token' : 'token' };
  }

  /** The signature headers, checked before the body is read: well-formed, known customer, fresh. */
  parseSignatureHeaders(header: (name: string) => string | undefined): SignatureHeaders | CredentialCheck {
    const customerId = header(HEADER_CUSTOMER) ?? '';
    const ts = header(HEADER_TIMESTAMP) ?? '';
    const sig = /^sha256=([0-9a-f]{64})$/i.exec(header(HEADER_SIGNATURE) ?? '');
    if (!sig || !/^\d{1,12}$/.test(ts) || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(customerId)) {
      return refused(`a signed alert needs ${HEADER_CUSTOMER}: <customer id>, ${HEADER_TIMESTAMP}: <unix seconds> and ${HEADER_SIGNATURE}: sha256=<hex>`);
    }
    const timestamp = Number(ts);
    if (Math.abs(this.now().getTime() - timestamp * 1000) > SIGNATURE_WINDOW_MS) {
      return refused(`${HEADER_TIMESTAMP} is more than ${SIGNATURE_WINDOW_MS / 60_000} minutes from now: sign again with the current time`);
    }
    return { customerId, timestamp, signature: Buffer.from(sig[1], 'hex') };
  }

  /** Verifies the signature over `<timestamp>.<raw body>` and spends it: a second use is a replay. */
  async checkSignature(h: SignatureHeaders, rawBody: Buffer): Promise<CredentialCheck> {
    const verified = this.verifySignature(h, rawBody);
    if (!verified.ok) return verified;
    try {
      await verified.spend();
    } catch (e) {
      if (e instanceof SignatureReplayError) return refused(e.message);
      throw e;
    }
    return { ok: true, scope: verified.scope, via: verified.via };
  }

  /**
   * Verifies the signature without touching the store; `spend()` records it as used (and throws
   * SignatureReplayError when it was used before). The intake spends it only once the body is
   * known to be an alert of the signer's tenants, so a refused body leaves nothing behind.
   */
  verifySignature(h: SignatureHeaders, rawBody: Buffer): (CredentialCheck & { ok: false }) | (CredentialCheck & { ok: true; spend(): Promise<void> }) {
    this.load();
    const key = this.hmacKeys.get(h.customerId);
    // An unknown customer costs the same HMAC as a known one, and gets the same answer as a wrong signature.
    const expected = createHmac('sha256', key ?? 'no-such-customer').update(`${h.timestamp}.`).update(rawBody).digest();
    if (!key || !timingSafeEqual(expected, h.signature)) return refused('the signature does not match the body') as CredentialCheck & { ok: false };
    const spend = async () => {
      const fresh = await this.o.store.claimOnce(
        `intake-signature:${h.customerId}:${expected.toString('hex')}`,
        new Date(h.timestamp * 1000 + SIGNATURE_WINDOW_MS + 60_000),
        this.now(),
      );
      if (!fresh) throw new SignatureReplayError();
    };
    return { ok: true, scope: { kind: 'customers', customerIds: new Set([h.customerId]) }, via: 'signature', spend };
  }
}

/** A signed body sent a second time. */
export class SignatureReplayError extends Error {
  constructor() {
    super('this signature was used before (replay): sign again with a new timestamp');
    this.name = 'SignatureReplayError';
  }
}

/** What a sender does: the headers for a signed body (tests, scripts, a Sentinel playbook's logic). */
export function signIntakeBody(customerId: string, secret: string, rawBody: string | Buffer, at = new Date()): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  const sig = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return { [HEADER_CUSTOMER]: customerId, [HEADER_TIMESTAMP]: String(timestamp), [HEADER_SIGNATURE]: `sha256=${sig}` };
}
