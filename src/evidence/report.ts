import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { CustomerConfig } from '../config/customers';
import { verifyChain } from '../domain/timeline-hash';
import { IntegrityError, NotFoundError } from '../store/errors';
import { stepRank, stepTitle as stepTitleOf } from '../domain/incident-findings';
import { tokenActivityText, whatHappened, whatWeDid } from '../domain/incident-narrative';
import { accountFacts, deviceDetails } from '../domain/account-facts';
import { loadIncidentSnapshot, stepRuns, type IncidentSnapshot } from '../read-model/incident-snapshot';
import type { ActionRecord, ApprovalRecord, EvidenceRecord, IncidentRecord, Store, TimelineEvent } from '../store/store';
import {
  SOURCE_SECTIONS, TRANSCRIPT_SECTIONS, columnsFor, formatOf, sectionOf, type RecordFormat, type SectionKey, type TranscriptSectionSpec,
} from './evidence-sections';
import { bytes, cell, code, fence, int, table, text, utc } from './markdown';
import { releaseSection } from './release-section';
import { DelimitedRecordScanner, JsonRecordScanner, RecordSampler, parseDetailRecord, type RecordScanner } from './record-scan';

/**
 * The forensic report of one incident, as Markdown, generated from the store alone and streamed:
 * large payloads are read chunk by chunk and summarised (counts, the first and last records), so a
 * busy day of logs costs bounded memory. Everything that came from outside (alerts, logs, CLI
 * output) is written as code spans or fenced blocks, where no Markdown renderer makes a link or HTML.
 */

export interface ReportOptions {
  customers: (customerId: string) => CustomerConfig | undefined;
  now: Date | (() => Date);
  /** display names for timeline actors / approvers (aadObjectId → name) */
  analysts?: (actor: string) => string | undefined;
  /** records shown at the start of each source's table (default 50) */
  headRows?: number;
  /** records shown at the end (default 10) */
  tailRows?: number;
  /** text payloads up to this size are inlined whole in the action/other sections (default 16 KiB) */
  inlineMaxBytes?: number;
}

export const REPORT_SOURCE = 'report.markdown';
export const REPORT_CONTENT_TYPE = 'text/markdown; charset=utf-8';

export function reportFileName(incidentId: string): string {
  return `${incidentId.replace(/[^A-Za-z0-9._-]/g, '_')}-forensic-report.md`;
}

interface Loaded extends IncidentSnapshot {
  customer: CustomerConfig | undefined;
  evidence: EvidenceRecord[];
}

async function load(store: Store, incidentId: string, opts: ReportOptions): Promise<Loaded> {
  const snapshot = await loadIncidentSnapshot(store, incidentId, { timeline: true });
  if (!snapshot) throw new NotFoundError('incident', incidentId);
  const evidence = await store.listEvidence(incidentId);
  return { ...snapshot, customer: opts.customers(snapshot.incident.customerId), evidence };
}

/** The report, piece by piece (each piece a few KiB at most). */
export async function* generateReport(store: Store, incidentId: string, opts: ReportOptions): AsyncGenerator<string> {
  const now = typeof opts.now === 'function' ? opts.now() : opts.now;
  const d = await load(store, incidentId, opts);
  const headRows = opts.headRows ?? 50;
  const tailRows = opts.tailRows ?? 10;
  const inlineMax = opts.inlineMaxBytes ?? 16 * 1024;
  const actionById = new Map(d.actions.map((a) => [a.id, a]));
  const stepTitle = (stepId: string) => stepTitleOf(d.findings, stepId);

  yield header(d, now, opts);
  yield summary(d, stepTitle);
  yield releaseSection(d);
  yield* timelineSection(d.timeline);

  // Evidence, grouped by section in a fixed order.
  const groups = new Map<SectionKey, EvidenceRecord[]>();
  for (const e of d.evidence) {
    const key = sectionOf(e, e.actionId ? actionById.get(e.actionId)?.name : undefined);
    const list = groups.get(key) ?? [];
    list.push(e);
    groups.set(key, list);
  }
  yield `## Evidence\n\nEvery payload below was stored byte for byte as the source returned it, with its SHA-256 at collection time. ` +
    `${int(d.evidence.length)} payload(s), ${bytes(d.evidence.reduce((n, e) => n + e.size, 0))} in total. ` +
    'Source ranges are the time span of the records according to the source\'s own timestamps.\n\n';
  for (const spec of SOURCE_SECTIONS) {
    yield* sourceSection(store, spec.title, spec.about, groups.get(spec.key) ?? [], headRows, tailRows);
  }
  for (const spec of TRANSCRIPT_SECTIONS) {
    yield* transcriptSection(store, d, spec, groups.get(spec.key) ?? [], stepTitle, inlineMax, headRows, tailRows);
  }
  yield* actionsSection(store, d, groups.get('actions') ?? [], stepTitle, inlineMax, headRows, tailRows);
  yield* otherSection(store, groups.get('other') ?? [], inlineMax, headRows, tailRows);
  const reports = groups.get('reports') ?? [];
  if (reports.length) {
    yield '### Earlier reports\n\nReports generated before this one (kept as evidence, not repeated here).\n\n';
    yield table(['Evidence', 'Generated (UTC)', 'Size', 'SHA-256'], reports.map((e) => [`#${e.id}`, utc(e.collectedAt), bytes(e.size), cell(e.sha256)]));
    yield '\n';
  }
  yield chainSection(d);
}

/** Streams the report into a Writable, honouring back-pressure. */
export async function writeReport(store: Store, incidentId: string, opts: ReportOptions, out: Writable): Promise<void> {
  for await (const piece of reportBuffers(generateReport(store, incidentId, opts))) {
    if (!out.write(piece)) await once(out, 'drain');
  }
}

/** Pieces of text as UTF-8 buffers of about 64 KiB (fewer, larger writes). */
export async function* reportBuffers(pieces: AsyncIterable<string>, size = 64 * 1024): AsyncGenerator<Buffer> {
  let pending: string[] = [];
  let length = 0;
  for await (const p of pieces) {
    pending.push(p);
    length += p.length;
    if (length >= size) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.from(pending.join(''), 'utf8');
}

export interface StoredReport {
  evidence: EvidenceRecord;
  name: string;
  summary: string;
}

/** Generates the report and keeps it as evidence (source report.markdown), byte for byte. */
export async function storeReport(store: Store, incidentId: string, opts: ReportOptions & { actionId?: string | null }): Promise<StoredReport> {
  const now = typeof opts.now === 'function' ? opts.now() : opts.now;
  const timeline = await store.listTimeline(incidentId);
  const evidence = await store.putEvidenceStream({
    incidentId,
    actionId: opts.actionId ?? null,
    source: REPORT_SOURCE,
    contentType: REPORT_CONTENT_TYPE,
    collectedAt: now.toISOString(),
    rangeFrom: timeline[0]?.at ?? null,
    rangeTo: timeline.at(-1)?.at ?? null,
    recordCount: null,
    note: `forensic report ${reportFileName(incidentId)} generated by teams-ir-bot`,
  }, reportBuffers(generateReport(store, incidentId, { ...opts, now })));
  const name = reportFileName(incidentId);
  const head = timeline.at(-1);
  return {
    evidence,
    name,
    summary: `Forensic report ${name}: ${bytes(evidence.size)}, SHA-256 ${evidence.sha256.slice(0, 16)}…, ` +
      `${timeline.length} timeline events${head ? ` (chain head ${head.hash.slice(0, 12)})` : ''}`,
  };
}

/** The latest stored report of the incident, if any. */
export async function latestReport(store: Store, incidentId: string): Promise<EvidenceRecord | undefined> {
  const list = await store.listEvidence(incidentId);
  return list.filter((e) => e.source === REPORT_SOURCE).sort((a, b) => b.id - a.id)[0];
}

// --- header and summary ------------------------------------------------------------------------

export function analystsOf(timeline: TimelineEvent[], approvals: ApprovalRecord[], names?: (actor: string) => string | undefined): string[] {
  const seen = new Map<string, string>();
  const add = (id: string, name?: string) => {
    const key = id.toLowerCase();
    if (!seen.has(key)) seen.set(key, names?.(id) ?? name ?? id);
  };
  for (const a of approvals) for (const v of a.votes) add(v.approverId, v.approverName);
  for (const e of timeline) if (e.actor) add(e.actor);
  return [...new Set(seen.values())];
}

function header(d: Loaded, now: Date, opts: ReportOptions): string {
  const inc = d.incident;
  const analysts = analystsOf(d.timeline, d.approvals, opts.analysts);
  const rows: string[][] = [
    ['Incident', cell(inc.id)],
    ['Customer', `${cell(d.customer?.name ?? inc.customerId)} (${cell(inc.customerId)})`],
    ['Tenant', cell(inc.tenantId)],
    ['Subject user', `${cell(inc.subjectUpn)}${inc.subjectObjectId ? ` (object id ${cell(inc.subjectObjectId)})` : ''}`],
    ['Title', cell(inc.title, 300)],
    ['Severity', cell(inc.severity)],
    ['Status', `${cell(inc.status)}${inc.closedAt ? ` (closed ${utc(inc.closedAt)})` : ''}`],
    ['Opened', utc(inc.createdAt)],
    ['Procedure', cell(inc.procedure ?? 'none recorded')],
    ['Analysts involved', analysts.length ? analysts.map((a) => cell(a, 120)).join(', ') : 'none recorded (no approvals or analyst actions)'],
    ['Generated at', utc(now.toISOString())],
    ['Generated by', 'teams-ir-bot, from its store only'],
  ];
  return `# Forensic report: ${code(inc.id)}\n\n${table(['Field', 'Value'], rows)}\nAll times are UTC.\n\n`;
}

type Data = Record<string, unknown>;

/** The findings as the raw data the readers' sentences come from: one row per key, values as JSON. */
function rawFindings(inc: IncidentRecord): string {
  const rows = Object.entries(inc.data ?? {})
    .filter(([k, v]) => k !== 'steps' && v !== undefined)
    .map(([k, v]) => [cell(k, 60), cell(typeof v === 'string' ? v : JSON.stringify(v), 1500)]);
  return rows.length ? table(['Finding', 'Recorded value'], rows) : 'No findings were recorded on the incident.\n';
}

function summary(d: Loaded, stepTitle: (id: string) => string): string {
  const inc = d.incident;
  const f = d.findings;
  const runs = stepRuns(d.actions);
  const parts: string[] = ['## Summary\n\n### What happened\n\n'];
  const story = whatHappened(f, `The account ${inc.subjectUpn}`);
  if (story.length) parts.push(story.map((x) => `${text(x)}\n`).join('\n'), '\n');
  const counts = [
    f.signIns24h !== undefined ? `${int(f.signIns24h)} sign\\-ins in 24 h${f.signInsFailed24h ? ` \\(${int(f.signInsFailed24h)} failed\\)` : ''}` : '',
    f.tokenActivity ? `token activity: ${text(tokenActivityText(f.tokenActivity))}` : '',
    f.directoryAudits6h !== undefined ? `${int(f.directoryAudits6h)} directory changes in 6 h` : '',
    f.sensitiveOperations6h !== undefined ? `${int(f.sensitiveOperations6h)} sensitive Microsoft 365 operations in 6 h` : '',
    f.sessionsFound !== undefined ? `${int(f.sessionsFound)} active RADIUS session\\(s\\)` : '',
    f.vpnSessionsFound !== undefined ? `${int(f.vpnSessionsFound)} VPN session\\(s\\)` : '',
    f.subjectPrivilegedRoles?.length ? `privileged roles: ${f.subjectPrivilegedRoles.map((r) => code(r, 100)).join(', ')}` : '',
  ].filter(Boolean);
  if (counts.length) parts.push(`Found: ${counts.join('; ')}\\.\n\n`);
  if (d.alerts.length === 0) parts.push('No alert is recorded for this incident (opened by hand).\n\n');
  for (const a of d.alerts) {
    const al = a.alert as Data;
    const facts = [
      `Alert ${code(a.id)} received ${utc(a.receivedAt)} via ${code(a.source)}`,
      `title ${code(al.title ?? '', 300)}`,
      al.severity ? `severity ${code(al.severity)}` : '',
      al.detectorId ? `detector ${code(al.detectorId)}` : '',
      al.serviceSource ? `service ${code(al.serviceSource)}` : '',
      al.createdDateTime ? `created by the source ${utc(String(al.createdDateTime))}` : '',
    ].filter(Boolean);
    parts.push(`- ${facts.join('; ')}\n`);
    const ips = Array.isArray(al.ips) ? (al.ips as Array<Data>).map((i) => `${code(i.ip)}${i.countryLetterCode ? ` (${code(i.countryLetterCode)})` : ''}`) : [];
    if (ips.length) parts.push(`  - IPs in the alert: ${ips.join(', ')}\n`);
    if (typeof al.alertWebUrl === 'string' && al.alertWebUrl) parts.push(`  - Defender link (as text): ${code(al.alertWebUrl, 400)}\n`);
  }

  parts.push(accountSection(d.findings));
  parts.push('\n### What was done\n\n');
  const did = whatWeDid(f, runs);
  parts.push(did.length ? did.map((x) => `- ${text(x)}\n`).join('') : 'No containment action has run yet.\n');

  parts.push('\n### Every step, in the order it ran\n\n');
  if (d.actions.length === 0) parts.push('No procedure steps were run.\n\n');
  const ended = [...d.actions].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || stepRank(f, a.stepId) - stepRank(f, b.stepId));
  for (const a of ended) {
    const result = a.result as { summary?: unknown } | null;
    const outcome = a.status === 'failed' ? `error: ${code(a.error ?? 'unknown', 400)}`
      : typeof result?.summary === 'string' ? code(result.summary, 400)
      : a.error ? code(a.error, 400) : '';
    parts.push(`- ${utc(a.updatedAt)} ${code(stepTitle(a.stepId), 120)} (${code(a.name)}): **${a.status}**${outcome ? `: ${outcome}` : ''}\n`);
  }
  if (f.ticket?.number) parts.push(`- ServiceNow ticket ${code(f.ticket.number)}${f.ticket.link ? ` (${code(f.ticket.link, 300)})` : ''}\n`);

  parts.push('\n### What is left\n\n');
  const left = whatIsLeft(d.incident, d.actions, d.approvals, stepTitle);
  parts.push(left.length ? left.map((l) => `- ${l}\n`).join('') : '- Nothing: every step has finished.\n');
  parts.push(`\n### Findings as recorded\n\nThe raw data the sentences above are written from (incident data, as the procedure recorded it).\n\n${rawFindings(inc)}\n`);
  return parts.join('');
}

/** The account in both directories and its devices (src/domain/account-facts.ts), every value a code span. */
function accountSection(f: Loaded['findings']): string {
  const facts = accountFacts(f);
  const out: string[] = ['\n### The account in both directories\n\n'];
  if (facts.length === 0) out.push('The lookup recorded neither the Active Directory nor the Entra account.\n');
  else out.push(table(['Directory', 'Field', 'Value'], facts.map((x) => [text(x.directory), text(x.label), cell(x.value, 2000)])));
  const devices = f.subjectDevices;
  out.push('\n### Devices of the account\n\n');
  if (devices === undefined) out.push('The devices were not read (the step did not run or was skipped; see the steps below).\n');
  else if (devices.length === 0) out.push('No device was found in the alert, the sign-ins or Entra.\n');
  else {
    out.push(table(['Device', 'Entra device id', 'Seen in', 'Details'], devices.map((d) => [
      cell(d.name, 300), cell(d.deviceId ?? ''), cell(d.seenIn.join(', ')), cell(deviceDetails(d), 400),
    ])));
  }
  return `${out.join('')}\n`;
}

export function whatIsLeft(inc: IncidentRecord, actions: ActionRecord[], approvals: ApprovalRecord[], stepTitle: (id: string) => string): string[] {
  const out: string[] = [];
  for (const p of approvals.filter((x) => x.status === 'pending')) {
    const a = actions.find((x) => x.id === p.actionId);
    out.push(`Awaiting approval: ${code(stepTitle(a?.stepId ?? p.actionId))} (expires ${utc(p.expiresAt)})`);
  }
  for (const a of actions) {
    if (a.status === 'failed') out.push(`Failed, to retry or do by hand: ${code(stepTitle(a.stepId))}`);
    else if (a.status === 'expired') out.push(`Approval expired, to ask again: ${code(stepTitle(a.stepId))}`);
    else if (['waiting', 'ready', 'running'].includes(a.status)) out.push(`Not finished yet: ${code(stepTitle(a.stepId))} (${a.status})`);
  }
  if (inc.status !== 'closed' && inc.status !== 'cancelled') out.push(`The incident is ${code(inc.status)}: close it when the customer confirms.`);
  return out;
}

function* timelineSection(timeline: TimelineEvent[]): Generator<string> {
  yield `## Timeline (UTC)\n\n${int(timeline.length)} events, in the order they were recorded. ` +
    '"Recorded" is when the bot stored the event; "Source time" is the source\'s own timestamp, when it has one. ' +
    'Each hash chains to the previous one (see the end of the report).\n\n';
  yield table(['Seq', 'Recorded', 'Source time', 'Source', 'Event', 'Summary', 'Actor', 'SHA-256 (chain)'], []);
  for (let i = 0; i < timeline.length; i += 200) {
    yield timeline.slice(i, i + 200).map((e) =>
      `| ${e.seq} | ${utc(e.at)} | ${e.sourceTime ? utc(e.sourceTime) : '—'} | ${cell(e.source, 40)} | ${cell(e.kind, 60)} | ${cell(e.summary, 600)} | ${cell(e.actor, 80)} | ${cell(e.hash)} |\n`).join('');
  }
  yield '\n';
}

function chainSection(d: Loaded): string {
  const head = d.timeline.at(-1);
  const verdict = verifyChain(d.timeline);
  const state = verdict.ok ? 'The chain verified when this report was generated.'
    : `**The chain did NOT verify when this report was generated: event ${verdict.seq}: ${text(verdict.reason)}.**`;
  return '## Hash chain\n\n' +
    `Every timeline event is hashed with the previous event's hash (SHA-256 over the previous hash and the event's canonical JSON). ${state}\n\n` +
    `Verify the stored evidence and the chain at any time with ${code(`npm run verify -- ${d.incident.id}`)}.\n\n` +
    (head
      ? `Chain head: event ${head.seq} of ${head.seq}, recorded ${utc(head.at)}, SHA-256 ${code(head.hash)}\n`
      : 'Chain head: no timeline events are recorded.\n');
}

// --- payload summaries -------------------------------------------------------------------------

interface ScanResult {
  records: number;
  integrity?: string;
}

function scannerFor(format: RecordFormat, sampler: RecordSampler): RecordScanner | undefined {
  if (format === 'json') return new JsonRecordScanner(sampler.sink);
  if (format === 'detail') return new DelimitedRecordScanner(sampler.sink, '\n\n');
  if (format === 'lines') return new DelimitedRecordScanner(sampler.sink, '\n');
  return undefined;
}

/** Streams one payload through a scanner; an integrity failure is reported, not thrown. */
async function scanPayload(store: Store, e: EvidenceRecord, sampler: RecordSampler, format: RecordFormat): Promise<ScanResult> {
  const scanner = scannerFor(format, sampler);
  try {
    for await (const chunk of store.readEvidence(e.id)) {
      scanner?.push(chunk);
      sampler.settle();
    }
    scanner?.end();
    sampler.settle();
  } catch (err) {
    if (err instanceof IntegrityError) return { records: scanner?.count ?? 0, integrity: err.message };
    throw err;
  }
  return { records: scanner?.count ?? 0 };
}

function parseRecord(format: RecordFormat, b: Buffer | null): Record<string, unknown> | string | undefined {
  if (b === null) return undefined;
  if (format === 'json') {
    try {
      const v = JSON.parse(b.toString('utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: JSON.stringify(v) };
    } catch {
      return undefined;
    }
  }
  if (format === 'detail') return parseDetailRecord(b.toString('utf8'));
  return b.toString('utf8').replace(/\r$/, '');
}

function payloadRow(e: EvidenceRecord, scan: ScanResult, counted: boolean): string[] {
  const recs = counted ? `${int(scan.records)}${e.recordCount !== null && e.recordCount !== scan.records ? ` (source said ${int(e.recordCount)})` : ''}` : e.recordCount !== null ? int(e.recordCount) : '—';
  return [
    `#${e.id}`, utc(e.collectedAt),
    e.rangeFrom || e.rangeTo ? `${utc(e.rangeFrom)} – ${utc(e.rangeTo)}` : '—',
    recs, bytes(e.size), cell(e.sha256), cell(e.note ?? e.source, 200),
  ];
}

const PAYLOAD_HEADERS = ['Evidence', 'Collected', 'Source range', 'Records', 'Size', 'SHA-256', 'Request'];

function integrityLines(failures: Array<{ e: EvidenceRecord; message: string }>): string {
  return failures.map(({ e, message }) => `> **Integrity failure:** evidence #${e.id} (${code(e.source)}): ${code(message, 300)}\n`).join('') + (failures.length ? '\n' : '');
}

function recordTables(source: string, format: RecordFormat, sampler: RecordSampler): string {
  if (sampler.total === 0) return 'No records.\n\n';
  const head = sampler.head.map((b, i) => ({ index: i, rec: parseRecord(format, b) }));
  const tail = sampler.tail().map((t) => ({ index: t.index, rec: parseRecord(format, t.bytes) }));
  const out: string[] = [];
  if (format === 'lines') {
    const lines = (rows: typeof head) => rows.map((r) => (typeof r.rec === 'string' ? r.rec : '[line too long to show]')).join('\n');
    out.push(`First ${head.length} of ${int(sampler.total)} lines:\n\n${fence(lines(head))}\n`);
    if (tail.length) out.push(`Last ${tail.length} lines (from line ${int(tail[0].index + 1)}):\n\n${fence(lines(tail))}\n`);
    return out.join('');
  }
  const sample = [...head, ...tail].map((r) => r.rec).find((r): r is Record<string, unknown> => typeof r === 'object');
  const cols = columnsFor(source, sample);
  const headers = ['#', ...cols.map((c) => text(c.header))];
  const row = (r: { index: number; rec: Record<string, unknown> | string | undefined }) => (
    typeof r.rec === 'object'
      ? [String(r.index + 1), ...cols.map((c) => cell(display(c.pick(r.rec as Record<string, unknown>))))]
      : [String(r.index + 1), ...cols.map((_, i) => (i === 0 ? 'record too large or not parsable' : '—'))]
  );
  out.push(`First ${head.length} of ${int(sampler.total)} records:\n\n${table(headers, head.map(row))}\n`);
  if (tail.length) out.push(`Last ${tail.length} records:\n\n${table(headers, tail.map(row))}\n`);
  return out.join('');
}

function display(v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : v;
}

async function* sourceSection(store: Store, title: string, about: string, list: EvidenceRecord[], headRows: number, tailRows: number): AsyncGenerator<string> {
  yield `### ${title}\n\n${about}\n\n`;
  if (list.length === 0) { yield 'Nothing was collected from this source for this incident.\n\n'; return; }
  // One table per source label (e.g. sign-in pages vs. the audit query's status polls).
  const bySource = new Map<string, EvidenceRecord[]>();
  for (const e of list) bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
  for (const [source, payloads] of bySource) {
    const format = formatOf(payloads[0]);
    const sampler = new RecordSampler(headRows, tailRows);
    const rows: string[][] = [];
    const failures: Array<{ e: EvidenceRecord; message: string }> = [];
    for (const e of payloads) {
      const scan = await scanPayload(store, e, sampler, formatOf(e));
      if (scan.integrity) failures.push({ e, message: scan.integrity });
      rows.push(payloadRow(e, scan, true));
    }
    const from = payloads.map((e) => e.rangeFrom).filter((x): x is string => !!x).sort()[0];
    const to = payloads.map((e) => e.rangeTo).filter((x): x is string => !!x).sort().at(-1);
    yield `#### ${code(source)}: ${int(sampler.total)} records in ${payloads.length} payload(s), ${bytes(payloads.reduce((n, e) => n + e.size, 0))}` +
      `${from || to ? `, source range ${utc(from)} – ${utc(to)}` : ''}\n\n`;
    yield integrityLines(failures);
    yield table(PAYLOAD_HEADERS, rows) + '\n';
    yield recordTables(source, format, sampler);
  }
}

/** One payload in the action/other sections: inlined when small text, summarised otherwise. */
async function* payloadBlock(store: Store, e: EvidenceRecord, inlineMax: number, headRows: number, tailRows: number): AsyncGenerator<string> {
  const format = formatOf(e);
  yield `- Evidence #${e.id} ${code(e.source)}, collected ${utc(e.collectedAt)}` +
    `${e.rangeFrom || e.rangeTo ? `, source range ${utc(e.rangeFrom)} – ${utc(e.rangeTo)}` : ''}` +
    `${e.recordCount !== null ? `, ${int(e.recordCount)} record(s)` : ''}, ${bytes(e.size)}, SHA-256 ${code(e.sha256)}` +
    `${e.note ? `\n  - ${code(e.note, 300)}` : ''}\n\n`;
  if (e.size <= inlineMax) {
    let body: Buffer;
    try {
      body = await store.getEvidenceBody(e.id);
    } catch (err) {
      if (err instanceof IntegrityError) { yield integrityLines([{ e, message: err.message }]); return; }
      throw err;
    }
    if (body.length === 0) yield '(empty body)\n';
    else if (format === 'binary') yield fence(hexDump(body), 'hex');
    else yield fence(body.toString('utf8'), format === 'json' ? 'json' : 'text');
    yield '\n';
    return;
  }
  if (format === 'binary') {
    const failures: Array<{ e: EvidenceRecord; message: string }> = [];
    const scan = await scanPayload(store, e, new RecordSampler(0, 0), format);
    if (scan.integrity) failures.push({ e, message: scan.integrity });
    yield integrityLines(failures) + `Binary payload of ${bytes(e.size)}: not shown; identified by its hash.\n\n`;
    return;
  }
  const sampler = new RecordSampler(headRows, tailRows);
  const scan = await scanPayload(store, e, sampler, format);
  if (scan.integrity) yield integrityLines([{ e, message: scan.integrity }]);
  yield `Too large to inline (${bytes(e.size)}); summarised:\n\n`;
  yield recordTables(e.source, format, sampler);
}

function hexDump(b: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const slice = b.subarray(i, i + 16);
    lines.push(`${i.toString(16).padStart(8, '0')}  ${[...slice].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`);
  }
  return lines.join('\n');
}

type Row = Record<string, unknown>;
const rowsOf = (v: unknown): Row[] => (Array.isArray(v) ? v.filter((x): x is Row => !!x && typeof x === 'object') : []);

/** What the step found, one line per port / per IP, from its recorded result. */
function transcriptFindings(spec: TranscriptSectionSpec, output: unknown): string[] {
  const o = (output && typeof output === 'object' ? output : {}) as Row;
  if (spec.key === 'switchPorts') {
    return rowsOf(o.ports).map((p) => {
      const times = rowsOf((p.facts as Row | undefined)?.log).map((l) => l.time).filter((t): t is string => typeof t === 'string' && t !== '');
      const clock = times.length ? `; port log as the switch timestamped it: ${code(times[0], 60)}${times.length > 1 ? ` to ${code(times.at(-1), 60)} (${int(times.length)} lines)` : ''}` : '; no port log line carried a timestamp';
      return `${code(p.outcome)}: ${code(p.line, 600)}${p.outcome === 'ok' ? clock : ''}`;
    });
  }
  return [
    ...rowsOf(o.matches).map((m) => {
      const q = (m.query ?? {}) as Row;
      const rule = m.implicit ? `the implicit/default rule${m.policyName ? ` ${code(m.policyName, 200)}` : ''}` : `rule ${code(m.policyId ?? '?')}${m.policyName ? ` ${code(m.policyName, 200)}` : ''}`;
      return `${code(q.src)} → ${code(q.dst ?? '?')}${q.dstPort ? `:${code(q.dstPort)}` : ''}${q.protocol ? `/${code(q.protocol)}` : ''} on ${code(m.firewallId)} (${code(m.context, 120)}): ${rule}, action ${code(m.action)}${m.allows ? ', lets it through' : ', does not let it through'}`;
    }),
    ...rowsOf(o.skipped).map((k) => `${code(k.item)} on ${code(k.firewallId)}: not looked up (${code(k.reason, 300)})`),
  ];
}

/** A section of device transcripts: per step run, its findings and every transcript whole, each with its hash. */
async function* transcriptSection(
  store: Store, d: Loaded, spec: TranscriptSectionSpec, list: EvidenceRecord[], stepTitle: (id: string) => string, inlineMax: number, headRows: number, tailRows: number,
): AsyncGenerator<string> {
  yield `### ${spec.title}\n\n${text(spec.about)}\n\n`;
  const runs = d.actions.filter((a) => a.name === spec.action);
  if (runs.length === 0 && list.length === 0) { yield 'This step did not run for this incident.\n\n'; return; }
  for (const a of runs) {
    yield `#### ${code(stepTitle(a.stepId), 120)} (${code(a.name)}): ${a.status}\n\n`;
    const lines = transcriptFindings(spec, (a.result as { output?: unknown } | null)?.output);
    if (lines.length) yield lines.map((l) => `- ${l}\n`).join('') + '\n';
    if (a.error) yield `Error: ${code(a.error, 600)}\n\n`;
    const mine = list.filter((e) => e.actionId === a.id);
    if (mine.length === 0) yield 'No transcript was kept for this run.\n\n';
    for (const e of mine) yield* payloadBlock(store, e, inlineMax, headRows, tailRows);
  }
  const loose = list.filter((e) => !runs.some((a) => a.id === e.actionId));
  for (const e of loose) yield* payloadBlock(store, e, inlineMax, headRows, tailRows);
}

async function* actionsSection(
  store: Store, d: Loaded, list: EvidenceRecord[], stepTitle: (id: string) => string, inlineMax: number, headRows: number, tailRows: number,
): AsyncGenerator<string> {
  yield '### Containment and follow-up actions\n\nEach change the bot made, with its approval and the raw result exactly as the target answered ' +
    '(Graph responses with the request we sent, RADIUS CoA/Disconnect ACK/NAK, firewall CLI transcripts, ticket and mail receipts).\n\n';
  const byAction = new Map<string | null, EvidenceRecord[]>();
  for (const e of list) byAction.set(e.actionId, [...(byAction.get(e.actionId) ?? []), e]);
  const withApproval = new Set(d.approvals.map((a) => a.actionId));
  const shown = d.actions.filter((a) => byAction.has(a.id) || withApproval.has(a.id));
  if (shown.length === 0 && !byAction.has(null)) { yield 'No containment or follow-up action was taken.\n\n'; return; }
  for (const a of shown) {
    const result = a.result as { summary?: unknown } | null;
    yield `#### ${code(stepTitle(a.stepId), 120)} (${code(a.name)}): ${a.status}\n\n`;
    if (typeof result?.summary === 'string') yield `Result: ${code(result.summary, 600)}\n\n`;
    if (a.error) yield `Error: ${code(a.error, 600)}\n\n`;
    for (const ap of d.approvals.filter((x) => x.actionId === a.id)) {
      const votes = ap.votes.map((v) => `${code(v.approverName, 100)} ${v.vote === 'approve' ? 'approved' : 'rejected'} ${utc(v.at)}`).join('; ');
      yield `Approval ${code(ap.id)}: ${ap.status}, requested ${utc(ap.requestedAt)}${votes ? `; ${votes}` : ''}${ap.reason ? `; reason ${code(ap.reason, 300)}` : ''}\n\n`;
    }
    for (const e of byAction.get(a.id) ?? []) yield* payloadBlock(store, e, inlineMax, headRows, tailRows);
  }
  const loose = byAction.get(null) ?? [];
  if (loose.length) {
    yield '#### Not tied to a procedure step\n\n';
    for (const e of loose) yield* payloadBlock(store, e, inlineMax, headRows, tailRows);
  }
}

async function* otherSection(store: Store, list: EvidenceRecord[], inlineMax: number, headRows: number, tailRows: number): AsyncGenerator<string> {
  yield '### Other evidence\n\nPayloads from other sources (account and alert look-ups, sources this report has no section for).\n\n';
  if (list.length === 0) { yield 'None.\n\n'; return; }
  for (const e of list) yield* payloadBlock(store, e, inlineMax, headRows, tailRows);
}
