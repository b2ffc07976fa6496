/**
 * Bearer tokens that stand between the internet and the bot must be hard to guess. The rule (also in
 * .env.sample): at least 32 characters, at least 8 different characters, no one character more
 * than a third of the token, not a short pattern repeated, not mostly a run like abcd… or 1234…,
 * and no placeholder word (sandbox, token, secret, password, changeme, example). Output of
 * `openssl rand -base64 32` or `openssl rand -hex 32` passes.
 */
export const MIN_TOKEN_LENGTH = 32;
const MIN_DISTINCT = 8;
const PLACEHOLDER_WORDS = ['sandbox', 'token', 'secret', 'password', 'changeme', 'example'];

/** Why a token is too weak for production, or undefined when it is acceptable. */
export function weakTokenReason(token: string): string | undefined {
  if (token.length < MIN_TOKEN_LENGTH) return `must be at least ${MIN_TOKEN_LENGTH} characters (it has ${token.length})`;
  const lower = token.toLowerCase();
  const word = PLACEHOLDER_WORDS.find((w) => lower.includes(w));
  if (word) return `must be random, not contain the placeholder word "${word}"`;
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  if (counts.size < MIN_DISTINCT) return `must be random: it has only ${counts.size} different characters (at least ${MIN_DISTINCT})`;
  if (Math.max(...counts.values()) * 3 > token.length) return 'must be random: one character makes up more than a third of it';
  if (periodOf(token) <= token.length / 2) return 'must be random, not a repeated pattern';
  let steps = 0;
  for (let i = 1; i < token.length; i++) if (Math.abs(token.charCodeAt(i) - token.charCodeAt(i - 1)) === 1) steps++;
  if (steps * 2 >= token.length - 1) return 'must be random, not a run like abcd… or 1234…';
  return undefined;
}

/** The smallest p with s[i] === s[i + p] for every i (s.length when nothing shorter repeats). */
function periodOf(s: string): number {
  for (let p = 1; p < s.length; p++) {
    let ok = true;
    for (let i = 0; i + p < s.length; i++) if (s[i] !== s[i + p]) { ok = false; break; }
    if (ok) return p;
  }
  return s.length;
}
