import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * SQLite with every transaction opened as BEGIN IMMEDIATE: the write lock is taken up front, so
 * a read-then-write transaction (append to the hash chain, claim an action, count votes) can never
 * be overtaken by another connection between its read and its write, and never dead-ends in
 * SQLITE_BUSY halfway (a deferred transaction cannot upgrade its lock while another writer waits).
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqlite: BetterSqlite3.Database, config: Omit<SqliteDialectConfig, 'database'> = {}) {
    super({ ...config, database: sqlite });
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.sqlite });
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** SQLite said another connection holds the lock: worth retrying after a pause. */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** A unique or primary-key constraint refused a row (another writer got there first). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** PostgreSQL aborted the transaction to resolve a conflict; running it again is the cure. */
export function isRetryablePgError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '40001' || code === '40P01';
}

/** SQLSTATEs and socket errors that mean the connection to PostgreSQL is gone or cannot be made. */
const PG_CONNECTION_CODES = new Set([
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
]);
const PG_CONNECTION_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Connection terminated due to connection timeout/i;

/**
 * The database could not be reached or dropped the connection (a restart, a failover, a killed
 * backend), as opposed to refusing the statement: worth retrying, and a 503 to the sender if it
 * lasts.
 */
export function isConnectionError(error: unknown, depth = 0): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown } | undefined;
  if (typeof e?.code === 'string' && PG_CONNECTION_CODES.has(e.code)) return true;
  if (typeof e?.message === 'string' && PG_CONNECTION_MESSAGE.test(e.message)) return true;
  // A connection error wrapped by a caller (Error { cause }) or several attempts' (AggregateError, as
  // node's net gives for a refused connect to every address of a name) is still one, and earns the
  // sender a 503 (send again) rather than a 500.
  if (depth >= 5 || !e || typeof e !== 'object') return false;
  if (e.cause !== undefined && isConnectionError(e.cause, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.some((x) => isConnectionError(x, depth + 1));
}
