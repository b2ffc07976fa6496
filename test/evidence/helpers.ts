import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import type { Store } from '../../src/store/store';
import { withTestStores, type StoreDialectName } from '../support/store-factory';

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
  withTestStores((name, make, database) => {
    const pgParams = (sql: string) => { let n = 0; return sql.replace(/\?/g, () => `$${++n}`); };
    const run = async <T>(sql: string, params: unknown[]): Promise<T[]> => {
      const { url } = database();
      if (name === 'sqlite') {
        const db = new BetterSqlite3(url.slice('sqlite:'.length));
        try {
          const st = db.prepare(sql);
          return (st.reader ? st.all(...params) : (st.run(...params), [])) as T[];
        } finally {
          db.close();
        }
      }
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(pgParams(sql), params)).rows as T[];
      } finally {
        await c.end();
      }
    };
    fn(() => ({
      name,
      get url() { return database().url; },
      make,
      exec: async (sql, params) => { await run(sql, params); },
      query: run,
    }));
  });
}
