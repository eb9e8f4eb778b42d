/** The embedded Temporal server and Ampoule's batch worker as child processes, for tests and harnesses that kill them. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';

export const EMBEDDED_TEMPORAL_BIN = path.resolve(__dirname, '../../bin/embedded-temporal');
export const AMPOULE_BIN = path.resolve(__dirname, '../../bin/ampoule');

export interface ServerProcess {
  address: string;
  port: number;
  child: ChildProcess;
  /** Stops the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `bin/embedded-temporal server start-dev` on `port` and waits until it answers gRPC. The wait is
 * generous: on a two-core machine at the suite's cold start (jest and tsx compiling, a fresh PGlite store)
 * the server has been seen to take over 15 s. How fast it starts is not what the callers test.
 */
export async function spawnServer(args: string[], port: number, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(
    EMBEDDED_TEMPORAL_BIN,
    ['server', 'start-dev', '--port', String(port), '--headless', '--log-format', 'json', '--log-level', 'error', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const address = `127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: 500 });
      await c.close();
      break;
    } catch {
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`server did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
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

export interface WorkerProcess {
  child: ChildProcess;
  /** Stops the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `bin/ampoule worker` with `env` added to this process's environment; resolves once it polls its task queue. */
export async function spawnWorker(env: Record<string, string>, timeoutMs = 60_000): Promise<WorkerProcess> {
  const child = spawn(AMPOULE_BIN, ['worker'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  let output = '';
  const collect = (d: Buffer) => (output += d.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const kill = (signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  const until = Date.now() + timeoutMs;
  while (!output.includes('"batch worker running"')) {
    if (child.exitCode !== null) throw new Error(`bin/ampoule worker exited with ${child.exitCode}: ${output}`);
    if (Date.now() > until) {
      await kill();
      throw new Error(`bin/ampoule worker did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, kill };
}
