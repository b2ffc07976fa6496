import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Approved steps run first. In an alert storm hundreds of incidents' read-only scope steps are
 * ready at once, and a claim took the oldest row first, so a containment an analyst approved at
 * 3 a.m. waited behind every older incident's scoping (the full storm bench: an approved
 * entra-contain still not run after 240 s). `priority` is set to 1 by the vote that approves the
 * step, in the same transaction that makes it ready; a claim takes the highest priority first,
 * then the oldest. The index serves that order.
 */
export function actionPriority(_dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('actions').addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await sql`create index actions_claim_order on actions (status, priority desc, created_at, id)`.execute(db);
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await sql`drop index if exists actions_claim_order`.execute(db);
      await db.schema.alterTable('actions').dropColumn('priority').execute();
    },
  };
}
