/**
 * The durable store, on PostgreSQL (`--db-url`) or on an embedded PGlite data directory (`--db-filename`).
 * Four tables in their own schema: namespaces, runs (mutable state as JSON), history events (protobuf bytes) and
 * schedules (JSON). Each commit is one transaction, so a crash leaves either all of a batch or none of it.
 */
import type { CommitBatch, LoadedState, NamespaceRecord, Store, StoredEvent, StoredRun } from './store';

/** The little of a SQL connection the store needs; implemented over `pg` and over PGlite. */
interface SqlConnection {
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  transaction(fn: (q: <R>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA = 'embedded_temporal';
/** 2: schedules. An older server refuses a store a newer one wrote (it would not see its schedules). */
const SCHEMA_VERSION = 2;
/** Rows per multi-row INSERT, well under PostgreSQL's 65,535 bind parameters. */
const ROWS_PER_INSERT = 500;

const DDL = [
  `create schema if not exists ${SCHEMA}`,
  `create table if not exists ${SCHEMA}.meta (key text primary key, value text not null)`,
  `create table if not exists ${SCHEMA}.namespaces (name text primary key, record text not null)`,
  `create table if not exists ${SCHEMA}.runs (
     run_id text primary key,
     namespace text not null,
     workflow_id text not null,
     state text not null)`,
  `create table if not exists ${SCHEMA}.events (
     run_id text not null,
     event_id bigint not null,
     data bytea not null,
     primary key (run_id, event_id))`,
  `create table if not exists ${SCHEMA}.schedules (
     namespace text not null,
     schedule_id text not null,
     state text not null,
     primary key (namespace, schedule_id))`,
];

export class SqlStore implements Store {
  readonly durable = true;

  private constructor(
    private readonly conn: SqlConnection,
    readonly description: string,
  ) {}

  /** A store in a PGlite data directory (created if missing). */
  static async openPGlite(dataDir: string): Promise<SqlStore> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dataDir);
    const conn: SqlConnection = {
      query: async <R>(sql: string, params?: unknown[]) => (await db.query<R>(sql, params)).rows,
      transaction: async (fn) => {
        await db.transaction(async (tx) =>
          fn(async <R>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows),
        );
      },
      close: () => db.close(),
    };
    return SqlStore.init(conn, `pglite:${dataDir}`);
  }

  /** A store in a PostgreSQL database (its own schema, created if missing). */
  static async openPostgres(url: string): Promise<SqlStore> {
    const { Pool } = await import('pg');
    const pool = new Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {
      /* an idle client died; the pool replaces it and the next query reports any real problem */
    });
    const conn: SqlConnection = {
      query: async <R>(sql: string, params?: unknown[]) => (await pool.query(sql, params as unknown[])).rows as R[],
      transaction: async (fn) => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          await fn(
            async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params as unknown[])).rows as R[],
          );
          await client.query('commit');
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
    return SqlStore.init(conn, `postgres:${redact(url)}`);
  }

  private static async init(conn: SqlConnection, description: string): Promise<SqlStore> {
    await conn.transaction(async (q) => {
      for (const statement of DDL) await q(statement);
      const rows = await q<{ value: string }>(`select value from ${SCHEMA}.meta where key = 'schema_version'`);
      if (rows.length === 0) {
        await q(`insert into ${SCHEMA}.meta (key, value) values ('schema_version', $1)`, [String(SCHEMA_VERSION)]);
      } else if (Number(rows[0].value) > SCHEMA_VERSION) {
        throw new Error(
          `the store was written by a newer embedded-temporal (schema ${rows[0].value} > ${SCHEMA_VERSION})`,
        );
      } else if (Number(rows[0].value) < SCHEMA_VERSION) {
        // The tables a newer schema adds were created above.
        await q(`update ${SCHEMA}.meta set value = $1 where key = 'schema_version'`, [String(SCHEMA_VERSION)]);
      }
    });
    return new SqlStore(conn, description);
  }

  async load(): Promise<LoadedState> {
    const namespaces = (await this.conn.query<{ record: string }>(`select record from ${SCHEMA}.namespaces`)).map(
      (r) => JSON.parse(r.record) as NamespaceRecord,
    );
    const runs = await this.conn.query<StoredRun>(
      `select run_id as "runId", namespace, workflow_id as "workflowId", state from ${SCHEMA}.runs`,
    );
    const rows = await this.conn.query<{ runId: string; eventId: string | number; data: Uint8Array }>(
      `select run_id as "runId", event_id as "eventId", data from ${SCHEMA}.events order by run_id, event_id`,
    );
    const events: StoredEvent[] = rows.map((r) => ({ runId: r.runId, eventId: Number(r.eventId), data: r.data }));
    const schedules = await this.conn.query<{ namespace: string; scheduleId: string; state: string }>(
      `select namespace, schedule_id as "scheduleId", state from ${SCHEMA}.schedules`,
    );
    return { namespaces, runs, events, schedules };
  }

  async commit(batch: CommitBatch): Promise<void> {
    await this.conn.transaction(async (q) => {
      for (const ns of batch.namespaces) {
        await q(
          `insert into ${SCHEMA}.namespaces (name, record) values ($1, $2)
           on conflict (name) do update set record = excluded.record`,
          [ns.name, JSON.stringify(ns)],
        );
      }
      for (const chunk of chunks(batch.events, ROWS_PER_INSERT)) {
        const params: unknown[] = [];
        const values = chunk.map((e) => {
          params.push(e.runId, e.eventId, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
          return `($${params.length - 2}, $${params.length - 1}, $${params.length})`;
        });
        await q(`insert into ${SCHEMA}.events (run_id, event_id, data) values ${values.join(', ')}`, params);
      }
      for (const chunk of chunks(batch.runs, ROWS_PER_INSERT)) {
        const params: unknown[] = [];
        const values = chunk.map((r) => {
          params.push(r.runId, r.namespace, r.workflowId, r.state);
          return `($${params.length - 3}, $${params.length - 2}, $${params.length - 1}, $${params.length})`;
        });
        await q(
          `insert into ${SCHEMA}.runs (run_id, namespace, workflow_id, state) values ${values.join(', ')}
           on conflict (run_id) do update set state = excluded.state`,
          params,
        );
      }
      for (const s of batch.schedules) {
        if (s.state === null)
          await q(`delete from ${SCHEMA}.schedules where namespace = $1 and schedule_id = $2`, [
            s.namespace,
            s.scheduleId,
          ]);
        else
          await q(
            `insert into ${SCHEMA}.schedules (namespace, schedule_id, state) values ($1, $2, $3)
             on conflict (namespace, schedule_id) do update set state = excluded.state`,
            [s.namespace, s.scheduleId, s.state],
          );
      }
    });
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}
