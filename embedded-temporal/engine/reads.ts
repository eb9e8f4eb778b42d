/**
 * Reading a run: DescribeWorkflowExecution, and GetWorkflowExecutionHistory with its pages and long polls (a
 * client's `result()` waits on the close event).
 */
import type * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../errors';
import { temporal } from '../proto';
import { duration, long, timestamp } from '../util/time';
import type { EngineContext } from './context';
import type { Run } from './run';
import type { Req, Res } from './types';

/** How long a history long-poll (`result()`) waits before answering with an empty page (real server: 20 s). */
const HISTORY_LONG_POLL_MS = 20_000;

export class Reads {
  constructor(private readonly engine: EngineContext) {}

  async describe(req: Req<'DescribeWorkflowExecutionRequest'>): Promise<Res<'DescribeWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const run = this.engine.runs.resolve(ns.name, req.execution);
    await this.engine.persistence.barrier();
    const PendingWft = temporal.api.enums.v1.PendingWorkflowTaskState;
    const wft = run.wft;
    return {
      executionConfig: {
        taskQueue: { name: run.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        workflowExecutionTimeout: duration(run.executionTimeoutMs),
        workflowRunTimeout: duration(run.runTimeoutMs),
        defaultWorkflowTaskTimeout: duration(run.workflowTaskTimeoutMs),
        // The start request's static summary and details, as WorkflowExecutionStarted keeps them.
        userMetadata: run.eventById(1)?.userMetadata ?? null,
      },
      workflowExecutionInfo: executionInfo(run),
      pendingActivities: this.engine.activities.describePending(run),
      pendingChildren: this.engine.children.describePending(run),
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

  async history(
    req: Req<'GetWorkflowExecutionHistoryRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'GetWorkflowExecutionHistoryResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    let run = this.engine.runs.resolve(ns.name, req.execution);
    const token = decodeHistoryToken(req.nextPageToken);
    if (token) {
      const byToken = this.engine.runs.byId(token.runId);
      if (!byToken || byToken.workflowId !== run.workflowId) throw invalidArgument('Invalid NextPageToken.');
      run = byToken;
    }
    const closeOnly =
      req.historyEventFilterType === temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
    if (closeOnly) {
      if (run.isOpen && req.waitNewEvent)
        await this.engine.polls.waitFor(
          () => [`history:${run.runId}`],
          () => !run.isOpen,
          call,
          HISTORY_LONG_POLL_MS,
        );
      await this.engine.persistence.barrier();
      const close = run.closeEvent;
      if (close) return { history: { events: [close] } };
      return { history: { events: [] }, nextPageToken: encodeHistoryToken(run.runId, run.nextEventId) };
    }
    const from = token?.next ?? 1;
    if (req.waitNewEvent && run.isOpen && from >= run.nextEventId) {
      await this.engine.polls.waitFor(
        () => [`history:${run.runId}`],
        () => run.nextEventId > from || !run.isOpen,
        call,
        HISTORY_LONG_POLL_MS,
      );
    }
    await this.engine.persistence.barrier();
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    const events = run.events.slice(from - 1, from - 1 + pageSize);
    const next = from + events.length;
    const more = next < run.nextEventId || (req.waitNewEvent && run.isOpen);
    return { history: { events }, nextPageToken: more ? encodeHistoryToken(run.runId, next) : null };
  }
}

function encodeHistoryToken(runId: string, next: number): Uint8Array {
  return Buffer.from(JSON.stringify({ r: runId, n: next }));
}

function decodeHistoryToken(token: Uint8Array | null | undefined): { runId: string; next: number } | undefined {
  if (!token || token.length === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token).toString('utf8')) as { r: unknown; n: unknown };
    if (typeof parsed.r === 'string' && typeof parsed.n === 'number' && parsed.n >= 1)
      return { runId: parsed.r, next: parsed.n };
  } catch {
    /* fall through */
  }
  throw invalidArgument('Invalid NextPageToken.');
}

/** A run as DescribeWorkflowExecution and the visibility lists show it. */
export function executionInfo(run: Run): temporal.api.workflow.v1.IWorkflowExecutionInfo {
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
