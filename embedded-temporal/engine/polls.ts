/**
 * Long polls: workers polling task queues (PollWorkflowTaskQueue, PollActivityTaskQueue), and callers waiting for
 * a change of a run (history pages, update outcomes). A wait ends with its answer, its own limit, a little before
 * the caller's deadline, when the caller goes away, or when the server stops.
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../errors';
import { temporal } from '../proto';
import type { EngineContext } from './context';
import type { TaskQueues } from './matching';
import type { Req, Res } from './types';

type Call = grpc.ServerUnaryCall<unknown, unknown>;

/** Longest wait of a task-queue poll before an empty answer (real server: 60 s, minus a 1 s budget). */
const MAX_POLL_WAIT_MS = 60_000;
const POLL_DEADLINE_MARGIN_MS = 1_000;
/** How long polls of a worker that sent ShutdownWorker are answered at once (longer than any poll in flight). */
const SHUT_DOWN_WORKER_MEMORY_MS = 5 * 60_000;

export class Polls {
  /** Long polls waiting for a change: `history:<runId>` and `update:<runId>`. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Waiting task-queue polls by the worker that sent them (its `worker_instance_key`), for ShutdownWorker. */
  private readonly workerPolls = new Map<string, Set<() => void>>();
  /** Workers that said they are shutting down, and until when a poll of theirs is answered at once. */
  private readonly shutDownWorkers = new Map<string, number>();
  private stopped = false;

  constructor(private readonly engine: EngineContext) {}

  async pollWorkflowTaskQueue(
    req: Req<'PollWorkflowTaskQueueRequest'>,
    call: Call,
  ): Promise<Res<'PollWorkflowTaskQueueResponse'>> {
    // A sticky poll says its worker is there — unless the worker already said it is going (a poll sent before its
    // ShutdownWorker that arrived after it must not revive its sticky queue).
    if (
      req.taskQueue?.kind === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY &&
      req.taskQueue.name &&
      !this.isShutDown(req.workerInstanceKey ?? '')
    )
      this.engine.workflowTasks.stickyPolled(this.engine.namespaces.get(req.namespace).name, req.taskQueue.name);
    return (await this.takeCommitted(this.engine.workflowQueues, req, call)) ?? {};
  }

  async pollActivityTaskQueue(
    req: Req<'PollActivityTaskQueueRequest'>,
    call: Call,
  ): Promise<Res<'PollActivityTaskQueueResponse'>> {
    const task = await this.takeCommitted(this.engine.activityQueues, req, call);
    if (!task) return {};
    if (call.cancelled) {
      // The poller went away while the start was being committed: give the attempt to another worker.
      this.engine.activities.revertStart(task);
      return {};
    }
    return task;
  }

  /** A poll of either kind: the task it started, once that start is committed; null when the wait ends empty. */
  private async takeCommitted<T, R>(
    queues: TaskQueues<T, R>,
    req: {
      namespace?: string | null;
      taskQueue?: temporal.api.taskqueue.v1.ITaskQueue | null;
      identity?: string | null;
      workerInstanceKey?: string | null;
    },
    call: Call,
  ): Promise<R | null> {
    const ns = this.engine.namespaces.get(req.namespace);
    const task = await this.waitForTask(
      queues,
      ns.name,
      pollQueueName(req.taskQueue),
      req.identity ?? '',
      call,
      req.workerInstanceKey ?? '',
    );
    if (!task) return null;
    await this.engine.persistence.barrier();
    return task;
  }

  /** Wakes the long polls waiting on `key`; they re-check their condition after the current mutation. */
  notify(key: string): void {
    const waiters = this.waiters.get(key);
    if (!waiters || waiters.size === 0) return;
    this.waiters.delete(key);
    queueMicrotask(() => waiters.forEach((w) => w()));
  }

  /**
   * Waits until `done()`, re-checked whenever one of `keys()` is notified, or until `maxMs` (or the caller's
   * deadline) passes, or the caller goes away.
   */
  waitFor(keys: () => string[], done: () => boolean, call: Call | undefined, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const limit = Math.min(maxMs, remainingMs(call) - POLL_DEADLINE_MARGIN_MS);
      if (done() || limit <= 0 || this.stopped) return resolve();
      let finished = false;
      const registered = new Set<string>();
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        call?.removeListener('cancelled', finish);
        for (const key of registered) this.waiters.get(key)?.delete(check);
        resolve();
      };
      const register = () => {
        for (const key of keys()) {
          let set = this.waiters.get(key);
          if (!set) this.waiters.set(key, (set = new Set()));
          set.add(check);
          registered.add(key);
        }
      };
      const check = () => {
        if (done() || this.stopped) finish();
        else register();
      };
      const timer = setTimeout(finish, limit);
      call?.on('cancelled', finish);
      register();
    });
  }

  /** Long-polls a task queue: a started task, or null when the wait ends (deadline, cancel, shutdown). */
  private waitForTask<T, R>(
    queues: TaskQueues<T, R>,
    namespace: string,
    taskQueue: string,
    identity: string,
    call: Call | undefined,
    workerInstanceKey = '',
  ): Promise<R | null> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(null);
      // A poll the stopping worker sent before its ShutdownWorker arrived, but that reached the server after it.
      if (this.isShutDown(workerInstanceKey)) return resolve(null);
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const onCancel = () => {
        queues.removePoller(namespace, taskQueue, poller);
        poller.resolve(null);
      };
      const poller = {
        identity,
        isAlive: () => !done && !call?.cancelled,
        resolve: (r: R | null) => {
          if (done) return;
          done = true;
          if (timer) clearTimeout(timer);
          call?.removeListener('cancelled', onCancel);
          const polls = workerInstanceKey ? this.workerPolls.get(workerInstanceKey) : undefined;
          polls?.delete(onCancel);
          if (polls?.size === 0) this.workerPolls.delete(workerInstanceKey);
          resolve(r);
        },
      };
      const immediate = queues.takeOrWait(namespace, taskQueue, poller);
      if (immediate !== null) {
        done = true;
        return resolve(immediate);
      }
      if (workerInstanceKey) {
        let set = this.workerPolls.get(workerInstanceKey);
        if (!set) this.workerPolls.set(workerInstanceKey, (set = new Set()));
        set.add(onCancel);
      }
      const wait = Math.min(MAX_POLL_WAIT_MS, remainingMs(call) - POLL_DEADLINE_MARGIN_MS);
      timer = setTimeout(onCancel, Math.max(0, wait));
      call?.on('cancelled', onCancel);
    });
  }

  private isShutDown(workerInstanceKey: string): boolean {
    return !!workerInstanceKey && (this.shutDownWorkers.get(workerInstanceKey) ?? 0) > Date.now();
  }

  /** ShutdownWorker: the worker's waiting polls answer now, empty (the poll-complete-on-shutdown capability). */
  completeWorkerPolls(workerInstanceKey: string): void {
    const now = Date.now();
    for (const [key, until] of this.shutDownWorkers) if (until <= now) this.shutDownWorkers.delete(key);
    this.shutDownWorkers.set(workerInstanceKey, now + SHUT_DOWN_WORKER_MEMORY_MS);
    const polls = this.workerPolls.get(workerInstanceKey);
    this.workerPolls.delete(workerInstanceKey);
    for (const complete of polls ?? []) complete();
  }

  /** The server stops: every waiting poll answers now. */
  stop(): void {
    this.stopped = true;
    for (const waiters of this.waiters.values()) waiters.forEach((w) => w());
    this.waiters.clear();
  }
}

/** The queue a poll names: a worker's sticky queue (its own runs, partial histories) or a normal one. */
function pollQueueName(tq: temporal.api.taskqueue.v1.ITaskQueue | null | undefined): string {
  if (!tq?.name) throw invalidArgument('TaskQueue is not set on request.');
  if (tq.kind === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY && !tq.normalName)
    throw invalidArgument('A sticky TaskQueue needs its NormalName.');
  return tq.name;
}

function remainingMs(call: Call | undefined): number {
  const deadline = call?.getDeadline?.();
  if (deadline === undefined || deadline === Infinity) return MAX_POLL_WAIT_MS + POLL_DEADLINE_MARGIN_MS;
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (!Number.isFinite(at)) return MAX_POLL_WAIT_MS + POLL_DEADLINE_MARGIN_MS;
  return at - Date.now();
}
