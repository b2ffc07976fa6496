/**
 * Tenant ids the sandbox may generate for load tests (many emulated customers on one set of peers,
 * test/support/storm-cluster.ts). They live in a reserved namespace: a fixed 96-bit prefix that a
 * real Entra tenant id (a random version-4 GUID) matches with odds of about 2^-90, so the sandbox
 * guard (sandbox-customers-file.ts) can accept them and still refuse every real customer list.
 */
const PREFIX = '5a4db0c5-0000-4000-8000-';
const GENERATED = /^5a4db0c5-0000-4000-8000-[0-9a-f]{12}$/;

/** The tenant id of generated sandbox customer `i` (0 ≤ i < 2^48). */
export function generatedSandboxTenantId(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= 2 ** 48) throw new RangeError(`generated sandbox tenant index ${i} is out of range`);
  return `${PREFIX}${i.toString(16).padStart(12, '0')}`;
}

export function isGeneratedSandboxTenant(tenantId: string): boolean {
  return GENERATED.test(tenantId.toLowerCase());
}
