import { Client } from 'pg';
import { parseIp } from '../../../domain/net';
import { ConnectorError, type RawPayload } from '../../types';
import type { RadiusString } from '../radius-string';
import { orderSessions, type AccountingReport, type AccountingSession } from './accounting-session';

/**
 * Accounting from FreeRADIUS's SQL `radacct` table (PostgreSQL schema of
 * mods-config/sql/main/postgresql/schema.sql). One row per session: FreeRADIUS's own queries fold
 * Start / Interim-Update / Stop into it, and its octet columns already include the Gigawords.
 */

const TABLE = /^[a-z_][a-z0-9_]{0,62}$/;

export interface SqlAccountingOptions {
  connectionString: string;
  table?: string;
  timeoutMs?: number;
}

export interface SqlAccountingResult {
  report: AccountingReport;
  raw: RawPayload[];
}

export async function readSqlAccounting(
  opts: SqlAccountingOptions,
  user: RadiusString,
  window: { from: Date; to: Date },
  now: () => Date = () => new Date(),
): Promise<SqlAccountingResult> {
  const table = opts.table ?? 'radacct';
  if (!TABLE.test(table)) throw new ConnectorError(`accounting table name ${JSON.stringify(table)} must be lower-case letters, digits and _`);
  const timeoutMs = opts.timeoutMs ?? 15000;
  const client = new Client({ connectionString: opts.connectionString, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  // The connection string holds a password: errors are reported without it.
  client.on('error', () => { /* surfaced by the awaited calls */ });
  let rows: Record<string, unknown>[];
  try {
    await client.connect();
    // Active sessions whatever their age, plus any session that overlapped the window.
    const q = await client.query(
      `SELECT * FROM "${table}"
        WHERE lower(username) = lower($1)
          AND (acctstarttime IS NULL OR acctstarttime <= $3)
          AND (acctstoptime IS NULL OR acctstoptime >= $2)
        ORDER BY acctstarttime NULLS FIRST, radacctid`,
      [user, window.from, window.to],
    );
    rows = q.rows;
  } catch (e) {
    const err = e as Error & { code?: string };
    const hint = err.code === '42P01' ? ` (no table "${table}": check radius.accounting.table)` : '';
    throw new ConnectorError(`cannot read RADIUS accounting from PostgreSQL: ${redact(err.message, opts.connectionString)}${hint}`, {
      source: 'radius.accounting', retryable: !err.code || err.code.startsWith('08') || err.code === '57014',
    });
  } finally {
    await client.end().catch(() => undefined);
  }

  const sessions = orderSessions(rows.map(rowToSession));
  const times = rows.flatMap((r) => [r.acctstarttime, r.acctupdatetime, r.acctstoptime]).filter((t): t is Date => t instanceof Date).map((d) => d.getTime());
  const raw: RawPayload = {
    source: 'radius.accounting.sql',
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)), 'utf8'),
    collectedAt: now().toISOString(),
    recordCount: rows.length,
    note: `SELECT * FROM ${table} rows of ${user} overlapping ${window.from.toISOString()}..${window.to.toISOString()}`,
  };
  if (times.length) {
    raw.rangeFrom = new Date(Math.min(...times)).toISOString();
    raw.rangeTo = new Date(Math.max(...times)).toISOString();
  }
  return {
    report: { user, from: window.from.toISOString(), to: window.to.toISOString(), sessions, active: sessions.filter((s) => s.active) },
    raw: [raw],
  };
}

function redact(message: string, connectionString: string): string {
  let out = message;
  try {
    const pw = decodeURIComponent(new URL(connectionString).password);
    if (pw) out = out.split(pw).join('[redacted]');
  } catch { /* not a URL: nothing to cut */ }
  return out.split(connectionString).join('[connection string]');
}

const str = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));
const isoOf = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : v ? new Date(String(v)).toISOString() : undefined);
const int = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
function ipOf(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  try {
    return parseIp(s.replace(/\/(32|128)$/, ''));
  } catch {
    return undefined;
  }
}

export function rowToSession(r: Record<string, unknown>): AccountingSession {
  const s: AccountingSession = {
    userName: String(r.username ?? ''),
    acctSessionId: String(r.acctsessionid ?? ''),
    acctUniqueId: str(r.acctuniqueid),
    nasIp: ipOf(r.nasipaddress),
    nasIdentifier: str(r.nasidentifier),
    nasPortId: str(r.nasportid),
    framedIp: ipOf(r.framedipaddress),
    framedIpv6Prefix: str(r.framedipv6prefix),
    callingStationId: str(r.callingstationid),
    calledStationId: str(r.calledstationid),
    startedAt: isoOf(r.acctstarttime),
    lastUpdateAt: isoOf(r.acctupdatetime),
    stoppedAt: isoOf(r.acctstoptime),
    sessionTimeSeconds: r.acctsessiontime === null || r.acctsessiontime === undefined ? undefined : int(r.acctsessiontime),
    inputOctets: int(r.acctinputoctets),
    outputOctets: int(r.acctoutputoctets),
    terminateCause: str(r.acctterminatecause),
    active: r.acctstoptime === null || r.acctstoptime === undefined,
  };
  for (const k of Object.keys(s) as Array<keyof AccountingSession>) if (s[k] === undefined) delete s[k];
  return s;
}
