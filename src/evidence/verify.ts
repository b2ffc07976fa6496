import { createHash } from 'node:crypto';
import { GENESIS_HASH, computeEventHash } from '../domain/timeline-hash';
import { IntegrityError, NotFoundError } from '../store/errors';
import type { Store } from '../store/store';
import { releaseProblems } from './release-section';

/**
 * Re-checks everything an incident's evidence rests on: every stored payload is streamed and
 * hashed again against the SHA-256 and size recorded when it was collected, and every timeline
 * event is re-hashed and re-linked. Unlike verifyChain (which stops at the first break), every
 * changed record is named, so an auditor sees exactly what was altered.
 */

export interface VerifyProblem {
  kind: 'timeline' | 'payload' | 'release';
  seq?: number;
  evidenceId?: number;
  source?: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  incidentId: string;
  /** the hash of the last timeline event as stored ('' when there are none) */
  chainHead: string;
  checked: { events: number; payloads: number; bytes: number };
  problems: VerifyProblem[];
}

export async function verifyIncident(store: Store, incidentId: string): Promise<VerifyResult> {
  const incident = await store.getIncident(incidentId);
  if (!incident) throw new NotFoundError('incident', incidentId);
  const problems: VerifyProblem[] = [];

  const timeline = await store.listTimeline(incidentId);
  let prev = GENESIS_HASH;
  timeline.forEach((e, i) => {
    if (e.seq !== i + 1) {
      problems.push({ kind: 'timeline', seq: e.seq, message: `expected event ${i + 1} here, found ${e.seq}: an event is missing, duplicated or out of order` });
    }
    if (e.prevHash !== prev) {
      problems.push({ kind: 'timeline', seq: e.seq, message: 'prevHash does not match the previous event\'s hash: the chain was cut, reordered or the previous event re-hashed' });
    }
    if (computeEventHash(e) !== e.hash) {
      problems.push({ kind: 'timeline', seq: e.seq, message: `the content no longer matches its hash: event ${e.seq} (${e.kind}, recorded ${e.at}) was changed after it was recorded` });
    }
    prev = e.hash;
  });

  const evidence = await store.listEvidence(incidentId);
  let total = 0;
  for (const e of evidence) {
    const hash = createHash('sha256');
    let size = 0;
    let storeSaid: string | undefined;
    try {
      for await (const chunk of store.readEvidence(e.id)) {
        hash.update(chunk);
        size += chunk.length;
      }
    } catch (err) {
      // The store checks too; its verdict is kept, ours (below) says what differs.
      if (err instanceof IntegrityError) storeSaid = err.message;
      else if (err instanceof NotFoundError) { problems.push({ kind: 'payload', evidenceId: e.id, source: e.source, message: 'listed but its bytes cannot be found' }); continue; }
      else throw err;
    }
    total += size;
    const digest = hash.digest('hex');
    if (digest !== e.sha256 || size !== e.size) {
      const what = [
        digest !== e.sha256 ? `SHA-256 is ${digest}, recorded ${e.sha256}` : '',
        size !== e.size ? `size is ${size} bytes, recorded ${e.size}` : '',
      ].filter(Boolean).join('; ');
      problems.push({ kind: 'payload', evidenceId: e.id, source: e.source, message: `payload #${e.id} (${e.source}, collected ${e.collectedAt}) changed: ${what}` });
    } else if (storeSaid) {
      problems.push({ kind: 'payload', evidenceId: e.id, source: e.source, message: storeSaid });
    }
  }

  if (incident.status === 'releasing' || incident.status === 'released' || (await store.getAction(`${incidentId}:release`))) {
    const [actions, approvals] = await Promise.all([store.listActions(incidentId), store.listApprovals({ incidentId })]);
    for (const message of releaseProblems(incident, actions, approvals, timeline, evidence)) problems.push({ kind: 'release', message });
  }

  return {
    ok: problems.length === 0,
    incidentId,
    chainHead: timeline.at(-1)?.hash ?? '',
    checked: { events: timeline.length, payloads: evidence.length, bytes: total },
    problems,
  };
}

/** The result as lines for a person (the CLI and the bot's `@ir verify`). */
export function describeVerification(r: VerifyResult): string[] {
  const lines = [
    r.ok
      ? `${r.incidentId}: OK: ${r.checked.events} timeline events and ${r.checked.payloads} payloads (${r.checked.bytes} bytes) match their hashes.`
      : `${r.incidentId}: FAILED: ${r.problems.length} problem(s) in ${r.checked.events} timeline events and ${r.checked.payloads} payloads.`,
    `Chain head: ${r.chainHead || '(no events)'}`,
  ];
  for (const p of r.problems) {
    lines.push(p.kind === 'timeline' ? `  timeline event ${p.seq}: ${p.message}` : p.kind === 'release' ? `  release: ${p.message}` : `  payload #${p.evidenceId} ${p.source}: ${p.message}`);
  }
  return lines;
}
