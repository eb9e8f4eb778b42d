/**
 * The worker that runs batches: the batch workflow (bundled from `workflows/`) and its activities, on
 * the batch task queue, with the tuning temporal.yaml gives it. It shuts down gracefully: running
 * activities get the grace time to finish, then Temporal retries them elsewhere.
 */
import { existsSync } from 'node:fs';
import {
  NativeConnection,
  Worker,
  type NativeConnectionOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { RECORD_SINK_IGNORED } from './replayer';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from './workflows-path';

export interface BatchWorkerOptions {
  address: string;
  /** TLS and API key for a Temporal cluster. */
  connection?: Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'>;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxCachedWorkflows?: number;
  shutdownGraceTimeMs?: number;
  /** A prebuilt workflow bundle (tests build one and share it); by default the worker bundles `workflows/`. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface BatchWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after `stop`), rejects if it fails. */
  running: Promise<void>;
  stop(): Promise<void>;
}

export { WORKFLOWS_PATH };

export async function startBatchWorker(o: BatchWorkerOptions): Promise<BatchWorker> {
  const connection = await NativeConnection.connect({ address: o.address, ...o.connection });
  const worker = await Worker.create({
    connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle
      ? { workflowBundle: o.workflowBundle }
      : existsSync(PREBUILT_BUNDLE_PATH)
        ? { workflowBundle: { codePath: PREBUILT_BUNDLE_PATH } }
        : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(o.deps),
    // The record's writes, told by the workflow for investigations' replays (workflows/batch/messages.ts): the
    // activities write them here.
    sinks: RECORD_SINK_IGNORED,
    maxConcurrentWorkflowTaskExecutions: o.maxConcurrentWorkflowTaskExecutions,
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions,
    maxCachedWorkflows: o.maxCachedWorkflows,
    shutdownGraceTime: o.shutdownGraceTimeMs ?? 10_000,
  });
  const running = worker.run().finally(() => connection.close());
  return {
    worker,
    running,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
