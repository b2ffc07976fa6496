import { StoreInputError } from './errors';
import type { SendRateKey } from './store';

/**
 * The arithmetic of a shared send-rate key (0007), apart from the SQL: a sliding-window log per
 * key. Exact for "at most N in any T" (a token bucket or GCRA would let almost 2N through in some
 * window of T, which Teams would answer with 429).
 */

const MAX_WINDOWS = 8;
const MAX_WINDOW_MS = 24 * 3_600_000;
const MAX_PER_WINDOW = 10_000;

/** Keys sorted (rows are locked in this order, so two takers never deadlock), validated, distinct. */
export function checkSendRateKeys(keys: readonly SendRateKey[]): SendRateKey[] {
  if (!Array.isArray(keys) || keys.length === 0) throw new StoreInputError('takeSendSlot needs at least one key');
  const seen = new Set<string>();
  for (const [i, k] of keys.entries()) {
    if (typeof k?.key !== 'string' || k.key.length === 0 || k.key.length > 1000) throw new StoreInputError(`send-rate key ${i} must be a non-empty string of at most 1000 characters`);
    if (seen.has(k.key)) throw new StoreInputError(`send-rate key ${JSON.stringify(k.key)} is given twice`);
    seen.add(k.key);
    if (!Array.isArray(k.windows) || k.windows.length === 0 || k.windows.length > MAX_WINDOWS) throw new StoreInputError(`send-rate key ${JSON.stringify(k.key)} needs 1 to ${MAX_WINDOWS} windows`);
    for (const w of k.windows) {
      if (!Number.isInteger(w?.windowMs) || w.windowMs < 1 || w.windowMs > MAX_WINDOW_MS) throw new StoreInputError(`send-rate window of ${JSON.stringify(k.key)}: windowMs must be an integer from 1 to ${MAX_WINDOW_MS}`);
      if (!Number.isInteger(w.max) || w.max < 1 || w.max > MAX_PER_WINDOW) throw new StoreInputError(`send-rate window of ${JSON.stringify(k.key)}: max must be an integer from 1 to ${MAX_PER_WINDOW}`);
    }
  }
  return [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The stored log, tolerant of a damaged row (it only ever makes the limiter stricter or forgetful, never wrong twice). */
export function parseSent(text: string | null | undefined): number[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b) : [];
  } catch {
    return [];
  }
}

/**
 * When may a send on this key go, seen at `now`: `now` itself, or the earliest later time at which
 * the hold has ended and every window has room. `sent` is oldest first.
 */
export function earliestSlot(key: SendRateKey, sent: readonly number[], heldUntilMs: number | undefined, now: number): number {
  let at = Math.max(now, heldUntilMs ?? Number.NEGATIVE_INFINITY);
  for (const w of key.windows) {
    // Sends after now - windowMs (a replica whose clock runs ahead may have logged a time after
    // `now`: it counts too); the slot opens when the oldest one that fills the window leaves it.
    const inWindow = sent.filter((t) => t > now - w.windowMs);
    if (inWindow.length >= w.max) at = Math.max(at, inWindow[inWindow.length - w.max] + w.windowMs);
  }
  return at;
}

/** The log to keep after granting `now`: what any window of the key can still see. */
export function trimmedSent(key: SendRateKey, sent: readonly number[], now: number): number[] {
  const longest = Math.max(...key.windows.map((w) => w.windowMs));
  const most = Math.max(...key.windows.map((w) => w.max));
  return [...sent.filter((t) => t > now - longest), now].sort((a, b) => a - b).slice(-most);
}
