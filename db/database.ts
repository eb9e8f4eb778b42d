/**
 * Ampoule's database: knex on PostgreSQL (`DATABASE_URL`) or on embedded PGlite (a data directory, or
 * memory for tests). Opening it runs the migrations as the owning role (unless asked not to: then the schema must
 * be current already), then the application works as the database's application role (`<database>_app`), which
 * may not UPDATE, DELETE or TRUNCATE the append-only tables.
 */
import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { types as pgTypes } from 'pg';
import { appRoleOf, migrateToLatest, rehomeAppRole, schemaState } from './migrate';

/** The database is not at this Ampoule's schema: what to do is in the message. */
export class SchemaNotCurrent extends Error {}

const INT8_OID = 20;
// bigint columns (sequence numbers, counts) are far below 2^53: read them as numbers, on pg and on PGlite.
pgTypes.setTypeParser(INT8_OID, (v) => Number(v));

export interface Database {
  knex: Knex;
  kind: 'postgres' | 'pglite';
  /** Where the data lives, without secrets. */
  description: string;
  /** Whether the application works as its role (false only if the login role may not assume it). */
  appRole: boolean;
  /** The application role of this database (`<database>_app`). */
  appRoleName: string;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | {
      kind: 'postgres';
      url: string;
      migrationUrl?: string;
      poolSize?: number;
      /** false: do not migrate (no owner's credentials here); refuse a schema that is not current. Default true. */
      migrate?: boolean;
    }
  | {
      kind: 'pglite';
      dataDir?: string /* absent: in memory */;
      template?: Blob; /* a dump of a migrated database to start from */
    };

/** Opens the database, brings its schema up to date, and switches to the application role. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? openPostgres(target) : openPGlite(target.dataDir, target.template);
}

/**
 * Migrates the database as its owner and gives its application role a name of its own; returns that name. Each of
 * `grantTo` (the application's logins) is made a member of the role.
 */
export async function migrateDatabase(
  ownerUrl: string,
  grantTo: readonly string[] = [],
): Promise<{ appRole: string; applied: string[] }> {
  const owner = knexFactory({ client: 'pg', connection: ownerUrl, pool: { min: 0, max: 1 } });
  try {
    const { pending } = await schemaState(owner);
    await migrateToLatest(owner);
    const appRole = await rehomeAppRole(owner);
    for (const login of grantTo) await owner.raw('grant ?? to ??', [appRole, login]);
    return { appRole, applied: pending };
  } finally {
    await owner.destroy();
  }
}

async function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<Database> {
  if (target.migrate !== false) await migrateDatabase(target.migrationUrl ?? target.url);
  const probe = knexFactory({ client: 'pg', connection: target.url, pool: { min: 0, max: 1 } });
  let roleName: string;
  try {
    const { pending, unknown } = await schemaState(probe);
    if (unknown.length > 0)
      throw new SchemaNotCurrent(
        `the database was migrated by a newer Ampoule (${unknown.join(', ')}): run that version, or restore a backup`,
      );
    if (pending.length > 0)
      throw new SchemaNotCurrent(
        `the database is not migrated to this Ampoule (${pending.length} migration(s) pending, from ${pending[0]}): run \`bin/ampoule migrate\` with the owner's credentials first`,
      );
    roleName = await appRoleOf(probe);
    // A database copied from another (or renamed) still works as the original's role until `migrate` re-homes it.
    const { rows } = await probe.raw(`select ampoule_app_role_name() as expected`);
    if (rows[0].expected !== roleName)
      throw new SchemaNotCurrent(
        `the database works as the role ${roleName}, not its own ${rows[0].expected as string} (copied or renamed?): run \`bin/ampoule migrate\` with the owner's credentials first`,
      );
  } finally {
    await probe.destroy();
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
        prepareConnection(conn, roleName).then(
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
    appRoleName: roleName,
    close: () => knex.destroy(),
  };
}

/**
 * How many connections a query could have now without waiting: the idle ones and those the pool may still open —
 * none while others already wait. PGlite's pool is of one.
 */
export function connectionsFreeNow(knex: Knex): number {
  const pool = (knex.client as { pool?: TarnPool }).pool;
  if (!pool || pool.numPendingAcquires() > 0) return 0;
  return pool.max - pool.numUsed() - pool.numPendingCreates();
}

/** What `connectionsFreeNow` reads of knex's pool (tarn's). */
interface TarnPool {
  max: number;
  numUsed(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
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
async function prepareConnection(conn: PgConnection, role: string): Promise<boolean> {
  await conn.query(`set time zone 'UTC'`);
  const literal = `'${role.replace(/'/g, "''")}'`;
  const { rows } = await conn.query(
    `select pg_has_role(current_user, ${literal}, 'MEMBER') as member, current_user = ${literal} as is_app`,
  );
  const assumed = rows[0].is_app || rows[0].member;
  if (!rows[0].is_app && rows[0].member) await conn.query(`set role "${role.replace(/"/g, '""')}"`);
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
  const appRoleName = await rehomeAppRole(knex);
  await knex.raw(`set role "${appRoleName}"`);
  await knex.raw(`set time zone 'UTC'`);
  await knex.raw(MARK_APPLICATION_SESSION);
  return {
    knex,
    kind: 'pglite',
    description: dataDir ? `PGlite ${dataDir}` : 'PGlite (in memory)',
    appRole: true,
    appRoleName,
    close: () => knex.destroy(),
  };
}
