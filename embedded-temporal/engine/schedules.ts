/**
 * Schedules (`CreateSchedule` … `ListScheduleMatchingTimes`), as Temporal's scheduler runs them — there a workflow
 * of the server's own, here a part of the engine with the same behaviour:
 *  - each schedule wakes at its next action time (the deadline wheel, so time skipping jumps to it) and takes the
 *    times since it last looked: a time later than the catch-up window is missed (counted), the others go to its
 *    buffer; after a restart on a persistent store it catches up the same way;
 *  - the buffer starts workflows by the overlap policy: SKIP (none while one runs), BUFFER_ONE, BUFFER_ALL,
 *    CANCEL_OTHER (cancel the running one, start when it has closed), TERMINATE_OTHER, ALLOW_ALL;
 *  - a started workflow's id is the action's id and the nominal time (`wf-2024-05-01T08:00:00Z`), with the search
 *    attributes `TemporalScheduledStartTime` and `TemporalScheduledById`; workflows started one after another
 *    get the last one's result or failure, as a cron chain's runs do;
 *  - paused schedules take no scheduled action (the times pass); `remainingActions` limits the scheduled ones;
 *    trigger and backfill are manual actions, taken even when paused or used up;
 *  - `pauseOnFailure` pauses on a started workflow's failure or time-out, with a note naming it.
 * A schedule's state is committed with the runs it starts, through the same group commit.
 */
import { createHash } from 'node:crypto';
import { invalidArgument, notFound, RpcError } from '../errors';
import { temporal } from '../proto';
import { int64, long, timestamp, timestampMs } from '../util/time';
import type { EngineContext } from './context';
import type { Run } from './run';
import { compileSpec, nextTime, timesBetween, type CompiledSpec, type ScheduleTime } from './schedule-spec';
import { encodeValue, validateSearchAttributes } from './search-attributes';
import type { Req, Res } from './types';
import { evaluate, parseQuery } from './visibility';
import * as grpc from '@grpc/grpc-js';

const Overlap = temporal.api.enums.v1.ScheduleOverlapPolicy;
const Status = temporal.api.enums.v1.WorkflowExecutionStatus;
type ISchedule = temporal.api.schedule.v1.ISchedule;

/** Temporal's defaults and bounds (service/worker/scheduler). */
const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3600_000;
const MIN_CATCHUP_WINDOW_MS = 10_000;
const RECENT_ACTIONS = 10;
const FUTURE_ACTIONS = 10;
const LIST_RECENT_ACTIONS = 5;
const LIST_FUTURE_ACTIONS = 5;
/** Times taken at one wake (the rest at the next, at once), and by one backfill. */
const MAX_TIMES_AT_ONCE = 1000;
/** Actions waiting in a schedule's buffer; more are dropped (counted), as Temporal's scheduler caps it. */
const MAX_BUFFER = 1000;
const MAX_MATCHING_TIMES = 1000;

interface Buffered {
  nominal: number;
  actual: number;
  overlap: number;
  manual: boolean;
}

interface RecentAction {
  scheduleTime: number;
  actualTime: number;
  workflowId: string;
  runId: string;
  status: number;
}

/** What is persisted of a schedule (JSON); protobuf messages as base64. */
interface ScheduleSnapshot {
  namespace: string;
  scheduleId: string;
  schedule: string;
  memo: string | null;
  searchAttributes: string | null;
  createTime: number;
  updateTime: number;
  conflictToken: number;
  /** Times up to here have been taken (or passed); the next wake looks after it. */
  lastProcessed: number;
  /** Numbers the workflow starts (their request ids): a backfill of the same range twice starts anew. */
  actionSeq?: number;
  actionCount: number;
  missedCatchupWindow: number;
  overlapSkipped: number;
  bufferDropped: number;
  recent: RecentAction[];
  running: { workflowId: string; runId: string }[];
  buffer: Buffered[];
  lastCompletionResult: string | null;
  lastFailure: string | null;
}

class Schedule {
  spec!: CompiledSpec;
  constructor(
    public snapshot: ScheduleSnapshot,
    public schedule: ISchedule,
  ) {
    this.spec = compileSpec(schedule.spec);
  }
  get key(): string {
    return `${this.snapshot.namespace}\u0000${this.snapshot.scheduleId}`;
  }
  get policies(): temporal.api.schedule.v1.ISchedulePolicies {
    return this.schedule.policies!;
  }
  get state(): temporal.api.schedule.v1.IScheduleState {
    return this.schedule.state!;
  }
  get catchupWindowMs(): number {
    const ms = int64(this.policies.catchupWindow?.seconds) * 1000;
    return ms > 0 ? Math.max(ms, MIN_CATCHUP_WINDOW_MS) : DEFAULT_CATCHUP_WINDOW_MS;
  }
  get seed(): string {
    return this.snapshot.scheduleId;
  }
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

export class Schedules {
  private readonly byKey = new Map<string, Schedule>();
  /** Running workflows started by a schedule: namespace + workflow id → its schedule. */
  private readonly started = new Map<string, Schedule>();

  constructor(private readonly engine: EngineContext) {}

  // ---- lifecycle --------------------------------------------------------------------------------------------

  /** After a restart: each schedule looks again (catching up) and learns of workflows that closed meanwhile. */
  load(stored: { state: string }[]): void {
    for (const row of stored) {
      const snapshot = JSON.parse(row.state) as ScheduleSnapshot;
      const s = new Schedule(snapshot, temporal.api.schedule.v1.Schedule.decode(unb64(snapshot.schedule)));
      this.byKey.set(s.key, s);
      for (const r of snapshot.running) this.started.set(`${snapshot.namespace}\u0000${r.workflowId}`, s);
    }
    for (const s of this.byKey.values()) {
      for (const r of [...s.snapshot.running]) {
        const current = this.engine.runs.current(s.snapshot.namespace, r.workflowId);
        if (!current || !current.isOpen) this.workflowClosed(s, r.workflowId, current);
      }
      this.process(s); // catch up, and start what the buffer may start now
    }
  }

  // ---- RPCs -------------------------------------------------------------------------------------------------

  async create(req: Req<'CreateScheduleRequest'>): Promise<Res<'CreateScheduleResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const scheduleId = req.scheduleId ?? '';
    if (!scheduleId) throw invalidArgument('ScheduleId is not set on request.');
    if (scheduleId.length > this.engine.limits.maxIdLength) throw invalidArgument('ScheduleId length exceeds limit.');
    if (this.byKey.has(`${ns.name}\u0000${scheduleId}`))
      throw new RpcError(grpc.status.ALREADY_EXISTS, 'Schedule with this ID is already registered.');
    const schedule = this.validate(ns.name, req.schedule);
    const now = this.engine.now();
    const s = new Schedule(
      {
        namespace: ns.name,
        scheduleId,
        schedule: '',
        memo:
          req.memo && Object.keys(req.memo.fields ?? {}).length > 0
            ? b64(temporal.api.common.v1.Memo.encode(req.memo).finish())
            : null,
        searchAttributes: this.encodeSearchAttributes(ns.name, req.searchAttributes),
        createTime: now,
        updateTime: 0,
        conflictToken: 1,
        lastProcessed: now,
        actionCount: 0,
        missedCatchupWindow: 0,
        overlapSkipped: 0,
        bufferDropped: 0,
        recent: [],
        running: [],
        buffer: [],
        lastCompletionResult: null,
        lastFailure: null,
      },
      schedule,
    );
    if (req.initialPatch) this.checkPatch(s, req.initialPatch); // before anything changes
    this.byKey.set(s.key, s);
    if (req.initialPatch) this.applyPatch(s, req.initialPatch);
    this.process(s);
    await this.engine.persistence.barrier();
    return { conflictToken: conflictToken(s) };
  }

  async describe(req: Req<'DescribeScheduleRequest'>): Promise<Res<'DescribeScheduleResponse'>> {
    const s = this.get(req.namespace, req.scheduleId);
    await this.engine.persistence.barrier();
    const snap = s.snapshot;
    return {
      schedule: s.schedule,
      info: {
        actionCount: long(snap.actionCount),
        missedCatchupWindow: long(snap.missedCatchupWindow),
        overlapSkipped: long(snap.overlapSkipped),
        bufferDropped: long(snap.bufferDropped),
        bufferSize: long(snap.buffer.length),
        runningWorkflows: snap.running.map((r) => ({ workflowId: r.workflowId, runId: r.runId })),
        recentActions: snap.recent.map(actionResult),
        futureActionTimes: this.futureTimes(s, FUTURE_ACTIONS).map((t) => timestamp(t.actual)),
        createTime: timestamp(snap.createTime),
        updateTime: snap.updateTime ? timestamp(snap.updateTime) : null,
      },
      memo: snap.memo ? temporal.api.common.v1.Memo.decode(unb64(snap.memo)) : null,
      searchAttributes: this.searchAttributesOf(s),
      conflictToken: conflictToken(s),
    };
  }

  async update(req: Req<'UpdateScheduleRequest'>): Promise<Res<'UpdateScheduleResponse'>> {
    const s = this.get(req.namespace, req.scheduleId);
    const schedule = this.validate(s.snapshot.namespace, req.schedule);
    // srv: an update whose conflict token is not the schedule's current one is dropped (the scheduler logs it).
    if (req.conflictToken && req.conflictToken.length > 0 && !equalBytes(req.conflictToken, conflictToken(s))) {
      this.engine.log.warn({ schedule: s.snapshot.scheduleId }, 'schedule update dropped: conflict token mismatch');
      return {};
    }
    this.process(s); // the times up to now under the old spec
    s.schedule = schedule;
    s.spec = compileSpec(schedule.spec);
    if (req.searchAttributes)
      s.snapshot.searchAttributes = this.encodeSearchAttributes(s.snapshot.namespace, req.searchAttributes);
    if (req.memo) s.snapshot.memo = b64(temporal.api.common.v1.Memo.encode(req.memo).finish());
    s.snapshot.updateTime = this.engine.now();
    s.snapshot.conflictToken++;
    this.process(s);
    await this.engine.persistence.barrier();
    return {};
  }

  async patch(req: Req<'PatchScheduleRequest'>): Promise<Res<'PatchScheduleResponse'>> {
    const s = this.get(req.namespace, req.scheduleId);
    this.checkPatch(s, req.patch ?? {});
    this.applyPatch(s, req.patch ?? {});
    s.snapshot.updateTime = this.engine.now();
    this.process(s);
    await this.engine.persistence.barrier();
    return {};
  }

  async delete(req: Req<'DeleteScheduleRequest'>): Promise<Res<'DeleteScheduleResponse'>> {
    const s = this.get(req.namespace, req.scheduleId);
    // The workflows it started go on; only the schedule goes.
    this.byKey.delete(s.key);
    for (const r of s.snapshot.running) this.started.delete(`${s.snapshot.namespace}\u0000${r.workflowId}`);
    this.engine.timers.clear(`schedule:${s.key}`);
    this.engine.persistence.markSchedule(s.snapshot.namespace, s.snapshot.scheduleId, () => null);
    await this.engine.persistence.barrier();
    return {};
  }

  async list(req: Req<'ListSchedulesRequest'>): Promise<Res<'ListSchedulesResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const query = req.query?.trim()
      ? parseQuery(req.query, { ...ns.searchAttributes, ScheduleId: 'Keyword', TemporalSchedulePaused: 'Bool' })
      : undefined;
    const after = req.nextPageToken?.length ? Buffer.from(req.nextPageToken).toString('utf8') : undefined;
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    const all = [...this.byKey.values()]
      .filter((s) => s.snapshot.namespace === ns.name && (after === undefined || s.snapshot.scheduleId > after))
      .sort((a, b) => (a.snapshot.scheduleId < b.snapshot.scheduleId ? -1 : 1))
      .filter((s) => !query || evaluate(query.filter, (name) => this.attribute(s, name)));
    const page = all.slice(0, pageSize);
    await this.engine.persistence.barrier();
    return {
      schedules: page.map((s) => ({
        scheduleId: s.snapshot.scheduleId,
        memo: s.snapshot.memo ? temporal.api.common.v1.Memo.decode(unb64(s.snapshot.memo)) : null,
        searchAttributes: this.searchAttributesOf(s),
        info: {
          spec: s.schedule.spec,
          workflowType: s.schedule.action?.startWorkflow?.workflowType ?? null,
          notes: s.state.notes ?? '',
          paused: s.state.paused === true,
          recentActions: s.snapshot.recent.slice(-LIST_RECENT_ACTIONS).map(actionResult),
          futureActionTimes: this.futureTimes(s, LIST_FUTURE_ACTIONS).map((t) => timestamp(t.actual)),
        },
      })),
      nextPageToken: all.length > pageSize ? Buffer.from(page[page.length - 1].snapshot.scheduleId) : null,
    };
  }

  async matchingTimes(req: Req<'ListScheduleMatchingTimesRequest'>): Promise<Res<'ListScheduleMatchingTimesResponse'>> {
    const s = this.get(req.namespace, req.scheduleId);
    const start = timestampMs(req.startTime);
    const end = timestampMs(req.endTime);
    if (start === undefined || end === undefined || end < start)
      throw invalidArgument('ListScheduleMatchingTimes needs a start time and an end time after it.');
    const times = timesBetween(s.spec, start - 1, end, s.seed, MAX_MATCHING_TIMES + 1);
    if (times.length > MAX_MATCHING_TIMES)
      throw invalidArgument(`More than ${MAX_MATCHING_TIMES} matching times; ask for a shorter range.`);
    return { startTime: times.filter((t) => t.actual <= end).map((t) => timestamp(t.actual)) };
  }

  // ---- the engine's hooks -----------------------------------------------------------------------------------

  /** A run closed: if it ends a workflow a schedule started, the schedule takes note and may start the next. */
  onRunClosed(run: Run): void {
    const s = this.started.get(`${run.namespace}\u0000${run.workflowId}`);
    if (!s) return;
    // A retry, a cron or a continue-as-new goes on in a next run: the workflow has not closed.
    const current = this.engine.runs.current(run.namespace, run.workflowId);
    if (current && current !== run && current.isOpen) return;
    // Not while the closing change is under way: the schedule's own starts come after it, in the same commit.
    queueMicrotask(() => {
      if (this.byKey.get(s.key) !== s) return; // deleted meanwhile
      this.workflowClosed(s, run.workflowId, run);
      this.processBuffer(s);
      this.wake(s);
      this.changed(s);
      void this.engine.persistence.barrier().catch(() => undefined);
    });
  }

  // ---- the scheduler ----------------------------------------------------------------------------------------

  private workflowClosed(s: Schedule, workflowId: string, run: Run | undefined): void {
    const snap = s.snapshot;
    const entry = snap.running.find((r) => r.workflowId === workflowId);
    if (!entry) return;
    snap.running = snap.running.filter((r) => r !== entry);
    this.started.delete(`${snap.namespace}\u0000${workflowId}`);
    const status = run?.status ?? Status.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
    for (const a of snap.recent) if (a.workflowId === workflowId) a.status = status;
    const close = run?.events[run.events.length - 1];
    const result = close?.workflowExecutionCompletedEventAttributes?.result;
    const failure =
      close?.workflowExecutionFailedEventAttributes?.failure ??
      (close?.workflowExecutionTimedOutEventAttributes ? { message: 'workflow timed out' } : undefined);
    if (status === Status.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      snap.lastCompletionResult = result ? b64(temporal.api.common.v1.Payloads.encode(result).finish()) : null;
      snap.lastFailure = null;
    } else if (failure) {
      snap.lastFailure = b64(temporal.api.failure.v1.Failure.encode(failure).finish());
      if (s.policies.pauseOnFailure) {
        s.state.paused = true;
        s.state.notes = `Schedule paused due to workflow failure: ${workflowId}: ${failure.message ?? ''}`;
      }
    }
  }

  /** Takes the times since the schedule last looked, starts what its buffer allows, and sets its next wake. */
  private process(s: Schedule): void {
    const now = this.engine.now();
    const snap = s.snapshot;
    // Paused, or its actions used up, the times pass untaken.
    let processedUntil = now;
    if (!s.state.paused) {
      let t = snap.lastProcessed;
      let taken = 0;
      let missed = 0;
      for (;;) {
        const next = nextTime(s.spec, t, s.seed);
        if (!next) break;
        if (next.actual > now) {
          // Its nominal time may have passed while its jitter holds it back: it is looked at again when due.
          processedUntil = Math.min(now, next.nominal - 1);
          break;
        }
        if (now - next.actual > s.catchupWindowMs) {
          snap.missedCatchupWindow++;
          t = next.nominal;
          // A long outage: past 1,000 missed times, on to the catch-up window's start (the rest missed, uncounted).
          if (++missed === MAX_TIMES_AT_ONCE) t = Math.max(t, now - s.catchupWindowMs - s.spec.jitterMs - 1);
          continue;
        }
        if (!this.scheduledActionAllowed(s)) break;
        if (taken === MAX_TIMES_AT_ONCE) {
          processedUntil = next.nominal - 1; // the rest at the next wake, which is now
          break;
        }
        this.buffer(s, { ...next, overlap: this.overlapOf(s), manual: false });
        taken++;
        t = next.nominal;
      }
    }
    snap.lastProcessed = Math.max(snap.lastProcessed, processedUntil);
    this.processBuffer(s);
    this.wake(s);
    this.changed(s);
  }

  private buffer(s: Schedule, item: Buffered): void {
    if (s.snapshot.buffer.length >= MAX_BUFFER) s.snapshot.bufferDropped++;
    else s.snapshot.buffer.push(item);
  }

  /** A scheduled (not manual) action may start now: not paused, actions left. */
  private mayStartScheduled(s: Schedule): boolean {
    return !s.state.paused && (!s.state.limitedActions || int64(s.state.remainingActions) > 0);
  }

  private scheduledActionAllowed(s: Schedule): boolean {
    if (!s.state.limitedActions) return true;
    const waiting = s.snapshot.buffer.filter((b) => !b.manual).length;
    return int64(s.state.remainingActions) - waiting > 0;
  }

  private overlapOf(s: Schedule, given?: number | null): number {
    return given || s.policies.overlapPolicy || Overlap.SCHEDULE_OVERLAP_POLICY_SKIP;
  }

  /** Starts buffered actions as their overlap policies allow. */
  private processBuffer(s: Schedule): void {
    const snap = s.snapshot;
    const keep: Buffered[] = [];
    for (const item of snap.buffer) {
      // srv canTakeScheduledAction: paused meanwhile (pause on failure) or used up, a scheduled action is dropped.
      if (!item.manual && !this.mayStartScheduled(s)) continue;
      const running = snap.running.length > 0;
      if (item.overlap === Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL || (!running && keep.length === 0)) {
        this.startWorkflow(s, item);
        continue;
      }
      switch (item.overlap) {
        case Overlap.SCHEDULE_OVERLAP_POLICY_SKIP:
          if (running || keep.length > 0) snap.overlapSkipped++;
          else this.startWorkflow(s, item);
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
          if (keep.some((k) => k.overlap === Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE)) snap.overlapSkipped++;
          else keep.push(item);
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
          this.cancelRunning(s);
          // Only the newest waits for the cancelled one to close.
          for (const k of keep.filter((k) => k.overlap === Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)) {
            keep.splice(keep.indexOf(k), 1);
            snap.overlapSkipped++;
          }
          keep.push(item);
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
          this.terminateRunning(s);
          if (keep.length === 0) this.startWorkflow(s, item);
          else keep.push(item);
          break;
        default: // BUFFER_ALL
          keep.push(item);
      }
    }
    snap.buffer = keep;
  }

  private runningRuns(s: Schedule): Run[] {
    return s.snapshot.running
      .map((r) => this.engine.runs.current(s.snapshot.namespace, r.workflowId))
      .filter((r): r is Run => !!r && r.isOpen);
  }

  private cancelRunning(s: Schedule): void {
    for (const run of this.runningRuns(s))
      this.engine.executions.requestCancelRun(run, 'cancelled by schedule overlap policy', 'temporal-scheduler', '');
  }

  private terminateRunning(s: Schedule): void {
    for (const run of this.runningRuns(s)) {
      this.engine.executions.terminateRun(run, 'terminated by schedule overlap policy', null, 'temporal-scheduler');
      // Closed synchronously: the schedule forgets it now rather than when the close hook runs.
      this.workflowClosed(s, run.workflowId, run);
    }
  }

  private startWorkflow(s: Schedule, item: Buffered): void {
    const snap = s.snapshot;
    const action = s.schedule.action!.startWorkflow!;
    const ns = this.engine.namespaces.get(snap.namespace);
    const nominalSecond = Math.floor(item.nominal / 1000) * 1000;
    const workflowId = `${action.workflowId}-${new Date(nominalSecond).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    snap.actionSeq = (snap.actionSeq ?? 0) + 1;
    const requestId = createHash('sha256')
      .update(`${snap.namespace}\u0000${snap.scheduleId}\u0000${snap.createTime}\u0000${snap.actionSeq}`)
      .digest('hex')
      .slice(0, 32);
    const now = this.engine.now();
    try {
      const params = this.engine.executions.validateStart(ns, {
        ...action,
        workflowId,
        requestId,
        identity: 'temporal-scheduler',
      });
      params.searchAttributes = {
        indexedFields: {
          ...(params.searchAttributes?.indexedFields ?? {}),
          TemporalScheduledStartTime: encodeValue('Datetime', new Date(item.nominal).toISOString()),
          TemporalScheduledById: encodeValue('Keyword', snap.scheduleId),
        },
      };
      // Workflows that run one after another get the last one's result or failure (not with ALLOW_ALL).
      if (item.overlap !== Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) {
        if (snap.lastCompletionResult)
          params.lastCompletionResult = temporal.api.common.v1.Payloads.decode(unb64(snap.lastCompletionResult));
        if (snap.lastFailure) params.continuedFailure = temporal.api.failure.v1.Failure.decode(unb64(snap.lastFailure));
      }
      // A workflow of that id still running is refused (ALREADY_EXISTS, below); a closed one is started anew.
      if (this.engine.executions.checkWorkflowIdPolicies(ns, workflowId, requestId, 0, 0)) return;
      const run = this.engine.executions.startRun(params);
      if (!item.manual && s.state.limitedActions)
        s.state.remainingActions = long(Math.max(0, int64(s.state.remainingActions) - 1));
      snap.actionCount++;
      snap.recent.push({
        scheduleTime: item.nominal,
        actualTime: now,
        workflowId,
        runId: run.runId,
        status: run.status,
      });
      snap.recent = snap.recent.slice(-RECENT_ACTIONS);
      if (run.isOpen) {
        snap.running.push({ workflowId, runId: run.runId });
        this.started.set(`${snap.namespace}\u0000${workflowId}`, s);
      }
    } catch (err) {
      // A workflow of that id still running (started by hand, or before a restart): Temporal's scheduler counts
      // nothing and goes on.
      this.engine.log.warn(
        { schedule: snap.scheduleId, workflowId, err: err instanceof Error ? err.message : String(err) },
        'a schedule could not start its workflow',
      );
    }
  }

  /** The schedule's next wake: its next action time, if it has one to take. */
  private wake(s: Schedule): void {
    const key = `schedule:${s.key}`;
    const next =
      s.state.paused || !this.scheduledActionAllowed(s)
        ? undefined
        : nextTime(s.spec, s.snapshot.lastProcessed, s.seed);
    if (!next) {
      this.engine.timers.clear(key);
      return;
    }
    this.engine.timers.set(key, next.actual, () => {
      if (this.byKey.get(s.key) !== s) return;
      this.process(s);
      void this.engine.persistence.barrier().catch(() => undefined);
    });
  }

  /** The next times (srv getFutureActionTimes: shown while paused too; as many as actions are left). */
  private futureTimes(s: Schedule, count: number): ScheduleTime[] {
    let n = count;
    if (s.state.limitedActions)
      n = Math.min(n, Math.max(0, int64(s.state.remainingActions) - s.snapshot.buffer.filter((b) => !b.manual).length));
    const out: ScheduleTime[] = [];
    let t = s.snapshot.lastProcessed;
    while (out.length < n) {
      const next = nextTime(s.spec, t, s.seed);
      if (!next) break;
      out.push(next);
      t = next.nominal;
    }
    return out;
  }

  private applyPatch(s: Schedule, patch: temporal.api.schedule.v1.ISchedulePatch): void {
    const now = this.engine.now();
    if (patch.pause) {
      this.process(s); // the times up to now, taken before it pauses
      s.state.paused = true;
      s.state.notes = patch.pause;
      s.snapshot.conflictToken++;
    }
    if (patch.unpause) {
      if (s.state.paused) this.process(s); // paused: the times up to now pass, not caught up
      s.state.paused = false;
      s.state.notes = patch.unpause;
      s.snapshot.conflictToken++;
    }
    if (patch.triggerImmediately)
      this.buffer(s, {
        nominal: now,
        actual: now,
        overlap: this.overlapOf(s, patch.triggerImmediately.overlapPolicy),
        manual: true,
      });
    for (const b of patch.backfillRequest ?? []) {
      for (const t of this.backfillTimes(s, b))
        this.buffer(s, { ...t, overlap: this.overlapOf(s, b.overlapPolicy), manual: true });
    }
  }

  /** A patch's refusals, before any of it is applied. */
  private checkPatch(s: Schedule, patch: temporal.api.schedule.v1.ISchedulePatch): void {
    for (const b of patch.backfillRequest ?? []) this.backfillTimes(s, b);
  }

  private backfillTimes(s: Schedule, b: temporal.api.schedule.v1.IBackfillRequest): ScheduleTime[] {
    const start = timestampMs(b.startTime);
    const end = timestampMs(b.endTime);
    if (start === undefined || end === undefined || end < start)
      throw invalidArgument('A backfill needs a start time and an end time after it.');
    const times = timesBetween(s.spec, start - 1, end, s.seed, MAX_TIMES_AT_ONCE + 1);
    if (times.length > MAX_TIMES_AT_ONCE)
      throw invalidArgument(`A backfill may take at most ${MAX_TIMES_AT_ONCE} actions; split the range.`);
    return times;
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /** Checks a schedule as the frontend does, and returns it with the defaults describe shows. */
  private validate(namespace: string, given: ISchedule | null | undefined): ISchedule {
    const start = given?.action?.startWorkflow;
    if (!start) throw invalidArgument('Schedule action is not set: a schedule starts a workflow.');
    const ns = this.engine.namespaces.get(namespace);
    // The start the schedule will make, checked now (id, type, queue, timeouts, retry policy, memo, attributes).
    this.engine.executions.validateStart(ns, {
      ...start,
      workflowId: start.workflowId ?? '',
      identity: '',
      requestId: 'x',
    });
    const spec = compileSpec(given?.spec);
    const policies = given?.policies ?? {};
    const state = given?.state ?? {};
    if (int64(state.remainingActions) < 0) throw invalidArgument('Schedule remainingActions may not be negative.');
    return temporal.api.schedule.v1.Schedule.decode(
      temporal.api.schedule.v1.Schedule.encode({
        spec: spec.canonical,
        action: given.action,
        policies: {
          overlapPolicy: policies.overlapPolicy || Overlap.SCHEDULE_OVERLAP_POLICY_SKIP,
          catchupWindow: policies.catchupWindow ?? { seconds: long(DEFAULT_CATCHUP_WINDOW_MS / 1000) },
          pauseOnFailure: policies.pauseOnFailure ?? false,
          keepOriginalWorkflowId: policies.keepOriginalWorkflowId ?? false,
        },
        state: {
          notes: state.notes ?? '',
          paused: state.paused ?? false,
          limitedActions: state.limitedActions ?? false,
          remainingActions: state.limitedActions ? (state.remainingActions ?? long(0)) : long(0),
        },
      }).finish(),
    );
  }

  private encodeSearchAttributes(
    namespace: string,
    attributes: temporal.api.common.v1.ISearchAttributes | null | undefined,
  ): string | null {
    const ns = this.engine.namespaces.get(namespace);
    // What a describe showed, sent back by an update, may carry the attributes the server keeps: not the caller's.
    const fields = { ...(attributes?.indexedFields ?? {}) };
    for (const kept of ['TemporalSchedulePaused', 'TemporalNamespaceDivision']) delete fields[kept];
    const valid = validateSearchAttributes({ indexedFields: fields }, ns.searchAttributes);
    return valid ? b64(temporal.api.common.v1.SearchAttributes.encode(valid).finish()) : null;
  }

  /** The schedule's own search attributes (the ones the server keeps, as `TemporalSchedulePaused`, not shown). */
  private searchAttributesOf(s: Schedule): temporal.api.common.v1.ISearchAttributes | null {
    return s.snapshot.searchAttributes
      ? temporal.api.common.v1.SearchAttributes.decode(unb64(s.snapshot.searchAttributes))
      : null;
  }

  private attribute(s: Schedule, name: string) {
    if (name === 'ScheduleId') return s.snapshot.scheduleId;
    if (name === 'TemporalSchedulePaused') return s.state.paused === true;
    const payload = this.searchAttributesOf(s)?.indexedFields?.[name];
    if (!payload?.data?.length) return undefined;
    return JSON.parse(Buffer.from(payload.data).toString('utf8'));
  }

  private get(namespace: string | null | undefined, scheduleId: string | null | undefined): Schedule {
    const ns = this.engine.namespaces.get(namespace);
    const s = this.byKey.get(`${ns.name}\u0000${scheduleId ?? ''}`);
    if (!s) throw notFound(`Schedule not found: ${scheduleId ?? ''}.`);
    return s;
  }

  private changed(s: Schedule): void {
    if (this.byKey.get(s.key) !== s) return;
    this.engine.persistence.markSchedule(s.snapshot.namespace, s.snapshot.scheduleId, () =>
      JSON.stringify({ ...s.snapshot, schedule: b64(temporal.api.schedule.v1.Schedule.encode(s.schedule).finish()) }),
    );
  }
}

function actionResult(a: RecentAction): temporal.api.schedule.v1.IScheduleActionResult {
  return {
    scheduleTime: timestamp(a.scheduleTime),
    actualTime: timestamp(a.actualTime),
    startWorkflowResult: { workflowId: a.workflowId, runId: a.runId },
    startWorkflowStatus: a.status,
  };
}

/** The schedule's version as an 8-byte big-endian number, as the real server's conflict tokens are. */
function conflictToken(s: Schedule): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(s.snapshot.conflictToken));
  return new Uint8Array(b);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
