import { InvalidInputError, quoteForError } from '../../domain/net';

/**
 * ServiceNow encoded queries (`field=value^field2=value2`) have no escape for their separators:
 * `^` splits conditions (`^OR`, `^NQ` start new ones) and a newline ends the query on some releases.
 * A value that contains either would let an alert-supplied string widen the query, so such values
 * are refused here rather than "escaped". The whole query is URL-encoded by the caller afterwards.
 */
const FORBIDDEN = /[\^\r\n\0]/;
const FIELD = /^[a-z_][a-z0-9_.]*$/;

export function encodedQueryEquals(field: string, value: string, label = field): string {
  if (!FIELD.test(field)) throw new InvalidInputError(label, `not a ServiceNow field name: ${quoteForError(field)}`);
  if (FORBIDDEN.test(value)) {
    throw new InvalidInputError(label, `contains ^ or a line break, which a ServiceNow encoded query cannot carry: ${quoteForError(value)}`);
  }
  if (value.length === 0) throw new InvalidInputError(label, 'is empty');
  return `${field}=${value}`;
}

/** AND of equality conditions, each checked by encodedQueryEquals. */
export function encodedQueryAnd(conditions: Array<[field: string, value: string, label?: string]>): string {
  return conditions.map(([f, v, l]) => encodedQueryEquals(f, v, l)).join('^');
}
