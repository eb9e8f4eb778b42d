/**
 * Ampoule's database: knex on PostgreSQL (`DATABASE_URL`) or on embedded PGlite (a data directory, or
 * memory for tests). Opening it runs the migrations as the owning role, then the application works as
 * the `ampoule_app` role, which may not UPDATE, DELETE or TRUNCATE the append-only tables.
 */
import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { types as pgTypes } from 'pg';
import { migrateToLatest } from './migrate';

/** The role migrations create for the application (see the first migration). */
export const APP_ROLE = 'ampoule_app';

const INT8_OID = 20;
// bigint columns (sequence numbers, counts) are far below 2^53: read them as numbers, on pg and on PGlite.
pgTypes.setTypeParser(INT8_OID, (v) => Number(v));

export interface Database {
  knex: Knex;
  kind: 'postgres' | 'pglite';
  /** Where the data lives, without secrets. */
  description: string;
  /** Whether the application works as `ampoule_app` (false only if the login role may not assume it). */
  appRole: boolean;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; migrationUrl?: string; poolSize?: number }
  | {
      kind: 'pglite';
      dataDir?: string /* absent: in memory */;
      template?: Blob; /* a dump of a migrated database to start from */
    };

/** Opens the database, brings its schema up to date, and switches to the application role. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? openPostgres(target) : openPGlite(target.dataDir, target.template);
}

async function openPostgres(target: { url: string; migrationUrl?: string; poolSize?: number }): Promise<Database> {
  const owner = knexFactory({ client: 'pg', connection: target.migrationUrl ?? target.url, pool: { min: 0, max: 1 } });
  try {
    await migrateToLatest(owner);
  } finally {
    await owner.destroy();
  }
  // Each pooled connection assumes the application role if its login role may (a member of it, or the
  // owner that the migration granted it to); a login role that *is* a restricted member needs nothing.
  let appRole = false;
  const knex = knexFactory({
    client: 'pg',
    connection: target.url,
    pool: {
      min: 0,
      max: target.poolSize ?? 10,
      // Work comes in bursts (many batches' steps at once): a connection opened for one is kept for the next
      // rather than closed after tarn's default 30 s and opened again (a backend start, the role, a cold cache).
      idleTimeoutMillis: 5 * 60_000,
      afterCreate: (conn: PgConnection, done: (err: Error | null, conn: PgConnection) => void) => {
        prepareConnection(conn).then(
          (assumed) => {
            if (assumed) appRole = true;
            done(null, conn);
          },
          (err: Error) => done(err, conn),
        );
      },
    },
  });
  await knex.raw('select 1'); // fail now, not on the first request, if the database is unreachable
  const u = new URL(target.url);
  if (u.password) u.password = '***';
  return {
    knex,
    kind: 'postgres',
    description: `PostgreSQL ${u.host}${u.pathname}`,
    get appRole() {
      return appRole;
    },
    close: () => knex.destroy(),
  };
}

interface PgConnection {
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Marks a session as Ampoule's own with the secret token only the application role may read: its changes of
 * GMP tables are audited by the application, so the database's trace of changes made outside Ampoule
 * (migration 20261206020000) leaves them be.
 */
export const MARK_APPLICATION_SESSION = `select set_config('ampoule.application_path', token, false) from ampoule_application_token`;

/** UTC for the session, the application role where the login role may assume it, and Ampoule's mark. */
async function prepareConnection(conn: PgConnection): Promise<boolean> {
  await conn.query(`set time zone 'UTC'`);
  const { rows } = await conn.query(
    `select pg_has_role(current_user, '${APP_ROLE}', 'MEMBER') as member, current_user = '${APP_ROLE}' as is_app`,
  );
  const assumed = rows[0].is_app || rows[0].member;
  if (!rows[0].is_app && rows[0].member) await conn.query(`set role ${APP_ROLE}`);
  // A login that is not the application role cannot read the token: its changes are traced as outside Ampoule.
  if (assumed) await conn.query(MARK_APPLICATION_SESSION);
  return Boolean(assumed);
}

async function openPGlite(dataDir?: string, template?: Blob): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const ClientPgLite = (await import('knex-pglite')).default;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, {
    parsers: { [INT8_OID]: (v: string) => Number(v) },
    ...(template ? { loadDataDir: template } : {}),
  });
  // PGlite is one connection: knex-pglite keeps a pool of exactly one, so every query and transaction
  // queues behind the one before it.
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) as never });
  await migrateToLatest(knex);
  await knex.raw(`set role ${APP_ROLE}`);
  await knex.raw(`set time zone 'UTC'`);
  await knex.raw(MARK_APPLICATION_SESSION);
  return {
    knex,
    kind: 'pglite',
    description: dataDir ? `PGlite ${dataDir}` : 'PGlite (in memory)',
    appRole: true,
    close: () => knex.destroy(),
  };
}
