/**
 * The engine: every namespace and workflow run in memory, the task queues, the deadlines, and group commit to
 * the store. It builds its parts (each in a module of its own, each seeing the others through `EngineContext`),
 * loads and stops them, and answers each RPC by delegating to the part that owns it. Each change is made
 * synchronously (so no locks are needed) and an RPC resolves only after its changes are durable.
 */
import type * as grpc from '@grpc/grpc-js';
import { HistoryEventCodec, temporal, type HistoryEvent } from '../proto';
import type { Store } from '../store/store';
import { Activities, type ActivityQueueTask } from './activities';
import { Children } from './children';
import type { EngineContext } from './context';
import { Executions } from './executions';
import { type Limits, DEFAULT_LIMITS } from './limits';
import { Listing } from './listing';
import { TaskQueues } from './matching';
import { Namespaces } from './namespaces';
import { Persistence } from './persistence';
import { Polls } from './polls';
import { Reads } from './reads';
import { Run, type RunSnapshot } from './run';
import { Schedules } from './schedules';
import { RunIndex } from './run-index';
import type { SearchAttributeType } from './search-attributes';
import { type Clock, TimerService, systemClock } from './timers';
import { TimeSkipping, VirtualClock } from './time-skipping';
import { silentLogger, type Logger, type Req, type Res } from './types';
import { Updates } from './updates';
import { WorkflowTasks, type WorkflowQueueTask } from './workflow-tasks';

export { silentLogger, type Logger, type Req, type Res } from './types';

type Call = grpc.ServerUnaryCall<unknown, unknown>;

export interface EngineOptions {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** Namespaces to create at start (besides `default`). */
  namespaces?: string[];
  /** Custom search attributes registered on the start-up namespaces. */
  searchAttributes?: Record<string, SearchAttributeType>;
  limits?: Partial<Limits>;
  /** A virtual clock that jumps to the next deadline when nothing is outstanding (Temporal's test server). */
  timeSkipping?: boolean;
  /** Called when the store fails: the server must stop. */
  onFatal?: (err: Error) => void;
}

export class Engine implements EngineContext {
  readonly clock: Clock;
  readonly timers: TimerService;
  readonly persistence: Persistence;
  readonly log: Logger;
  readonly limits: Limits;
  readonly namespaces: Namespaces;
  readonly runs = new RunIndex();
  readonly polls: Polls;
  readonly workflowQueues: TaskQueues<WorkflowQueueTask, Res<'PollWorkflowTaskQueueResponse'>>;
  readonly activityQueues: TaskQueues<ActivityQueueTask, Res<'PollActivityTaskQueueResponse'>>;
  readonly executions: Executions;
  readonly workflowTasks: WorkflowTasks;
  readonly activities: Activities;
  readonly updates: Updates;
  readonly children: Children;
  readonly schedules: Schedules;
  readonly reads: Reads;
  readonly listing: Listing;
  readonly timeSkipping?: TimeSkipping;

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
    this.namespaces = new Namespaces(this.persistence);
    this.polls = new Polls(this);
    this.executions = new Executions(this);
    this.workflowTasks = new WorkflowTasks(this);
    this.activities = new Activities(this);
    this.updates = new Updates(this);
    this.children = new Children(this);
    this.schedules = new Schedules(this);
    this.reads = new Reads(this);
    this.listing = new Listing(this);
    this.workflowQueues = new TaskQueues((task, identity) => this.workflowTasks.tryStart(task, identity));
    this.activityQueues = new TaskQueues((task, identity) => this.activities.tryStart(task, identity));
  }

  // ---- RunHost: what a run asks of the engine as it changes -------------------------------------------------

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
      this.executions.enforceHistoryLimits(run);
    });
  }

  historyChanged(run: Run): void {
    this.polls.notify(`history:${run.runId}`);
  }

  // ---- lifecycle --------------------------------------------------------------------------------------------

  /** Loads the store, creates the start-up namespaces, and re-arms every task and deadline. */
  async start(): Promise<void> {
    const loaded = await this.options.store.load();
    this.namespaces.load(loaded.namespaces);
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
    for (const run of restored) this.runs.add(run);
    this.namespaces.ensure(this.options.namespaces ?? [], this.options.searchAttributes);
    for (const run of restored) if (run.isOpen) this.rearm(run);
    this.schedules.load(loaded.schedules);
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
    for (const run of this.runs.all()) {
      if (!run.isOpen) continue;
      if (run.wft) return true;
      for (const a of run.activities.values()) if (a.state !== 'backoff') return true;
    }
    return false;
  }

  async stop(): Promise<void> {
    // Everything up to the barrier happens synchronously, before any RPC can run again: the RPC layer refuses new
    // calls (isStopped) and the polls, stopped here too, answer the waiting ones.
    this.stopped = true;
    this.timeSkipping?.stop();
    this.timers.stop();
    this.workflowQueues.releaseAll();
    this.activityQueues.releaseAll();
    this.polls.stop();
    await this.persistence.barrier().catch(() => undefined);
  }

  isStopped(): boolean {
    return this.stopped;
  }

  /** After a restart: tasks go back to their queues and every deadline is set again. */
  private rearm(run: Run): void {
    this.workflowTasks.rearm(run);
    this.activities.rearm(run);
    for (const timer of run.timers.values()) {
      if (!timer.firedBuffered) this.workflowTasks.armUserTimer(run, timer);
    }
    this.executions.armRunDeadlines(run);
  }

  // ---- WorkflowService: one method per RPC ------------------------------------------------------------------

  describeNamespace = (req: Req<'DescribeNamespaceRequest'>) => this.namespaces.describe(req);
  listNamespaces = (req: Req<'ListNamespacesRequest'>) => this.namespaces.listPage(req);
  registerNamespace = (req: Req<'RegisterNamespaceRequest'>) => this.namespaces.register(req);
  getSearchAttributes = () => this.namespaces.searchAttributeKeys();

  startWorkflowExecution = (req: Req<'StartWorkflowExecutionRequest'>) => this.executions.start(req);
  signalWorkflowExecution = (req: Req<'SignalWorkflowExecutionRequest'>) => this.executions.signal(req);
  signalWithStartWorkflowExecution = (req: Req<'SignalWithStartWorkflowExecutionRequest'>) =>
    this.executions.signalWithStart(req);
  requestCancelWorkflowExecution = (req: Req<'RequestCancelWorkflowExecutionRequest'>) =>
    this.executions.requestCancel(req);
  terminateWorkflowExecution = (req: Req<'TerminateWorkflowExecutionRequest'>) => this.executions.terminate(req);

  updateWorkflowExecution = (req: Req<'UpdateWorkflowExecutionRequest'>, call?: Call) => this.updates.update(req, call);
  pollWorkflowExecutionUpdate = (req: Req<'PollWorkflowExecutionUpdateRequest'>, call?: Call) =>
    this.updates.poll(req, call);
  executeMultiOperation = (req: Req<'ExecuteMultiOperationRequest'>, call?: Call) =>
    this.updates.multiOperation(req, call);

  describeWorkflowExecution = (req: Req<'DescribeWorkflowExecutionRequest'>) => this.reads.describe(req);
  getWorkflowExecutionHistory = (req: Req<'GetWorkflowExecutionHistoryRequest'>, call?: Call) =>
    this.reads.history(req, call);
  listWorkflowExecutions = (req: Req<'ListWorkflowExecutionsRequest'>) => this.listing.list(req);
  scanWorkflowExecutions = (req: Req<'ScanWorkflowExecutionsRequest'>) => this.listing.list(req);
  countWorkflowExecutions = (req: Req<'CountWorkflowExecutionsRequest'>) => this.listing.count(req);

  pollWorkflowTaskQueue = (req: Req<'PollWorkflowTaskQueueRequest'>, call: Call) =>
    this.polls.pollWorkflowTaskQueue(req, call);
  respondWorkflowTaskCompleted = (req: Req<'RespondWorkflowTaskCompletedRequest'>) => this.workflowTasks.complete(req);
  respondWorkflowTaskFailed = (req: Req<'RespondWorkflowTaskFailedRequest'>) => this.workflowTasks.fail(req);
  queryWorkflow = (req: Req<'QueryWorkflowRequest'>, call?: Call) => this.workflowTasks.query(req, call);
  respondQueryTaskCompleted = (req: Req<'RespondQueryTaskCompletedRequest'>) => this.workflowTasks.respondQuery(req);

  pollActivityTaskQueue = (req: Req<'PollActivityTaskQueueRequest'>, call: Call) =>
    this.polls.pollActivityTaskQueue(req, call);
  respondActivityTaskCompleted = (req: Req<'RespondActivityTaskCompletedRequest'>) => this.activities.completed(req);
  respondActivityTaskCompletedById = (req: Req<'RespondActivityTaskCompletedByIdRequest'>) =>
    this.activities.completedById(req);
  respondActivityTaskFailed = (req: Req<'RespondActivityTaskFailedRequest'>) => this.activities.failed(req);
  respondActivityTaskFailedById = (req: Req<'RespondActivityTaskFailedByIdRequest'>) => this.activities.failedById(req);
  respondActivityTaskCanceled = (req: Req<'RespondActivityTaskCanceledRequest'>) => this.activities.canceled(req);
  respondActivityTaskCanceledById = (req: Req<'RespondActivityTaskCanceledByIdRequest'>) =>
    this.activities.canceledById(req);
  recordActivityTaskHeartbeat = (req: Req<'RecordActivityTaskHeartbeatRequest'>) => this.activities.heartbeat(req);
  recordActivityTaskHeartbeatById = (req: Req<'RecordActivityTaskHeartbeatByIdRequest'>) =>
    this.activities.heartbeatById(req);

  /** A worker says it is going: its sticky queue's runs go back to the normal queue. */
  shutdownWorker = (req: Req<'ShutdownWorkerRequest'>) => this.workflowTasks.workerShutdown(req);
  resetStickyTaskQueue = (req: Req<'ResetStickyTaskQueueRequest'>) => this.workflowTasks.resetSticky(req);

  createSchedule = (req: Req<'CreateScheduleRequest'>) => this.schedules.create(req);
  describeSchedule = (req: Req<'DescribeScheduleRequest'>) => this.schedules.describe(req);
  updateSchedule = (req: Req<'UpdateScheduleRequest'>) => this.schedules.update(req);
  patchSchedule = (req: Req<'PatchScheduleRequest'>) => this.schedules.patch(req);
  deleteSchedule = (req: Req<'DeleteScheduleRequest'>) => this.schedules.delete(req);
  listSchedules = (req: Req<'ListSchedulesRequest'>) => this.schedules.list(req);
  listScheduleMatchingTimes = (req: Req<'ListScheduleMatchingTimesRequest'>) => this.schedules.matchingTimes(req);

  // ---- OperatorService ---------------------------------------------------------------------------------------

  addSearchAttributes = (req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest) =>
    this.namespaces.operatorAdd(req);
  removeSearchAttributes = (req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest) =>
    this.namespaces.operatorRemove(req);
  listSearchAttributes = (req: temporal.api.operatorservice.v1.IListSearchAttributesRequest) =>
    this.namespaces.operatorList(req);
}
