import { randomInt } from 'node:crypto';
import { IncidentIdTakenError } from '../store/errors';

// Crockford base32 without I, L, O, U: easy to read out on a bridge call at 3 a.m.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `IR-20261127-7K3Q`: the day it opened (UTC) and four random characters. */
export function newIncidentId(now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  let tail = '';
  for (let i = 0; i < 4; i++) tail += ALPHABET[randomInt(ALPHABET.length)];
  return `IR-${day}-${tail}`;
}

/** How many ids a new incident draws before the store's IncidentIdTakenError is passed on. */
export const INCIDENT_ID_DRAWS = 5;

/**
 * Creates a new incident under a freshly drawn id, drawing again when the store answers that the id
 * is already another incident's (the day's four random characters met again: about 15 % on a
 * 580-incident day). `create` must have stored nothing when it throws IncidentIdTakenError; after
 * INCIDENT_ID_DRAWS draws, or on any other error, the error is passed on.
 */
export async function withFreshIncidentId<T>(
  now: Date,
  create: (incidentId: string) => Promise<T>,
  opts: { draw?: (now: Date) => string; onTaken?: (attempt: number) => void } = {},
): Promise<T> {
  const draw = opts.draw ?? newIncidentId;
  for (let attempt = 1; ; attempt++) {
    try {
      return await create(draw(now));
    } catch (e) {
      if (!(e instanceof IncidentIdTakenError) || attempt >= INCIDENT_ID_DRAWS) throw e;
      opts.onTaken?.(attempt);
    }
  }
}

export const INCIDENT_ID = /^IR-\d{8}-[0-9A-HJKMNP-TV-Z]{4}$/;
export function parseIncidentId(v: string): string | undefined {
  const s = v.trim().toUpperCase();
  return INCIDENT_ID.test(s) ? s : undefined;
}

/**
 * An action is one step of one incident: its id (and its idempotency key) is `<incident>:<step>`.
 * Step ids are lower-case letters, digits and dashes and incident ids have no colon, so the last
 * colon separates the two.
 */
export function actionIdOf(incidentId: string, stepId: string): string {
  return `${incidentId}:${stepId}`;
}

/** The step id of an action id (`IR-20261127-7K3Q:entra-contain` → `entra-contain`). */
export function stepIdOf(actionId: string): string {
  const i = actionId.lastIndexOf(':');
  return i < 0 ? actionId : actionId.slice(i + 1);
}
