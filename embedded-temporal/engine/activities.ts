/**
 * Activities: dispatch, completion, failure with server-side retries, cancellation, heartbeats and the four
 * timeouts. As on the real server, attempts and retries write no events: ActivityTaskStarted is written
 * lazily, just before the close event, with the real start time of the last attempt.
 */
import { randomUUID } from 'node:crypto';
import { invalidArgument, notFound } from '../errors';
import { EventType, temporal, type IFailure, type IPayloads } from '../proto';
import { duration, durationMs, long, timestamp } from '../util/time';
import type { EngineContext } from './context';
import type { Req, Res } from './types';
import { payloadsSize } from './limits';
import { normalizeRetryPolicy, nextRetry } from './retry';
import { FailureCodec, Run, int, type ActivityInfo } from './run';
import { decodeToken, encodeToken } from './tokens';

const TimeoutType = temporal.api.enums.v1.TimeoutType;
const RetryState = temporal.api.enums.v1.RetryState;
const PendingActivityState = temporal.api.enums.v1.PendingActivityState;

export interface ActivityQueueTask {
  run: Run;
  scheduledEventId: number;
  attempt: number;
}

type ScheduleAttributes = temporal.api.command.v1.IScheduleActivityTaskCommandAttributes;

/** A non-retryable failure written by the server itself (srv failure.NewServerFailure). */
function serverFailure(message: string): IFailure {
  return { message, source: 'Server', serverFailureInfo: { nonRetryable: true } };
}

const TIMEOUT_NAMES: Record<number, string> = {
  [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
  [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
};

export class Activities {
  constructor(private readonly engine: EngineContext) {}

  /**
   * Timeouts as srv's activity validator normalises them: schedule-to-start and start-to-close are capped
   * by (and default to) schedule-to-close, which defaults to the run timeout; heartbeat is capped by
   * start-to-close.
   */
  normalizeTimeouts(
    run: Run,
    s: ScheduleAttributes,
  ): { problem?: string; scheduleToClose: number; scheduleToStart: number; startToClose: number; heartbeat: number } {
    let scheduleToClose = durationMs(s.scheduleToCloseTimeout) ?? 0;
    let scheduleToStart = durationMs(s.scheduleToStartTimeout) ?? 0;
    let startToClose = durationMs(s.startToCloseTimeout) ?? 0;
    let heartbeat = durationMs(s.heartbeatTimeout) ?? 0;
    const result = () => ({ scheduleToClose, scheduleToStart, startToClose, heartbeat });
    if (scheduleToClose < 0 || scheduleToStart < 0 || startToClose < 0 || heartbeat < 0) {
      return { ...result(), problem: 'A negative timeout is set on ScheduleActivityTaskCommand.' };
    }
    const runTimeout = run.runTimeoutMs;
    if (scheduleToClose > 0) {
      if (runTimeout > 0) scheduleToClose = Math.min(scheduleToClose, runTimeout);
      scheduleToStart = scheduleToStart > 0 ? Math.min(scheduleToStart, scheduleToClose) : scheduleToClose;
      startToClose = startToClose > 0 ? Math.min(startToClose, scheduleToClose) : scheduleToClose;
    } else if (startToClose > 0) {
      scheduleToClose = runTimeout;
      if (scheduleToStart === 0) scheduleToStart = runTimeout;
      else if (runTimeout > 0) scheduleToStart = Math.min(scheduleToStart, runTimeout);
    } else {
      return {
        ...result(),
        problem: 'A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.',
      };
    }
    if (heartbeat > startToClose) heartbeat = startToClose;
    return result();
  }

  /** The ScheduleActivityTask command: ActivityTaskScheduled with normalised timeouts and retry policy. */
  schedule(run: Run, s: ScheduleAttributes, completedEventId: number): void {
    const t = this.normalizeTimeouts(run, s);
    const retryPolicy = normalizeRetryPolicy(s.retryPolicy);
    const taskQueue = s.taskQueue?.name || run.taskQueue;
    const attributes: temporal.api.history.v1.IActivityTaskScheduledEventAttributes = {
      activityId: s.activityId,
      activityType: s.activityType,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: s.header ?? null,
      input: s.input ?? null,
      scheduleToCloseTimeout: duration(t.scheduleToClose),
      scheduleToStartTimeout: duration(t.scheduleToStart),
      startToCloseTimeout: duration(t.startToClose),
      heartbeatTimeout: duration(t.heartbeat),
      workflowTaskCompletedEventId: long(completedEventId),
      retryPolicy,
      priority: s.priority ?? null,
    };
    const ev = run.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, attributes as Record<string, unknown>);
    const now = this.engine.now();
    const info: ActivityInfo = {
      scheduledEventId: int(ev.eventId),
      activityId: s.activityId!,
      activityType: s.activityType!.name!,
      taskQueue,
      scheduledTime: now,
      scheduleToCloseMs: t.scheduleToClose,
      scheduleToStartMs: t.scheduleToStart,
      startToCloseMs: t.startToClose,
      heartbeatMs: t.heartbeat,
      retryPolicy,
      attempt: 1,
      state: 'scheduled',
      currentAttemptScheduledTime: now,
      cancelRequested: false,
      scheduled: attributes,
    };
    run.activities.set(info.scheduledEventId, info);
    this.makeReady(run, info);
    this.armScheduleToClose(run, info);
  }

  private key(run: Run, info: ActivityInfo, kind: string): string {
    return `act:${run.runId}:${info.scheduledEventId}:${kind}`;
  }

  private makeReady(run: Run, info: ActivityInfo): void {
    info.state = 'scheduled';
    this.engine.activityQueues.add(run.namespace, info.taskQueue, {
      run,
      scheduledEventId: info.scheduledEventId,
      attempt: info.attempt,
    });
    if (info.scheduleToStartMs > 0) {
      const attempt = info.attempt;
      this.engine.timers.set(
        this.key(run, info, 's2s'),
        info.currentAttemptScheduledTime + info.scheduleToStartMs,
        () => this.timeout(run, info.scheduledEventId, attempt, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
      );
    }
  }

  private armScheduleToClose(run: Run, info: ActivityInfo): void {
    if (info.scheduleToCloseMs > 0) {
      this.engine.timers.set(this.key(run, info, 's2c'), info.scheduledTime + info.scheduleToCloseMs, () =>
        this.timeout(run, info.scheduledEventId, info.attempt, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
      );
    }
  }

  private armRunning(run: Run, info: ActivityInfo): void {
    const attempt = info.attempt;
    this.engine.timers.set(this.key(run, info, 'stc'), info.startedTime! + info.startToCloseMs, () =>
      this.timeout(run, info.scheduledEventId, attempt, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
    );
    this.armHeartbeat(run, info);
  }

  private armHeartbeat(run: Run, info: ActivityInfo): void {
    if (info.heartbeatMs <= 0) return;
    const attempt = info.attempt;
    const from =
      info.lastHeartbeatTime && info.lastHeartbeatTime > info.startedTime! ? info.lastHeartbeatTime : info.startedTime!;
    this.engine.timers.set(this.key(run, info, 'hb'), from + info.heartbeatMs, () =>
      this.timeout(run, info.scheduledEventId, attempt, TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
    );
  }

  private clearDeadlines(run: Run, info: ActivityInfo, kinds = ['s2s', 's2c', 'stc', 'hb', 'retry']): void {
    for (const kind of kinds) this.engine.timers.clear(this.key(run, info, kind));
  }

  /** After a restart: each activity goes back to its queue, its backoff, or its running deadlines. */
  rearm(run: Run): void {
    for (const info of run.activities.values()) {
      if (info.state === 'scheduled') this.makeReady(run, info);
      else if (info.state === 'started') this.armRunning(run, info);
      else this.armRetry(run, info);
      this.armScheduleToClose(run, info);
    }
  }

  dropAll(run: Run): void {
    for (const info of run.activities.values()) this.clearDeadlines(run, info);
    run.activities.clear();
  }

  // ---- dispatch ---------------------------------------------------------------------------------------------

  tryStart(task: ActivityQueueTask, identity: string): Res<'PollActivityTaskQueueResponse'> | undefined {
    const { run } = task;
    const info = run.activities.get(task.scheduledEventId);
    if (!run.isOpen || !info || info.state !== 'scheduled' || info.attempt !== task.attempt) return undefined;
    const now = this.engine.now();
    info.state = 'started';
    info.startedTime = now;
    info.startedIdentity = identity;
    info.lastWorkerIdentity = identity;
    info.startedRequestId = randomUUID();
    this.engine.timers.clear(this.key(run, info, 's2s'));
    this.armRunning(run, info);
    run.touch();
    return {
      taskToken: encodeToken({ t: 'a', r: run.runId, s: info.scheduledEventId, a: info.attempt }),
      workflowNamespace: run.namespace,
      workflowType: { name: run.workflowType },
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      activityType: { name: info.activityType },
      activityId: info.activityId,
      header: info.scheduled.header ?? null,
      input: info.scheduled.input ?? null,
      heartbeatDetails: info.heartbeatDetails ?? null,
      scheduledTime: timestamp(info.scheduledTime),
      currentAttemptScheduledTime: timestamp(info.currentAttemptScheduledTime),
      startedTime: timestamp(now),
      attempt: info.attempt,
      scheduleToCloseTimeout: duration(info.scheduleToCloseMs),
      startToCloseTimeout: duration(info.startToCloseMs),
      heartbeatTimeout: duration(info.heartbeatMs),
      retryPolicy: info.retryPolicy,
      priority: info.scheduled.priority ?? null,
    };
  }

  /** A poll answer that never reached its worker: the attempt goes back to the queue. */
  revertStart(response: Res<'PollActivityTaskQueueResponse'>): void {
    const t = decodeToken(response.taskToken);
    if (t.t !== 'a') return;
    const run = this.engine.runs.byId(t.r);
    const info = run?.activities.get(t.s);
    if (!run || !run.isOpen || !info || info.state !== 'started' || info.attempt !== t.a) return;
    this.clearDeadlines(run, info, ['stc', 'hb']);
    info.startedTime = undefined;
    info.startedIdentity = undefined;
    info.startedRequestId = undefined;
    this.makeReady(run, info);
    run.touch();
  }

  // ---- worker responses -------------------------------------------------------------------------------------

  private runningAttempt(token: Uint8Array | null | undefined): { run: Run; info: ActivityInfo } {
    const t = decodeToken(token);
    if (t.t !== 'a') throw invalidArgument('Task token is not an activity task token.');
    return this.running(this.engine.runs.byId(t.r), t.s, t.a);
  }

  private running(run: Run | undefined, scheduledEventId: number, attempt?: number): { run: Run; info: ActivityInfo } {
    const info = run?.activities.get(scheduledEventId);
    if (!run || !run.isOpen) throw notFound('Workflow execution already completed.');
    if (!info || info.state !== 'started' || (attempt !== undefined && info.attempt !== attempt)) {
      throw notFound('Activity task not found.');
    }
    return { run, info };
  }

  /** The running attempt of an activity named by workflow id, run id and activity id (the *ById calls). */
  private runningById(req: {
    namespace?: string | null;
    workflowId?: string | null;
    runId?: string | null;
    activityId?: string | null;
  }) {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.activityId) throw invalidArgument('ActivityId is not set on request.');
    const run = this.engine.runs.resolve(ns.name, { workflowId: req.workflowId, runId: req.runId });
    const info = [...run.activities.values()].find((a) => a.activityId === req.activityId);
    return this.running(run, info?.scheduledEventId ?? -1);
  }

  async completed(
    req: Req<'RespondActivityTaskCompletedRequest'>,
  ): Promise<Res<'RespondActivityTaskCompletedResponse'>> {
    const { run, info } = this.runningAttempt(req.taskToken);
    this.complete(run, info, req.result ?? null, req.identity ?? '');
    await this.engine.persistence.barrier();
    return {};
  }

  async completedById(
    req: Req<'RespondActivityTaskCompletedByIdRequest'>,
  ): Promise<Res<'RespondActivityTaskCompletedByIdResponse'>> {
    const { run, info } = this.runningById(req);
    this.complete(run, info, req.result ?? null, req.identity ?? '');
    await this.engine.persistence.barrier();
    return {};
  }

  private complete(run: Run, info: ActivityInfo, result: IPayloads | null, identity: string): void {
    if (payloadsSize(result) > this.engine.limits.blobSizeLimit) {
      // srv records an oversized result as a non-retryable failure of the activity.
      this.fail(run, info, serverFailure('Complete result exceeds size limit.'), null, identity);
      return;
    }
    this.close(run, info, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { result, identity });
  }

  async failed(req: Req<'RespondActivityTaskFailedRequest'>): Promise<Res<'RespondActivityTaskFailedResponse'>> {
    const { run, info } = this.runningAttempt(req.taskToken);
    const failures = this.failWithinLimits(
      run,
      info,
      req.failure ?? null,
      req.lastHeartbeatDetails ?? null,
      req.identity ?? '',
    );
    await this.engine.persistence.barrier();
    return { failures };
  }

  async failedById(
    req: Req<'RespondActivityTaskFailedByIdRequest'>,
  ): Promise<Res<'RespondActivityTaskFailedByIdResponse'>> {
    const { run, info } = this.runningById(req);
    const failures = this.failWithinLimits(
      run,
      info,
      req.failure ?? null,
      req.lastHeartbeatDetails ?? null,
      req.identity ?? '',
    );
    await this.engine.persistence.barrier();
    return { failures };
  }

  /**
   * As srv's frontend: oversized heartbeat details are dropped and an oversized failure is replaced by a
   * non-retryable server failure; both are reported back in the response's `failures`.
   */
  private failWithinLimits(
    run: Run,
    info: ActivityInfo,
    failure: IFailure | null,
    details: IPayloads | null,
    identity: string,
  ): IFailure[] {
    const limit = this.engine.limits.blobSizeLimit;
    const reported: IFailure[] = [];
    if (payloadsSize(details) > limit) {
      details = null;
      reported.push(serverFailure('Heartbeat details exceed size limit.'));
    }
    if (failure && FailureCodec.encode(failure).length > limit) {
      failure = {
        ...serverFailure('Failure exceeds size limit.'),
        cause: { message: String(failure.message ?? '').slice(0, 1000), source: failure.source ?? '' },
      };
      reported.push(failure);
    }
    this.fail(run, info, failure, details, identity);
    return reported;
  }

  private fail(
    run: Run,
    info: ActivityInfo,
    failure: IFailure | null,
    details: IPayloads | null,
    identity: string,
  ): void {
    if (details) info.heartbeatDetails = details;
    const now = this.engine.now();
    if (info.cancelRequested) {
      this.close(run, info, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, {
        failure,
        identity,
        retryState: RetryState.RETRY_STATE_CANCEL_REQUESTED,
      });
      return;
    }
    const decision = nextRetry(info.retryPolicy, info.attempt, failure, now, this.scheduleToCloseDeadline(info));
    if (decision.retry) {
      this.backoff(run, info, failure, decision.delayMs);
      return;
    }
    this.close(run, info, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, { failure, identity, retryState: decision.state });
  }

  async canceled(req: Req<'RespondActivityTaskCanceledRequest'>): Promise<Res<'RespondActivityTaskCanceledResponse'>> {
    const { run, info } = this.runningAttempt(req.taskToken);
    this.cancelled(run, info, req.details ?? null, req.identity ?? '');
    await this.engine.persistence.barrier();
    return {};
  }

  async canceledById(
    req: Req<'RespondActivityTaskCanceledByIdRequest'>,
  ): Promise<Res<'RespondActivityTaskCanceledByIdResponse'>> {
    const { run, info } = this.runningById(req);
    this.cancelled(run, info, req.details ?? null, req.identity ?? '');
    await this.engine.persistence.barrier();
    return {};
  }

  private cancelled(run: Run, info: ActivityInfo, details: IPayloads | null, identity: string): void {
    if (payloadsSize(details) > this.engine.limits.blobSizeLimit) {
      this.fail(run, info, serverFailure('Cancel details exceed size limit.'), null, identity);
      return;
    }
    this.close(run, info, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
      details,
      latestCancelRequestedEventId: info.cancelRequestedEventId ?? 0,
      identity,
    });
  }

  async heartbeat(req: Req<'RecordActivityTaskHeartbeatRequest'>): Promise<Res<'RecordActivityTaskHeartbeatResponse'>> {
    const { run, info } = this.runningAttempt(req.taskToken);
    return this.recordHeartbeat(run, info, req.details ?? null, req.identity ?? '');
  }

  async heartbeatById(
    req: Req<'RecordActivityTaskHeartbeatByIdRequest'>,
  ): Promise<Res<'RecordActivityTaskHeartbeatByIdResponse'>> {
    const { run, info } = this.runningById(req);
    return this.recordHeartbeat(run, info, req.details ?? null, req.identity ?? '');
  }

  private async recordHeartbeat(run: Run, info: ActivityInfo, details: IPayloads | null, identity: string) {
    if (payloadsSize(details) > this.engine.limits.blobSizeLimit) {
      // srv fails the activity at once and tells the worker to stop.
      this.fail(run, info, serverFailure('Heartbeat details exceed size limit.'), null, identity);
      await this.engine.persistence.barrier();
      return { cancelRequested: true, activityPaused: false, activityReset: false };
    }
    if (details) info.heartbeatDetails = details;
    info.lastHeartbeatTime = this.engine.now();
    this.armHeartbeat(run, info);
    run.touch();
    await this.engine.persistence.barrier();
    return { cancelRequested: info.cancelRequested, activityPaused: false, activityReset: false };
  }

  // ---- outcomes ---------------------------------------------------------------------------------------------

  private scheduleToCloseDeadline(info: ActivityInfo): number {
    return info.scheduleToCloseMs > 0 ? info.scheduledTime + info.scheduleToCloseMs : 0;
  }

  /** The attempt failed and will be retried after `delayMs`; nothing is written to history. */
  private backoff(run: Run, info: ActivityInfo, failure: IFailure | null, delayMs: number): void {
    this.clearDeadlines(run, info, ['s2s', 'stc', 'hb']);
    info.lastFailure = failure;
    info.attempt += 1;
    info.state = 'backoff';
    info.retryAt = this.engine.now() + delayMs;
    info.startedTime = undefined;
    info.startedIdentity = undefined;
    info.startedRequestId = undefined;
    this.armRetry(run, info);
    run.touch();
  }

  private armRetry(run: Run, info: ActivityInfo): void {
    const attempt = info.attempt;
    this.engine.timers.set(this.key(run, info, 'retry'), info.retryAt ?? this.engine.now(), () => {
      if (
        !run.isOpen ||
        run.activities.get(info.scheduledEventId) !== info ||
        info.state !== 'backoff' ||
        info.attempt !== attempt
      )
        return;
      info.currentAttemptScheduledTime = this.engine.now();
      info.retryAt = undefined;
      this.makeReady(run, info);
      run.touch();
      void this.engine.persistence.barrier().catch(() => undefined);
    });
  }

  /**
   * Writes the lazily recorded ActivityTaskStarted (when an attempt is running) and the close event, removes
   * the activity and schedules a workflow task. Both events are buffered while a workflow task is in flight.
   */
  private close(run: Run, info: ActivityInfo, type: EventType, attributes: Record<string, unknown>): void {
    const closeAttributes: Record<string, unknown> = {
      ...attributes,
      scheduledEventId: info.scheduledEventId,
      startedEventId: 0,
    };
    if (info.state === 'started') {
      run.addOrBufferEvent(
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        {
          scheduledEventId: info.scheduledEventId,
          identity: info.startedIdentity ?? '',
          requestId: info.startedRequestId ?? '',
          attempt: info.attempt,
          lastFailure: info.lastFailure ?? null,
        },
        {
          // srv event_store reorderBuffer moves only close events to the end; Started stays in place.
          closesTask: false,
          time: info.startedTime,
          onAssigned: (id) => {
            closeAttributes.startedEventId = id;
          },
        },
      );
    }
    run.addOrBufferEvent(type, closeAttributes, { closesTask: true });
    this.clearDeadlines(run, info);
    run.activities.delete(info.scheduledEventId);
    this.engine.workflowTasks.schedule(run);
    run.touch();
  }

  private timeout(run: Run, scheduledEventId: number, attempt: number, type: number): void {
    const info = run.activities.get(scheduledEventId);
    if (!run.isOpen || !info) return;
    if (type !== TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE && info.attempt !== attempt) return;
    if (type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START && info.state !== 'scheduled') return;
    if (
      (type === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || type === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) &&
      info.state !== 'started'
    )
      return;
    const failure: IFailure = {
      message: `activity ${TIMEOUT_NAMES[type]} timeout`,
      source: 'Server',
      timeoutFailureInfo: { timeoutType: type, lastHeartbeatDetails: info.heartbeatDetails ?? null },
      cause: info.lastFailure ?? null,
    };
    let retryState: number = RetryState.RETRY_STATE_TIMEOUT;
    if (type === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || type === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) {
      // The server builds the retry's last failure without the previous cause chain.
      const decision = info.cancelRequested
        ? ({ retry: false, state: RetryState.RETRY_STATE_CANCEL_REQUESTED } as const)
        : nextRetry(info.retryPolicy, info.attempt, failure, this.engine.now(), this.scheduleToCloseDeadline(info));
      if (decision.retry) {
        this.backoff(run, info, { ...failure, cause: null }, decision.delayMs);
        void this.engine.persistence.barrier().catch(() => undefined);
        return;
      }
      retryState = decision.state;
    }
    this.close(run, info, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, { failure, retryState });
    void this.engine.persistence.barrier().catch(() => undefined);
  }

  /**
   * The RequestCancelActivityTask command: ActivityTaskCancelRequested is always written; an activity not
   * running right now is cancelled at once (returns true: the workflow needs a task to see it), a running
   * one learns of it through its next heartbeat.
   */
  requestCancel(run: Run, scheduledEventId: number, completedEventId: number, identity: string): boolean {
    const ev = run.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, {
      scheduledEventId,
      workflowTaskCompletedEventId: completedEventId,
    });
    const info = run.activities.get(scheduledEventId);
    if (!info) return false;
    info.cancelRequested = true;
    info.cancelRequestedEventId = int(ev.eventId);
    if (info.state === 'started') {
      run.touch();
      return false;
    }
    run.addEvent(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
      scheduledEventId,
      startedEventId: 0,
      latestCancelRequestedEventId: int(ev.eventId),
      identity,
    });
    this.clearDeadlines(run, info);
    run.activities.delete(scheduledEventId);
    run.touch();
    return true;
  }

  describePending(run: Run): temporal.api.workflow.v1.IPendingActivityInfo[] {
    return [...run.activities.values()].map((info) => ({
      activityId: info.activityId,
      activityType: { name: info.activityType },
      state: info.cancelRequested
        ? PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
        : info.state === 'started'
          ? PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
          : PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
      heartbeatDetails: info.heartbeatDetails ?? null,
      lastHeartbeatTime: info.lastHeartbeatTime ? timestamp(info.lastHeartbeatTime) : null,
      lastStartedTime: info.startedTime ? timestamp(info.startedTime) : null,
      attempt: info.attempt,
      maximumAttempts: info.retryPolicy.maximumAttempts ?? 0,
      scheduledTime: timestamp(info.currentAttemptScheduledTime),
      expirationTime: info.scheduleToCloseMs > 0 ? timestamp(info.scheduledTime + info.scheduleToCloseMs) : null,
      lastFailure: info.lastFailure ?? null,
      lastWorkerIdentity: info.lastWorkerIdentity ?? '',
      nextAttemptScheduleTime: info.retryAt ? timestamp(info.retryAt) : null,
    }));
  }
}
