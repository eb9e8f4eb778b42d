/**
 * The engine: every namespace and workflow run in memory, the task queues, the deadlines, and group
 * commit to the store. RPC handlers call its methods; each method mutates state synchronously (so no locks
 * are needed) and resolves only after its changes are durable.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import {
  invalidArgument,
  namespaceAlreadyExists,
  namespaceNotFound,
  notFound,
  workflowAlreadyStarted,
} from '../errors';
import {
  EventType,
  ExecutionStatus,
  HistoryEventCodec,
  temporal,
  type HistoryEvent,
  type IPayloads,
  type IMemo,
} from '../proto';
import type { NamespaceRecord, Store } from '../store/store';
import { duration, durationMs, long, timestamp } from '../util/time';
import { Activities, type ActivityQueueTask } from './activities';
import { Children } from './children';
import { type Limits, DEFAULT_LIMITS, checkBlob, checkMemo } from './limits';
import { TaskQueues } from './matching';
import { Persistence } from './persistence';
import { validateRetryPolicy, normalizeRetryPolicy, nextRetry } from './retry';
import { Run, int, type RunHost, type RunSnapshot } from './run';
import {
  SYSTEM_SEARCH_ATTRIBUTES,
  type SearchAttributeType,
  decodeValue,
  validateSearchAttributes,
} from './search-attributes';
import { type Clock, TimerService, systemClock } from './timers';
import { TimeSkipping, VirtualClock } from './time-skipping';
import { comparator, evaluate, parseQuery, type Record_, type Value } from './visibility';
import { Updates } from './updates';
import { WorkflowTasks, type WorkflowQueueTask } from './workflow-tasks';

type WS = typeof temporal.api.workflowservice.v1;
export type Req<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? P : never;
export type Res<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? P : never;

const ReusePolicy = temporal.api.enums.v1.WorkflowIdReusePolicy;
const ConflictPolicy = temporal.api.enums.v1.WorkflowIdConflictPolicy;

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface EngineOptions {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** Namespaces to create at start-up (`default` always exists). */
  namespaces?: string[];
  /** Custom search attributes registered on every namespace created at start-up. */
  searchAttributes?: Record<string, SearchAttributeType>;
  limits?: Partial<Limits>;
  /** Serve Temporal's TestService and skip time when nothing is outstanding (the test server's mode). */
  timeSkipping?: boolean;
  /** Called when the store fails: the server must stop, since memory is then ahead of the store. */
  onFatal?: (err: Error) => void;
}

/** How long a history long-poll (`result()`) waits before answering with an empty page (real server: 20 s). */
const HISTORY_LONG_POLL_MS = 20_000;
/** Longest wait of a task-queue poll before an empty answer (real server: 60 s, minus a 1 s budget). */
const MAX_POLL_WAIT_MS = 60_000;
const POLL_DEADLINE_MARGIN_MS = 1_000;

export interface StartParams {
  namespace: NamespaceRecord;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: IPayloads | null;
  header?: temporal.api.common.v1.IHeader | null;
  identity: string;
  requestId: string;
  executionTimeoutMs: number;
  runTimeoutMs: number;
  taskTimeoutMs: number;
  retryPolicy?: temporal.api.common.v1.IRetryPolicy | null;
  memo?: IMemo | null;
  searchAttributes?: temporal.api.common.v1.ISearchAttributes | null;
  startDelayMs?: number;
  /** Preassigned run id (continue-as-new and retries name the next run before it starts). */
  runId?: string;
  /** Continue-as-new / retry chains. */
  firstExecutionRunId?: string;
  continuedExecutionRunId?: string;
  initiator?: number;
  continuedFailure?: temporal.api.failure.v1.IFailure | null;
  lastCompletionResult?: IPayloads | null;
  attempt?: number;
  /** Absolute deadline of the whole chain (execution timeout), 0 for none. */
  executionExpirationTime?: number;
  parent?: Run['parent'];
  rootExecution?: Run['rootExecution'];
  /** Writes events between WorkflowExecutionStarted and the first WorkflowTaskScheduled (signal-with-start). */
  beforeFirstTask?: (run: Run) => void;
}

export class Engine implements RunHost {
  readonly clock: Clock;
  readonly timers: TimerService;
  readonly persistence: Persistence;
  readonly log: Logger;
  readonly limits: Limits;
  readonly workflowQueues: TaskQueues<WorkflowQueueTask, Res<'PollWorkflowTaskQueueResponse'>>;
  readonly activityQueues: TaskQueues<ActivityQueueTask, Res<'PollActivityTaskQueueResponse'>>;
  readonly workflowTasks: WorkflowTasks;
  readonly activities: Activities;
  readonly updates: Updates;
  readonly children: Children;
  readonly timeSkipping?: TimeSkipping;

  private readonly namespacesByName = new Map<string, NamespaceRecord>();
  private readonly runs = new Map<string, Run>();
  /** Runs of each workflow id, oldest first: `${namespace}/${workflowId}`. */
  private readonly chains = new Map<string, Run[]>();
  private readonly runsByNamespace = new Map<string, Set<Run>>();
  /** Long polls waiting for a change: `history:<runId>` and `update:<runId>`. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private stopped = false;
  private readonly overLimit = new Set<Run>();

  constructor(private readonly options: EngineOptions) {
    if (options.timeSkipping) {
      const clock = new VirtualClock();
      this.clock = clock;
      this.timers = new TimerService(clock, () => this.afterChange());
      this.timeSkipping = new TimeSkipping(this, clock);
    } else {
      this.clock = options.clock ?? systemClock;
      this.timers = new TimerService(this.clock);
    }
    this.log = options.logger ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.persistence = new Persistence(options.store, (err) => {
      this.log.error({ err: err.message }, 'store commit failed; the server must stop');
      options.onFatal?.(err);
    });
    this.workflowTasks = new WorkflowTasks(this);
    this.activities = new Activities(this);
    this.updates = new Updates(this);
    this.children = new Children(this);
    this.workflowQueues = new TaskQueues((task, identity) => this.workflowTasks.tryStart(task, identity));
    this.activityQueues = new TaskQueues((task, identity) => this.activities.tryStart(task, identity));
  }

  // ---- RunHost ----------------------------------------------------------------------------------------------

  now(): number {
    return this.clock.now();
  }

  persistEvent(run: Run, event: HistoryEvent, bytes: Uint8Array): void {
    this.persistence.addEvent(run, event, bytes);
  }

  markDirty(run: Run): void {
    this.persistence.markRun(run);
  }

  /**
   * A history grew past Temporal's error limits: the run is terminated right after the current change, in the
   * same commit (srv enforceHistorySizeCheck / enforceHistoryCountCheck after any update of the run).
   */
  historyLimitReached(run: Run): void {
    if (this.overLimit.has(run)) return;
    this.overLimit.add(run);
    queueMicrotask(() => {
      this.overLimit.delete(run);
      this.enforceHistoryLimits(run);
    });
  }

  historyChanged(run: Run): void {
    this.notify(`history:${run.runId}`);
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
  waitFor(keys: () => string[], done: () => boolean, call: grpc.ServerUnaryCall<unknown, unknown> | undefined, maxMs: number): Promise<void> {
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

  // ---- lifecycle --------------------------------------------------------------------------------------------

  /** Loads the store, creates the start-up namespaces, and re-arms every task and deadline. */
  async start(): Promise<void> {
    const loaded = await this.options.store.load();
    for (const ns of loaded.namespaces) this.namespacesByName.set(ns.name, ns);
    const eventsByRun = new Map<string, { events: HistoryEvent[]; size: number }>();
    for (const e of loaded.events) {
      let entry = eventsByRun.get(e.runId);
      if (!entry) eventsByRun.set(e.runId, (entry = { events: [], size: 0 }));
      entry.events.push(HistoryEventCodec.decode(e.data));
      entry.size += e.data.length;
    }
    const restored: Run[] = [];
    for (const stored of loaded.runs) {
      const snapshot = JSON.parse(stored.state) as RunSnapshot;
      const h = eventsByRun.get(stored.runId) ?? { events: [], size: 0 };
      restored.push(Run.fromSnapshot(this, snapshot, h.events, h.size));
    }
    restored.sort((a, b) => a.startTime - b.startTime);
    for (const run of restored) this.index(run);

    for (const name of new Set(['default', ...(this.options.namespaces ?? [])])) {
      const existing = this.namespacesByName.get(name);
      if (!existing) {
        this.createNamespace({ name, searchAttributes: { ...(this.options.searchAttributes ?? {}) } });
      } else if (this.options.searchAttributes) {
        const merged = { ...existing.searchAttributes, ...this.options.searchAttributes };
        if (JSON.stringify(merged) !== JSON.stringify(existing.searchAttributes)) {
          existing.searchAttributes = merged;
          this.persistence.markNamespace(existing);
        }
      }
    }
    for (const run of restored) if (run.isOpen) this.rearm(run);
    await this.persistence.barrier();
    this.log.info({ runs: restored.length, open: restored.filter((r) => r.isOpen).length }, 'engine state loaded');
  }

  /** Called after each request and each fired deadline. */
  afterChange(): void {
    this.timeSkipping?.poke();
  }

  /** Work a worker owes: a workflow task, a runnable or running activity, a query. Time may not skip past it. */
  hasOutstandingWork(): boolean {
    if (this.workflowTasks.hasOutstandingQueries()) return true;
    for (const run of this.runs.values()) {
      if (!run.isOpen) continue;
      if (run.wft) return true;
      for (const a of run.activities.values()) if (a.state !== 'backoff') return true;
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timeSkipping?.stop();
    this.timers.stop();
    this.workflowQueues.releaseAll();
    this.activityQueues.releaseAll();
    for (const waiters of this.waiters.values()) waiters.forEach((w) => w());
    this.waiters.clear();
    await this.persistence.barrier().catch(() => undefined);
  }

  /** After a restart: tasks go back to their queues and every deadline is set again. */
  private rearm(run: Run): void {
    this.workflowTasks.rearm(run);
    this.activities.rearm(run);
    for (const timer of run.timers.values()) {
      if (!timer.firedBuffered) this.workflowTasks.armUserTimer(run, timer);
    }
    this.armRunDeadlines(run);
  }

  // ---- namespaces -------------------------------------------------------------------------------------------

  namespace(name: string | null | undefined): NamespaceRecord {
    if (!name) throw invalidArgument('Namespace is not set on request.');
    const ns = this.namespacesByName.get(name);
    if (!ns) throw namespaceNotFound(name);
    return ns;
  }

  namespaceById(id: string): NamespaceRecord | undefined {
    for (const ns of this.namespacesByName.values()) if (ns.id === id) return ns;
    return undefined;
  }

  listNamespaces(): NamespaceRecord[] {
    return [...this.namespacesByName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  createNamespace(spec: Partial<NamespaceRecord> & { name: string }): NamespaceRecord {
    if (this.namespacesByName.has(spec.name)) throw namespaceAlreadyExists(spec.name);
    const ns: NamespaceRecord = {
      id: randomUUID(),
      name: spec.name,
      description: spec.description ?? '',
      ownerEmail: spec.ownerEmail ?? '',
      retentionDays: spec.retentionDays ?? 1,
      data: spec.data ?? {},
      searchAttributes: spec.searchAttributes ?? {},
    };
    this.namespacesByName.set(ns.name, ns);
    this.persistence.markNamespace(ns);
    return ns;
  }

  addSearchAttributes(ns: NamespaceRecord, attributes: Record<string, SearchAttributeType>): void {
    for (const [name, type] of Object.entries(attributes)) {
      if (SYSTEM_SEARCH_ATTRIBUTES[name]) throw invalidArgument(`Search attribute ${name} is reserved by system.`);
      const existing = ns.searchAttributes[name];
      if (existing && existing !== type) {
        throw invalidArgument(`Search attribute ${name} already exists with type ${existing}.`);
      }
    }
    Object.assign(ns.searchAttributes, attributes);
    this.persistence.markNamespace(ns);
  }

  removeSearchAttributes(ns: NamespaceRecord, names: string[]): void {
    for (const name of names) {
      if (!ns.searchAttributes[name]) throw notFound(`Search attribute ${name} doesn't exist.`);
    }
    for (const name of names) delete ns.searchAttributes[name];
    this.persistence.markNamespace(ns);
  }

  // ---- runs -------------------------------------------------------------------------------------------------

  private index(run: Run): void {
    this.runs.set(run.runId, run);
    const key = `${run.namespace}/${run.workflowId}`;
    let chain = this.chains.get(key);
    if (!chain) this.chains.set(key, (chain = []));
    chain.push(run);
    let set = this.runsByNamespace.get(run.namespace);
    if (!set) this.runsByNamespace.set(run.namespace, (set = new Set()));
    set.add(run);
  }

  runById(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  /** The latest run of a workflow id, if any. */
  currentRun(namespace: string, workflowId: string): Run | undefined {
    const chain = this.chains.get(`${namespace}/${workflowId}`);
    return chain?.[chain.length - 1];
  }

  /**
   * The run named by an execution: its run id, or (when empty) the latest run of the workflow id, optionally
   * restricted to the chain that started with `firstExecutionRunId`.
   */
  resolveRun(
    namespace: string,
    execution: temporal.api.common.v1.IWorkflowExecution | null | undefined,
    firstExecutionRunId?: string | null,
  ): Run {
    const workflowId = execution?.workflowId;
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    const runId = execution?.runId;
    if (runId) {
      // Temporal's frontend refuses a run id that is not a UUID before it looks for anything.
      if (!RUN_ID.test(runId)) throw invalidArgument('Invalid RunId.');
      const run = this.runs.get(runId);
      if (!run || run.namespace !== namespace || run.workflowId !== workflowId) {
        throw notFound(`Workflow execution not found. WorkflowId: ${workflowId}, RunId: ${runId}.`);
      }
      if (firstExecutionRunId && run.firstExecutionRunId !== firstExecutionRunId) {
        throw notFound(`Workflow execution not found. WorkflowId: ${workflowId}, FirstExecutionRunId: ${firstExecutionRunId}.`);
      }
      return run;
    }
    const chain = this.chains.get(`${namespace}/${workflowId}`) ?? [];
    const candidates = firstExecutionRunId ? chain.filter((r) => r.firstExecutionRunId === firstExecutionRunId) : chain;
    const run = candidates[candidates.length - 1];
    if (!run) throw notFound(`Workflow execution not found. WorkflowId: ${workflowId}.`);
    return run;
  }

  private openRun(namespace: string, execution: temporal.api.common.v1.IWorkflowExecution | null | undefined, first?: string | null): Run {
    const run = this.resolveRun(namespace, execution, first);
    if (!run.isOpen) throw notFound('Workflow execution already completed.');
    return run;
  }

  // ---- start ------------------------------------------------------------------------------------------------

  async startWorkflowExecution(req: Req<'StartWorkflowExecutionRequest'>): Promise<Res<'StartWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    const params = this.validateStart(ns, req);
    const existing = this.checkWorkflowIdPolicies(ns, params.workflowId, params.requestId, req.workflowIdReusePolicy ?? 0, req.workflowIdConflictPolicy ?? 0);
    if (existing) {
      await this.persistence.barrier();
      return { runId: existing.run.runId, started: existing.started, status: existing.run.status };
    }
    const run = this.startRun(params);
    await this.persistence.barrier();
    return { runId: run.runId, started: true, status: run.status };
  }

  /** Validates and normalises a start request (StartWorkflowExecution, SignalWithStart, ExecuteMultiOperation). */
  validateStart(
    ns: NamespaceRecord,
    req: Pick<
      Req<'StartWorkflowExecutionRequest'>,
      | 'workflowId' | 'workflowType' | 'taskQueue' | 'input' | 'header' | 'identity' | 'requestId'
      | 'workflowExecutionTimeout' | 'workflowRunTimeout' | 'workflowTaskTimeout' | 'retryPolicy'
      | 'cronSchedule' | 'memo' | 'searchAttributes' | 'workflowStartDelay'
    >,
  ): StartParams {
    const workflowId = req.workflowId ?? '';
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (workflowId.length > this.limits.maxIdLength) throw invalidArgument('WorkflowId length exceeds limit.');
    const workflowType = req.workflowType?.name ?? '';
    if (!workflowType) throw invalidArgument('WorkflowType is not set on request.');
    if (workflowType.length > this.limits.maxIdLength) throw invalidArgument('WorkflowType length exceeds limit.');
    const taskQueue = req.taskQueue?.name ?? '';
    if (!taskQueue) throw invalidArgument('TaskQueue is not set on request.');
    if (taskQueue.length > this.limits.maxIdLength) throw invalidArgument('TaskQueue length exceeds limit.');
    if (req.cronSchedule) throw invalidArgument('CronSchedule is not supported by embedded-temporal; use a schedule in your own code.');
    const executionTimeoutMs = durationMs(req.workflowExecutionTimeout) ?? 0;
    let runTimeoutMs = durationMs(req.workflowRunTimeout) ?? 0;
    let taskTimeoutMs = durationMs(req.workflowTaskTimeout) ?? 0;
    const startDelayMs = durationMs(req.workflowStartDelay) ?? 0;
    if (executionTimeoutMs < 0) throw invalidArgument('Invalid WorkflowExecutionTimeout.');
    if (runTimeoutMs < 0) throw invalidArgument('Invalid WorkflowRunTimeout.');
    if (taskTimeoutMs < 0) throw invalidArgument('Invalid WorkflowTaskTimeout.');
    if (startDelayMs < 0) throw invalidArgument('Invalid WorkflowStartDelay.');
    validateRetryPolicy(req.retryPolicy, 'Invalid RetryPolicy');
    // srv: the run timeout defaults to, and is capped by, the execution timeout; the task timeout defaults
    // to 10 s, is capped at 120 s and by the run timeout.
    if (executionTimeoutMs > 0 && (runTimeoutMs === 0 || runTimeoutMs > executionTimeoutMs)) runTimeoutMs = executionTimeoutMs;
    if (taskTimeoutMs === 0) taskTimeoutMs = 10_000;
    taskTimeoutMs = Math.min(taskTimeoutMs, 120_000);
    if (runTimeoutMs > 0) taskTimeoutMs = Math.min(taskTimeoutMs, runTimeoutMs);
    checkBlob(this.limits, req.input, 'Workflow input');
    checkMemo(this.limits, req.memo);
    const searchAttributes = validateSearchAttributes(req.searchAttributes, ns.searchAttributes);
    return {
      namespace: ns,
      workflowId,
      workflowType,
      taskQueue,
      input: req.input,
      header: req.header,
      identity: req.identity ?? '',
      requestId: req.requestId || randomUUID(),
      executionTimeoutMs,
      runTimeoutMs,
      taskTimeoutMs,
      retryPolicy: req.retryPolicy ? normalizeRetryPolicy(req.retryPolicy) : null,
      memo: req.memo && Object.keys(req.memo.fields ?? {}).length > 0 ? req.memo : null,
      searchAttributes,
      startDelayMs,
    };
  }

  /**
   * Applies request-id idempotency and the id reuse / conflict policies. Returns an existing run when the
   * start must not create a new one; throws ALREADY_EXISTS when it is refused; terminates the running
   * run when the policy says so.
   */
  checkWorkflowIdPolicies(
    ns: NamespaceRecord,
    workflowId: string,
    requestId: string,
    reusePolicy: number,
    conflictPolicy: number,
  ): { run: Run; started: boolean } | undefined {
    const chain = this.chains.get(`${ns.name}/${workflowId}`) ?? [];
    const same = chain.find((r) => r.startRequestId === requestId);
    if (same) return { run: same, started: true };
    const current = chain[chain.length - 1];
    if (!current) return undefined;
    if (current.isOpen) {
      let policy = conflictPolicy;
      if (policy === ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED) {
        policy =
          reusePolicy === ReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
            ? ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
            : ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL;
      }
      if (policy === ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) return { run: current, started: false };
      if (policy === ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING) {
        this.terminateRun(current, 'terminated by a new start (WorkflowIdConflictPolicy TERMINATE_EXISTING)', null, 'history-service');
        return undefined;
      }
      throw workflowAlreadyStarted(
        `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${current.runId}.`,
        current.startRequestId,
        current.runId,
      );
    }
    if (reusePolicy === ReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) {
      throw workflowAlreadyStarted(
        `Workflow execution already finished and WorkflowIdReusePolicy is REJECT_DUPLICATE. WorkflowId: ${workflowId}, RunId: ${current.runId}.`,
        current.startRequestId,
        current.runId,
      );
    }
    if (reusePolicy === ReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY) {
      const succeeded =
        current.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED ||
        current.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
      if (succeeded) {
        throw workflowAlreadyStarted(
          `Workflow execution already finished successfully and WorkflowIdReusePolicy is ALLOW_DUPLICATE_FAILED_ONLY. WorkflowId: ${workflowId}, RunId: ${current.runId}.`,
          current.startRequestId,
          current.runId,
        );
      }
    }
    return undefined;
  }

  /** Creates a run: WorkflowExecutionStarted, then its first workflow task (now or after the start delay). */
  startRun(p: StartParams): Run {
    const now = this.now();
    const run = new Run(this);
    run.namespace = p.namespace.name;
    run.namespaceId = p.namespace.id;
    run.workflowId = p.workflowId;
    run.runId = p.runId ?? randomUUID();
    run.firstExecutionRunId = p.firstExecutionRunId ?? run.runId;
    run.workflowType = p.workflowType;
    run.taskQueue = p.taskQueue;
    run.startTime = now;
    run.executionTime = now + (p.startDelayMs ?? 0);
    run.startRequestId = p.requestId;
    run.requestIds.add(p.requestId);
    run.memo = p.memo ?? null;
    run.searchAttributes = p.searchAttributes ?? null;
    run.workflowTaskTimeoutMs = p.taskTimeoutMs;
    run.runTimeoutMs = p.runTimeoutMs;
    run.executionTimeoutMs = p.executionTimeoutMs;
    run.executionExpirationTime =
      p.executionExpirationTime ?? (p.executionTimeoutMs > 0 ? now + p.executionTimeoutMs : 0);
    run.runExpirationTime = p.runTimeoutMs > 0 ? now + p.runTimeoutMs : 0;
    if (run.executionExpirationTime > 0 && (run.runExpirationTime === 0 || run.runExpirationTime > run.executionExpirationTime)) {
      run.runExpirationTime = run.executionExpirationTime;
    }
    run.attempt = p.attempt ?? 1;
    run.retryPolicy = p.retryPolicy ?? null;
    run.parent = p.parent;
    run.rootExecution = p.rootExecution;
    this.index(run);

    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
      workflowType: { name: p.workflowType },
      parentWorkflowNamespace: p.parent?.namespace ?? '',
      parentWorkflowNamespaceId: p.parent?.namespaceId ?? '',
      parentWorkflowExecution: p.parent ? { workflowId: p.parent.workflowId, runId: p.parent.runId } : null,
      parentInitiatedEventId: p.parent?.initiatedEventId ?? 0,
      taskQueue: { name: p.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      input: p.input,
      workflowExecutionTimeout: p.executionTimeoutMs > 0 ? duration(p.executionTimeoutMs) : null,
      workflowRunTimeout: p.runTimeoutMs > 0 ? duration(p.runTimeoutMs) : null,
      workflowTaskTimeout: duration(p.taskTimeoutMs),
      continuedExecutionRunId: p.continuedExecutionRunId ?? '',
      initiator: p.initiator ?? 0,
      continuedFailure: p.continuedFailure ?? null,
      lastCompletionResult: p.lastCompletionResult ?? null,
      originalExecutionRunId: run.runId,
      identity: p.identity,
      firstExecutionRunId: run.firstExecutionRunId,
      retryPolicy: p.retryPolicy ?? null,
      attempt: run.attempt,
      workflowExecutionExpirationTime: run.executionExpirationTime > 0 ? timestamp(run.executionExpirationTime) : null,
      firstWorkflowTaskBackoff: p.startDelayMs ? duration(p.startDelayMs) : null,
      memo: p.memo ?? null,
      searchAttributes: p.searchAttributes ?? null,
      header: p.header ?? null,
      workflowId: p.workflowId,
      rootWorkflowExecution: p.rootExecution ?? { workflowId: run.workflowId, runId: run.runId },
    });
    p.beforeFirstTask?.(run);
    if (p.startDelayMs && p.startDelayMs > 0) {
      this.armStartDelay(run);
    } else {
      this.workflowTasks.schedule(run);
    }
    this.armRunDeadlines(run);
    run.touch();
    return run;
  }

  private armStartDelay(run: Run): void {
    this.timers.set(`start-delay:${run.runId}`, run.executionTime, () => {
      if (run.isOpen && !run.wft && run.lastCompletedWftStartedId === 0) this.workflowTasks.schedule(run);
    });
  }

  private armRunDeadlines(run: Run): void {
    if (run.runExpirationTime > 0) {
      this.timers.set(`run-timeout:${run.runId}`, run.runExpirationTime, () => this.timeOutRun(run));
    }
    if (run.lastCompletedWftStartedId === 0 && !run.wft && run.executionTime > run.startTime) this.armStartDelay(run);
  }

  /** The run (or execution) timeout fired: the run times out, and is retried if its retry policy allows. */
  private timeOutRun(run: Run): void {
    if (!run.isOpen) return;
    this.forceCloseWorkflowTask(run);
    const failure = { message: 'workflow run timeout', source: 'Server', timeoutFailureInfo: { timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE } };
    const retry = this.workflowRetry(run, failure);
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, {
      retryState: retry.retry ? temporal.api.enums.v1.RetryState.RETRY_STATE_IN_PROGRESS : temporal.api.enums.v1.RetryState.RETRY_STATE_TIMEOUT,
      newExecutionRunId: retry.retry ? retry.runId : '',
    });
    if (retry.retry) retry.start();
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
    void this.persistence.barrier().catch(() => undefined);
  }

  /** The FailWorkflowExecution command: the run fails, and is retried if its retry policy allows. */
  failRun(run: Run, failure: temporal.api.failure.v1.IFailure | null, completedEventId: number): void {
    const retry = this.workflowRetry(run, failure);
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
      failure,
      retryState: retry.retry ? temporal.api.enums.v1.RetryState.RETRY_STATE_IN_PROGRESS : retry.state,
      workflowTaskCompletedEventId: completedEventId,
      newExecutionRunId: retry.retry ? retry.runId : '',
    });
    if (retry.retry) retry.start();
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED);
  }

  /**
   * Decides a workflow retry by the run's retry policy (workflows have none unless the starter set one).
   * When it retries, `start()` starts the next run of the chain, after the backoff.
   */
  private workflowRetry(
    run: Run,
    failure: temporal.api.failure.v1.IFailure | null,
  ): { retry: true; runId: string; start: () => void } | { retry: false; state: number } {
    if (!run.retryPolicy) return { retry: false, state: temporal.api.enums.v1.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET };
    const decision = nextRetry(run.retryPolicy, run.attempt, failure, this.now(), run.executionExpirationTime);
    if (!decision.retry) return { retry: false, state: decision.state };
    const runId = randomUUID();
    const started = run.events[0].workflowExecutionStartedEventAttributes!;
    return {
      retry: true,
      runId,
      start: () => {
        this.startNextRun(run, {
          runId,
          input: started.input,
          header: started.header,
          startDelayMs: decision.delayMs,
          initiator: temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY,
          continuedFailure: failure,
          attempt: run.attempt + 1,
        });
      },
    };
  }

  /** Starts the next run of a chain (continue-as-new or retry), inheriting what the chain keeps. */
  private startNextRun(prev: Run, p: Partial<StartParams> & { runId: string }): Run {
    const ns = this.namespace(prev.namespace);
    prev.newExecutionRunId = p.runId;
    return this.startRun({
      namespace: ns,
      workflowId: prev.workflowId,
      workflowType: prev.workflowType,
      taskQueue: prev.taskQueue,
      identity: '',
      requestId: randomUUID(),
      executionTimeoutMs: prev.executionTimeoutMs,
      runTimeoutMs: prev.runTimeoutMs,
      taskTimeoutMs: prev.workflowTaskTimeoutMs,
      retryPolicy: prev.retryPolicy,
      memo: prev.memo,
      searchAttributes: prev.searchAttributes,
      firstExecutionRunId: prev.firstExecutionRunId,
      continuedExecutionRunId: prev.runId,
      executionExpirationTime: prev.executionExpirationTime,
      parent: prev.parent,
      rootExecution: prev.rootExecution,
      ...p,
    });
  }

  /** The ContinueAsNewWorkflowExecution command: the run closes and the next run of the chain starts. */
  continueAsNew(run: Run, a: temporal.api.command.v1.IContinueAsNewWorkflowExecutionCommandAttributes, completedEventId: number): void {
    const runId = randomUUID();
    const ns = this.namespace(run.namespace);
    const taskQueue = a.taskQueue?.name || run.taskQueue;
    const runTimeoutMs = durationMs(a.workflowRunTimeout) || run.runTimeoutMs;
    const taskTimeoutMs = durationMs(a.workflowTaskTimeout) || run.workflowTaskTimeoutMs;
    // srv: memo and search attributes carry over unless the command replaces them.
    const memo = a.memo && Object.keys(a.memo.fields ?? {}).length > 0 ? a.memo : run.memo;
    const searchAttributes = a.searchAttributes ? validateSearchAttributes(a.searchAttributes, ns.searchAttributes) : run.searchAttributes;
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, {
      newExecutionRunId: runId,
      workflowType: { name: a.workflowType?.name || run.workflowType },
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      input: a.input ?? null,
      workflowRunTimeout: runTimeoutMs > 0 ? duration(runTimeoutMs) : null,
      workflowTaskTimeout: duration(taskTimeoutMs),
      workflowTaskCompletedEventId: completedEventId,
      backoffStartInterval: a.backoffStartInterval ?? null,
      initiator: a.initiator || temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
      failure: a.failure ?? null,
      lastCompletionResult: a.lastCompletionResult ?? null,
      header: a.header ?? null,
      memo,
      searchAttributes,
    });
    this.startNextRun(run, {
      runId,
      workflowType: a.workflowType?.name || run.workflowType,
      taskQueue,
      input: a.input,
      header: a.header,
      runTimeoutMs,
      taskTimeoutMs,
      retryPolicy: a.retryPolicy ? normalizeRetryPolicy(a.retryPolicy) : run.retryPolicy,
      memo,
      searchAttributes,
      startDelayMs: durationMs(a.backoffStartInterval) ?? 0,
      initiator: a.initiator || temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
      continuedFailure: a.failure,
      lastCompletionResult: a.lastCompletionResult,
      attempt: 1,
    });
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  }

  /**
   * Terminates a run whose history passed Temporal's error limits (srv enforceHistorySizeCheck and
   * enforceHistoryCountCheck), as the real server does after any change.
   */
  enforceHistoryLimits(run: Run): void {
    if (!run.isOpen) return;
    let reason: string | undefined;
    if (run.historySizeBytes > this.limits.historySizeLimit) reason = 'Workflow history size exceeds limit.';
    else if (run.nextEventId - 1 > this.limits.historyCountLimit) reason = 'Workflow history count exceeds limit.';
    if (!reason) return;
    this.log.warn({ workflowId: run.workflowId, runId: run.runId, events: run.nextEventId - 1, bytes: run.historySizeBytes }, reason);
    this.terminateRun(run, reason, null, 'history-service');
  }

  // ---- signal, cancel, terminate ----------------------------------------------------------------------------

  /**
   * Signals the running workflow, or starts it with the signal as its first event (`1 Started, 2 Signaled,
   * 3 WorkflowTaskScheduled`). A running workflow is signalled unless the conflict policy says FAIL or
   * TERMINATE_EXISTING (srv signal_with_start_workflow.go).
   */
  async signalWithStartWorkflowExecution(
    req: Req<'SignalWithStartWorkflowExecutionRequest'>,
  ): Promise<Res<'SignalWithStartWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    checkBlob(this.limits, req.signalInput, 'Signal input');
    const params = this.validateStart(ns, req);
    const signalRequestId = `${params.requestId}/signal`;
    const conflict = req.workflowIdConflictPolicy ?? 0;
    const current = this.currentRun(ns.name, params.workflowId);
    const useExisting =
      conflict !== ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL &&
      conflict !== ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
    if (current?.isOpen && useExisting) {
      this.signalRun(current, req.signalName, req.signalInput, req.header, params.identity, signalRequestId);
      await this.persistence.barrier();
      return { runId: current.runId, started: current.startRequestId === params.requestId };
    }
    const existing = this.checkWorkflowIdPolicies(ns, params.workflowId, params.requestId, req.workflowIdReusePolicy ?? 0, conflict);
    const run =
      existing?.run ??
      this.startRun({
        ...params,
        beforeFirstTask: (r) => this.signalRun(r, req.signalName!, req.signalInput, req.header, params.identity, signalRequestId),
      });
    await this.persistence.barrier();
    return { runId: run.runId, started: existing ? existing.started : true };
  }

  async executeMultiOperation(req: Req<'ExecuteMultiOperationRequest'>, call?: grpc.ServerUnaryCall<unknown, unknown>) {
    return this.updates.multiOperation(req, call);
  }

  async signalWorkflowExecution(req: Req<'SignalWorkflowExecutionRequest'>): Promise<Res<'SignalWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    checkBlob(this.limits, req.input, 'Signal input');
    const run = this.openRun(ns.name, req.workflowExecution);
    this.signalRun(run, req.signalName, req.input, req.header, req.identity ?? '', req.requestId ?? '');
    await this.persistence.barrier();
    return {};
  }

  /** Writes WorkflowExecutionSignaled (once per request id) and makes sure a workflow task will see it. */
  signalRun(
    run: Run,
    signalName: string,
    input: IPayloads | null | undefined,
    header: temporal.api.common.v1.IHeader | null | undefined,
    identity: string,
    requestId: string,
    externalExecution?: temporal.api.common.v1.IWorkflowExecution,
  ): void {
    if (requestId && run.requestIds.has(requestId)) return;
    if (requestId) run.requestIds.add(requestId);
    run.addOrBufferEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
      signalName,
      input: input ?? null,
      identity,
      header: header ?? null,
      requestId,
      externalWorkflowExecution: externalExecution ?? null,
    });
    this.workflowTasks.schedule(run);
    run.touch();
  }

  async requestCancelWorkflowExecution(
    req: Req<'RequestCancelWorkflowExecutionRequest'>,
  ): Promise<Res<'RequestCancelWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    const run = this.openRun(ns.name, req.workflowExecution, req.firstExecutionRunId);
    this.requestCancelRun(run, req.reason ?? '', req.identity ?? '', req.requestId ?? '');
    await this.persistence.barrier();
    return {};
  }

  requestCancelRun(run: Run, reason: string, identity: string, requestId: string, external?: { initiatedEventId: number; execution: temporal.api.common.v1.IWorkflowExecution }): void {
    if (run.cancelRequested) return; // a repeated request is a no-op
    if (requestId) run.requestIds.add(requestId);
    run.cancelRequested = true;
    run.addOrBufferEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
      cause: reason,
      identity,
      externalInitiatedEventId: external?.initiatedEventId ?? 0,
      externalWorkflowExecution: external?.execution ?? null,
    });
    this.workflowTasks.schedule(run);
    run.touch();
  }

  async terminateWorkflowExecution(req: Req<'TerminateWorkflowExecutionRequest'>): Promise<Res<'TerminateWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    const run = this.openRun(ns.name, req.workflowExecution, req.firstExecutionRunId);
    checkBlob(this.limits, req.details, 'Termination details');
    this.terminateRun(run, req.reason ?? '', req.details ?? null, req.identity ?? '');
    await this.persistence.barrier();
    return {};
  }

  terminateRun(run: Run, reason: string, details: IPayloads | null, identity: string): void {
    this.forceCloseWorkflowTask(run);
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, { reason, details, identity });
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
  }

  /**
   * Before the server closes a run on its own (terminate, timeout): a started workflow task is failed
   * with FORCE_CLOSE_COMMAND and the buffered events are written (srv workflow/util.go).
   */
  forceCloseWorkflowTask(run: Run): void {
    this.workflowTasks.forceClose(run);
  }

  /** Marks a run closed (its close event is already written) and drops everything pending on it. */
  closeRun(run: Run, status: ExecutionStatus): void {
    run.status = status;
    run.closeTime = this.now();
    run.wft = null;
    run.buffered = [];
    this.timers.clear(`wft:${run.runId}`);
    this.timers.clear(`run-timeout:${run.runId}`);
    this.timers.clear(`start-delay:${run.runId}`);
    for (const timer of run.timers.values()) this.timers.clear(`timer:${run.runId}:${timer.timerId}`);
    run.timers.clear();
    this.activities.dropAll(run);
    this.workflowTasks.onRunClosed(run);
    this.updates.onRunClosed(run);
    this.children.onRunClosed(run);
    run.touch();
  }

  // ---- read ---------------------------------------------------------------------------------------------------

  async describeWorkflowExecution(req: Req<'DescribeWorkflowExecutionRequest'>): Promise<Res<'DescribeWorkflowExecutionResponse'>> {
    const ns = this.namespace(req.namespace);
    const run = this.resolveRun(ns.name, req.execution);
    await this.persistence.barrier();
    const PendingWft = temporal.api.enums.v1.PendingWorkflowTaskState;
    const wft = run.wft;
    return {
      executionConfig: {
        taskQueue: { name: run.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        workflowExecutionTimeout: duration(run.executionTimeoutMs),
        workflowRunTimeout: duration(run.runTimeoutMs),
        defaultWorkflowTaskTimeout: duration(run.workflowTaskTimeoutMs),
      },
      workflowExecutionInfo: this.executionInfo(run),
      pendingActivities: this.activities.describePending(run),
      pendingChildren: this.children.describePending(run),
      pendingWorkflowTask: wft
        ? {
            state: wft.started
              ? PendingWft.PENDING_WORKFLOW_TASK_STATE_STARTED
              : PendingWft.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
            scheduledTime: timestamp(wft.scheduledTime),
            originalScheduledTime: timestamp(wft.originalScheduledTime),
            startedTime: wft.started ? timestamp(wft.started.time) : null,
            attempt: wft.attempt,
          }
        : null,
    };
  }

  executionInfo(run: Run): temporal.api.workflow.v1.IWorkflowExecutionInfo {
    return {
      execution: { workflowId: run.workflowId, runId: run.runId },
      type: { name: run.workflowType },
      startTime: timestamp(run.startTime),
      closeTime: run.closeTime !== undefined ? timestamp(run.closeTime) : null,
      status: run.status,
      historyLength: long(run.nextEventId - 1),
      parentNamespaceId: run.parent?.namespaceId ?? '',
      parentExecution: run.parent ? { workflowId: run.parent.workflowId, runId: run.parent.runId } : null,
      executionTime: timestamp(run.executionTime),
      memo: run.memo ?? { fields: {} },
      searchAttributes: run.searchAttributes ?? { indexedFields: {} },
      taskQueue: run.taskQueue,
      stateTransitionCount: long(run.stateTransitions),
      historySizeBytes: long(run.historySizeBytes),
      executionDuration: run.closeTime !== undefined ? duration(run.closeTime - run.executionTime) : null,
      rootExecution: run.rootExecution ?? { workflowId: run.workflowId, runId: run.runId },
      firstRunId: run.firstExecutionRunId,
    };
  }

  async getWorkflowExecutionHistory(
    req: Req<'GetWorkflowExecutionHistoryRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'GetWorkflowExecutionHistoryResponse'>> {
    const ns = this.namespace(req.namespace);
    let run = this.resolveRun(ns.name, req.execution);
    const token = decodeHistoryToken(req.nextPageToken);
    if (token) {
      const byToken = this.runs.get(token.runId);
      if (!byToken || byToken.workflowId !== run.workflowId) throw invalidArgument('Invalid NextPageToken.');
      run = byToken;
    }
    const closeOnly =
      req.historyEventFilterType === temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
    if (closeOnly) {
      if (run.isOpen && req.waitNewEvent) await this.waitFor(() => [`history:${run.runId}`], () => !run.isOpen, call, HISTORY_LONG_POLL_MS);
      await this.persistence.barrier();
      const close = run.closeEvent;
      if (close) return { history: { events: [close] } };
      return { history: { events: [] }, nextPageToken: encodeHistoryToken(run.runId, run.nextEventId) };
    }
    const from = token?.next ?? 1;
    if (req.waitNewEvent && run.isOpen && from >= run.nextEventId) {
      await this.waitFor(() => [`history:${run.runId}`], () => run.nextEventId > from || !run.isOpen, call, HISTORY_LONG_POLL_MS);
    }
    await this.persistence.barrier();
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    const events = run.events.slice(from - 1, from - 1 + pageSize);
    const next = from + events.length;
    const more = next < run.nextEventId || (req.waitNewEvent && run.isOpen);
    return { history: { events }, nextPageToken: more ? encodeHistoryToken(run.runId, next) : null };
  }

  // ---- visibility -------------------------------------------------------------------------------------------

  private visibilityRecord(run: Run, ns: NamespaceRecord): Record_ {
    return (name: string): Value | Value[] | undefined => {
      switch (name) {
        case 'WorkflowId':
          return run.workflowId;
        case 'RunId':
          return run.runId;
        case 'WorkflowType':
          return run.workflowType;
        case 'TaskQueue':
          return run.taskQueue;
        case 'ExecutionStatus':
          return statusName(run.status);
        case 'StartTime':
          return new Date(run.startTime).toISOString();
        case 'ExecutionTime':
          return new Date(run.executionTime).toISOString();
        case 'CloseTime':
          return run.closeTime !== undefined ? new Date(run.closeTime).toISOString() : undefined;
        case 'ExecutionDuration':
          return run.closeTime !== undefined ? (run.closeTime - run.executionTime) * 1e6 : undefined;
        case 'HistoryLength':
          return run.nextEventId - 1;
        case 'HistorySizeBytes':
          return run.historySizeBytes;
        case 'StateTransitionCount':
          return run.stateTransitions;
        default: {
          const payload = run.searchAttributes?.indexedFields?.[name];
          if (!payload || (!ns.searchAttributes[name] && !SYSTEM_SEARCH_ATTRIBUTES[name])) return undefined;
          const value = decodeValue(payload) as Value | Value[];
          return value ?? undefined;
        }
      }
    };
  }

  private matchingRuns(ns: NamespaceRecord, query: string | null | undefined): Run[] {
    const parsed = parseQuery(query ?? '', ns.searchAttributes);
    const entries = [...(this.runsByNamespace.get(ns.name) ?? [])].map((run) => ({ run, read: this.visibilityRecord(run, ns) }));
    const matched = entries.filter((e) => evaluate(parsed.filter, e.read));
    const cmp = comparator(parsed.orderBy);
    matched.sort((a, b) => cmp(a.read, b.read));
    return matched.map((e) => e.run);
  }

  async listWorkflowExecutions(req: Req<'ListWorkflowExecutionsRequest'>): Promise<Res<'ListWorkflowExecutionsResponse'>> {
    const ns = this.namespace(req.namespace);
    const runs = this.matchingRuns(ns, req.query);
    const pageSize = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 1000;
    let offset = 0;
    if (req.nextPageToken && req.nextPageToken.length > 0) {
      offset = Number(Buffer.from(req.nextPageToken).toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('Invalid NextPageToken.');
    }
    await this.persistence.barrier();
    const page = runs.slice(offset, offset + pageSize);
    const next = offset + page.length;
    return {
      executions: page.map((r) => this.executionInfo(r)),
      nextPageToken: next < runs.length ? Buffer.from(String(next)) : null,
    };
  }

  async countWorkflowExecutions(req: Req<'CountWorkflowExecutionsRequest'>): Promise<Res<'CountWorkflowExecutionsResponse'>> {
    const ns = this.namespace(req.namespace);
    const runs = this.matchingRuns(ns, req.query);
    await this.persistence.barrier();
    return { count: long(runs.length), groups: [] };
  }

  // ---- polls ------------------------------------------------------------------------------------------------

  /** Long-polls a task queue: a started task, or null when the wait ends (deadline, cancel, shutdown). */
  waitForTask<T, R>(
    queues: TaskQueues<T, R>,
    namespace: string,
    taskQueue: string,
    identity: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | undefined,
  ): Promise<R | null> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(null);
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
          resolve(r);
        },
      };
      const immediate = queues.takeOrWait(namespace, taskQueue, poller);
      if (immediate !== null) {
        done = true;
        return resolve(immediate);
      }
      const wait = Math.min(MAX_POLL_WAIT_MS, remainingMs(call) - POLL_DEADLINE_MARGIN_MS);
      timer = setTimeout(onCancel, Math.max(0, wait));
      call?.on('cancelled', onCancel);
    });
  }

  isStopped(): boolean {
    return this.stopped;
  }
}

export function statusName(status: ExecutionStatus): string {
  const names: Record<number, string> = {
    1: 'Running',
    2: 'Completed',
    3: 'Failed',
    4: 'Canceled',
    5: 'Terminated',
    6: 'ContinuedAsNew',
    7: 'TimedOut',
  };
  return names[status] ?? 'Unspecified';
}

function remainingMs(call: grpc.ServerUnaryCall<unknown, unknown> | undefined): number {
  const deadline = call?.getDeadline?.();
  if (deadline === undefined || deadline === Infinity) return MAX_POLL_WAIT_MS + POLL_DEADLINE_MARGIN_MS;
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (!Number.isFinite(at)) return MAX_POLL_WAIT_MS + POLL_DEADLINE_MARGIN_MS;
  return at - Date.now();
}

/** A run id as Temporal's frontend accepts it (a UUID, with or without its dashes). */
const RUN_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

function encodeHistoryToken(runId: string, next: number): Uint8Array {
  return Buffer.from(JSON.stringify({ r: runId, n: next }));
}

function decodeHistoryToken(token: Uint8Array | null | undefined): { runId: string; next: number } | undefined {
  if (!token || token.length === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token).toString('utf8')) as { r: unknown; n: unknown };
    if (typeof parsed.r === 'string' && typeof parsed.n === 'number' && parsed.n >= 1) return { runId: parsed.r, next: parsed.n };
  } catch {
    /* fall through */
  }
  throw invalidArgument('Invalid NextPageToken.');
}

export { int };
