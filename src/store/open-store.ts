import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, type MigrationProvider } from 'kysely';
import { Pool } from 'pg';
import type { Logger } from '../log';
import { ImmediateSqliteDialect, type Dialect } from './dialect';
import { NewerSchemaError } from './errors';
import { KyselyStore } from './kysely-store';
import { PgWakeChannel } from './pg-wake-channel';
import type { Database } from './schema';
import type { Store } from './store';

export const DEFAULT_SQLITE_PATH = './data/ir.sqlite';

/**
 * SQLite's busy handler sleeps synchronously, which would freeze this process's event loop while
 * another connection holds the write lock. So it is kept short, and transactions retry
 * asynchronously on SQLITE_BUSY instead (see KyselyStore.tx).
 */
const SQLITE_BUSY_TIMEOUT_MS = 20;

export type StoreLocation =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; url: string };

/**
 * Where STORE_URL points: '' or undefined → ./data/ir.sqlite; `sqlite:<path>` / `sqlite::memory:`;
 * `postgres://` / `postgresql://` URLs. The error never echoes the URL: it may carry a password.
 */
export function parseStoreUrl(url: string | undefined): StoreLocation {
  const u = (url ?? '').trim();
  if (u === '') return { dialect: 'sqlite', file: DEFAULT_SQLITE_PATH };
  if (/^postgres(ql)?:\/\//i.test(u)) return { dialect: 'postgres', url: u };
  if (/^sqlite:/i.test(u)) {
    let file = u.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2); // sqlite:///abs/path
    if (file === '') throw new Error('STORE_URL "sqlite:" needs a file path, e.g. sqlite:./data/ir.sqlite or sqlite::memory:');
    return { dialect: 'sqlite', file };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u)?.[1];
  throw new Error(
    `STORE_URL ${scheme ? `with scheme "${scheme}:" ` : ''}is not supported: use sqlite:<path>, sqlite::memory: or postgres://user@host:5432/db`,
  );
}

/** The location for logs: PostgreSQL URL without its password. */
export function describeLocation(loc: StoreLocation): string {
  if (loc.dialect === 'sqlite') return `sqlite:${loc.file}`;
  try {
    const parsed = new URL(loc.url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export interface OpenStoreOptions {
  log?: Logger;
  /** the code's migrations; only tests set it (startApp's test seam), to play an older build */
  migrations?: (dialect: Dialect) => MigrationProvider;
}

/** Opens the store STORE_URL points at and brings its schema up to date. */
export async function openStore(url: string | undefined, opts: OpenStoreOptions = {}): Promise<Store> {
  const { store, newerSchema } = await openReplicaStore(url, opts);
  if (newerSchema) {
    await store.close().catch(() => undefined);
    throw newerSchema;
  }
  return store;
}

/**
 * As openStore, but a database that a newer replica has migrated (migrations this code lacks) is
 * opened anyway, unchanged, and said so: the replica then takes no work yet still answers /readyz
 * with why, rather than exit and be restarted in a loop by its host.
 */
export async function openReplicaStore(url: string | undefined, opts: OpenStoreOptions = {}): Promise<{ store: Store; newerSchema?: NewerSchemaError }> {
  const loc = parseStoreUrl(url);
  const store = loc.dialect === 'sqlite' ? openSqlite(loc.file, opts.log) : openPostgres(loc.url, opts.log);
  try {
    await store.migrate(opts.migrations?.(store.dialect));
  } catch (error) {
    if (error instanceof NewerSchemaError) return { store, newerSchema: error };
    await store.close().catch(() => undefined);
    throw error;
  }
  opts.log?.info({ store: describeLocation(loc) }, 'store open');
  return { store };
}

function openSqlite(file: string, log?: Logger): KyselyStore {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  try {
    // WAL: readers never wait for the writer; FULL: a resolved promise means the commit is on disk.
    if (!inMemory) sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return new KyselyStore(new Kysely<Database>({ dialect: new ImmediateSqliteDialect(sqlite) }), 'sqlite', log);
}

function openPostgres(url: string, log?: Logger): KyselyStore {
  // A connection that cannot be made within 5 s fails (a restarting server refuses faster); idle
  // connections are closed after 30 s and probed by TCP keep-alive, so a failover's dead sockets
  // are noticed. A client whose connection broke is dropped by the pool, and the store retries.
  const pool = new Pool({
    connectionString: url, max: 10, application_name: 'teams-ir-bot',
    connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, keepAlive: true,
  });
  // A client the pool has handed out (a transaction between two statements) has no 'error'
  // listener of the pool's: a backend killed then (a restart, pg_terminate_backend) would end the
  // process. Its statement fails on its own and the store retries; this only keeps the process up.
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err: err.message }, 'store: a PostgreSQL connection in use failed; its statement is retried'));
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, it kills the process.
  pool.on('error', (err) => log?.warn({ err: err.message }, 'store: an idle PostgreSQL connection failed; the pool opens a new one'));
  return new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', log, new PgWakeChannel(url, log));
}
