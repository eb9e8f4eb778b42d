/**
 * Databases for tests. With TEST_DATABASE_URL (or DATABASE_URL) naming a PostgreSQL server, each suite gets a
 * database of its own on it — empty, or cloned from a template migrated once for every suite (`CREATE
 * DATABASE … TEMPLATE`); otherwise Ampoule's suites run on in-memory PGlite, each started from a dump of a
 * migrated database made once and kept in the system's temporary folder. Either template is named by a hash
 * of the migrations: a changed migration makes a new one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { Client } from 'pg';
import { createDatabaseOn, type ScratchDatabase } from '@ampoule/embedded-temporal/testing';
import { migrateToLatest } from '../../db/migrate';

export { createDatabaseOn };

export const POSTGRES_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';

export type TestDatabase = ScratchDatabase;

/** A short hash of every migration's source: what a template was migrated with. */
function migrationsHash(): string {
  const dir = path.resolve(__dirname, '../../db/migrations');
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

function urlOf(name: string, server = POSTGRES_URL): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` with a connection to the server's maintenance database. */
async function asAdmin<T>(fn: (admin: Client) => Promise<T>, server = POSTGRES_URL): Promise<T> {
  const admin = new Client({ connectionString: server });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** The migrated template database, created (under an advisory lock, so concurrent suites make it once) if missing. */
async function migratedTemplate(): Promise<string> {
  const name = `ampoule_template_${migrationsHash()}`;
  await asAdmin(async (admin) => {
    await admin.query(`select pg_advisory_lock(hashtext('ampoule test template'))`);
    try {
      const { rows } = await admin.query(`select 1 from pg_database where datname = $1`, [name]);
      if (rows.length > 0) return;
      // Migrated under a name of its own, renamed once done: a template is never seen half-migrated.
      const building = `${name}_building`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const owner = knexFactory({ client: 'pg', connection: urlOf(building), pool: { min: 0, max: 1 } });
      try {
        await migrateToLatest(owner);
      } finally {
        await owner.destroy();
      }
      await admin.query(`alter database ${building} rename to ${name}`);
    } finally {
      await admin.query(`select pg_advisory_unlock(hashtext('ampoule test template'))`);
    }
  });
  return name;
}

/**
 * Creates a database of the suite's own on the configured server (and drops it afterwards): a clone of the
 * migrated template with `migrated`, else empty.
 */
export async function createTestDatabase(
  prefix = 'ampoule_test',
  o: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  if (!POSTGRES_URL) throw new Error('no PostgreSQL configured (TEST_DATABASE_URL)');
  const db = await createDatabaseOn(POSTGRES_URL, prefix, o.migrated ? await migratedTemplate() : undefined);
  return {
    url: db.url,
    // Its application role (roles are the cluster's) goes with it: nothing of a test stays behind.
    drop: async () => {
      await db.drop();
      const name = new URL(db.url).pathname.slice(1);
      // Still holding privileges in a copy of the database (a test that copies it drops that too): left for it.
      await asAdmin((admin) =>
        admin.query(`drop role if exists "${`${name.slice(0, 55)}_app`.replace(/"/g, '""')}"`),
      ).catch((err: { code?: string }) => {
        if (err.code !== '2BP01') throw err;
      });
    },
  };
}

/** A dump of a migrated PGlite database, made once (per set of migrations) and kept in the temporary folder. */
export async function pgliteTemplate(): Promise<Blob> {
  const file = path.join(tmpdir(), `ampoule-pglite-template-${migrationsHash()}.tar.gz`);
  if (!existsSync(file)) {
    const { PGlite } = await import('@electric-sql/pglite');
    const ClientPgLite = (await import('knex-pglite')).default;
    const pglite = await PGlite.create();
    const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) as never });
    try {
      await migrateToLatest(knex);
      const dump = await pglite.dumpDataDir('gzip');
      // Written aside and renamed: a suite running beside never reads half a file.
      const partial = `${file}.${process.pid}`;
      writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
      renameSync(partial, file);
    } finally {
      await knex.destroy();
    }
  }
  return new Blob([readFileSync(file)]);
}
