/**
 * Workflows acting on other workflows: child workflows (start, their close reported to the parent, the
 * parent close policy) and signalling or cancelling an external workflow. Like the real server's transfer
 * tasks, these run after the workflow task completion that asked for them has been written.
 */
import { EventType, temporal } from '../proto';
import { long } from '../util/time';
import { RpcError } from '../errors';
import type { EngineContext } from './context';
import { Run, int, type ChildInfo } from './run';

const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;
const ParentClosePolicy = temporal.api.enums.v1.ParentClosePolicy;
const ConflictPolicy = temporal.api.enums.v1.WorkflowIdConflictPolicy;

type ChildAttributes = temporal.api.history.v1.IStartChildWorkflowExecutionInitiatedEventAttributes;
type SignalAttributes = temporal.api.history.v1.ISignalExternalWorkflowExecutionInitiatedEventAttributes;
type CancelAttributes = temporal.api.history.v1.IRequestCancelExternalWorkflowExecutionInitiatedEventAttributes;

export class Children {
  constructor(private readonly engine: EngineContext) {}

  /** Starts the child named by StartChildWorkflowExecutionInitiated, or records why it could not start. */
  start(parent: Run, initiatedEventId: number, a: ChildAttributes): void {
    const info = parent.children.get(initiatedEventId);
    if (!parent.isOpen || !info) return;
    const failed = (cause: number) => {
      parent.children.delete(initiatedEventId);
      parent.addOrBufferEvent(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, {
        namespace: info.namespace,
        namespaceId: info.namespaceId,
        workflowId: info.workflowId,
        workflowType: { name: info.workflowType },
        cause,
        initiatedEventId,
        workflowTaskCompletedEventId: a.workflowTaskCompletedEventId,
      });
      this.engine.workflowTasks.schedule(parent);
      parent.touch();
    };
    const ns = this.engine.namespaces.list().find((n) => n.name === info.namespace);
    if (!ns)
      return failed(
        temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause
          .START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND,
      );
    // A request id derived from the parent makes the start idempotent.
    const requestId = `${parent.runId}/${initiatedEventId}`;
    let child: Run;
    try {
      const params = this.engine.executions.validateStart(ns, {
        workflowId: a.workflowId,
        workflowType: a.workflowType,
        taskQueue: a.taskQueue,
        input: a.input,
        header: a.header,
        identity: '',
        requestId,
        workflowExecutionTimeout: a.workflowExecutionTimeout,
        workflowRunTimeout: a.workflowRunTimeout,
        workflowTaskTimeout: a.workflowTaskTimeout,
        retryPolicy: a.retryPolicy,
        memo: a.memo,
        searchAttributes: a.searchAttributes,
      });
      const existing = this.engine.executions.checkWorkflowIdPolicies(
        ns,
        params.workflowId,
        requestId,
        a.workflowIdReusePolicy ?? 0,
        ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
      );
      child =
        existing?.run ??
        this.engine.executions.startRun({
          ...params,
          parent: {
            namespace: parent.namespace,
            namespaceId: parent.namespaceId,
            workflowId: parent.workflowId,
            runId: parent.runId,
            initiatedEventId,
          },
          rootExecution: parent.rootExecution ?? { workflowId: parent.workflowId, runId: parent.runId },
          // The child's static summary and details, as the parent's command gave them.
          userMetadata: parent.eventById(initiatedEventId)?.userMetadata ?? null,
        });
    } catch (err) {
      if (err instanceof RpcError) {
        return failed(
          temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause
            .START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
        );
      }
      throw err;
    }
    info.runId = child.runId;
    parent.addOrBufferEvent(
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
      {
        namespace: info.namespace,
        namespaceId: info.namespaceId,
        initiatedEventId,
        workflowExecution: { workflowId: child.workflowId, runId: child.runId },
        workflowType: { name: child.workflowType },
        header: a.header ?? null,
      },
      {
        onAssigned: (id) => {
          info.startedEventId = id;
        },
      },
    );
    this.engine.workflowTasks.schedule(parent);
    parent.touch();
  }

  /** A run closed: apply its parent close policy to its children, and report its end to its parent. */
  onRunClosed(run: Run): void {
    for (const info of [...run.children.values()]) this.applyParentClosePolicy(run, info);
    run.children.clear();
    if (run.parent && !run.newExecutionRunId) this.notifyParent(run);
  }

  private applyParentClosePolicy(parent: Run, info: ChildInfo): void {
    if (!info.runId) return;
    const child = this.engine.runs.current(info.namespace, info.workflowId);
    if (!child || !child.isOpen || child.parent?.runId !== parent.runId) return;
    switch (info.parentClosePolicy) {
      case ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON:
        return;
      case ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL:
        this.engine.executions.requestCancelRun(child, 'by parent close policy', 'history-service', '');
        return;
      default:
        this.engine.executions.terminateRun(child, 'by parent close policy', null, 'history-service');
    }
  }

  private notifyParent(child: Run): void {
    const p = child.parent!;
    const parent = this.engine.runs.byId(p.runId);
    const info = parent?.children.get(p.initiatedEventId);
    if (!parent || !parent.isOpen || !info) return;
    const close = child.closeEvent;
    const common = {
      namespace: child.namespace,
      namespaceId: child.namespaceId,
      workflowExecution: { workflowId: child.workflowId, runId: child.runId },
      workflowType: { name: child.workflowType },
      initiatedEventId: p.initiatedEventId,
      startedEventId: info.startedEventId ?? startedEventIdOf(parent, p.initiatedEventId),
    };
    let type: temporal.api.enums.v1.EventType;
    let attributes: Record<string, unknown>;
    switch (child.status) {
      case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
        type = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED;
        attributes = { ...common, result: close?.workflowExecutionCompletedEventAttributes?.result ?? null };
        break;
      case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED:
        type = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED;
        attributes = {
          ...common,
          failure: close?.workflowExecutionFailedEventAttributes?.failure ?? null,
          retryState: close?.workflowExecutionFailedEventAttributes?.retryState ?? 0,
        };
        break;
      case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED:
        type = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED;
        attributes = { ...common, details: close?.workflowExecutionCanceledEventAttributes?.details ?? null };
        break;
      case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
        type = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT;
        attributes = { ...common, retryState: close?.workflowExecutionTimedOutEventAttributes?.retryState ?? 0 };
        break;
      default:
        type = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED;
        attributes = common;
    }
    parent.children.delete(p.initiatedEventId);
    parent.addOrBufferEvent(type, attributes, { closesTask: true });
    this.engine.workflowTasks.schedule(parent);
    parent.touch();
  }

  /** The target of a signal or cancel command: a run id, or the latest run of the workflow id. */
  private target(
    source: Run,
    namespace: string | null | undefined,
    execution: temporal.api.common.v1.IWorkflowExecution | null | undefined,
    childOnly: boolean,
  ): Run | undefined {
    const ns = namespace || source.namespace;
    const workflowId = execution?.workflowId ?? '';
    const run = execution?.runId ? this.engine.runs.byId(execution.runId) : this.engine.runs.current(ns, workflowId);
    if (!run || run.namespace !== ns || run.workflowId !== workflowId || !run.isOpen) return undefined;
    if (childOnly && run.parent?.runId !== source.runId) return undefined;
    return run;
  }

  signalExternal(source: Run, initiatedEventId: number, a: SignalAttributes & { control?: string | null }): void {
    if (!source.isOpen) return;
    const target = this.target(source, a.namespace, a.workflowExecution, !!a.childWorkflowOnly);
    let delivered = false;
    if (target) {
      try {
        this.engine.executions.signalRun(
          target,
          a.signalName ?? '',
          a.input,
          a.header,
          '',
          `${source.runId}/${initiatedEventId}`,
          {
            workflowId: source.workflowId,
            runId: source.runId,
          },
        );
        delivered = true;
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
      }
    }
    const common = {
      namespace: a.namespace || source.namespace,
      namespaceId: source.namespaceId,
      initiatedEventId,
      control: a.control ?? '',
    };
    if (delivered) {
      source.addOrBufferEvent(EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, {
        ...common,
        workflowExecution: { workflowId: target!.workflowId, runId: target!.runId },
      });
    } else {
      source.addOrBufferEvent(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
        ...common,
        cause:
          temporal.api.enums.v1.SignalExternalWorkflowExecutionFailedCause
            .SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        workflowTaskCompletedEventId: a.workflowTaskCompletedEventId,
        workflowExecution: a.workflowExecution,
      });
    }
    this.engine.workflowTasks.schedule(source);
    source.touch();
  }

  cancelExternal(source: Run, initiatedEventId: number, a: CancelAttributes & { control?: string | null }): void {
    if (!source.isOpen) return;
    const target = this.target(source, a.namespace, a.workflowExecution, !!a.childWorkflowOnly);
    const common = { namespace: a.namespace || source.namespace, namespaceId: source.namespaceId, initiatedEventId };
    if (target) {
      this.engine.executions.requestCancelRun(target, a.reason ?? '', '', `${source.runId}/${initiatedEventId}`, {
        initiatedEventId,
        execution: { workflowId: source.workflowId, runId: source.runId },
      });
      source.addOrBufferEvent(EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
        ...common,
        workflowExecution: { workflowId: target.workflowId, runId: target.runId },
      });
    } else {
      source.addOrBufferEvent(EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
        ...common,
        cause:
          temporal.api.enums.v1.CancelExternalWorkflowExecutionFailedCause
            .CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        workflowTaskCompletedEventId: a.workflowTaskCompletedEventId,
        workflowExecution: a.workflowExecution,
        control: a.control ?? '',
      });
    }
    this.engine.workflowTasks.schedule(source);
    source.touch();
  }

  /** Pending children of a run, for DescribeWorkflowExecution. */
  describePending(run: Run): temporal.api.workflow.v1.IPendingChildExecutionInfo[] {
    return [...run.children.values()].map((c) => ({
      workflowId: c.workflowId,
      runId: c.runId ?? '',
      workflowTypeName: c.workflowType,
      initiatedId: long(c.initiatedEventId),
      parentClosePolicy: c.parentClosePolicy,
    }));
  }
}

/** The id of ChildWorkflowExecutionStarted for an initiated child, from the parent's history. */
function startedEventIdOf(parent: Run, initiatedEventId: number): number {
  for (let i = parent.events.length - 1; i >= 0; i--) {
    const started = parent.events[i].childWorkflowExecutionStartedEventAttributes;
    if (started && int(started.initiatedEventId) === initiatedEventId) return int(parent.events[i].eventId);
  }
  return 0;
}
