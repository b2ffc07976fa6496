import { InvalidInputError, quoteForError } from './net';

/** A user principal name that has been checked: local@domain, no whitespace, quotes are allowed (O'Brien). */
export type Upn = string & { readonly __brand: 'Upn' };

// Entra allows letters (incl. non-ASCII), digits and . _ - ' ! # ^ ~ + in the local part.
const UPN = /^[\p{L}\p{N}._'!#^~+\-]{1,113}@[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,62}[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,62}[\p{L}\p{N}])?)+$/u;

export function parseUpn(value: unknown, field = 'userPrincipalName'): Upn {
  if (typeof value !== 'string') throw new InvalidInputError(field, `not a string: ${quoteForError(value)}`);
  const v = value.trim().normalize('NFC');
  if (v.length > 256 || !UPN.test(v)) throw new InvalidInputError(field, `not a user principal name: ${quoteForError(value)}`);
  return v.toLowerCase() as Upn;
}

export function upnDomain(upn: Upn): string {
  return upn.slice(upn.lastIndexOf('@') + 1);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function parseGuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !GUID.test(value.trim())) {
    throw new InvalidInputError(field, `not a GUID: ${quoteForError(value)}`);
  }
  return value.trim().toLowerCase();
}
export const isGuid = (v: unknown): v is string => typeof v === 'string' && GUID.test(v);

/** Escapes a string literal for an OData $filter: single quotes are doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
