/**
 * Runs' lives: start (with request-id idempotency and the workflow id policies), signal, signal-with-start,
 * cancel requests, termination, run and execution time-outs, workflow retries, continue-as-new, and closing a
 * run. Each change is made synchronously on the in-memory run; the RPCs answer after the commit (its barrier).
 */
import { randomUUID } from 'node:crypto';
import { cronBackoffMs, parseCron } from './cron';
import { invalidArgument, workflowAlreadyStarted } from '../errors';
import { EventType, ExecutionStatus, temporal, type IMemo, type IPayloads } from '../proto';
import type { NamespaceRecord } from '../store/store';
import { duration, durationMs, timestamp } from '../util/time';
import type { EngineContext } from './context';
import { checkBlob, checkMemo } from './limits';
import { nextRetry, normalizeRetryPolicy, validateRetryPolicy } from './retry';
import { Run } from './run';
import { validateSearchAttributes } from './search-attributes';
import type { Req, Res } from './types';

const ReusePolicy = temporal.api.enums.v1.WorkflowIdReusePolicy;
const ConflictPolicy = temporal.api.enums.v1.WorkflowIdConflictPolicy;

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
  /** A cron chain's schedule (engine/cron.ts): each run's close starts the next at its schedule time. */
  cronSchedule?: string;
  /**
   * Waits for the cron schedule's first time after this moment (0: the start itself) — the first run of a chain,
   * and each next one (after the previous run's schedule time) — instead of `startDelayMs`.
   */
  cronAfter?: number;
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
  /** The start request's static summary and details (UI metadata), written on WorkflowExecutionStarted. */
  userMetadata?: temporal.api.sdk.v1.IUserMetadata | null;
  /** Writes events between WorkflowExecutionStarted and the first WorkflowTaskScheduled (signal-with-start). */
  beforeFirstTask?: (run: Run) => void;
}

export class Executions {
  constructor(private readonly engine: EngineContext) {}

  // ---- start ------------------------------------------------------------------------------------------------

  async start(req: Req<'StartWorkflowExecutionRequest'>): Promise<Res<'StartWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const params = this.validateStart(ns, req);
    const existing = this.checkWorkflowIdPolicies(
      ns,
      params.workflowId,
      params.requestId,
      req.workflowIdReusePolicy ?? 0,
      req.workflowIdConflictPolicy ?? 0,
    );
    if (existing) {
      await this.engine.persistence.barrier();
      return { runId: existing.run.runId, started: existing.started, status: existing.run.status };
    }
    const run = this.startRun(params);
    await this.engine.persistence.barrier();
    return { runId: run.runId, started: true, status: run.status };
  }

  /** Validates and normalises a start request (StartWorkflowExecution, SignalWithStart, ExecuteMultiOperation). */
  validateStart(
    ns: NamespaceRecord,
    req: Pick<
      Req<'StartWorkflowExecutionRequest'>,
      | 'workflowId'
      | 'workflowType'
      | 'taskQueue'
      | 'input'
      | 'header'
      | 'identity'
      | 'requestId'
      | 'workflowExecutionTimeout'
      | 'workflowRunTimeout'
      | 'workflowTaskTimeout'
      | 'retryPolicy'
      | 'cronSchedule'
      | 'memo'
      | 'searchAttributes'
      | 'workflowStartDelay'
      | 'userMetadata'
    >,
  ): StartParams {
    const workflowId = req.workflowId ?? '';
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (workflowId.length > this.engine.limits.maxIdLength) throw invalidArgument('WorkflowId length exceeds limit.');
    const workflowType = req.workflowType?.name ?? '';
    if (!workflowType) throw invalidArgument('WorkflowType is not set on request.');
    if (workflowType.length > this.engine.limits.maxIdLength)
      throw invalidArgument('WorkflowType length exceeds limit.');
    const taskQueue = req.taskQueue?.name ?? '';
    if (!taskQueue) throw invalidArgument('TaskQueue is not set on request.');
    if (taskQueue.length > this.engine.limits.maxIdLength) throw invalidArgument('TaskQueue length exceeds limit.');
    const cron = req.cronSchedule ? parseCron(req.cronSchedule) : undefined;
    if (req.cronSchedule && !cron) throw invalidArgument('Invalid CronSchedule.');
    const executionTimeoutMs = durationMs(req.workflowExecutionTimeout) ?? 0;
    let runTimeoutMs = durationMs(req.workflowRunTimeout) ?? 0;
    let taskTimeoutMs = durationMs(req.workflowTaskTimeout) ?? 0;
    const startDelayMs = durationMs(req.workflowStartDelay) ?? 0;
    if (cron && startDelayMs) throw invalidArgument('CronSchedule and WorkflowStartDelay may not be used together.');
    if (executionTimeoutMs < 0) throw invalidArgument('Invalid WorkflowExecutionTimeout.');
    if (runTimeoutMs < 0) throw invalidArgument('Invalid WorkflowRunTimeout.');
    if (taskTimeoutMs < 0) throw invalidArgument('Invalid WorkflowTaskTimeout.');
    if (startDelayMs < 0) throw invalidArgument('Invalid WorkflowStartDelay.');
    validateRetryPolicy(req.retryPolicy, 'Invalid RetryPolicy');
    // srv: the run timeout defaults to, and is capped by, the execution timeout; the task timeout defaults
    // to 10 s, is capped at 120 s and by the run timeout.
    if (executionTimeoutMs > 0 && (runTimeoutMs === 0 || runTimeoutMs > executionTimeoutMs))
      runTimeoutMs = executionTimeoutMs;
    if (taskTimeoutMs === 0) taskTimeoutMs = 10_000;
    taskTimeoutMs = Math.min(taskTimeoutMs, 120_000);
    if (runTimeoutMs > 0) taskTimeoutMs = Math.min(taskTimeoutMs, runTimeoutMs);
    checkBlob(this.engine.limits, req.input, 'Workflow input');
    checkMemo(this.engine.limits, req.memo);
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
      // A cron chain's first run waits for the first schedule time after its start.
      ...(cron ? { cronSchedule: req.cronSchedule!, cronAfter: 0 } : {}),
      userMetadata: req.userMetadata ?? null,
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
    const chain = this.engine.runs.chain(ns.name, workflowId);
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
        this.terminateRun(
          current,
          'terminated by a new start (WorkflowIdConflictPolicy TERMINATE_EXISTING)',
          null,
          'history-service',
        );
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
    const now = this.engine.now();
    const run = new Run(this.engine);
    run.namespace = p.namespace.name;
    run.namespaceId = p.namespace.id;
    run.workflowId = p.workflowId;
    run.runId = p.runId ?? randomUUID();
    run.firstExecutionRunId = p.firstExecutionRunId ?? run.runId;
    run.workflowType = p.workflowType;
    run.taskQueue = p.taskQueue;
    const cron = p.cronSchedule && p.cronAfter !== undefined ? parseCron(p.cronSchedule) : undefined;
    const startDelayMs = cron ? cronBackoffMs(cron, p.cronAfter || now, now) : (p.startDelayMs ?? 0);
    run.startTime = now;
    run.executionTime = now + startDelayMs;
    run.startRequestId = p.requestId;
    run.requestIds.add(p.requestId);
    run.memo = p.memo ?? null;
    run.searchAttributes = p.searchAttributes ?? null;
    run.workflowTaskTimeoutMs = p.taskTimeoutMs;
    run.runTimeoutMs = p.runTimeoutMs;
    run.executionTimeoutMs = p.executionTimeoutMs;
    run.executionExpirationTime =
      p.executionExpirationTime ?? (p.executionTimeoutMs > 0 ? now + p.executionTimeoutMs : 0);
    // srv: the run's time counts from its execution time (after a start delay, a retry's or a cron's backoff).
    run.runExpirationTime = p.runTimeoutMs > 0 ? run.executionTime + p.runTimeoutMs : 0;
    if (
      run.executionExpirationTime > 0 &&
      (run.runExpirationTime === 0 || run.runExpirationTime > run.executionExpirationTime)
    ) {
      run.runExpirationTime = run.executionExpirationTime;
    }
    run.attempt = p.attempt ?? 1;
    run.retryPolicy = p.retryPolicy ?? null;
    run.cronSchedule = p.cronSchedule ?? '';
    run.parent = p.parent;
    run.rootExecution = p.rootExecution;
    this.engine.runs.add(run);

    run.addEvent(
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      {
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
        workflowExecutionExpirationTime:
          run.executionExpirationTime > 0 ? timestamp(run.executionExpirationTime) : null,
        cronSchedule: p.cronSchedule ?? '',
        firstWorkflowTaskBackoff: startDelayMs ? duration(startDelayMs) : null,
        memo: p.memo ?? null,
        searchAttributes: p.searchAttributes ?? null,
        header: p.header ?? null,
        workflowId: p.workflowId,
        rootWorkflowExecution: p.rootExecution ?? { workflowId: run.workflowId, runId: run.runId },
      },
      undefined,
      p.userMetadata,
    );
    p.beforeFirstTask?.(run);
    if (startDelayMs > 0) {
      this.armStartDelay(run);
    } else {
      this.engine.workflowTasks.schedule(run);
    }
    this.armRunDeadlines(run);
    run.touch();
    return run;
  }

  private armStartDelay(run: Run): void {
    this.engine.timers.set(`start-delay:${run.runId}`, run.executionTime, () => {
      if (run.isOpen && !run.wft && run.lastCompletedWftStartedId === 0) this.engine.workflowTasks.schedule(run);
    });
  }

  /** A run's own deadlines (run and execution time-outs, a start delay): at its start, and again after a restart. */
  armRunDeadlines(run: Run): void {
    if (run.runExpirationTime > 0) {
      this.engine.timers.set(`run-timeout:${run.runId}`, run.runExpirationTime, () => this.timeOutRun(run));
    }
    if (run.lastCompletedWftStartedId === 0 && !run.wft && run.executionTime > run.startTime) this.armStartDelay(run);
  }

  /** The run (or execution) timeout fired: the run times out, and is retried if its retry policy allows. */
  private timeOutRun(run: Run): void {
    if (!run.isOpen) return;
    this.forceCloseWorkflowTask(run);
    const failure = {
      message: 'workflow run timeout',
      source: 'Server',
      timeoutFailureInfo: { timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE },
    };
    // srv: past the execution's own deadline nothing follows (TIMEOUT); before it, a retry or the cron chain may,
    // and the retry state is the retry policy's.
    const expired = run.executionExpirationTime > 0 && run.executionExpirationTime <= this.engine.now();
    const retry = expired
      ? ({ retry: false, state: temporal.api.enums.v1.RetryState.RETRY_STATE_TIMEOUT } as const)
      : this.workflowRetry(run, failure);
    const next = retry.retry ? retry : expired ? undefined : this.nextCronRun(run, { failure });
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, {
      retryState: retry.retry ? temporal.api.enums.v1.RetryState.RETRY_STATE_IN_PROGRESS : retry.state,
      newExecutionRunId: next ? next.runId : '',
    });
    next?.start();
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
    void this.engine.persistence.barrier().catch(() => undefined);
  }

  /** The FailWorkflowExecution command: the run fails, and is retried if its retry policy allows. */
  failRun(run: Run, failure: temporal.api.failure.v1.IFailure | null, completedEventId: number): void {
    const retry = this.workflowRetry(run, failure);
    // A retry comes first; a cron chain goes on at its next schedule time when no retry is left.
    const next = retry.retry ? retry : this.nextCronRun(run, { failure });
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
      failure,
      retryState: retry.retry ? temporal.api.enums.v1.RetryState.RETRY_STATE_IN_PROGRESS : retry.state,
      workflowTaskCompletedEventId: completedEventId,
      newExecutionRunId: next ? next.runId : '',
    });
    next?.start();
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED);
  }

  /** The CompleteWorkflowExecution command: the run completes; a cron chain's next run starts at its schedule time. */
  completeRun(run: Run, result: IPayloads | null, completedEventId: number): void {
    const next = this.nextCronRun(run, { result });
    run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {
      result,
      workflowTaskCompletedEventId: completedEventId,
      newExecutionRunId: next ? next.runId : '',
    });
    next?.start();
    this.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }

  /**
   * The next run of a cron chain, as srv starts it when a run completes, fails or times out (terminated and
   * cancelled runs end the chain): at the next schedule time (engine/cron.ts), unless that is past the execution
   * timeout; initiator CRON_SCHEDULE, attempt 1, the last completion result (this run's result, or the one it was
   * given) and this run's failure.
   */
  private nextCronRun(
    run: Run,
    outcome: { result?: IPayloads | null; failure?: temporal.api.failure.v1.IFailure | null },
  ): { runId: string; start: () => void } | undefined {
    if (!run.cronSchedule) return undefined; // checked when the chain started
    // srv starts the next run even when its time is past the execution's deadline: it times out there.
    const given = run.events[0].workflowExecutionStartedEventAttributes!.lastCompletionResult ?? null;
    return this.nextRunOf(run, {
      cronSchedule: run.cronSchedule,
      cronAfter: run.executionTime,
      initiator: temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
      continuedFailure: outcome.failure ?? null,
      lastCompletionResult: outcome.result !== undefined ? outcome.result : given,
      attempt: 1,
    });
  }

  /** The next run of a chain with the run's own input: its id now (the close event names it), its start later. */
  private nextRunOf(run: Run, p: Partial<StartParams>): { runId: string; start: () => void } {
    const runId = randomUUID();
    const started = run.events[0].workflowExecutionStartedEventAttributes!;
    return {
      runId,
      start: () => {
        this.startNextRun(run, { runId, input: started.input, header: started.header, ...p });
      },
    };
  }

  /**
   * Decides a workflow retry by the run's retry policy (workflows have none unless the starter set one).
   * When it retries, `start()` starts the next run of the chain, after the backoff.
   */
  private workflowRetry(
    run: Run,
    failure: temporal.api.failure.v1.IFailure | null,
  ): { retry: true; runId: string; start: () => void } | { retry: false; state: number } {
    if (!run.retryPolicy)
      return { retry: false, state: temporal.api.enums.v1.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET };
    const decision = nextRetry(run.retryPolicy, run.attempt, failure, this.engine.now(), run.executionExpirationTime);
    if (!decision.retry) return { retry: false, state: decision.state };
    return {
      retry: true,
      ...this.nextRunOf(run, {
        startDelayMs: decision.delayMs,
        initiator: temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY,
        continuedFailure: failure,
        cronSchedule: run.cronSchedule,
        attempt: run.attempt + 1,
      }),
    };
  }

  /** Starts the next run of a chain (continue-as-new or retry), inheriting what the chain keeps. */
  private startNextRun(prev: Run, p: Partial<StartParams> & { runId: string }): Run {
    const ns = this.engine.namespaces.get(prev.namespace);
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
  continueAsNew(
    run: Run,
    a: temporal.api.command.v1.IContinueAsNewWorkflowExecutionCommandAttributes,
    completedEventId: number,
  ): void {
    const runId = randomUUID();
    const ns = this.engine.namespaces.get(run.namespace);
    const taskQueue = a.taskQueue?.name || run.taskQueue;
    const runTimeoutMs = durationMs(a.workflowRunTimeout) || run.runTimeoutMs;
    const taskTimeoutMs = durationMs(a.workflowTaskTimeout) || run.workflowTaskTimeoutMs;
    // srv: memo and search attributes carry over unless the command replaces them.
    const memo = a.memo && Object.keys(a.memo.fields ?? {}).length > 0 ? a.memo : run.memo;
    const searchAttributes = a.searchAttributes
      ? validateSearchAttributes(a.searchAttributes, ns.searchAttributes)
      : run.searchAttributes;
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
    if (run.historySizeBytes > this.engine.limits.historySizeLimit) reason = 'Workflow history size exceeds limit.';
    else if (run.nextEventId - 1 > this.engine.limits.historyCountLimit)
      reason = 'Workflow history count exceeds limit.';
    if (!reason) return;
    this.engine.log.warn(
      { workflowId: run.workflowId, runId: run.runId, events: run.nextEventId - 1, bytes: run.historySizeBytes },
      reason,
    );
    this.terminateRun(run, reason, null, 'history-service');
  }

  // ---- signal, cancel, terminate ----------------------------------------------------------------------------

  /**
   * Signals the running workflow, or starts it with the signal as its first event (`1 Started, 2 Signaled,
   * 3 WorkflowTaskScheduled`). A running workflow is signalled unless the conflict policy says FAIL or
   * TERMINATE_EXISTING (srv signal_with_start_workflow.go).
   */
  async signalWithStart(
    req: Req<'SignalWithStartWorkflowExecutionRequest'>,
  ): Promise<Res<'SignalWithStartWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    checkBlob(this.engine.limits, req.signalInput, 'Signal input');
    const params = this.validateStart(ns, req);
    const signalRequestId = `${params.requestId}/signal`;
    const conflict = req.workflowIdConflictPolicy ?? 0;
    const current = this.engine.runs.current(ns.name, params.workflowId);
    const useExisting =
      conflict !== ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL &&
      conflict !== ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
    if (current?.isOpen && useExisting) {
      this.signalRun(current, req.signalName, req.signalInput, req.header, params.identity, signalRequestId);
      await this.engine.persistence.barrier();
      return { runId: current.runId, started: current.startRequestId === params.requestId };
    }
    const existing = this.checkWorkflowIdPolicies(
      ns,
      params.workflowId,
      params.requestId,
      req.workflowIdReusePolicy ?? 0,
      conflict,
    );
    const run =
      existing?.run ??
      this.startRun({
        ...params,
        beforeFirstTask: (r) =>
          this.signalRun(r, req.signalName!, req.signalInput, req.header, params.identity, signalRequestId),
      });
    await this.engine.persistence.barrier();
    return { runId: run.runId, started: existing ? existing.started : true };
  }

  async signal(req: Req<'SignalWorkflowExecutionRequest'>): Promise<Res<'SignalWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    checkBlob(this.engine.limits, req.input, 'Signal input');
    const run = this.engine.runs.open(ns.name, req.workflowExecution);
    this.signalRun(run, req.signalName, req.input, req.header, req.identity ?? '', req.requestId ?? '');
    await this.engine.persistence.barrier();
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
    this.engine.workflowTasks.schedule(run);
    run.touch();
  }

  async requestCancel(
    req: Req<'RequestCancelWorkflowExecutionRequest'>,
  ): Promise<Res<'RequestCancelWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const run = this.engine.runs.open(ns.name, req.workflowExecution, req.firstExecutionRunId);
    this.requestCancelRun(run, req.reason ?? '', req.identity ?? '', req.requestId ?? '');
    await this.engine.persistence.barrier();
    return {};
  }

  requestCancelRun(
    run: Run,
    reason: string,
    identity: string,
    requestId: string,
    external?: { initiatedEventId: number; execution: temporal.api.common.v1.IWorkflowExecution },
  ): void {
    if (run.cancelRequested) return; // a repeated request is a no-op
    if (requestId) run.requestIds.add(requestId);
    run.cancelRequested = true;
    run.addOrBufferEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
      cause: reason,
      identity,
      externalInitiatedEventId: external?.initiatedEventId ?? 0,
      externalWorkflowExecution: external?.execution ?? null,
    });
    this.engine.workflowTasks.schedule(run);
    run.touch();
  }

  async terminate(req: Req<'TerminateWorkflowExecutionRequest'>): Promise<Res<'TerminateWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const run = this.engine.runs.open(ns.name, req.workflowExecution, req.firstExecutionRunId);
    checkBlob(this.engine.limits, req.details, 'Termination details');
    this.terminateRun(run, req.reason ?? '', req.details ?? null, req.identity ?? '');
    await this.engine.persistence.barrier();
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
    this.engine.workflowTasks.forceClose(run);
  }

  /** Marks a run closed (its close event is already written) and drops everything pending on it. */
  closeRun(run: Run, status: ExecutionStatus): void {
    run.status = status;
    run.closeTime = this.engine.now();
    run.wft = null;
    run.buffered = [];
    this.engine.timers.clear(`wft:${run.runId}`);
    this.engine.timers.clear(`wft-sticky:${run.runId}`);
    this.engine.timers.clear(`run-timeout:${run.runId}`);
    this.engine.timers.clear(`start-delay:${run.runId}`);
    for (const timer of run.timers.values()) this.engine.timers.clear(`timer:${run.runId}:${timer.timerId}`);
    run.timers.clear();
    this.engine.activities.dropAll(run);
    this.engine.workflowTasks.onRunClosed(run);
    this.engine.updates.onRunClosed(run);
    this.engine.children.onRunClosed(run);
    this.engine.schedules.onRunClosed(run);
    run.touch();
  }
}
