/**
 * The mutable state of one workflow run and its history: the same split as Temporal's "mutable state".
 * This module only holds state and appends events (buffering them while a workflow task is in flight,
 * exactly as the real server does); the rules that decide which events to write live in the engine modules.
 */
import Long from 'long';
import {
  EventType,
  ExecutionStatus,
  HistoryEventCodec,
  attributesFieldOf,
  history,
  messageCodec,
  type HistoryEvent,
  type IFailure,
  type IHeader,
  type IMemo,
  type IPayloads,
  type IRetryPolicy,
  type ISearchAttributes,
  temporal,
} from '../proto';
import { timestamp } from '../util/time';

export type Attributes = Record<string, unknown>;

/**
 * How a workflow task exists in history: `normal` tasks write WorkflowTaskScheduled/Started as they happen;
 * `transient` ones (retries, attempt > 1) and `speculative` ones (carrying only updates to an idle
 * workflow) write them only when they complete, and a speculative one that changes nothing writes nothing.
 */
export type WorkflowTaskKind = 'normal' | 'transient' | 'speculative';

/** A workflow task, scheduled or started. */
export interface WorkflowTaskInfo {
  /** Event id of WorkflowTaskScheduled; for a transient or speculative task, the id it would get. */
  scheduledEventId: number;
  attempt: number;
  kind: WorkflowTaskKind;
  scheduledTime: number;
  originalScheduledTime: number;
  taskQueue: string;
  startToCloseMs: number;
  /** Not before this time (a delayed first workflow task). */
  notBefore?: number;
  started?: {
    eventId: number;
    time: number;
    identity: string;
    requestId: string;
    /** Distinguishes successive starts of the same task; part of the task token. */
    stamp: number;
    historySizeBytes: number;
    suggestContinueAsNew: boolean;
    suggestReasons: number[];
  };
}

export type ActivityState = 'scheduled' | 'started' | 'backoff';

export interface ActivityInfo {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  scheduledTime: number;
  /** Timeouts after normalisation, in ms; 0 means none. */
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retryPolicy: IRetryPolicy;
  attempt: number;
  state: ActivityState;
  currentAttemptScheduledTime: number;
  /** When the current backoff ends (state 'backoff'). */
  retryAt?: number;
  startedTime?: number;
  startedIdentity?: string;
  startedRequestId?: string;
  lastHeartbeatTime?: number;
  heartbeatDetails?: IPayloads | null;
  lastFailure?: IFailure | null;
  lastWorkerIdentity?: string;
  cancelRequested: boolean;
  cancelRequestedEventId?: number;
  /** The ActivityTaskScheduled attributes (input, header); rebuilt from history after a restart. */
  scheduled: temporal.api.history.v1.IActivityTaskScheduledEventAttributes;
}

export type UpdateState = 'admitted' | 'sent' | 'accepted' | 'completed';

/** A workflow update, from admission until its outcome (rejections leave no event, only this record). */
export interface UpdateInfo {
  updateId: string;
  request: temporal.api.update.v1.IRequest;
  state: UpdateState;
  /** Stamp of the workflow task start that delivered the request. */
  sentStamp?: number;
  acceptedEventId?: number;
  outcome?: temporal.api.update.v1.IOutcome;
}

/** A child workflow this run initiated and that has not closed yet. */
export interface ChildInfo {
  initiatedEventId: number;
  namespace: string;
  namespaceId: string;
  workflowId: string;
  workflowType: string;
  parentClosePolicy: number;
  runId?: string;
  startedEventId?: number;
}

export interface TimerInfo {
  timerId: string;
  startedEventId: number;
  fireTime: number;
  /** TimerFired is sitting in the buffer; a CancelTimer in the same completion drops it. */
  firedBuffered?: boolean;
}

/** A buffered event waits for its id until the in-flight workflow task completes. */
export interface BufferedEvent {
  event: HistoryEvent;
  /** Activity, child and Nexus close events (and their lazily written Started) go after the others. */
  closesTask: boolean;
  /** Called with the id given at flush (links a Started event to its close event). */
  onAssigned?: (eventId: number) => void;
}

export interface RunHost {
  now(): number;
  readonly limits: { historyCountLimit: number; historySizeLimit: number };
  /** Marks the run dirty for the next commit and records a new persisted event. */
  persistEvent(run: Run, event: HistoryEvent, bytes: Uint8Array): void;
  markDirty(run: Run): void;
  /** Someone may be long-polling this run's history. */
  historyChanged(run: Run): void;
  historyLimitReached(run: Run): void;
}

const FailureCodec = messageCodec<IFailure>('temporal.api.failure.v1.Failure');
const PayloadsCodec = messageCodec<IPayloads>('temporal.api.common.v1.Payloads');
const MemoCodec = messageCodec<IMemo>('temporal.api.common.v1.Memo');
const SearchAttributesCodec = messageCodec<ISearchAttributes>('temporal.api.common.v1.SearchAttributes');
const RetryPolicyCodec = messageCodec<IRetryPolicy>('temporal.api.common.v1.RetryPolicy');
const HeaderCodec = messageCodec<IHeader>('temporal.api.common.v1.Header');
const UpdateRequestCodec = messageCodec<temporal.api.update.v1.IRequest>('temporal.api.update.v1.Request');
const OutcomeCodec = messageCodec<temporal.api.update.v1.IOutcome>('temporal.api.update.v1.Outcome');

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
function enc<T>(codec: { encode(m: T): Uint8Array }, v: T | null | undefined): string | undefined {
  return v == null ? undefined : b64(codec.encode(v));
}
function dec<T>(codec: { decode(b: Uint8Array): T }, s: string | undefined): T | undefined {
  return s == null ? undefined : codec.decode(unb64(s));
}

export interface RunIdentity {
  namespace: string;
  namespaceId: string;
  workflowId: string;
  runId: string;
  firstExecutionRunId: string;
  workflowType: string;
  taskQueue: string;
}

export class Run implements RunIdentity {
  namespace!: string;
  namespaceId!: string;
  workflowId!: string;
  runId!: string;
  firstExecutionRunId!: string;
  workflowType!: string;
  taskQueue!: string;

  status: ExecutionStatus = ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  startTime = 0;
  executionTime = 0;
  closeTime?: number;
  startRequestId = '';
  memo: IMemo | null = null;
  searchAttributes: ISearchAttributes | null = null;
  workflowTaskTimeoutMs = 10_000;
  runTimeoutMs = 0;
  executionTimeoutMs = 0;
  /** Absolute deadlines, 0 when none. */
  runExpirationTime = 0;
  executionExpirationTime = 0;
  parent?: { namespace: string; namespaceId: string; workflowId: string; runId: string; initiatedEventId: number };
  rootExecution?: { workflowId: string; runId: string };
  attempt = 1;
  retryPolicy: IRetryPolicy | null = null;
  /** The cron chain's schedule, '' for none. */
  cronSchedule = '';

  /** The persisted history, in memory. */
  readonly events: HistoryEvent[] = [];
  historySizeBytes = 0;
  nextEventId = 1;
  /** Started event id of the last completed workflow task (previous_started_event_id). */
  lastCompletedWftStartedId = 0;
  /** Attempt counter for workflow tasks that fail or time out. */
  wftAttempt = 1;
  wft: WorkflowTaskInfo | null = null;
  /** The sticky queue of the worker that completed the last workflow task ('' for none) and its start timeout. */
  stickyTaskQueue = '';
  stickyScheduleToStartMs = 0;
  buffered: BufferedEvent[] = [];
  readonly activities = new Map<number, ActivityInfo>();
  readonly timers = new Map<string, TimerInfo>();
  cancelRequested = false;
  /** request_ids already applied to this run (start, signals, cancel), for idempotency. */
  readonly requestIds = new Set<string>();
  stateTransitions = 0;
  /** Next run of the chain, once this one closed by continue-as-new, retry or cron. */
  newExecutionRunId?: string;
  readonly updates = new Map<string, UpdateInfo>();
  readonly children = new Map<number, ChildInfo>();

  constructor(private readonly host: RunHost) {}

  private get limits() {
    return this.host.limits;
  }

  get isOpen(): boolean {
    return this.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  }

  get wftInFlight(): boolean {
    return !!this.wft?.started;
  }

  /**
   * The user metadata (summary, details) of the command being applied: the first event it writes carries it
   * (`applyCommand` sets and clears it).
   */
  commandUserMetadata: temporal.api.sdk.v1.IUserMetadata | null = null;

  /**
   * Appends an event to the persisted history now, with the next id; `userMetadata` is the summary and details
   * the request that wrote it carried (the SDKs' `staticSummary`, `staticDetails`), or else the command's.
   */
  addEvent(
    type: EventType,
    attributes: Attributes,
    time = this.host.now(),
    userMetadata?: temporal.api.sdk.v1.IUserMetadata | null,
  ): HistoryEvent {
    const fromCommand = this.commandUserMetadata;
    this.commandUserMetadata = null; // the command's first event only
    const event = makeEvent(type, attributes, time, userMetadata ?? fromCommand);
    this.append(event);
    return event;
  }

  /**
   * Writes an event now if no workflow task is in flight, or buffers it until the task completes
   * (srv historybuilder: while a WFT is started, non-command events are buffered).
   */
  addOrBufferEvent(
    type: EventType,
    attributes: Attributes,
    opts: Partial<Omit<BufferedEvent, 'event'>> & { time?: number } = {},
  ): HistoryEvent {
    const event = makeEvent(type, attributes, opts.time ?? this.host.now());
    if (this.wftInFlight) {
      this.buffered.push({ event, closesTask: opts.closesTask ?? false, onAssigned: opts.onAssigned });
      this.host.markDirty(this);
    } else {
      this.append(event);
      opts.onAssigned?.(int(event.eventId));
    }
    return event;
  }

  /** Writes the buffered events: others first, then task-closing ones, each group in arrival order. */
  flushBuffered(): number {
    const buffered = this.buffered;
    if (buffered.length === 0) return 0;
    this.buffered = [];
    const ordered = [...buffered.filter((b) => !b.closesTask), ...buffered.filter((b) => b.closesTask)];
    for (const b of ordered) {
      this.append(b.event);
      b.onAssigned?.(int(b.event.eventId));
    }
    return ordered.length;
  }

  private append(event: HistoryEvent): void {
    event.eventId = Long.fromNumber(this.nextEventId++);
    const bytes = HistoryEventCodec.encode(event);
    this.historySizeBytes += bytes.length;
    this.events.push(event);
    this.stateTransitions++;
    this.host.persistEvent(this, event, bytes);
    this.host.historyChanged(this);
    if (
      this.isOpen &&
      (this.nextEventId - 1 > this.limits.historyCountLimit || this.historySizeBytes > this.limits.historySizeLimit)
    ) {
      this.host.historyLimitReached(this);
    }
  }

  touch(): void {
    this.stateTransitions++;
    this.host.markDirty(this);
  }

  eventById(id: number): HistoryEvent | undefined {
    const e = this.events[id - 1];
    return e && int(e.eventId) === id ? e : this.events.find((x) => int(x.eventId) === id);
  }

  get closeEvent(): HistoryEvent | undefined {
    return this.isOpen ? undefined : this.events[this.events.length - 1];
  }

  // ---- persistence ------------------------------------------------------------------------------------------

  /** The run's state without its history (history is stored event by event). */
  toSnapshot(): RunSnapshot {
    return {
      v: 1,
      namespace: this.namespace,
      namespaceId: this.namespaceId,
      workflowId: this.workflowId,
      runId: this.runId,
      firstExecutionRunId: this.firstExecutionRunId,
      workflowType: this.workflowType,
      taskQueue: this.taskQueue,
      status: this.status,
      startTime: this.startTime,
      executionTime: this.executionTime,
      closeTime: this.closeTime,
      startRequestId: this.startRequestId,
      memo: enc(MemoCodec, this.memo),
      searchAttributes: enc(SearchAttributesCodec, this.searchAttributes),
      workflowTaskTimeoutMs: this.workflowTaskTimeoutMs,
      runTimeoutMs: this.runTimeoutMs,
      executionTimeoutMs: this.executionTimeoutMs,
      runExpirationTime: this.runExpirationTime,
      executionExpirationTime: this.executionExpirationTime,
      parent: this.parent,
      rootExecution: this.rootExecution,
      attempt: this.attempt,
      retryPolicy: enc(RetryPolicyCodec, this.retryPolicy),
      ...(this.cronSchedule ? { cronSchedule: this.cronSchedule } : {}),
      lastCompletedWftStartedId: this.lastCompletedWftStartedId,
      wftAttempt: this.wftAttempt,
      wft: this.wft,
      ...(this.stickyTaskQueue
        ? { stickyTaskQueue: this.stickyTaskQueue, stickyScheduleToStartMs: this.stickyScheduleToStartMs }
        : {}),
      buffered: this.buffered.map((b) => ({
        event: b64(HistoryEventCodec.encode(b.event)),
        closesTask: b.closesTask,
        // A buffered close event whose Started event is buffered just before it is relinked on load.
      })),
      activities: [...this.activities.values()].map((a) => ({
        ...a,
        scheduled: undefined,
        retryPolicy: enc(RetryPolicyCodec, a.retryPolicy)!,
        heartbeatDetails: enc(PayloadsCodec, a.heartbeatDetails),
        lastFailure: enc(FailureCodec, a.lastFailure),
      })),
      timers: [...this.timers.values()],
      cancelRequested: this.cancelRequested,
      requestIds: [...this.requestIds],
      stateTransitions: this.stateTransitions,
      newExecutionRunId: this.newExecutionRunId,
      updates: [...this.updates.values()].map((u) => ({
        ...u,
        request: b64(UpdateRequestCodec.encode(u.request)),
        outcome: enc(OutcomeCodec, u.outcome),
      })),
      children: [...this.children.values()],
    };
  }

  static fromSnapshot(host: RunHost, s: RunSnapshot, events: HistoryEvent[], historySizeBytes: number): Run {
    const run = new Run(host);
    Object.assign(run, {
      namespace: s.namespace,
      namespaceId: s.namespaceId,
      workflowId: s.workflowId,
      runId: s.runId,
      firstExecutionRunId: s.firstExecutionRunId,
      workflowType: s.workflowType,
      taskQueue: s.taskQueue,
      status: s.status,
      startTime: s.startTime,
      executionTime: s.executionTime,
      closeTime: s.closeTime,
      startRequestId: s.startRequestId,
      memo: dec(MemoCodec, s.memo) ?? null,
      searchAttributes: dec(SearchAttributesCodec, s.searchAttributes) ?? null,
      workflowTaskTimeoutMs: s.workflowTaskTimeoutMs,
      runTimeoutMs: s.runTimeoutMs,
      executionTimeoutMs: s.executionTimeoutMs,
      runExpirationTime: s.runExpirationTime,
      executionExpirationTime: s.executionExpirationTime,
      parent: s.parent,
      rootExecution: s.rootExecution,
      attempt: s.attempt,
      retryPolicy: dec(RetryPolicyCodec, s.retryPolicy) ?? null,
      cronSchedule: s.cronSchedule ?? '',
      lastCompletedWftStartedId: s.lastCompletedWftStartedId,
      wftAttempt: s.wftAttempt,
      wft: s.wft,
      stickyTaskQueue: s.stickyTaskQueue ?? '',
      stickyScheduleToStartMs: s.stickyScheduleToStartMs ?? 0,
      cancelRequested: s.cancelRequested,
      stateTransitions: s.stateTransitions,
      newExecutionRunId: s.newExecutionRunId,
      historySizeBytes,
    });
    run.events.push(...events);
    run.nextEventId = events.length + 1;
    for (const id of s.requestIds) run.requestIds.add(id);
    for (const t of s.timers) run.timers.set(t.timerId, t);
    for (const a of s.activities) {
      const scheduledEvent = run.eventById(a.scheduledEventId);
      run.activities.set(a.scheduledEventId, {
        ...a,
        retryPolicy: dec(RetryPolicyCodec, a.retryPolicy)!,
        heartbeatDetails: dec(PayloadsCodec, a.heartbeatDetails),
        lastFailure: dec(FailureCodec, a.lastFailure),
        scheduled: scheduledEvent?.activityTaskScheduledEventAttributes ?? {},
      });
    }
    for (const u of s.updates ?? []) {
      run.updates.set(u.updateId, {
        ...u,
        request: UpdateRequestCodec.decode(unb64(u.request)),
        outcome: dec(OutcomeCodec, u.outcome),
      });
    }
    for (const c of s.children ?? []) run.children.set(c.initiatedEventId, c);
    run.buffered = s.buffered.map((b) => ({
      event: HistoryEventCodec.decode(unb64(b.event)),
      closesTask: b.closesTask,
    }));
    relinkBufferedStarts(run.buffered);
    return run;
  }
}

export interface RunSnapshot {
  v: 1;
  namespace: string;
  namespaceId: string;
  workflowId: string;
  runId: string;
  firstExecutionRunId: string;
  workflowType: string;
  taskQueue: string;
  status: ExecutionStatus;
  startTime: number;
  executionTime: number;
  closeTime?: number;
  startRequestId: string;
  memo?: string;
  searchAttributes?: string;
  workflowTaskTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  runExpirationTime: number;
  executionExpirationTime: number;
  parent?: Run['parent'];
  rootExecution?: Run['rootExecution'];
  attempt: number;
  retryPolicy?: string;
  cronSchedule?: string;
  lastCompletedWftStartedId: number;
  wftAttempt: number;
  wft: WorkflowTaskInfo | null;
  stickyTaskQueue?: string;
  stickyScheduleToStartMs?: number;
  buffered: { event: string; closesTask: boolean }[];
  activities: (Omit<ActivityInfo, 'scheduled' | 'retryPolicy' | 'heartbeatDetails' | 'lastFailure'> & {
    scheduled?: undefined;
    retryPolicy: string;
    heartbeatDetails?: string;
    lastFailure?: string;
  })[];
  timers: TimerInfo[];
  cancelRequested: boolean;
  requestIds: string[];
  stateTransitions: number;
  newExecutionRunId?: string;
  updates?: (Omit<UpdateInfo, 'request' | 'outcome'> & { request: string; outcome?: string })[];
  children?: ChildInfo[];
}

/** After a restart, a buffered ActivityTaskStarted must again hand its id to the close event that follows it. */
function relinkBufferedStarts(buffered: BufferedEvent[]): void {
  for (let i = 0; i < buffered.length; i++) {
    const b = buffered[i];
    const started = b.event.activityTaskStartedEventAttributes;
    if (!started) continue;
    const sched = int(started.scheduledEventId);
    const close = buffered.slice(i + 1).find((c) => {
      const attrs = closeAttributes(c.event);
      return attrs && int(attrs.scheduledEventId) === sched;
    });
    if (close) {
      const attrs = closeAttributes(close.event)!;
      b.onAssigned = (id) => {
        attrs.startedEventId = Long.fromNumber(id);
      };
    }
  }
}

function closeAttributes(
  e: HistoryEvent,
): { scheduledEventId?: Long | number | null; startedEventId?: Long | number | null } | undefined {
  return (
    e.activityTaskCompletedEventAttributes ??
    e.activityTaskFailedEventAttributes ??
    e.activityTaskTimedOutEventAttributes ??
    e.activityTaskCanceledEventAttributes ??
    undefined
  );
}

export function makeEvent(
  type: EventType,
  attributes: Attributes,
  time: number,
  userMetadata?: temporal.api.sdk.v1.IUserMetadata | null,
): HistoryEvent {
  return history.HistoryEvent.create({
    eventId: Long.ZERO,
    eventTime: timestamp(time),
    eventType: type,
    taskId: Long.ZERO,
    [attributesFieldOf(type)]: attributes,
    // srv: only when the command or request gave some.
    ...(userMetadata && (userMetadata.summary || userMetadata.details) ? { userMetadata } : {}),
  });
}

/** A Long/number int64 as a number (event ids fit comfortably). */
export function int(v: Long | number | string | null | undefined): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

export { HeaderCodec, FailureCodec, PayloadsCodec, MemoCodec, SearchAttributesCodec, RetryPolicyCodec };
