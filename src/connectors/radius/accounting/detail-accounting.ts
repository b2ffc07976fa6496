import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parseIp } from '../../../domain/net';
import { ConnectorError, type RawPayload } from '../../types';
import type { RadiusString } from '../radius-string';
import type { AccountingReport } from './accounting-session';
import { parseAttributeLine, parseDetailStream, type DetailParseStats, type DetailRecord } from './detail-parser';
import { octetsWithGigawords } from './accounting-session';
import { foldSessions, statusKind, type AccountingEvent } from './session-fold';

/**
 * Accounting from FreeRADIUS detail files (`<radacctdir>/<client-ip>/detail-YYYYMMDD[.gz]`), read
 * from wherever they live through a DetailSource: over SSH on the RADIUS server, or locally.
 */

export interface DetailFile {
  /** path as the source understands it */
  path: string;
  /** the client directory: the NAS's address as the RADIUS server saw it */
  client: string;
  /** YYYYMMDD from the name */
  day: string;
  gzip: boolean;
}

export interface DetailSource {
  /** a description for evidence notes: `ssh root@radius1:/var/log/freeradius/radacct` */
  label: string;
  list(): Promise<DetailFile[]>;
  open(file: DetailFile): Promise<AsyncIterable<Buffer>>;
}

export const DETAIL_FILE = /^detail-(\d{8})(\.gz)?$/;
// Client directories are addresses (FreeRADIUS names them %{Packet-Src-IP-Address}).
const CLIENT_DIR = /^[0-9A-Fa-f.:]{2,45}$/;

/** Day stamps (UTC and the neighbours, since rotation follows the server's local zone) covering the window. */
export function daysCovering(from: Date, to: Date): Set<string> {
  const days = new Set<string>();
  const oneDay = 86_400_000;
  for (let t = from.getTime() - oneDay; t <= to.getTime() + oneDay; t += oneDay) {
    days.add(new Date(t).toISOString().slice(0, 10).replace(/-/g, ''));
  }
  return days;
}

export function localDetailSource(dir: string): DetailSource {
  return {
    label: `local ${dir}`,
    async list() {
      const out: DetailFile[] = [];
      let clients: string[];
      try {
        clients = await readdir(dir);
      } catch (e) {
        throw new ConnectorError(`cannot read the accounting directory ${dir}: ${(e as Error).message}`, { source: 'radius.accounting' });
      }
      for (const client of clients) {
        if (!CLIENT_DIR.test(client)) continue;
        const sub = join(dir, client);
        if (!(await stat(sub)).isDirectory()) continue;
        for (const name of await readdir(sub)) {
          const m = DETAIL_FILE.exec(name);
          if (m) out.push({ path: join(sub, name), client, day: m[1], gzip: Boolean(m[2]) });
        }
      }
      return out;
    },
    async open(file) {
      const s = createReadStream(file.path);
      return file.gzip ? s.pipe(createGunzip()) : s;
    },
  };
}

export interface DetailAccountingResult {
  report: AccountingReport;
  raw: RawPayload[];
  stats: DetailParseStats & { files: number };
}

/**
 * Reads the detail files covering the window, keeps the user's records (and the NASes'
 * Accounting-On/Off, which end sessions), folds them into sessions. Files are streamed one after
 * the other; only the user's records are held, for the evidence.
 */
export async function readDetailAccounting(
  source: DetailSource,
  user: RadiusString,
  window: { from: Date; to: Date },
  now: () => Date = () => new Date(),
): Promise<DetailAccountingResult> {
  const days = daysCovering(window.from, window.to);
  const files = (await source.list()).filter((f) => days.has(f.day)).sort((a, b) => a.day.localeCompare(b.day) || a.client.localeCompare(b.client));
  const wanted = user.toLowerCase();
  const stats: DetailParseStats = { records: 0, skippedLines: 0 };
  const events: AccountingEvent[] = [];
  const rawRecords: string[] = [];
  let minAt = Infinity;
  let maxAt = -Infinity;

  const keep = (lines: string[]) => {
    for (const l of lines) {
      if (l.startsWith('\tUser-Name = ')) {
        const a = parseAttributeLine(l);
        return a !== undefined && a[1].toLowerCase() === wanted;
      }
    }
    return lines.some((l) => l.startsWith('\tAcct-Status-Type = Accounting-O'));
  };

  // The raw text test only rules records out; `keep` decides on the parsed value.
  const asciiUser = /^[\x20-\x7e]*$/.test(user);
  const userPattern = new RegExp(`\tUser-Name = "${user.replace(/\\/g, '\\\\').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"(?:\n|$)`, 'i');
  const prefilter = (text: string) => !asciiUser || userPattern.test(text) || text.includes('\tAcct-Status-Type = Accounting-O');

  for (const file of files) {
    const stream = await source.open(file);
    try {
      for await (const record of parseDetailStream(stream, { prefilter, keep, stats })) {
        const e = detailRecordToEvent(record, file.client);
        if (!e) continue;
        events.push(e);
        if (e.userName !== undefined) {
          rawRecords.push(record.raw);
          minAt = Math.min(minAt, e.at);
          maxAt = Math.max(maxAt, e.at);
        }
      }
    } catch (e) {
      if (e instanceof ConnectorError) throw e;
      throw new ConnectorError(`cannot read ${file.path} from ${source.label}: ${(e as Error).message}`, { source: 'radius.accounting', retryable: true, cause: e });
    } finally {
      if (stream instanceof Readable) stream.destroy();
    }
  }

  const sessions = foldSessions(events, window);
  const raw: RawPayload = {
    source: 'radius.accounting.detail',
    contentType: 'text/plain; charset=utf-8',
    body: Buffer.from(rawRecords.join(''), 'utf8'),
    collectedAt: now().toISOString(),
    recordCount: rawRecords.length,
    note: `detail records of ${user} from ${source.label}: ${files.map((f) => `${f.client}/detail-${f.day}${f.gzip ? '.gz' : ''}`).join(', ') || 'no files in the window'}`,
  };
  if (rawRecords.length) {
    raw.rangeFrom = new Date(minAt).toISOString();
    raw.rangeTo = new Date(maxAt).toISOString();
  }
  return {
    report: { user, from: window.from.toISOString(), to: window.to.toISOString(), sessions, active: sessions.filter((s) => s.active) },
    raw: [raw],
    stats: { ...stats, files: files.length },
  };
}

const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

function safeIp(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    return parseIp(v);
  } catch {
    return undefined;
  }
}

export function detailRecordToEvent(record: DetailRecord, clientDir?: string): AccountingEvent | undefined {
  const a = new Map<string, string>();
  for (const [k, v] of record.attributes) if (!a.has(k)) a.set(k, v);
  const kind = statusKind(a.get('Acct-Status-Type'));
  let at: number | undefined;
  const eventTs = a.get('Event-Timestamp');
  if (eventTs !== undefined) {
    if (/^\d+$/.test(eventTs)) at = Number(eventTs) * 1000;
    else if (/ (UTC|GMT)$/.test(eventTs) && !Number.isNaN(Date.parse(eventTs))) at = Date.parse(eventTs);
  }
  if (at === undefined && record.timestamp !== undefined) at = (record.timestamp - (num(a.get('Acct-Delay-Time')) ?? 0)) * 1000;
  if (at === undefined) return undefined;
  return {
    kind,
    at,
    userName: a.get('User-Name'),
    acctSessionId: a.get('Acct-Session-Id'),
    acctUniqueId: a.get('Acct-Unique-Session-Id'),
    nasIp: safeIp(a.get('NAS-IP-Address')) ?? safeIp(a.get('NAS-IPv6-Address')) ?? safeIp(clientDir),
    nasIdentifier: a.get('NAS-Identifier'),
    nasPortId: a.get('NAS-Port-Id') ?? a.get('NAS-Port'),
    framedIp: safeIp(a.get('Framed-IP-Address')),
    framedIpv6Prefix: a.get('Framed-IPv6-Prefix'),
    callingStationId: a.get('Calling-Station-Id'),
    calledStationId: a.get('Called-Station-Id'),
    sessionTimeSeconds: num(a.get('Acct-Session-Time')),
    inputOctets: a.has('Acct-Input-Octets') || a.has('Acct-Input-Gigawords') ? octetsWithGigawords(num(a.get('Acct-Input-Octets')), num(a.get('Acct-Input-Gigawords'))) : undefined,
    outputOctets: a.has('Acct-Output-Octets') || a.has('Acct-Output-Gigawords') ? octetsWithGigawords(num(a.get('Acct-Output-Octets')), num(a.get('Acct-Output-Gigawords'))) : undefined,
    terminateCause: a.get('Acct-Terminate-Cause'),
  };
}
