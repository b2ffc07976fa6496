import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';

/**
 * Runs the same tests on both Store adapters. Each dialect gets one fresh database for its
 * describe block (a temp SQLite file / a new PostgreSQL database `irbot_test_<random>`), dropped in
 * after(). `make()` opens another Store on that same database, so a test can pit two instances
 * against each other; tests share the database, so give records unique ids (see `uniqueId`).
 *
 * PostgreSQL: 127.0.0.1:5432, user postgres, trust auth (override with IRBOT_TEST_PG_ADMIN_URL).
 * If it is not reachable the postgres suite FAILS: it is never skipped.
 */
export type StoreDialectName = 'sqlite' | 'postgres';

export const PG_ADMIN_URL = process.env.IRBOT_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: StoreDialectName;
  /** a STORE_URL for openStore() */
  readonly url: string;
  dispose(): Promise<void>;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export async function createTestDatabase(name: StoreDialectName): Promise<TestDatabase> {
  if (name === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-store-'));
    return { name, url: `sqlite:${path.join(dir, 'test.sqlite')}`, dispose: () => rm(dir, { recursive: true, force: true }) };
  }
  const dbName = `irbot_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query(`create database ${dbName}`);
  });
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${dbName}`;
  return {
    name,
    url: url.toString(),
    dispose: () => withAdmin(async (admin) => {
      // WITH (FORCE): a connection a failed test left open must not keep the database alive
      await admin.query(`drop database if exists ${dbName} with (force)`);
    }),
  };
}

async function withAdmin(fn: (c: Client) => Promise<void>): Promise<void> {
  const admin = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}). ` +
      'The postgres store suite needs it: start PostgreSQL (CI: .ci/run does) or set IRBOT_TEST_PG_ADMIN_URL.',
    );
  }
  try {
    await fn(admin);
  } finally {
    await admin.end();
  }
}

/** Registers one describe per dialect; `fn` declares the tests, calling `make()` inside them. */
export function withTestStores(fn: (name: StoreDialectName, make: () => Promise<Store>, database: () => TestDatabase) => void): void {
  for (const name of ['sqlite', 'postgres'] as const) {
    describe(`store adapter: ${name}`, function () {
      let database: TestDatabase | undefined;
      const opened: Store[] = [];

      before(async function () {
        this.timeout(30_000);
        database = await createTestDatabase(name);
      });

      after(async function () {
        this.timeout(30_000);
        for (const s of opened.splice(0)) await s.close().catch(() => undefined);
        await database?.dispose();
      });

      const make = async (): Promise<Store> => {
        if (!database) throw new Error('make() runs inside it()/before() hooks, after the test database exists');
        const store = await openStore(database.url);
        opened.push(store);
        return store;
      };

      fn(name, make, () => {
        if (!database) throw new Error('the test database exists only inside it()/before() hooks');
        return database;
      });
    });
  }
}
