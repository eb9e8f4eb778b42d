/** Shared pieces of the benchmarks: percentiles, a server process per store, bounded concurrency. */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { openDatabase, type Database } from '../db/database';
import { createDatabaseOn, freePort, spawnServer } from '@ampoule/embedded-temporal/testing';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export interface BenchServer {
  label: string;
  address: string;
  stop(): Promise<void>;
}

/** The embedded server as its own process (as users run it), on the given store. */
export async function startServer(store: 'memory' | 'pglite' | 'postgres'): Promise<BenchServer> {
  const port = await freePort();
  const args: string[] = [];
  let cleanup = async () => {};
  let label: string = store;
  if (store === 'pglite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-et-'));
    args.push('--db-filename', dir);
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else if (store === 'postgres') {
    const base = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    if (!base) throw new Error('set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to benchmark on PostgreSQL');
    const db = await createDatabaseOn(base, 'bench_et');
    args.push('--db-url', db.url);
    label = `postgres (${new URL(base).host})`;
    cleanup = db.drop;
  }
  const server = await spawnServer(args, port);
  return {
    label,
    address: server.address,
    async stop() {
      await server.kill('SIGTERM');
      await cleanup();
    },
  };
}

/** Runs `total` jobs with at most `concurrency` in flight; returns each job's latency in ms. */
export async function runBounded(
  total: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  async function lane() {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      await job(i);
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return latencies.sort((a, b) => a - b);
}

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** A fresh database for one benchmark run: Ampoule's schema, plus a way to run setup DDL as the owning role. */
export interface BenchDatabase {
  label: string;
  database: Database;
  /** Runs statements as the owning role (the application role may not create tables or write freely). */
  asOwner(statements: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

/** A throwaway database `<prefix>_<random>` on the PostgreSQL server at `base`, dropped by cleanup. */
export async function postgresBenchDatabase(base: string, prefix: string, poolSize?: number): Promise<BenchDatabase> {
  const db = await createDatabaseOn(base, prefix);
  const database = await openDatabase({ kind: 'postgres', url: db.url, ...(poolSize ? { poolSize } : {}) });
  return {
    label: `PostgreSQL (${new URL(base).host})`,
    database,
    asOwner: (statements) => asPostgresOwner(db.url, statements),
    cleanup: async () => {
      await database.close();
      await db.drop();
    },
  };
}

async function asPostgresOwner(url: string, statements: string[]): Promise<void> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** An in-memory PGlite; its one connection leaves the application role for the owner's statements. */
export async function pgliteBenchDatabase(): Promise<BenchDatabase> {
  const database = await openDatabase({ kind: 'pglite' });
  return {
    label: 'PGlite (in memory)',
    database,
    asOwner: async (statements) => {
      await database.knex.raw('reset role');
      for (const s of statements) await database.knex.raw(s);
      await database.knex.raw(`set role "${database.appRoleName}"`);
    },
    cleanup: () => database.close(),
  };
}
