/** The embedded Temporal server and Ampoule's processes as child processes, for tests and harnesses that kill them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export { freePort, spawnServer, type ServerProcess } from '@ampoule/embedded-temporal/testing';
export const AMPOULE_BIN = path.resolve(__dirname, '../../bin/ampoule');

export interface AmpouleProcess {
  child: ChildProcess;
  /** Stops the process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** What it has written so far (its log). */
  output(): string;
}

/**
 * Starts `bin/ampoule <command>` with `env` added to this process's environment; resolves once its output holds
 * `readyWhen` (a log message).
 */
export async function spawnAmpoule(
  command: string,
  env: Record<string, string>,
  readyWhen: string,
  timeoutMs = 60_000,
): Promise<AmpouleProcess> {
  const child = spawn(AMPOULE_BIN, [command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its health and metrics server on a port of its own.
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env },
  });
  // Its output, the last megabyte of it (a harness keeps processes for a long run).
  let output = '';
  const collect = (d: Buffer) => {
    output += d.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const kill = (signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  const until = Date.now() + timeoutMs;
  while (!output.includes(readyWhen)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`bin/ampoule ${command} exited with ${child.exitCode ?? child.signalCode}: ${output}`);
    if (Date.now() > until) {
      await kill();
      throw new Error(`bin/ampoule ${command} did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, kill, output: () => output };
}

/** Starts `bin/ampoule worker` with `env` added to this process's environment; resolves once it polls its task queue. */
export function spawnWorker(env: Record<string, string>, timeoutMs = 60_000): Promise<AmpouleProcess> {
  return spawnAmpoule('worker', env, '"batch worker running"', timeoutMs);
}

/**
 * A free port below the kernel's ephemeral range. A harness restarts a killed process on it, and between the kill and
 * the restart nothing else may take it: the tests that CI runs beside the harness bind port 0 and connect out, and
 * both take their ports from the ephemeral range only.
 */
export async function portNoOneElseGets(): Promise<number> {
  let below = 32768;
  try {
    below = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: the usual default
  }
  const from = below > 12_000 ? 10_000 : 1024;
  for (;;) {
    const port = from + Math.floor(Math.random() * (below - from));
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
