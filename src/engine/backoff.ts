export interface RetryPolicy {
  /** attempts of one run before a retryable error becomes a failure */
  maxAttempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseMs: 2_000, capMs: 60_000 };

/** Exponential back-off with a cap and ±20 % jitter, so that many throttled steps do not retry in lockstep. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
