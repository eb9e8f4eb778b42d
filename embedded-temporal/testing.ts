/**
 * For tests that run the embedded server as users do, as a process of its own: start it on a port and wait until
 * it answers, find a free port, and make a scratch PostgreSQL database for its store. Ampoule's own test support
 * builds on these.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

/** The `embedded-temporal` executable (the Temporal CLI's `server start-dev` flags). */
export const EMBEDDED_TEMPORAL_BIN = path.resolve(__dirname, 'bin/embedded-temporal');

export interface ServerProcess {
  address: string;
  port: number;
  child: ChildProcess;
  /** Stops the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Whether the server at `address` answers an RPC (the gRPC health check; its empty request is zero bytes). */
async function answers(address: string): Promise<boolean> {
  const grpc = await import('@grpc/grpc-js');
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        { deadline: Date.now() + 500 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/**
 * Starts `embedded-temporal server start-dev` on `port` and waits until it answers gRPC. The wait is generous: on
 * a two-core machine at a suite's cold start (jest and tsx compiling, a fresh PGlite store) the server has been seen
 * to take over 15 s. How fast it starts is not what the callers test.
 */
export async function spawnServer(args: string[], port: number, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(
    EMBEDDED_TEMPORAL_BIN,
    [
      'server',
      'start-dev',
      '--port',
      String(port),
      '--headless',
      '--log-format',
      'json',
      '--log-level',
      'error',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const address = `127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    if (await answers(address)) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    port,
    child,
    kill: (signal = 'SIGKILL') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** The PostgreSQL server tests may create databases on (TEST_DATABASE_URL or DATABASE_URL), or '' when there is none. */
export const POSTGRES_URL = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';

function urlOf(name: string, server: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function asAdmin(server: string, sql: string): Promise<void> {
  // Loaded here, so that a test importing only `until` or `freePort` does not load a database driver.
  const { Client } = await import('pg');
  const admin = new Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** An empty (or `template`'s clone) database `<prefix>_<random>` on the server at `server` (a URL), and how to drop it. */
export async function createDatabaseOn(server: string, prefix: string, template?: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await asAdmin(server, `create database ${name}${template ? ` template ${template}` : ''}`);
  return { url: urlOf(name, server), drop: () => asAdmin(server, `drop database if exists ${name} with (force)`) };
}

/**
 * Resolves once `fn` returns true (or a value that is not false, undefined or null, which it returns), polling
 * every `everyMs`; rejects after `ms` with `what` in the message. The one wait for something that happens
 * elsewhere (a workflow, a phase, a server) in this package's tests and Ampoule's.
 */
export async function until<T>(
  fn: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  ms = 60_000,
  what = 'condition',
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== false && v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
