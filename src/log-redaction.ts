import type { Bindings, ChildLoggerOptions, Logger, LoggerOptions } from 'pino';

/**
 * Secrets never reach a log line, wherever they sit in what is logged: every argument of every
 * log call is walked (nested objects, arrays, errors and their causes), values under a key that
 * names a secret are replaced whatever the key's case or spelling (Password, client_secret,
 * unicodePwd, Set-Cookie, ...), and text that carries one (`password=...`, `Bearer ...`, a URL's
 * `?sig=...` or `user:pass@`) is masked. pino's own `redact` needs every path spelt out, so it
 * cannot reach a header three levels down or an error message; this walk does, within a bound.
 */

export const REDACTED = '[redacted]';

/** How far a logged value is walked; past that a placeholder is logged, not the value. */
const MAX_DEPTH = 8;
const MAX_NODES = 2_000;
const MAX_ARRAY_ITEMS = 100;

// Compared with the key lower-cased and stripped of '-', '_' and '.': clientSecret, client_secret
// and CLIENT-SECRET are one name.
const SECRET_KEY_PARTS = [
  'password', 'passwd', 'passphrase', 'pwd', 'secret', 'token', 'authorization', 'authorisation', 'cookie',
  'apikey', 'privatekey', 'credential', 'sharedkey', 'accesskey', 'signature', 'sessionkey',
];
/** `passwordRef: "env:NAME"` names where a secret is kept, not the secret: that is worth logging. */
const SECRET_REFERENCE = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^\0\n]+)$/;

/** Short names that are secrets only as a whole key (`auth`, not `author`). */
const SECRET_KEYS = new Set(['pass', 'pw', 'auth', 'key', 'sig', 'psk']);

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.\s]/g, '');
  return SECRET_KEYS.has(k) || SECRET_KEY_PARTS.some((part) => k.includes(part));
}

const SECRET_NAME = String.raw`[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api[-_]?key|apikey|credential|authorization|cookie)[\w.-]*`;
const TEXT_RULES: Array<[RegExp, string]> = [
  // Authorization header values, wherever they are quoted
  [/\b(Bearer|Basic|Digest|NTLM|Negotiate)\s+[A-Za-z0-9\-._~+/=:]{4,}/gi, `$1 ${REDACTED}`],
  // name=value and name: value pairs (query strings, form bodies, CLI text, "password=..." in a message)
  // (an already masked value or a scheme the rule above kept readable is left as it is)
  [new RegExp(String.raw`\b(${SECRET_NAME})(\s*[=:]\s*)("?)(?!(?:Bearer|Basic|Digest|NTLM|Negotiate)\s|\[redacted\])[^\s&"',;)}\]]+`, 'gi'), `$1$2$3${REDACTED}`],
  // short query parameters that carry a credential: SAS ?sig=, OAuth &code=, ?key=
  [/([?&;](?:sig|signature|code|key|auth|pass|pw|psk)=)[^&#\s"']+/gi, `$1${REDACTED}`],
  // "password": "value" inside JSON text
  [new RegExp(String.raw`("${SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'), `$1"${REDACTED}"`],
  // credentials in a URL: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]+@/gi, `$1:${REDACTED}@`],
];

/** The text with every secret it visibly carries masked. */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A copy of `value` safe to log. Errors stay errors (same prototype, so pino's serializer names
 * their type) with message, stack, cause and own fields redacted; Buffers are logged by size only.
 */
export function redactSecrets(value: unknown): unknown {
  return walk(value, 0, { nodes: 0, seen: new WeakSet() });
}

interface WalkState { nodes: number; seen: WeakSet<object> }

function walk(value: unknown, depth: number, st: WalkState): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (++st.nodes > MAX_NODES) return '[truncated: too large to log]';
  if (depth >= MAX_DEPTH) return '[truncated: nested too deep]';
  if (st.seen.has(value)) return '[circular]';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  st.seen.add(value);
  try {
    if (value instanceof Error) return walkError(value, depth, st);
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ARRAY_ITEMS).map((v) => walk(v, depth + 1, st));
      if (value.length > MAX_ARRAY_ITEMS) items.push(`[${value.length - MAX_ARRAY_ITEMS} more]`);
      return items;
    }
    const withJson = value as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return walk(withJson.toJSON(), depth + 1, st);
    if (value instanceof Map) return walkEntries([...value.entries()].map(([k, v]) => [String(k), v]), depth, st);
    if (value instanceof Set) return walk([...value], depth, st);
    return walkEntries(Object.entries(value), depth, st);
  } finally {
    st.seen.delete(value);
  }
}

function walkEntries(entries: Array<[string, unknown]>, depth: number, st: WalkState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const safe = isSecretKey(key) && !(typeof v === 'string' && SECRET_REFERENCE.test(v)) ? (v === undefined || v === null ? v : REDACTED) : walk(v, depth + 1, st);
    Object.defineProperty(out, key, { value: safe, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function walkError(err: Error, depth: number, st: WalkState): Error {
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & Record<string, unknown>;
  const define = (key: string, value: unknown, enumerable: boolean) =>
    Object.defineProperty(copy, key, { value, enumerable, writable: true, configurable: true });
  define('message', scrubText(String(err.message ?? '')), false);
  if (typeof err.stack === 'string') define('stack', scrubText(err.stack), false);
  if (Object.prototype.hasOwnProperty.call(err, 'name')) define('name', err.name, false);
  if (err.cause !== undefined) define('cause', walk(err.cause, depth + 1, st), false);
  const { errors } = err as { errors?: unknown };
  if (Array.isArray(errors)) define('errors', walk(errors, depth + 1, st), false);
  for (const [key, v] of Object.entries(walkEntries(Object.entries(err), depth, st))) define(key, v, true);
  return copy;
}

/**
 * The pino options that apply the redaction to every log call's arguments: the merged object, the
 * message and the format arguments. Child bindings are covered by withRedactedChildren.
 */
export const redactionOptions: Pick<LoggerOptions, 'hooks'> = {
  hooks: {
    logMethod(args, method) {
      const safe = args.map((a) => redactSecrets(a)) as Parameters<typeof method>;
      return method.apply(this, safe);
    },
  },
};

/**
 * pino serialises a child's bindings once, when the child is made, without any hook: so `child`
 * itself redacts them. Children are created from their parent's prototype, so grandchildren are
 * covered too.
 */
export function withRedactedChildren<L extends Logger>(logger: L): L {
  type ChildFn = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  const child = logger.child as unknown as ChildFn;
  // not bound: `this` is whichever logger (root, child, grandchild) the call was made on
  function redacting(this: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return child.call(this, redactSecrets(bindings) as Bindings, options);
  }
  Object.defineProperty(logger, 'child', { value: redacting, writable: true, configurable: true });
  return logger;
}
