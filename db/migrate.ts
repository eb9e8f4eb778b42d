/**
 * Runs the migrations in `db/migrations/index.ts` with knex's migrator. The list is imported rather than
 * read from the folder, so that migrations written in TypeScript run the same under tsx, jest and a build.
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from './migrations';

const source: Knex.MigrationSource<(typeof MIGRATIONS)[number]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

export async function migrateToLatest(knex: Knex): Promise<void> {
  await knex.migrate.latest({ migrationSource: source });
}

export async function rollbackAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource: source }, true);
}
