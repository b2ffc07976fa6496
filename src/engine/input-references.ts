/**
 * The reference syntax of a procedure's `with:` inputs. A value is either a literal (any YAML
 * value) or a reference object with exactly one key, `from`, naming where the value comes from:
 *
 *   { from: incident.subjectUpn }                 a field of the incident (INCIDENT_FIELDS)
 *   { from: customer.name }                       the customer's id or name
 *   { from: steps.entra-signins.output.count }    a field of an earlier step's output
 *   { from: steps.entra-signins.summary }         an earlier step's one-line summary
 *
 * References may sit anywhere inside a literal (e.g. in a list). A step may refer only to steps it
 * (transitively) needs, so the value always exists when the step is scheduled.
 */

export const INCIDENT_FIELDS = {
  id: 'the incident id (IR-...)',
  customerId: 'the customer id',
  tenantId: "the customer's tenant id",
  subjectUpn: 'the UPN of the account under investigation',
  subjectObjectId: 'the Entra object id of that account (null until looked up)',
  subjectIdentity: 'every identifier the alert gave for it (UPN, object id, SID, sAMAccountName, domain) and where it was placed; null on older incidents',
  severity: 'the alert severity',
  title: 'the incident title',
  suspiciousIps: "the alert's IPs selected for blocking (src/domain/ip-selection.ts)",
  ipsNotBlocked: 'the other IPs the alert mentions, each with why it is not blocked',
  alertIps: 'every valid IP the alert mentions',
  alertDevices: "the devices of every alert's device evidence (name, Defender and Entra device ids, OS)",
  stormAccounts: "a storm incident's accounts, in the order their alerts came, each once: { label, identity } (empty for any other incident)",
} as const;
export const CUSTOMER_FIELDS = { id: 'the customer id', name: 'the customer name' } as const;

export interface Reference {
  from: string;
}

export function isReference(v: unknown): v is Reference {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as Reference).from === 'string';
}

/** Looks like an attempted reference (a `from` key) but is not a well-formed one. */
export function isMalformedReference(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && 'from' in (v as object) && !isReference(v);
}

export type ParsedReference =
  | { root: 'incident'; field: string }
  | { root: 'customer'; field: string }
  | { root: 'steps'; stepId: string; part: 'output'; path: string[] }
  | { root: 'steps'; stepId: string; part: 'summary' };

/** Parses the text of a reference, or returns the problem as a sentence. */
export function parseReference(text: string): ParsedReference | { error: string } {
  const parts = text.trim().split('.');
  const [root, ...rest] = parts;
  if (parts.some((p) => p === '')) return { error: `reference "${text}" has an empty part` };
  if (root === 'incident' || root === 'customer') {
    const known = root === 'incident' ? INCIDENT_FIELDS : CUSTOMER_FIELDS;
    if (rest.length !== 1 || !(rest[0] in known)) {
      return { error: `reference "${text}": ${root} has no field "${rest.join('.')}" (known: ${Object.keys(known).join(', ')})` };
    }
    return { root, field: rest[0] };
  }
  if (root === 'steps') {
    const [stepId, part, ...path] = rest;
    if (!stepId) return { error: `reference "${text}" names no step` };
    if (part === 'output') return { root, stepId, part, path };
    if (part === 'summary' && path.length === 0) return { root, stepId, part };
    return { error: `reference "${text}": after steps.${stepId} comes "output[.field...]" or "summary"` };
  }
  return { error: `reference "${text}" must start with incident., customer. or steps.` };
}

/** Every reference inside a `with` value, with where it sits (for error messages). */
export function collectReferences(value: unknown, at = ''): Array<{ at: string; ref: string }> {
  if (isReference(value)) return [{ at, ref: value.from }];
  if (Array.isArray(value)) return value.flatMap((v, i) => collectReferences(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => collectReferences(v, at ? `${at}.${k}` : k));
  }
  return [];
}

export interface ReferenceContext {
  incident: Record<string, unknown>;
  customer: { id: string; name: string };
  steps: Record<string, { output: unknown; summary: string } | undefined>;
}

export class UnresolvedReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvedReferenceError';
  }
}

function resolveOne(text: string, ctx: ReferenceContext): unknown {
  const r = parseReference(text);
  if ('error' in r) throw new UnresolvedReferenceError(r.error);
  if (r.root === 'incident') return ctx.incident[r.field] ?? null;
  if (r.root === 'customer') return ctx.customer[r.field as keyof ReferenceContext['customer']];
  const step = ctx.steps[r.stepId];
  if (!step) throw new UnresolvedReferenceError(`${text}: step ${r.stepId} has no result`);
  if (r.part === 'summary') return step.summary;
  let v: unknown = step.output;
  for (const [i, key] of r.path.entries()) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) {
      throw new UnresolvedReferenceError(`${text}: the output of ${r.stepId} has no "${r.path.slice(0, i + 1).join('.')}"`);
    }
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Replaces every reference in a `with` block by its value; literals are copied as they are. */
export function resolveInputs(value: unknown, ctx: ReferenceContext): unknown {
  if (isReference(value)) return resolveOne(value.from, ctx);
  if (Array.isArray(value)) return value.map((v) => resolveInputs(v, ctx));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveInputs(v, ctx)]));
  }
  return value;
}

/**
 * Reads a `record:` path from a step result: `summary`, `output.a.b`, `output.items.length` (an
 * array's length), or `output.devices[].added` (every element's `added`, flattened into one list;
 * a final `.length` then counts that list). Undefined when absent.
 */
export function readResultPath(path: string, result: { output: unknown; summary: string }): unknown {
  if (path === 'summary') return result.summary;
  const segments = path.split('.').flatMap((s) => (s.endsWith('[]') ? [s.slice(0, -2), '[]'] : [s]));
  if (segments.shift() !== 'output') return undefined;
  let v: unknown = result.output;
  let many = false;
  for (const key of segments) {
    if (key === '[]') {
      if (!Array.isArray(v)) return undefined;
      many = true;
      continue;
    }
    if (many) {
      const list = v as unknown[];
      v = key === 'length' ? list.length : list.flatMap((e) => (e !== null && typeof e === 'object' && key in e ? [(e as Record<string, unknown>)[key]].flat() : []));
      if (key === 'length') many = false;
      continue;
    }
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
