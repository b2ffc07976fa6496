import { randomInt } from 'node:crypto';

// Crockford-style alphabet without 0/O/1/I/L: the id is read aloud on bridge calls.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `IR-20261127-7K3Q`: the UTC date and four random characters. */
export function newIncidentId(now: Date): string {
  const date = now.toISOString().slice(0, 10).replace(/-/g, '');
  let tail = '';
  for (let i = 0; i < 4; i++) tail += ALPHABET[randomInt(ALPHABET.length)];
  return `IR-${date}-${tail}`;
}
