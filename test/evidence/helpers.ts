import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { createTestDatabase, type StoreDialectName, type TestDatabase } from '../support/store-factory';

/**
 * Like withTestStores, but the test also gets raw SQL on the same database: tampering with stored
 * bytes and timeline rows has to go around the Store, as an attacker with database access would.
 */
export interface EvidenceTestDb {
  name: StoreDialectName;
  url: string;
  make(): Promise<Store>;
  /** one statement with positional parameters (written `?`; rewritten to $n for PostgreSQL) */
  exec(sql: string, params: unknown[]): Promise<void>;
  query<T>(sql: string, params: unknown[]): Promise<T[]>;
}

export function withEvidenceStores(fn: (db: () => EvidenceTestDb) => void): void {
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
      const pgParams = (sql: string) => { let n = 0; return sql.replace(/\?/g, () => `$${++n}`); };
      const run = async <T>(sql: string, params: unknown[]): Promise<T[]> => {
        if (!database) throw new Error('no test database yet');
        if (name === 'sqlite') {
          const db = new BetterSqlite3(database.url.slice('sqlite:'.length));
          try {
            const st = db.prepare(sql);
            return (st.reader ? st.all(...params) : (st.run(...params), [])) as T[];
          } finally {
            db.close();
          }
        }
        const c = new Client({ connectionString: database.url });
        await c.connect();
        try {
          return (await c.query(pgParams(sql), params)).rows as T[];
        } finally {
          await c.end();
        }
      };
      fn(() => ({
        name,
        get url() { if (!database) throw new Error('no test database yet'); return database.url; },
        make: async () => {
          if (!database) throw new Error('make() runs inside it()/before() hooks');
          const s = await openStore(database.url);
          opened.push(s);
          return s;
        },
        exec: async (sql, params) => { await run(sql, params); },
        query: run,
      }));
    });
  }
}
