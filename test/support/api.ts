/**
 * A real Ampoule API for a test suite: its own database (a fresh PostgreSQL database when
 * TEST_DATABASE_URL is set, else in-memory PGlite), migrated; the express app on a free loopback port;
 * and a small HTTP client. Nothing is mocked.
 */
import type { ScaleTerminal } from '../../equipment/driver/scale-terminal';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { createApp } from '../../api/app';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import type { RouteSpec } from '../../api/http/route';
import { startApiServer, type ApiServer } from '../../api/server';
import type { TemporalAccess } from '../../api/batches/temporal-gateway';
import { createServices, type Services } from '../../api/services';
import { createPlatform } from '../../composition/platform';
import { loadAppConfig, type AppConfig } from '../../config/app-config';
import { MARK_APPLICATION_SESSION, openDatabase, type Database } from '../../db/database';
import type { Role } from '../../domain/identity';
import { POSTGRES_URL, createTestDatabase, pgliteTemplate, type TestDatabase } from './postgres';

export const PASSWORD = 'correct horse battery';

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  /** A raw body sent as is (with the given content type), instead of JSON. */
  raw?: string;
}

export interface TestApi {
  url: string;
  /** The PostgreSQL database's URL (owner role); undefined on PGlite, which no other process can open. */
  databaseUrl?: string;
  services: Services;
  database: Database;
  config: AppConfig;
  routes: RouteSpec[];
  request(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse>;
  /** Creates a user directly (as the system) and returns its id. */
  createUser(username: string, roles: Role[], password?: string, fullName?: string): Promise<string>;
  /** Logs in and returns the bearer token. */
  login(username: string, password?: string): Promise<string>;
  /** Runs `fn` with a connection of the owning role (which the application never uses): for tampering. */
  asOwner<T>(fn: (owner: Knex) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startTestApi(
  opts: {
    env?: Record<string, string>;
    extraRoutes?: (s: Services) => RouteSpec[];
    temporal?: TemporalAccess;
    /** The API's way to the scales' terminals (OPC UA), if the test has a plant. */
    scaleTerminal?: ScaleTerminal;
    /** The API's logger (silent by default). */
    log?: pino.Logger;
  } = {},
): Promise<TestApi> {
  // Files of its own (the anchor key and log): never the working directory's data/.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ampoule-api-'));
  const config = loadAppConfig({
    AMPOULE_DATA_DIR: dataDir,
    AMPOULE_LOGIN_RATE_PER_MINUTE: '100000',
    AMPOULE_SIGN_RATE_PER_MINUTE: '100000',
    LOG_LEVEL: 'silent',
    PORT: '0',
    ...opts.env,
  });
  let testDb: TestDatabase | undefined;
  let database: Database;
  if (POSTGRES_URL) {
    testDb = await createTestDatabase('ampoule_api', { migrated: true });
    database = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 5 });
  } else {
    database = await openDatabase({ kind: 'pglite', template: await pgliteTemplate() });
  }
  const services = createServices(
    createPlatform(database, config, opts.log ?? pino({ level: 'silent' })),
    opts.temporal,
    opts.scaleTerminal ? { scaleTerminal: opts.scaleTerminal } : undefined,
  );
  services.auditSealer.start();
  const { app, routes } = createApp(services, opts.extraRoutes?.(services) ?? []);
  const server: ApiServer = await startApiServer(app, '127.0.0.1', 0);

  const request = async (
    method: string,
    path: string,
    body?: unknown,
    o: RequestOptions = {},
  ): Promise<HttpResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.Authorization = `Bearer ${o.token}`;
    let payload: string | undefined;
    if (o.raw !== undefined) payload = o.raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(`${server.url}/api${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    checkAgainstDeclaredSchema(routes, method, path, res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    url: server.url,
    databaseUrl: testDb?.url,
    services,
    database,
    config,
    routes,
    request,
    async createUser(username, roles, password = PASSWORD, fullName) {
      const user = await services.db.transaction((trx) =>
        services.users.create(
          { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test fixture' },
          { username, roles, password, fullName: fullName ?? `${username} (test)` },
        ),
      );
      return user.id;
    },
    async login(username, password = PASSWORD) {
      const r = await request('POST', '/auth/login', { username, password });
      if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${r.text}`);
      return r.body.token as string;
    },
    async asOwner(fn) {
      if (testDb) {
        const owner = knexFactory({ client: 'pg', connection: testDb.url, pool: { min: 0, max: 1 } });
        try {
          return await fn(owner);
        } finally {
          await owner.destroy();
        }
      }
      // PGlite has one connection: step out of the application role and its session's mark (a session of
      // someone else's, as far as the database can tell) for the duration, then back in.
      const knex = database.knex;
      await knex.raw('reset role');
      await knex.raw('reset ampoule.application_path');
      try {
        return await fn(knex);
      } finally {
        await knex.raw(`set role "${database.appRoleName}"`);
        await knex.raw(MARK_APPLICATION_SESSION);
      }
    },
    async close() {
      await server.stop(500);
      await services.auditSealer.stop();
      await services.anchors.stop();
      await database.close();
      await testDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every answer a test gets is checked against the schema its route declares for that status, if it declares
 * one: the OpenAPI document (made from the same schemas) says what clients get, and this keeps it so.
 */
export function checkAgainstDeclaredSchema(
  routes: RouteSpec[],
  method: string,
  path: string,
  status: number,
  body: unknown,
): void {
  const pathname = path.split('?')[0];
  const spec = routes.find((r) => r.method === method.toLowerCase() && pathPattern(r.path).test(pathname));
  const schema = spec?.responses[status]?.schema;
  if (!schema || body === undefined) return;
  const r = schema.safeParse(body);
  if (!r.success)
    throw new Error(
      `${method} ${path} answered ${status} with a body its declared schema refuses: ${r.error.issues.map((i) => `${i.path.join('/')}: ${i.message}`).join('; ')}`,
    );
}

function pathPattern(routePath: string): RegExp {
  return new RegExp(`^${routePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);
}

/** A unique username for a test (usernames are never reused, even across tests of one suite). */
let counter = 0;
export function uname(prefix: string): string {
  counter++;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 6)}`.toLowerCase().slice(0, 60);
}
