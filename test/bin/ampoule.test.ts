/**
 * `bin/ampoule` as users run it: the zero-setup start (embedded Temporal, PGlite, demo users, the API),
 * and the production mode's processes and refusals (migrate first; a cluster without Ampoule's search attributes).
 */
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { startEmbeddedTemporal } from '@ampoule/embedded-temporal';
import { POSTGRES_URL, createTestDatabase } from '../support/postgres';
import { spawnWorker } from '../support/server-process';
import { until } from '../support/wait';
import { startZeroSetup, stepAwaitingInput } from '../support/zero-setup';

const BIN = path.resolve(__dirname, '../../bin/ampoule');

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...extra };
  return e;
}

/** A POST whose head goes now and whose body only on `finish()`: a request in flight for as long as a test likes. */
function slowPost(url: string, body: unknown, token: string) {
  const data = Buffer.from(JSON.stringify(body));
  const req = httpRequest(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': data.length, Authorization: `Bearer ${token}` },
  });
  const response = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  req.write(data.subarray(0, 10));
  return { response, finish: () => req.end(data.subarray(10)) };
}

test('the zero-setup start serves the API with demo users, and stops cleanly — answering what is in flight', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ampoule-start-'));
  const started = startZeroSetup([BIN], dataDir);
  const { child } = started;
  try {
    const url = await started.ready();
    const out = started.output();
    expect(out).toMatch(/embedded Temporal server ready/);
    // One format: JSON lines with ISO times, the Temporal SDK's own among them (no text, no colours).
    for (const line of out.split('\n').filter(Boolean))
      expect(JSON.parse(line).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(out).not.toContain(String.fromCharCode(27)); // no ANSI colour codes
    expect(out).toMatch(/demo login: POST .*\/api\/auth\/login/);
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'qa1', password: 'ampoule-demo' }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const users = await fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await users.json()).toMatchObject({ username: 'qa1', fullName: 'Quinn Quality (demo)', roles: ['qa'] });
    // The web pages, at the root of the same server.
    const loginPage = await fetch(`${url}/`);
    expect(loginPage.url).toMatch(/\/login$/);
    expect(await loginPage.text()).toContain('Username or badge');
    // Health, readiness (the database, Temporal, the worker's pollers) and metrics, the SDK's own among them.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', temporal: 'ok', worker: 'ok' },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^ampoule_http_request_duration_seconds_bucket\{/m);
    expect(metrics).toMatch(/^temporal_\w+_total\{/m); // the SDK's counters, in Prometheus's conventions
    expect(metrics).toMatch(/^temporal_\w+_seconds_bucket\{/m);

    // SIGTERM while a step completion is in flight: the client gets its answer, new connections are refused, and
    // the process exits 0 once it is answered.
    const { batch, step, body, token: operatorToken } = await stepAwaitingInput(url);
    const answer = slowPost(`${url}/api/batches/${batch}/steps/${step}/complete`, body, operatorToken);
    await new Promise((r) => setTimeout(r, 300)); // the server has the request's head, not yet its body
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await expect(fetch(`${url}/api/health`)).rejects.toThrow(); // no new work taken
    answer.finish();
    const response = await answer.response.catch((err) => {
      throw new Error(`${err}\n${started.output()}`);
    });
    expect([response.status, response.body]).toEqual([200, expect.objectContaining({ stepId: step })]);
    expect(await started.exit).toBe(0);
    expect(started.output()).toMatch(/stopping/);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the production mode needs PostgreSQL', () => {
  const r = spawnSync(BIN, [], {
    env: env({ AMPOULE_MODE: 'production', PORT: '0' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(2);
  expect(r.stdout).toMatch(/production mode needs DATABASE_URL/);
});

(POSTGRES_URL ? test : test.skip)(
  'production: migrate as the owner first (nothing else migrates); create-user makes the first real administrator; active demo users refused',
  async () => {
    const db = await createTestDatabase('ampoule_bin');
    try {
      const production = { DATABASE_URL: db.url, AMPOULE_MODE: 'production' };
      // Before `migrate`: refused in words, nothing half done.
      const early = spawnSync(BIN, ['create-user', '--username', 'x.y', '--full-name', 'X Y', '--roles', 'admin'], {
        env: env({ ...production, AMPOULE_NEW_PASSWORD: 'a proper long password' }),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(early.status).toBe(2);
      expect(early.stdout).toMatch(
        /not migrated to this Ampoule .*run `bin\/ampoule migrate` with the owner's credentials/,
      );
      expect(early.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
      const migrated = spawnSync(BIN, ['migrate'], { env: env(production), encoding: 'utf8', timeout: 60_000 });
      expect(migrated.status).toBe(0);
      const dbName = new URL(db.url).pathname.slice(1);
      expect(migrated.stdout).toMatch(
        new RegExp(`applied \\d+ migration\\(s\\); .*GRANT \\\\"${dbName}_app\\\\" TO <login>`),
      );
      const again = spawnSync(BIN, ['migrate'], { env: env(production), encoding: 'utf8', timeout: 60_000 });
      expect(again.stdout).toMatch(/the schema was current/);

      // A database that a zero-setup start filled with demo users, then a production start on it.
      const seed = spawnSync(
        BIN,
        ['create-user', '--username', 'root.admin', '--full-name', 'Rita Root', '--roles', 'admin'],
        {
          env: env({
            DATABASE_URL: db.url,
            AMPOULE_MODE: 'production',
            AMPOULE_NEW_PASSWORD: 'a proper long password',
          }),
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(seed.status).toBe(0);
      expect(seed.stdout).toMatch(/user created/);
      const { Client } = await import('pg');
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(
          `insert into users (username, full_name, roles, password_hash, demo) values ('demo.qa', 'Demo', '{qa}', 'x', true)`,
        );
        const r = spawnSync(BIN, [], {
          env: env({ DATABASE_URL: db.url, AMPOULE_MODE: 'production', PORT: '0' }),
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(r.status).toBe(2);
        expect(r.stdout).toMatch(/refuses to start: 1 demo user\(s\) are active/);
        const audit = await c.query(`select action, user_name, reason from audit_entries where entity_type = 'user'`);
        expect(audit.rows).toEqual([
          { action: 'create', user_name: 'system', reason: 'created with bin/ampoule create-user' },
        ]);
      } finally {
        await c.end();
      }
    } finally {
      await db.drop();
    }
  },
);

(POSTGRES_URL ? test : test.skip)(
  'a Temporal cluster without Ampoule’s search attributes: a worker refuses to start naming them; migrate registers them; the worker then starts, ready, with its metrics, and stops cleanly',
  async () => {
    const db = await createTestDatabase('ampoule_bin_sa', { migrated: true });
    const cluster = await startEmbeddedTemporal({ port: 0, searchAttributes: {} });
    try {
      const production = { DATABASE_URL: db.url, AMPOULE_MODE: 'production', TEMPORAL_ADDRESS: cluster.address };
      const run = (args: string[]) =>
        new Promise<{ status: number | null; stdout: string }>((resolve) => {
          // Asynchronously: the cluster answers from this process.
          const child = spawn(BIN, args, { env: env(production), stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stdout += d));
          child.once('exit', (status) => resolve({ status, stdout }));
        });
      const refused = await run(['worker']);
      expect(refused.status).toBe(2);
      expect(refused.stdout).toMatch(
        /the Temporal namespace default lacks Ampoule's search attributes AmpouleBatch, AmpouleRecipe, AmpouleProduct, AmpouleStatus: run bin\/ampoule migrate with TEMPORAL_ADDRESS set .* or temporal operator search-attribute create --namespace default --name AmpouleBatch --type Keyword/,
      );
      const migrated = await run(['migrate']);
      expect(migrated.status).toBe(0);
      expect(migrated.stdout).toMatch(/registered Ampoule’s search attributes/);
      // Now the worker starts, with its own health, readiness and metrics; SIGTERM stops it cleanly.
      const worker = await spawnWorker({ ...production, LOG_LEVEL: 'info' });
      try {
        const ops = await until(() => /"url":"(http:[^"]+)","msg":"worker health/.exec(worker.output())?.[1]);
        expect(await (await fetch(`${ops}/readyz`)).json()).toEqual({
          status: 'ready',
          checks: { database: 'ok', worker: 'ok' },
        });
        expect(await (await fetch(`${ops}/metrics`)).text()).toMatch(/^temporal_\w+_total\{/m);
        const exit = new Promise((resolve) => worker.child.once('exit', (code) => resolve(code)));
        worker.child.kill('SIGTERM');
        expect(await exit).toBe(0);
      } finally {
        await worker.kill();
      }
      const connection = await Connection.connect({ address: cluster.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        expect(Object.keys(customAttributes ?? {})).toEqual(
          expect.arrayContaining(['AmpouleBatch', 'AmpouleRecipe', 'AmpouleProduct', 'AmpouleStatus']),
        );
      } finally {
        await connection.close();
      }
    } finally {
      await cluster.stop();
      await db.drop();
    }
  },
);
