/**
 * PostgreSQL for tests: when TEST_DATABASE_URL (or DATABASE_URL) names a server, each suite gets its own
 * freshly created database on it; otherwise tests fall back to PGlite.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database on the configured server (and drops it afterwards). */
export async function createTestDatabase(prefix = 'ampoule_test'): Promise<TestDatabase> {
  if (!POSTGRES_URL) throw new Error('no PostgreSQL configured (TEST_DATABASE_URL)');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
