import assert from 'node:assert/strict';
import { sql, type MigrationProvider } from 'kysely';
import { log, setLogDestination } from '../src/log';
import { migrationProvider } from '../src/store/migrations';
import { openStore } from '../src/store/open-store';
import { NewerSchemaError } from '../src/store/errors';
import type { Dialect } from '../src/store/dialect';
import type { KyselyStore } from '../src/store/kysely-store';
import { startProductionApp } from './support/production-app';
import { createTestDatabase, type TestDatabase } from './support/store-factory';

/** An older build: this code's migrations without the newest one. */
const olderBuild = (dialect: Dialect): MigrationProvider => ({
  getMigrations: async () => {
    const all = await migrationProvider(dialect).getMigrations();
    const names = Object.keys(all).sort();
    return Object.fromEntries(names.slice(0, -1).map((n) => [n, all[n]]));
  },
});

async function newestMigration(dialect: Dialect): Promise<string> {
  return Object.keys(await migrationProvider(dialect).getMigrations()).sort().at(-1)!;
}

/** Runs `fn` with error-level log lines collected (tests log nothing otherwise). */
async function withErrorLines<T>(fn: () => Promise<T>): Promise<{ result: T; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const level = log.level;
  const previous = setLogDestination({ write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  log.level = 'error';
  try {
    return { result: await fn(), lines };
  } finally {
    log.level = level;
    setLogDestination(previous);
  }
}

/**
 * Issue 13, bad input: an OLDER replica started after a newer one migrated the schema. kysely's own
 * check (a migration in the database the code does not have) used to end the start-up, so the host
 * restarted it in a loop. Now it starts, changes nothing, takes no work and says why on /readyz.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`an older replica on a database a newer one migrated (${dialect})`, function () {
    this.timeout(120_000);
    let db: TestDatabase;
    before(async () => { db = await createTestDatabase(dialect); });
    after(async () => { await db?.dispose(); });

    it('starts, takes no alerts or clicks, answers /readyz 503 with the reason in one line, logs it once; the schema is left as it is', async () => {
      const newest = await newestMigration(dialect);
      const reason = `the database has migrations ${newest} this build does not know: upgrade this replica`;
      const newer = await startProductionApp({ storeUrl: db.url });
      let newerClosed = false;
      const { result: older, lines } = await withErrorLines(() => startProductionApp({ storeUrl: db.url, seams: { migrations: olderBuild } }));
      try {
        const said = lines.filter((l) => String(l.msg).includes('takes no work'));
        assert.equal(said.length, 1, `one log line says why: ${JSON.stringify(lines)}`);
        assert.equal(said[0].msg, `this replica takes no work: ${reason}`);

        assert.equal((await fetch(`${newer.base}/readyz`)).status, 200, 'the newer replica is unaffected');
        const ready = await fetch(`${older.base}/readyz`);
        assert.equal(ready.status, 503);
        const body = (await ready.json()) as { status: string; error: string };
        assert.equal(body.status, 'not ready');
        assert.equal(body.error, `this replica takes no work: ${reason}`);
        assert.doesNotMatch(body.error, /\n/, 'one line');

        const alert = await fetch(`${older.base}/api/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${older.secrets.contosoToken}` },
          body: JSON.stringify({ id: 'da-older-1', tenantId: 'x', title: 't', severity: 'high' }),
        });
        assert.equal(alert.status, 503);
        assert.equal(alert.headers.get('retry-after'), '5');
        assert.equal(((await alert.json()) as { error: { code: string } }).error.code, 'replica_refuses_work');
        const click = await fetch(`${older.base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ type: 'invoke' }) });
        assert.equal(click.status, 503);
        assert.deepEqual(await newer.store.listIncidents({}), [], 'nothing stored for the refused alert');

        // Without any newer replica live, a fresh older one is refused all the same: the store's
        // schema decides, not the record of live replicas (the newer one left it on its clean stop).
        await newer.dispose();
        newerClosed = true;
        const again = await startProductionApp({ storeUrl: db.url, seams: { migrations: olderBuild } });
        try {
          const r = await fetch(`${again.base}/readyz`);
          assert.equal(r.status, 503);
          assert.equal(((await r.json()) as { error: string }).error, `this replica takes no work: ${reason}`);
        } finally {
          await again.dispose();
        }
      } finally {
        await older.dispose();
        if (!newerClosed) await newer.dispose();
      }

      // The older replicas changed nothing: the newest migration is still recorded, and a current build opens the store.
      const current = (await openStore(db.url)) as KyselyStore;
      try {
        const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(current.db);
        assert.ok(rows.some((r) => r.name === newest), 'the newest migration is still recorded');
      } finally {
        await current.close();
      }
    });

    it('openStore (tools, scripts) refuses such a database with the same reason and leaves it unchanged', async () => {
      const newest = await newestMigration(dialect);
      await assert.rejects(openStore(db.url, { migrations: olderBuild }), (e: unknown) => {
        assert.ok(e instanceof NewerSchemaError);
        assert.deepEqual(e.unknownMigrations, [newest]);
        return true;
      });
    });
  });
}
