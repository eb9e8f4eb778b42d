/**
 * Workflow tasks: scheduling, dispatch, completion (commands, protocol messages, buffered events, the next task),
 * failure and start-to-close timeout with transient attempts, speculative tasks for updates; user timers; and
 * queries, attached to a workflow task or sent as legacy query tasks.
 *
 * Sticky queues, as Temporal's server runs them: a worker that completes a task names its own sticky queue
 * (`sticky_attributes`), and the run's next tasks go there — written `Sticky` in WorkflowTaskScheduled — with only
 * the events since the last task it completed (the worker has the rest in its cache). A sticky task not started
 * within the worker's schedule-to-start timeout times out (`SCHEDULE_TO_START`, the attempt not counted) and goes
 * to the normal queue with full history; so does one whose sticky queue nobody polled for 10 s, or whose worker
 * said it is shutting down (`ShutdownWorker`), or after `ResetStickyTaskQueue`. A task that fails or times out on
 * a sticky queue clears it and is tried again on the normal queue before any transient attempt.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { deadlineExceeded, failedPrecondition, invalidArgument, notFound, queryFailed } from '../errors';
import { EventType, temporal, type HistoryEvent, type IFailure } from '../proto';
import { duration, durationMs, long, timestamp } from '../util/time';
import {
  applyCommand,
  causeName,
  isCloseCommand,
  validateCommands,
  type CommandContext,
  type CommandProblem,
} from './commands';
import type { EngineContext } from './context';
import type { Req, Res } from './types';
import { Run, int, makeEvent, type TimerInfo, type WorkflowTaskInfo, type WorkflowTaskKind } from './run';
import { decodeToken, encodeToken } from './tokens';

const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const TaskQueueKind = temporal.api.enums.v1.TaskQueueKind;
const SuggestReason = temporal.api.enums.v1.SuggestContinueAsNewReason;
const QueryRejectCondition = temporal.api.enums.v1.QueryRejectCondition;
const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

type PollResponse = Res<'PollWorkflowTaskQueueResponse'>;

interface PendingQuery {
  id: string;
  run: Run;
  query: temporal.api.query.v1.IWorkflowQuery;
  /** waiting: for the next workflow task; attached: riding a started task; queued/dispatched: a legacy query task. */
  state: 'waiting' | 'attached' | 'queued' | 'dispatched' | 'done';
  settle(outcome: {
    answer?: temporal.api.common.v1.IPayloads | null;
    error?: { message: string; failure?: IFailure | null };
  }): void;
}

export type WorkflowQueueTask =
  | { kind: 'wft'; run: Run; scheduledEventId: number; attempt: number; queue: string }
  | { kind: 'query'; query: PendingQuery };

/** A sticky queue not polled for this long is taken as gone (srv matching's stickyPollerUnavailableWindow). */
const STICKY_POLLER_UNAVAILABLE_MS = 10_000;
/** How long a sticky queue's last poll or shutdown is remembered (a forgotten one is simply unavailable). */
const STICKY_QUEUE_MEMORY_MS = 10 * 60_000;
/** The schedule-to-start timeout of a sticky queue whose worker named none. */
const DEFAULT_STICKY_SCHEDULE_TO_START_MS = 5_000;

/** How long a query waits for a worker when the caller set no deadline. */
const DEFAULT_QUERY_TIMEOUT_MS = 60_000;

export class WorkflowTasks {
  private readonly queries = new Map<string, PendingQuery>();
  /** Sticky queues: when each was last polled; those whose workers said they are shutting down. */
  private readonly stickyPolls = new Map<string, number>();
  private readonly stickyShutDown = new Map<string, number>();
  private stickyPollCount = 0;
  private stampCounter = Math.floor(Math.random() * 1e9);

  constructor(private readonly engine: EngineContext) {}

  // ---- scheduling -------------------------------------------------------------------------------------------

  /**
   * Makes sure a workflow task will see the run's new events: schedules one unless one is already scheduled
   * or started (a started task's completion schedules the next one if events were buffered meanwhile).
   * `speculative` asks for a task that only carries updates and leaves no trace if they are rejected; `inline`
   * says the completing worker takes it in its answer (`return_new_workflow_task`), sticky or not.
   */
  schedule(run: Run, speculative = false, inline = false): void {
    if (!run.isOpen || run.wft) return;
    const now = this.engine.now();
    if (run.lastCompletedWftStartedId === 0 && run.executionTime > now) return; // start delay still running
    const attempt = run.wftAttempt;
    const kind: WorkflowTaskKind = attempt > 1 ? 'transient' : speculative ? 'speculative' : 'normal';
    const wft: WorkflowTaskInfo = {
      scheduledEventId: run.nextEventId,
      attempt,
      kind,
      scheduledTime: now,
      originalScheduledTime: now,
      taskQueue: run.stickyTaskQueue || run.taskQueue,
      startToCloseMs: run.workflowTaskTimeoutMs,
    };
    if (kind === 'normal') {
      const ev = run.addEvent(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        this.scheduledAttributes(run, attempt, wft.taskQueue),
      );
      wft.scheduledEventId = int(ev.eventId);
    }
    run.wft = wft;
    // srv matching refuses a task for a sticky queue nobody polls (StickyWorkerUnavailable): the task goes to the
    // normal queue, its Scheduled event as written.
    if (wft.taskQueue !== run.taskQueue && !inline && !this.stickyAvailable(run.namespace, wft.taskQueue)) {
      this.clearSticky(run);
      wft.taskQueue = run.taskQueue;
    }
    run.touch();
    this.enqueue(run);
  }

  private scheduledAttributes(run: Run, attempt: number, queue: string) {
    return {
      taskQueue:
        queue === run.taskQueue
          ? { name: run.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL }
          : { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: run.taskQueue },
      startToCloseTimeout: duration(run.workflowTaskTimeoutMs),
      attempt,
    };
  }

  private enqueue(run: Run): void {
    const wft = run.wft!;
    this.engine.workflowQueues.add(run.namespace, wft.taskQueue, {
      kind: 'wft',
      run,
      scheduledEventId: wft.scheduledEventId,
      attempt: wft.attempt,
      queue: wft.taskQueue,
    });
    if (wft.taskQueue !== run.taskQueue) {
      const { scheduledEventId, attempt } = wft;
      this.engine.timers.set(`wft-sticky:${run.runId}`, this.engine.now() + run.stickyScheduleToStartMs, () =>
        this.stickyTimedOut(run, scheduledEventId, attempt),
      );
    }
  }

  // ---- sticky queues ----------------------------------------------------------------------------------------

  /** A poll of a sticky queue: its worker is there (and a queue said shut down is revived, as on srv). */
  stickyPolled(namespace: string, queue: string): void {
    const key = `${namespace}\u0000${queue}`;
    this.stickyPolls.set(key, this.engine.now());
    this.stickyShutDown.delete(key);
    if (++this.stickyPollCount % 10_000 === 0) this.forgetStickyQueues();
  }

  /** Sticky queues are named per worker: those not polled (or shut down) for long are forgotten. */
  private forgetStickyQueues(): void {
    const before = this.engine.now() - STICKY_QUEUE_MEMORY_MS;
    for (const [key, at] of this.stickyPolls) if (at < before) this.stickyPolls.delete(key);
    for (const [key, at] of this.stickyShutDown) if (at < before) this.stickyShutDown.delete(key);
  }

  private stickyAvailable(namespace: string, queue: string): boolean {
    const key = `${namespace}\u0000${queue}`;
    if (this.stickyShutDown.has(key)) return false;
    if (this.engine.workflowQueues.pollerCount(namespace, queue) > 0) return true;
    return this.engine.now() - (this.stickyPolls.get(key) ?? -Infinity) <= STICKY_POLLER_UNAVAILABLE_MS;
  }

  private clearSticky(run: Run): void {
    if (!run.stickyTaskQueue) return;
    run.stickyTaskQueue = '';
    run.stickyScheduleToStartMs = 0;
    run.touch();
  }

  /** A task still waiting on a sticky queue goes to the normal queue now (no event: it was never started). */
  private moveToNormalQueue(run: Run): void {
    this.clearSticky(run);
    const wft = run.wft;
    if (!run.isOpen || !wft || wft.started || wft.taskQueue === run.taskQueue) return;
    this.engine.timers.clear(`wft-sticky:${run.runId}`);
    wft.taskQueue = run.taskQueue;
    this.enqueue(run);
  }

  /** The sticky task was not started in time: WorkflowTaskTimedOut (SCHEDULE_TO_START), then the normal queue. */
  private stickyTimedOut(run: Run, scheduledEventId: number, attempt: number): void {
    const wft = run.wft;
    if (!run.isOpen || !wft || wft.started || wft.scheduledEventId !== scheduledEventId || wft.attempt !== attempt)
      return;
    if (wft.taskQueue === run.taskQueue) return;
    if (wft.kind !== 'normal') {
      this.moveToNormalQueue(run);
      return;
    }
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: 0,
      timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
    this.clearSticky(run);
    this.retryTask(run, false); // srv: a sticky schedule-to-start timeout is not an attempt
    void this.engine.persistence.barrier().catch(() => undefined);
  }

  /** ResetStickyTaskQueue: the run's next task goes to the normal queue, with full history. */
  async resetSticky(req: Req<'ResetStickyTaskQueueRequest'>): Promise<Res<'ResetStickyTaskQueueResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const run = this.engine.runs.open(ns.name, req.execution);
    this.moveToNormalQueue(run);
    await this.engine.persistence.barrier();
    return {};
  }

  /**
   * ShutdownWorker: the worker's waiting polls answer (empty) at once; its sticky queue is gone until polled again:
   * its runs' next tasks go to the normal queue, and (sooner than srv, where they wait for their schedule-to-start
   * timeout) so do the tasks waiting on it.
   */
  async workerShutdown(req: Req<'ShutdownWorkerRequest'>): Promise<Res<'ShutdownWorkerResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    if (req.workerInstanceKey) this.engine.polls.completeWorkerPolls(req.workerInstanceKey);
    const queue = req.stickyTaskQueue ?? '';
    if (queue) {
      this.stickyShutDown.set(`${ns.name}\u0000${queue}`, this.engine.now());
      this.forgetStickyQueues();
      this.stickyPolls.delete(`${ns.name}\u0000${queue}`);
      for (const run of this.engine.runs.inNamespace(ns.name))
        if (run.isOpen && run.stickyTaskQueue === queue) this.moveToNormalQueue(run);
    }
    await this.engine.persistence.barrier();
    return {};
  }

  /** After a restart: a scheduled task is queued again; a started one keeps its timeout. */
  rearm(run: Run): void {
    const wft = run.wft;
    if (!wft) return;
    if (wft.started) this.armTimeout(run, wft);
    else this.enqueue(run);
  }

  // ---- dispatch ---------------------------------------------------------------------------------------------

  tryStart(task: WorkflowQueueTask, identity: string): PollResponse | undefined {
    if (task.kind === 'query') return this.startLegacyQuery(task.query);
    const { run } = task;
    const wft = run.wft;
    if (
      !run.isOpen ||
      !wft ||
      wft.started ||
      wft.scheduledEventId !== task.scheduledEventId ||
      wft.attempt !== task.attempt ||
      wft.taskQueue !== task.queue // moved from a sticky queue to the normal one
    ) {
      return undefined;
    }
    return this.start(run, identity);
  }

  /** Starts the run's scheduled workflow task and builds the poll response (full history). */
  start(run: Run, identity: string): PollResponse {
    const wft = run.wft!;
    const now = this.engine.now();
    if (wft.kind !== 'normal' && wft.scheduledEventId !== run.nextEventId) {
      // New events arrived since the retry or speculative task was scheduled: it becomes a normal task
      // (srv workflow_task_state_machine AddWorkflowTaskStartedEvent).
      wft.kind = 'normal';
      wft.attempt = 1;
      run.wftAttempt = 1;
      wft.scheduledTime = now;
      const ev = run.addEvent(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        this.scheduledAttributes(run, 1, wft.taskQueue),
      );
      wft.scheduledEventId = int(ev.eventId);
    }
    this.engine.timers.clear(`wft-sticky:${run.runId}`);
    const limits = this.engine.limits;
    const reasons: number[] = [];
    if (run.historySizeBytes >= limits.historySizeSuggestContinueAsNew)
      reasons.push(SuggestReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE);
    if (run.nextEventId >= limits.historyCountSuggestContinueAsNew)
      reasons.push(SuggestReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS);
    const requestId = randomUUID();
    const startedAttrs = this.startedAttributes(
      wft.scheduledEventId,
      identity,
      requestId,
      reasons,
      run.historySizeBytes,
    );
    let startedEventId = wft.scheduledEventId + 1;
    if (wft.kind === 'normal')
      startedEventId = int(run.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, startedAttrs, now).eventId);
    const stamp = ++this.stampCounter;
    wft.started = {
      eventId: startedEventId,
      time: now,
      identity,
      requestId,
      stamp,
      historySizeBytes: run.historySizeBytes,
      suggestContinueAsNew: reasons.length > 0,
      suggestReasons: reasons,
    };
    run.touch();
    this.armTimeout(run, wft);

    // On its sticky queue the worker has the run cached: only the events since the task it last completed.
    const sticky = wft.taskQueue !== run.taskQueue;
    const events: HistoryEvent[] = run.events.slice(sticky ? run.lastCompletedWftStartedId : 0);
    if (wft.kind !== 'normal') {
      // Not in history yet: the poll response carries the task's own events as synthetic ones.
      const scheduled = makeEvent(
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        this.scheduledAttributes(run, wft.attempt, wft.taskQueue),
        wft.scheduledTime,
      );
      scheduled.eventId = long(wft.scheduledEventId);
      const started = makeEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, startedAttrs, now);
      started.eventId = long(startedEventId);
      events.push(scheduled, started);
    }
    const queries: Record<string, temporal.api.query.v1.IWorkflowQuery> = {};
    for (const q of this.queriesOf(run)) {
      if (q.state !== 'waiting') continue;
      q.state = 'attached';
      queries[q.id] = q.query;
    }
    return {
      taskToken: encodeToken({ t: 'w', r: run.runId, s: wft.scheduledEventId, a: wft.attempt, x: stamp }),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.workflowType },
      previousStartedEventId: long(run.lastCompletedWftStartedId),
      startedEventId: long(startedEventId),
      attempt: wft.attempt,
      backlogCountHint: long(0),
      history: { events },
      workflowExecutionTaskQueue: { name: run.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(wft.scheduledTime),
      startedTime: timestamp(now),
      queries,
      messages: this.engine.updates.deliver(run, startedEventId, stamp),
    };
  }

  private startedAttributes(
    scheduledEventId: number,
    identity: string,
    requestId: string,
    reasons: number[],
    historySizeBytes: number,
  ) {
    return {
      scheduledEventId,
      identity,
      requestId,
      suggestContinueAsNew: reasons.length > 0,
      suggestContinueAsNewReasons: reasons,
      historySizeBytes,
    };
  }

  /** Writes the Scheduled and Started events of a transient or speculative task, making it a normal one. */
  private materialize(run: Run, wft: WorkflowTaskInfo): void {
    if (wft.kind === 'normal') return;
    const s = wft.started!;
    run.addEvent(
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      this.scheduledAttributes(run, wft.attempt, wft.taskQueue),
      wft.scheduledTime,
    );
    run.addEvent(
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      this.startedAttributes(wft.scheduledEventId, s.identity, s.requestId, s.suggestReasons, s.historySizeBytes),
      s.time,
    );
    wft.kind = 'normal';
  }

  private armTimeout(run: Run, wft: WorkflowTaskInfo): void {
    const started = wft.started!;
    this.engine.timers.set(`wft:${run.runId}`, started.time + wft.startToCloseMs, () =>
      this.timedOut(run, started.stamp),
    );
  }

  // ---- completion -------------------------------------------------------------------------------------------

  private startedTask(token: Uint8Array | null | undefined): { run: Run; wft: WorkflowTaskInfo } {
    const t = decodeToken(token);
    if (t.t !== 'w') throw invalidArgument('Task token is not a workflow task token.');
    const run = this.engine.runs.byId(t.r);
    const wft = run?.wft;
    if (!run || !run.isOpen || !wft?.started || wft.started.stamp !== t.x || wft.scheduledEventId !== t.s) {
      throw notFound('Workflow task not found.');
    }
    return { run, wft };
  }

  async complete(
    req: Req<'RespondWorkflowTaskCompletedRequest'>,
  ): Promise<Res<'RespondWorkflowTaskCompletedResponse'>> {
    const { run, wft } = this.startedTask(req.taskToken);
    const identity = req.identity ?? '';
    const commands = req.commands ?? [];
    const messages = req.messages ?? [];
    const heartbeat = !!req.forceCreateNewWorkflowTask;
    const stamp = wft.started!.stamp;

    const problem =
      validateCommands(this.engine, run, commands, messages) ??
      (commands.some(isCloseCommand) && (run.buffered.length > 0 || this.engine.updates.hasUndelivered(run))
        ? { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, message: '' }
        : undefined);
    if (problem) return this.refuseCompletion(run, wft, problem, identity);

    if (wft.kind === 'speculative' && this.canDrop(run, wft, commands.length, messages, heartbeat)) {
      // Only rejected updates: the task leaves no trace in history (srv skipWorkflowTaskCompletedEvent).
      for (const m of messages) this.engine.updates.apply(run, m);
      this.answerAttachedQueries(run, req.queryResults ?? {});
      run.wft = null;
      this.engine.timers.clear(`wft:${run.runId}`);
      this.engine.updates.rejectUnprocessed(run, stamp);
      return this.finishCompletion(run, req, identity, {
        flushed: 0,
        needsTask: false,
        resetHistoryEventId: run.lastCompletedWftStartedId,
      });
    }

    this.materialize(run, wft);
    const completed = run.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.started!.eventId,
      identity,
      binaryChecksum: req.binaryChecksum ?? '',
      sdkMetadata: req.sdkMetadata ?? null,
      meteringMetadata: req.meteringMetadata ?? null,
      workerVersion: req.workerVersionStamp ?? null,
    });
    run.lastCompletedWftStartedId = wft.started!.eventId;
    run.wft = null;
    run.wftAttempt = 1;
    this.engine.timers.clear(`wft:${run.runId}`);
    // The worker's sticky queue, if it keeps the run cached (srv: a completion without one clears it).
    const sticky = req.stickyAttributes?.workerTaskQueue?.name ?? '';
    run.stickyTaskQueue = sticky;
    run.stickyScheduleToStartMs = sticky
      ? durationMs(req.stickyAttributes?.scheduleToStartTimeout) || DEFAULT_STICKY_SCHEDULE_TO_START_MS
      : 0;

    const ctx: CommandContext = {
      completedEventId: int(completed.eventId),
      identity,
      needsWorkflowTask: false,
      messages: new Map(messages.map((m) => [m.id!, m])),
      postActions: [],
    };
    for (const command of commands) applyCommand(this.engine, run, command, ctx);
    for (const m of ctx.messages.values()) this.engine.updates.apply(run, m);
    if (!heartbeat) this.engine.updates.rejectUnprocessed(run, stamp);

    this.answerAttachedQueries(run, req.queryResults ?? {});
    const flushed = run.isOpen ? this.flush(run) : 0;
    return this.finishCompletion(run, req, identity, {
      flushed,
      needsTask: ctx.needsWorkflowTask || heartbeat,
      postActions: ctx.postActions,
    });
  }

  /** The common tail of a completion: the next task, follow-up actions, limits, and the inline task. */
  private async finishCompletion(
    run: Run,
    req: Req<'RespondWorkflowTaskCompletedRequest'>,
    identity: string,
    o: { flushed: number; needsTask: boolean; postActions?: (() => void)[]; resetHistoryEventId?: number },
  ): Promise<Res<'RespondWorkflowTaskCompletedResponse'>> {
    if (run.isOpen) {
      if (o.flushed > 0 || o.needsTask) this.schedule(run, false, !!req.returnNewWorkflowTask);
      else if (this.engine.updates.hasUndelivered(run)) this.schedule(run, true);
    }
    // Children, external signals and cancels start after the completion is written, as the real server's
    // transfer tasks do; their results arrive as new events.
    for (const action of o.postActions ?? []) action();
    this.releaseWaitingQueries(run);
    this.engine.executions.enforceHistoryLimits(run);

    let workflowTask: PollResponse | null = null;
    const next = run.wft; // reassigned by schedule() above
    if (req.returnNewWorkflowTask && run.isOpen && next && !next.started) {
      workflowTask = this.start(run, identity);
    }
    run.touch();
    await this.engine.persistence.barrier();
    return { workflowTask, activityTasks: [], resetHistoryEventId: long(o.resetHistoryEventId ?? 0) };
  }

  /** A speculative task that changed nothing and only rejected updates can vanish. */
  private canDrop(
    run: Run,
    wft: WorkflowTaskInfo,
    commandCount: number,
    messages: temporal.api.protocol.v1.IMessage[],
    heartbeat: boolean,
  ): boolean {
    return (
      commandCount === 0 &&
      !heartbeat &&
      run.buffered.length === 0 &&
      run.nextEventId === wft.scheduledEventId &&
      messages.every((m) => this.engine.updates.isRejection(m))
    );
  }

  /**
   * A completion the server refuses. On a retried (transient) task it is simply dropped and the task times out,
   * as on the real server; otherwise the task fails (and, for an oversized payload, the run is terminated).
   */
  private async refuseCompletion(
    run: Run,
    wft: WorkflowTaskInfo,
    problem: CommandProblem,
    identity: string,
  ): Promise<never> {
    const message = problem.message ? `${causeName(problem.cause)}: ${problem.message}` : causeName(problem.cause);
    const unhandled = problem.cause === Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
    if (wft.attempt > 1 && !unhandled) throw invalidArgument(message);
    const failure: IFailure = { message, source: 'Server', serverFailureInfo: { nonRetryable: false } };
    if (problem.terminate) {
      // srv terminateWorkflow: WorkflowTaskFailed, the buffered events, then Terminated; no new task.
      this.writeFailed(run, wft, problem.cause, failure, identity);
      run.wft = null;
      this.engine.timers.clear(`wft:${run.runId}`);
      this.engine.executions.terminateRun(run, message, null, 'history-service');
    } else {
      this.failTask(run, wft, problem.cause, failure, identity, !unhandled);
    }
    await this.engine.persistence.barrier();
    throw invalidArgument(message);
  }

  /** Writes the buffered events and forgets timers whose TimerFired was among them. */
  flush(run: Run): number {
    const n = run.flushBuffered();
    if (n > 0) {
      for (const t of [...run.timers.values()]) if (t.firedBuffered) run.timers.delete(t.timerId);
    }
    return n;
  }

  async fail(req: Req<'RespondWorkflowTaskFailedRequest'>): Promise<Res<'RespondWorkflowTaskFailedResponse'>> {
    const { run, wft } = this.startedTask(req.taskToken);
    const cause = req.cause || Cause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED;
    this.failTask(
      run,
      wft,
      cause,
      req.failure ?? null,
      req.identity ?? '',
      cause !== Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    );
    await this.engine.persistence.barrier();
    return {};
  }

  /**
   * WorkflowTaskFailed (not written for a transient attempt), then the buffered events, then the retry:
   * transient with attempt + 1, or a normal task when the attempt is not incremented.
   */
  private failTask(
    run: Run,
    wft: WorkflowTaskInfo,
    cause: number,
    failure: IFailure | null,
    identity: string,
    incrementAttempt: boolean,
  ): void {
    this.writeFailed(run, wft, cause, failure, identity);
    this.retryTask(run, incrementAttempt);
  }

  /** WorkflowTaskFailed: a speculative task's own events are written first; a transient one writes nothing. */
  private writeFailed(
    run: Run,
    wft: WorkflowTaskInfo,
    cause: number,
    failure: IFailure | null,
    identity: string,
  ): void {
    if (wft.kind === 'speculative') this.materialize(run, wft);
    if (wft.kind !== 'normal') return;
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.started!.eventId,
      cause,
      failure,
      identity,
    });
  }

  /** The run is being closed by the server: a started task fails with FORCE_CLOSE_COMMAND; buffered events are written. */
  forceClose(run: Run): void {
    const wft = run.wft;
    if (wft?.started) {
      this.writeFailed(run, wft, Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND, null, 'history-service');
    }
    run.wft = null;
    this.engine.timers.clear(`wft:${run.runId}`);
    this.flush(run);
  }

  private timedOut(run: Run, stamp: number): void {
    const wft = run.wft;
    if (!run.isOpen || !wft?.started || wft.started.stamp !== stamp) return;
    if (wft.kind === 'speculative') this.materialize(run, wft);
    if (wft.kind === 'normal') {
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.started.eventId,
        timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
    }
    this.engine.log.warn(
      { workflowId: run.workflowId, runId: run.runId, attempt: wft.attempt },
      'workflow task timed out',
    );
    this.retryTask(run, true);
    void this.engine.persistence.barrier().catch(() => undefined);
  }

  private retryTask(run: Run, incrementAttempt: boolean): void {
    // srv failWorkflowTask: a task that failed on a sticky queue is tried again on the normal one first, its
    // attempt not counted.
    if (run.stickyTaskQueue) {
      incrementAttempt = false;
      this.clearSticky(run);
    }
    run.wftAttempt = incrementAttempt ? run.wftAttempt + 1 : 1;
    run.wft = null;
    this.engine.timers.clear(`wft:${run.runId}`);
    for (const q of this.queriesOf(run)) if (q.state === 'attached') q.state = 'waiting';
    this.engine.updates.onTaskFailed(run);
    this.flush(run);
    this.schedule(run);
    run.touch();
  }

  // ---- user timers ------------------------------------------------------------------------------------------

  armUserTimer(run: Run, timer: TimerInfo): void {
    this.engine.timers.set(`timer:${run.runId}:${timer.timerId}`, timer.fireTime, () => this.fireUserTimer(run, timer));
  }

  private fireUserTimer(run: Run, timer: TimerInfo): void {
    if (!run.isOpen || run.timers.get(timer.timerId) !== timer) return;
    run.addOrBufferEvent(EventType.EVENT_TYPE_TIMER_FIRED, {
      timerId: timer.timerId,
      startedEventId: timer.startedEventId,
    });
    if (run.wftInFlight) timer.firedBuffered = true;
    else run.timers.delete(timer.timerId);
    this.schedule(run);
    run.touch();
    void this.engine.persistence.barrier().catch(() => undefined);
  }

  // ---- queries ----------------------------------------------------------------------------------------------

  private queriesOf(run: Run): PendingQuery[] {
    const out: PendingQuery[] = [];
    for (const q of this.queries.values()) if (q.run === run) out.push(q);
    return out;
  }

  /** Queries a worker still owes an answer: they keep time from skipping ahead. */
  hasOutstandingQueries(): boolean {
    return this.queries.size > 0;
  }

  async query(
    req: Req<'QueryWorkflowRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'QueryWorkflowResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.query?.queryType) throw invalidArgument('QueryType is not set on request.');
    const run = this.engine.runs.resolve(ns.name, req.execution);
    await this.engine.persistence.barrier();
    const condition = req.queryRejectCondition ?? 0;
    if (!run.isOpen) {
      const rejected =
        condition === QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN ||
        (condition === QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY &&
          run.status !== ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
      if (rejected) return { queryRejected: { status: run.status } };
    } else if (!run.wft && run.lastCompletedWftStartedId === 0) {
      throw failedPrecondition('Workflow task is not scheduled yet.');
    }

    return new Promise((resolve, reject) => {
      const id = randomUUID();
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        call?.removeListener('cancelled', onCancel);
        this.queries.delete(id);
        pending.state = 'done';
      };
      const onCancel = () => {
        finish();
        reject(deadlineExceeded('Query was cancelled or timed out.'));
      };
      const pending: PendingQuery = {
        id,
        run,
        query: req.query!,
        state: 'waiting',
        settle: (outcome) => {
          if (pending.state === 'done') return;
          finish();
          if (outcome.error) reject(queryFailed(outcome.error.message, outcome.error.failure ?? undefined));
          else resolve({ queryResult: outcome.answer ?? null });
        },
      };
      this.queries.set(id, pending);
      const deadline = call?.getDeadline?.();
      const at = deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' ? deadline : Infinity;
      const wait = Number.isFinite(at) ? at - Date.now() : DEFAULT_QUERY_TIMEOUT_MS;
      timer = setTimeout(onCancel, Math.max(0, wait));
      call?.on('cancelled', onCancel);
      // With no workflow task pending, the query goes straight to a worker; otherwise it rides the next one.
      if (!run.isOpen || !run.wft) this.dispatchLegacy(pending);
    });
  }

  private dispatchLegacy(q: PendingQuery): void {
    q.state = 'queued';
    this.engine.workflowQueues.add(q.run.namespace, q.run.taskQueue, { kind: 'query', query: q });
  }

  private startLegacyQuery(q: PendingQuery): PollResponse | undefined {
    if (q.state !== 'queued') return undefined;
    q.state = 'dispatched';
    const run = q.run;
    const now = this.engine.now();
    return {
      taskToken: encodeToken({ t: 'q', id: q.id }),
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowType: { name: run.workflowType },
      previousStartedEventId: long(run.lastCompletedWftStartedId),
      startedEventId: long(0),
      attempt: 1,
      history: { events: run.events.slice() },
      query: q.query,
      workflowExecutionTaskQueue: { name: run.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(now),
      startedTime: timestamp(now),
      queries: {},
      messages: [],
    };
  }

  async respondQuery(req: Req<'RespondQueryTaskCompletedRequest'>): Promise<Res<'RespondQueryTaskCompletedResponse'>> {
    const t = decodeToken(req.taskToken);
    if (t.t !== 'q') throw invalidArgument('Task token is not a query task token.');
    const q = this.queries.get(t.id);
    if (!q || q.state !== 'dispatched') throw notFound('Query task not found, or it already timed out.');
    const answered = req.completedType === temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED;
    q.settle(
      answered ? { answer: req.queryResult } : { error: { message: req.errorMessage ?? '', failure: req.failure } },
    );
    return {};
  }

  private answerAttachedQueries(run: Run, results: Record<string, temporal.api.query.v1.IWorkflowQueryResult>): void {
    for (const q of this.queriesOf(run)) {
      if (q.state !== 'attached') continue;
      const result = results[q.id];
      if (!result) {
        q.state = 'waiting';
        continue;
      }
      const answered = result.resultType === temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED;
      q.settle(
        answered
          ? { answer: result.answer }
          : { error: { message: result.errorMessage ?? '', failure: result.failure } },
      );
    }
  }

  /** Queries still waiting go to a worker directly when no new workflow task will carry them. */
  private releaseWaitingQueries(run: Run): void {
    if (run.isOpen && run.wft) return;
    for (const q of this.queriesOf(run)) if (q.state === 'waiting') this.dispatchLegacy(q);
  }

  onRunClosed(run: Run): void {
    for (const q of this.queriesOf(run)) if (q.state === 'waiting' || q.state === 'attached') this.dispatchLegacy(q);
  }
}
