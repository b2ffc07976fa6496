/**
 * Text as every store keeps it. A lone UTF-16 surrogate has no UTF-8 encoding: both SQLite and
 * PostgreSQL drivers write U+FFFD in its place, so anything hashed before that substitution no
 * longer matches what was stored (verify then reports tampering). PostgreSQL also refuses U+0000 in
 * a text column. Both become U+FFFD here, before the text is hashed or written, so the hashed value
 * is exactly the stored one on either dialect.
 */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/**
 * A JSON value with every string and object key made well-formed (lone surrogates → U+FFFD).
 * U+0000 is kept: inside JSON text it is written as the escape `\u0000`, which every store holds.
 */
export function wellFormedJson(value: unknown, depth = 0): unknown {
  if (depth > MAX_JSON_DEPTH) throw new RangeError(`JSON value nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (typeof value === 'string') return value.toWellFormed();
  if (typeof value !== 'object' || value === null) return value;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return wellFormedJson(withJson.toJSON(), depth + 1);
  if (Array.isArray(value)) return value.map((v) => wellFormedJson(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty, not assignment: a "__proto__" key from an alert stays a plain key
    Object.defineProperty(out, k.toWellFormed(), { value: wellFormedJson(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Well past any record the bot builds; a deeper value is a bug or an attack, not data. */
const MAX_JSON_DEPTH = 200;
