/**
 * Test harness for the embedded server: starts it exactly as SDK users do
 * (`TestWorkflowEnvironment.createLocal` spawning `bin/embedded-temporal`), or in this process on a clock the
 * protocol tests move, or connects to the server named by TEMPORAL_ADDRESS so the same suite can be checked
 * against a real Temporal server.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import * as activities from './fixtures/activities';
import { startEmbeddedTemporal } from '../server';
import type { Clock } from '../engine/timers';
import { EMBEDDED_TEMPORAL_BIN, until } from '../testing';

export const BIN = EMBEDDED_TEMPORAL_BIN;
export const EXTERNAL_ADDRESS = process.env.TEMPORAL_ADDRESS;
/** Tests of this server's own process (CLI, kill and restart) only run against the embedded server. */
export const embeddedOnly = EXTERNAL_ADDRESS ? describe.skip : describe;

export const SEARCH_ATTRIBUTES = [
  defineSearchAttributeKey('CustomKeywordField', 'KEYWORD_LIST'),
  defineSearchAttributeKey('CustomIntField', 'INT'),
];

let runtimeInstalled = false;
/** The worker's own logs are only interesting when they are errors. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
  } catch {
    /* already installed in this process */
  }
}

/**
 * `TestWorkflowEnvironment.createTimeSkipping` on this server, with a worker of the fixtures on `taskQueue`
 * running until `stop()`.
 */
export async function startTimeSkipping(
  taskQueue: string,
): Promise<{ env: TestWorkflowEnvironment; stop(): Promise<void> }> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: BIN } },
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const running = worker.run();
  return {
    env,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

export async function createEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  if (EXTERNAL_ADDRESS) return TestWorkflowEnvironment.createFromExistingServer({ address: EXTERNAL_ADDRESS });
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: BIN },
      searchAttributes: SEARCH_ATTRIBUTES,
      log: { format: 'json', level: 'error' },
    },
  });
}

/** The server's clock in the protocol tests: real time, plus whatever the test has let pass. */
class SteppedClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface ClockedServer {
  connection: Connection;
  client: Client;
  /**
   * Lets `ms` pass for the server at once: the deadlines that fall due (task and activity timeouts, timers,
   * backoffs) fire as they would after a real wait. Against an external server (TEMPORAL_ADDRESS), a real wait.
   */
  passTime(ms: number): Promise<void>;
  teardown(): Promise<void>;
}

/**
 * For the protocol tests, whose subject is what the server does when a deadline passes: the embedded server in
 * this process on a clock the test moves, so no test sleeps past a real timeout.
 */
export async function createClockedServer(): Promise<ClockedServer> {
  if (EXTERNAL_ADDRESS) {
    const connection = await Connection.connect({ address: EXTERNAL_ADDRESS });
    return {
      connection,
      client: new Client({ connection }),
      passTime: (ms) => new Promise((r) => setTimeout(r, ms)),
      teardown: () => connection.close(),
    };
  }
  const clock = new SteppedClock();
  const server = await startEmbeddedTemporal({ clock });
  const connection = await Connection.connect({ address: server.address });
  return {
    connection,
    client: new Client({ connection }),
    async passTime(ms) {
      clock.advance(ms);
      server.engine.timers.poke();
      // The due deadlines fire on the next turn of the event loop; the reads that follow wait for their commit.
      await new Promise((r) => setTimeout(r, 10));
    },
    async teardown() {
      await connection.close();
      await server.stop();
    },
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

export interface Harness {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

/** A server, and a worker running the fixture workflows and activities on a fresh task queue. */
export async function startHarness(workerOptions: { maxCachedWorkflows?: number } = {}): Promise<Harness> {
  const env = await createEnv();
  const taskQueue = `tq-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    ...workerOptions,
  });
  const running = worker.run();
  return {
    env,
    taskQueue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

export function uid(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

const EventType = temporal.api.enums.v1.EventType;

/** Event types as short names: `EVENT_TYPE_WORKFLOW_TASK_SCHEDULED` → `WorkflowTaskScheduled`. */
export function eventTypes(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).map((e) =>
    String(EventType[e.eventType!])
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .split('_')
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(''),
  );
}

/** Replays a history against the fixture workflows; throws on any non-determinism. */
export async function replay(history: temporal.api.history.v1.IHistory, workflowId = 'replay'): Promise<void> {
  quietRuntime();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; a throw counts as not yet (the last one is reported). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  let last: unknown;
  const attempt = async () => {
    try {
      return await fn();
    } catch (err) {
      last = err;
      return undefined;
    }
  };
  return until(attempt, timeoutMs, 'condition').catch((err: Error) => {
    throw new Error(`${err.message}${last ? `: ${String(last)}` : ''}`);
  });
}

export { spawnServer, freePort, type ServerProcess } from '../testing';
