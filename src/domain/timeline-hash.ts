import { createHash } from 'node:crypto';

/**
 * The tamper-evident chain over an incident's timeline. Pure: no I/O, so the store, the evidence
 * report and an auditor's script all compute exactly the same hashes.
 *
 *   hash(n) = sha256_hex(prevHash(n) + canonicalJson(event n without `hash`))
 *   prevHash(1) = 64 zeros; prevHash(n) = hash(n-1)
 */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event hash covers, named explicitly so that extra properties never change it. */
export interface HashableTimelineEvent {
  incidentId: string;
  seq: number;
  at: string;
  source: string;
  kind: string;
  summary: string;
  sourceTime: string | null;
  actor: string | null;
  data: Record<string, unknown>;
  prevHash: string;
}

/**
 * JSON with object keys sorted (by UTF-16 code unit, as Array.prototype.sort does), no whitespace.
 * Otherwise identical to JSON.stringify: undefined/functions are dropped from objects and become
 * null in arrays, non-finite numbers become null, toJSON() is honoured.
 */
export function canonicalJson(value: unknown): string {
  const out = canonical(value);
  if (out === undefined) throw new TypeError('canonicalJson: the value has no JSON representation');
  return out;
}

function canonical(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new TypeError('canonicalJson: a bigint has no JSON representation');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  const obj = value as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return canonical(obj.toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value as object).sort()) {
    const v = canonical((value as Record<string, unknown>)[key]);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

export function computeEventHash(event: HashableTimelineEvent): string {
  const body: HashableTimelineEvent = {
    incidentId: event.incidentId,
    seq: event.seq,
    at: event.at,
    source: event.source,
    kind: event.kind,
    summary: event.summary,
    sourceTime: event.sourceTime,
    actor: event.actor,
    data: event.data,
    prevHash: event.prevHash,
  };
  return createHash('sha256').update(event.prevHash).update(canonicalJson(body)).digest('hex');
}

export type ChainVerdict = { ok: true } | { ok: false; seq: number; reason: string };

/**
 * Checks a whole timeline, in order from seq 1: contiguous sequence numbers, every prevHash links
 * to the previous event's hash, and every hash matches its content. Reports the first broken seq.
 */
export function verifyChain(events: ReadonlyArray<HashableTimelineEvent & { hash: string }>): ChainVerdict {
  let prevHash = GENESIS_HASH;
  const incidentId = events[0]?.incidentId;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const expectedSeq = i + 1;
    if (e.seq !== expectedSeq) {
      return { ok: false, seq: e.seq, reason: `expected seq ${expectedSeq} here: an event is missing, duplicated or out of order` };
    }
    if (e.incidentId !== incidentId) {
      return { ok: false, seq: e.seq, reason: `belongs to incident ${JSON.stringify(e.incidentId)}, not ${JSON.stringify(incidentId)}` };
    }
    if (e.prevHash !== prevHash) {
      return { ok: false, seq: e.seq, reason: 'prevHash does not match the previous event\'s hash: the chain was cut or reordered' };
    }
    if (computeEventHash(e) !== e.hash) {
      return { ok: false, seq: e.seq, reason: 'hash does not match the content: the event was changed after it was recorded' };
    }
    prevHash = e.hash;
  }
  return { ok: true };
}
