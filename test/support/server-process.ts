/** The embedded Temporal server and Ampoule's batch worker as child processes, for tests and harnesses that kill them. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export { freePort, spawnServer, type ServerProcess } from '@ampoule/embedded-temporal/testing';
export const AMPOULE_BIN = path.resolve(__dirname, '../../bin/ampoule');

export interface WorkerProcess {
  child: ChildProcess;
  /** Stops the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** What it has written so far (its log). */
  output(): string;
}

/** Starts `bin/ampoule worker` with `env` added to this process's environment; resolves once it polls its task queue. */
export async function spawnWorker(env: Record<string, string>, timeoutMs = 60_000): Promise<WorkerProcess> {
  const child = spawn(AMPOULE_BIN, ['worker'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its health and metrics server on a port of its own.
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env },
  });
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
  return { child, kill, output: () => output };
}
