import { InvalidInputError, quoteForError } from '../../domain/net';

/**
 * A RADIUS text value (User-Name, Acct-Session-Id, NAS-Identifier, ...) that has been checked:
 * 1..253 UTF-8 bytes (one attribute), no control characters and no double quote. Such a value
 * encodes as exactly one attribute, and as exactly one line of a radclient attribute list.
 */
export type RadiusString = string & { readonly __brand: 'RadiusString' };

// C0, DEL, C1 controls and the Unicode line/paragraph separators: anything that could end or
// bend a line in radclient's input, a log line or a card.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029"]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function parseRadiusString(value: unknown, field: string): RadiusString {
  if (typeof value !== 'string') throw new InvalidInputError(field, `not a string: ${quoteForError(value)}`);
  if (value.length === 0) throw new InvalidInputError(field, 'is empty');
  if (FORBIDDEN.test(value)) {
    throw new InvalidInputError(field, `contains a control character or a double quote, which RADIUS tools cannot carry safely: ${quoteForError(value)}`);
  }
  if (LONE_SURROGATE.test(value)) throw new InvalidInputError(field, `is not well-formed Unicode: ${quoteForError(value)}`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > 253) throw new InvalidInputError(field, `is ${bytes} bytes; a RADIUS attribute holds at most 253`);
  return value as RadiusString;
}

export const isRadiusString = (v: unknown): v is RadiusString => {
  try {
    parseRadiusString(v, 'value');
    return true;
  } catch {
    return false;
  }
};

/** The value as a double-quoted string in FreeRADIUS's attribute-list syntax (radclient stdin). */
export function freeradiusQuoted(value: RadiusString): string {
  // Only backslash needs escaping: the type already excludes quotes and control characters.
  return `"${value.replace(/\\/g, '\\\\')}"`;
}
