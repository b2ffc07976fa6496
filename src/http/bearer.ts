import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a presented `Authorization: Bearer <token>` with the expected token. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  if (!header || !expected) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  // Hash both sides so the comparison time does not depend on the lengths either.
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
