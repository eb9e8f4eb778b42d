/**
 * Runs the migrations in `db/migrations/index.ts` with knex's migrator. The list is imported rather than
 * read from the folder, so that migrations written in TypeScript run the same under tsx, jest and a build.
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from './migrations';
import { name as APP_ROLE_MIGRATION } from './migrations/20261210000000_application_role_per_database';

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

/** The role the application works as in this database, named for it (migration 20261210000000). */
export async function appRoleOf(knex: Knex): Promise<string> {
  const { rows } = await knex.raw(`select name from ampoule_app_role`);
  return rows[0].name as string;
}

/**
 * Gives the application role of a database copied from another (or renamed) a name of its own, with the
 * privileges: run after every migration by `bin/ampoule migrate`; nothing to do on a database already its own.
 */
export async function rehomeAppRole(knex: Knex): Promise<string> {
  const { rows } = await knex.raw(`select ampoule_rehome_app_role() as name`);
  return rows[0].name as string;
}

/** How this database's schema stands against this Ampoule's migrations. */
export async function schemaState(knex: Knex): Promise<{ pending: string[]; unknown: string[] }> {
  const known: string[] = MIGRATIONS.map((m) => m.name);
  let done: string[];
  try {
    done = (await knex('knex_migrations').select('name')).map((r: { name: string }) => r.name);
  } catch (err) {
    // Not readable by a login before 20261210000000 made it so: at least that one is pending.
    if ((err as { code?: string }).code === '42501') return { pending: [APP_ROLE_MIGRATION], unknown: [] };
    done = []; // no migrations table: never migrated
  }
  return { pending: known.filter((n) => !done.includes(n)), unknown: done.filter((n) => !known.includes(n)) };
}
