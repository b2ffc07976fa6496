import type { Kysely } from 'kysely';
import { storableText } from '../domain/storable-text';
import { computeEventHash, GENESIS_HASH } from '../domain/timeline-hash';
import type { Dialect } from './dialect';
import { NotFoundError, StoreInputError } from './errors';
import { normaliseObject, nowIso, requireString } from './rows';
import type { Database } from './schema';
import type { TimelineEvent, TimelineEventInput } from './store';

// 11 columns a row: stays well under SQLite's 32766 and PostgreSQL's 65535 bound parameters
const INSERT_BATCH = 500;

/**
 * Appends events to an incident's hash chain. Must run inside a transaction: the incident row is
 * locked first (PostgreSQL FOR UPDATE; SQLite's BEGIN IMMEDIATE already holds the write lock), so
 * the "read the last hash, write the next link" pair cannot interleave with another appender.
 * The (incident_id, seq) primary key is the backstop should that ever be bypassed.
 */
export async function appendEvents(
  db: Kysely<Database>,
  dialect: Dialect,
  id: string,
  inputs: readonly TimelineEventInput[] | undefined,
): Promise<TimelineEvent[]> {
  if (!inputs || inputs.length === 0) return [];
  const incidentId = storableText(id);
  const prepared = inputs.map((e, i) => validateEvent(e, i));

  let lock = db.selectFrom('incidents').select('id').where('id', '=', incidentId);
  if (dialect === 'postgres') lock = lock.forUpdate();
  if (!(await lock.executeTakeFirst())) throw new NotFoundError('incident', incidentId);

  const last = await db
    .selectFrom('timeline_events')
    .select(['seq', 'hash'])
    .where('incident_id', '=', incidentId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();

  let seq = last ? Number(last.seq) : 0;
  let prevHash = last ? last.hash : GENESIS_HASH;
  const at = nowIso();
  const events: TimelineEvent[] = [];
  for (const e of prepared) {
    seq += 1;
    const unhashed = { incidentId, seq, at, ...e, prevHash };
    const hash = computeEventHash(unhashed);
    events.push({ ...unhashed, hash });
    prevHash = hash;
  }

  for (let i = 0; i < events.length; i += INSERT_BATCH) {
    await db
      .insertInto('timeline_events')
      .values(events.slice(i, i + INSERT_BATCH).map((e) => ({
        incident_id: e.incidentId,
        seq: e.seq,
        at: e.at,
        source: e.source,
        kind: e.kind,
        summary: e.summary,
        source_time: e.sourceTime,
        actor: e.actor,
        data: JSON.stringify(e.data),
        prev_hash: e.prevHash,
        hash: e.hash,
      })))
      .execute();
  }
  return events;
}

function validateEvent(e: TimelineEventInput, i: number) {
  if (typeof e !== 'object' || e === null) throw new StoreInputError(`events[${i}]: expected an object`);
  const sourceTime = e.sourceTime ?? null;
  const actor = e.actor ?? null;
  if (sourceTime !== null && typeof sourceTime !== 'string') throw new StoreInputError(`events[${i}].sourceTime: expected a string or null`);
  if (actor !== null && typeof actor !== 'string') throw new StoreInputError(`events[${i}].actor: expected a string or null`);
  // storableText here, before hashing: the plugin applies the same on the way to the row
  return {
    source: storableText(requireString(e.source, `events[${i}].source`)),
    kind: storableText(requireString(e.kind, `events[${i}].kind`)),
    summary: storableText(requireString(e.summary, `events[${i}].summary`, { empty: true })),
    sourceTime: sourceTime === null ? null : storableText(sourceTime),
    actor: actor === null ? null : storableText(actor),
    // normalised through JSON so the hashed value is exactly the stored one
    data: normaliseObject(e.data, `events[${i}].data`),
  };
}
