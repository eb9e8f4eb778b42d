/**
 * `npm run test:crash`: crash safety, measured. A mixed workload (activities with retries, timers,
 * signals, updates, children) runs against the embedded server while the server is SIGKILLed at random
 * moments and restarted on the same store. Checks: every workflow ends with its expected result; every
 * acknowledged signal and update is in it; every activity is recorded as completed at most once, and
 * every history replays. Prints the figures; exits 1 on any loss.
 *
 *   npm run test:crash -- [--trials 5] [--workflows 20] [--kills 10] [--store pglite|postgres] [--seed N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import { status as grpcStatus } from '@grpc/grpc-js';
import { createDatabaseOn } from '../support/postgres';
import { prng } from '../support/prng';
import { portNoOneElseGets, spawnServer, type ServerProcess } from '../support/server-process';
import * as activities from './activities';
import type { MixResult } from './workflows';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` until it succeeds (the server may be down), giving up after `ms`. */
async function persist<T>(what: string, fn: () => Promise<T>, ms = 120_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`${what}: still failing after ${ms} ms: ${(err as Error).message}`, { cause: err });
      await sleep(100);
    }
  }
}

interface Store {
  label: string;
  args: string[];
  cleanup(): Promise<void>;
}

async function openStore(kind: string): Promise<Store> {
  if (kind === 'postgres') {
    const base = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    if (!base) throw new Error('--store postgres needs TEST_DATABASE_URL');
    const db = await createDatabaseOn(base, 'crash');
    return { label: `PostgreSQL (${new URL(base).host})`, args: ['--db-url', db.url], cleanup: db.drop };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'crash-et-'));
  return {
    label: 'PGlite',
    args: ['--db-filename', dir],
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function main() {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const trials = Number(arg('trials', '5'));
  const workflowsPerTrial = Number(arg('workflows', '20'));
  const killsPerTrial = Number(arg('kills', '10'));
  const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
  const signalsPerWorkflow = 4;
  const updatesPerWorkflow = 2;
  const random = prng(seed);
  const store = await openStore(arg('store', process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'));
  const port = await portNoOneElseGets();
  let server: ServerProcess = await spawnServer(store.args, port);
  const address = server.address;
  const started = Date.now();
  console.log(
    `test:crash — ${trials} trials × ${workflowsPerTrial} workflows, ${killsPerTrial} SIGKILLs per trial, store ${store.label}, seed ${seed}`,
  );

  // Reconnect within 100 ms to 1 s of the server's return (gRPC's default backs off up to 2 minutes): the harness
  // measures what survives a crash, not how long a client waits before it looks again.
  const connection = await Connection.connect({
    address,
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 },
  });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const taskQueue = `crash-${seed}`;
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
    maxCachedWorkflows: 50,
  });
  const workerRun = worker.run();

  const totals = { workflows: 0, kills: 0, signals: 0, updates: 0, activities: 0, losses: 0, downtimeMs: 0 };
  const problems: string[] = [];

  try {
    for (let trial = 1; trial <= trials; trial++) {
      const histories: { workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];
      const killer = (async () => {
        for (let k = 0; k < killsPerTrial; k++) {
          await sleep(200 + random() * 1300);
          const down = Date.now();
          await server.kill('SIGKILL');
          totals.kills++;
          server = await spawnServer(store.args, port);
          totals.downtimeMs += Date.now() - down;
        }
      })();

      const drivers = Array.from({ length: workflowsPerTrial }, async (_, i) => {
        const workflowId = `crash-${seed}-${trial}-${i}`;
        const timerMs = 100 + Math.floor(random() * 400);
        await persist(`start ${workflowId}`, async () => {
          try {
            await client.workflow.start('crashMix', {
              taskQueue,
              workflowId,
              args: [workflowId, timerMs],
              workflowTaskTimeout: '2s',
            });
          } catch (err) {
            // The first attempt was committed but its answer lost in a crash.
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          }
        });
        let expectedSum = 0;
        for (let s = 1; s <= signalsPerWorkflow; s++) {
          // One request id per signal, reused on every retry: applied once however often it is sent.
          await persist(`signal ${workflowId}`, () =>
            connection.workflowService.signalWorkflowExecution({
              namespace: 'default',
              workflowExecution: { workflowId },
              signalName: 'add',
              input: { payloads: [defaultPayloadConverter.toPayload(s)] },
              requestId: `${workflowId}-signal-${s}`,
              identity: 'crash-driver',
            }),
          );
          expectedSum += s;
          totals.signals++;
          if (s <= updatesPerWorkflow) {
            await persist(`update ${workflowId}`, () =>
              client.workflow
                .getHandle(workflowId)
                .executeUpdate<number, [number]>('bump', { args: [1], updateId: `${workflowId}-update-${s}` }),
            );
            totals.updates++;
          }
          await sleep(random() * 300);
        }
        let attempted = false;
        await persist(`finish ${workflowId}`, async () => {
          try {
            await connection.workflowService.signalWorkflowExecution({
              namespace: 'default',
              workflowExecution: { workflowId },
              signalName: 'finish',
              requestId: `${workflowId}-finish`,
            });
          } catch (err) {
            // An earlier attempt was committed, the workflow finished, and that answer was lost in a crash:
            // Temporal then answers NOT_FOUND (as the real server does). The result check below proves it.
            if (attempted && (err as { code?: number }).code === grpcStatus.NOT_FOUND) return;
            attempted = true;
            throw err;
          }
        });
        const result = await persist(
          `result ${workflowId}`,
          () => client.workflow.getHandle(workflowId).result() as Promise<MixResult>,
        );
        const expected: MixResult = {
          sum: expectedSum,
          signals: signalsPerWorkflow,
          updates: updatesPerWorkflow,
          activity: `done ${workflowId}`,
          child: `child done ${workflowId}-child`,
        };
        if (JSON.stringify(result) !== JSON.stringify(expected)) {
          totals.losses++;
          problems.push(`${workflowId}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(result)}`);
        }
        for (const id of [workflowId, `${workflowId}-child`]) {
          const history = await persist(`history ${id}`, () => client.workflow.getHandle(id).fetchHistory());
          const duplicates = duplicateActivityCloses(history);
          totals.activities += countCompletedActivities(history);
          if (duplicates > 0) {
            totals.losses++;
            problems.push(`${id}: an activity has ${duplicates} extra close events`);
          }
          histories.push({ workflowId: id, history });
        }
        totals.workflows++;
      });
      await Promise.all(drivers);
      await killer;
      // Every history of the trial replays, through one replay worker (a worker per history costs more than the replay).
      for await (const { workflowId, error } of Worker.runReplayHistories({ workflowBundle }, histories)) {
        if (!error) continue;
        totals.losses++;
        problems.push(`${workflowId}: replay failed: ${error.message}`);
      }
      console.log(
        `trial ${trial}: ${workflowsPerTrial} workflows done, kills so far ${totals.kills}, losses so far ${totals.losses} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  } finally {
    worker.shutdown();
    await workerRun.catch(() => undefined);
    await nativeConnection.close();
    await connection.close();
    await server.kill('SIGTERM');
    await store.cleanup();
  }

  const seconds = (Date.now() - started) / 1000;
  console.log(
    [
      `trials ${trials}`,
      `workflows ${totals.workflows} (+${totals.workflows} children)`,
      `kills ${totals.kills} (mean restart ${(totals.downtimeMs / Math.max(1, totals.kills)).toFixed(0)} ms)`,
      `acknowledged signals ${totals.signals}`,
      `acknowledged updates ${totals.updates}`,
      `activities completed ${totals.activities}`,
      `losses: ${totals.losses}`,
      `in ${seconds.toFixed(0)} s`,
    ].join(', '),
  );
  for (const p of problems) console.log(`  LOSS ${p}`);
  process.exit(totals.losses === 0 ? 0 : 1);
}

/** Close events beyond one per scheduled activity. */
function duplicateActivityCloses(history: temporal.api.history.v1.IHistory): number {
  const closes = new Map<number, number>();
  for (const e of history.events ?? []) {
    const close =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (!close) continue;
    const id = Number(close.scheduledEventId);
    closes.set(id, (closes.get(id) ?? 0) + 1);
  }
  return [...closes.values()].reduce((extra, n) => extra + Math.max(0, n - 1), 0);
}

function countCompletedActivities(history: temporal.api.history.v1.IHistory): number {
  return (history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).length;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
