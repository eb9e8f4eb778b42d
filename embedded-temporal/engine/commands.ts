/**
 * Commands of a workflow task completion: validated all together first (an invalid one fails the task
 * with its cause and changes nothing else; an oversized payload terminates the run, as on the real
 * server), then applied in order, each writing its event(s) right after WorkflowTaskCompleted.
 */
import { EventType, temporal, type ICommand } from '../proto';
import { durationMs } from '../util/time';
import type { EngineContext } from './context';
import { checkBlobProblem, memoProblem } from './limits';
import { retryPolicyProblem } from './retry';
import { Run, int, MemoCodec, type ChildInfo } from './run';
import { mergeSearchAttributes, validateSearchAttributes } from './search-attributes';

const CommandType = temporal.api.enums.v1.CommandType;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;
type IMessage = temporal.api.protocol.v1.IMessage;
import A = temporal.api.command.v1;

export interface CommandContext {
  completedEventId: number;
  identity: string;
  /** Set when a command wrote an event the workflow must see (an undispatched activity cancelled at once). */
  needsWorkflowTask: boolean;
  /** Protocol messages of the completion not yet applied, by id. */
  messages: Map<string, IMessage>;
  /** Work to do once the completion is written: starting children, signalling and cancelling others. */
  postActions: (() => void)[];
}

export interface CommandProblem {
  cause: number;
  message: string;
  /** The real server terminates the run for this problem (an oversized payload) instead of retrying the task. */
  terminate?: boolean;
}

/** Which attributes field each command type carries, and the failure cause for bad attributes. */
const SHAPE: Record<number, { field: string; cause: number }> = {
  [CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK]: {
    field: 'scheduleActivityTaskCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK]: {
    field: 'requestCancelActivityTaskCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_START_TIMER]: {
    field: 'startTimerCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_CANCEL_TIMER]: {
    field: 'cancelTimerCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION]: {
    field: 'completeWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION]: {
    field: 'failWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION]: {
    field: 'cancelWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_RECORD_MARKER]: {
    field: 'recordMarkerCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]: {
    field: 'upsertWorkflowSearchAttributesCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES]: {
    field: 'modifyWorkflowPropertiesCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE]: {
    field: 'protocolMessageCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
  },
  [CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION]: {
    field: 'continueAsNewWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION]: {
    field: 'startChildWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION]: {
    field: 'signalExternalWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
  },
  [CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION]: {
    field: 'requestCancelExternalWorkflowExecutionCommandAttributes',
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
  },
};

const CLOSE_COMMANDS = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

export function isCloseCommand(c: ICommand): boolean {
  return CLOSE_COMMANDS.has(c.commandType ?? 0);
}

/** A WorkflowTaskFailedCause as the real server names it in messages, e.g. `BadStartTimerAttributes`. */
export function causeName(cause: number): string {
  const name = String(Cause[cause] ?? 'Unspecified').replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '');
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

function attrs<T>(c: ICommand): T {
  return (c as Record<string, unknown>)[SHAPE[c.commandType ?? 0].field] as T;
}

/** Finds the first command (or protocol message) the server would refuse, with the cause it fails the task with. */
export function validateCommands(
  engine: EngineContext,
  run: Run,
  commands: ICommand[],
  messages: IMessage[],
): CommandProblem | undefined {
  const activityIds = new Set([...run.activities.values()].map((a) => a.activityId));
  const timerIds = new Set([...run.timers.values()].filter((t) => !t.firedBuffered).map((t) => t.timerId));
  const firedTimerIds = new Set([...run.timers.values()].filter((t) => t.firedBuffered).map((t) => t.timerId));
  const messageIds = new Set(messages.map((m) => m.id));
  const messageOrder: string[] = [];
  const limits = engine.limits;
  const searchAttributes = engine.namespaces.get(run.namespace).searchAttributes;

  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const shape = SHAPE[c.commandType ?? 0];
    if (!shape) {
      const name = CommandType[c.commandType ?? 0] ?? String(c.commandType);
      return {
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        message: `Command type ${name} is not supported by this server.`,
      };
    }
    const a = (c as Record<string, unknown>)[shape.field];
    const bad = (message: string): CommandProblem => ({ cause: shape.cause, message });
    const tooBig = (message: string | undefined): CommandProblem | undefined =>
      message ? { cause: shape.cause, message, terminate: true } : undefined;
    const badSearchAttributes = (
      sa: temporal.api.common.v1.ISearchAttributes | null | undefined,
    ): CommandProblem | undefined => {
      try {
        validateSearchAttributes(sa, searchAttributes);
        return undefined;
      } catch (err) {
        return { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, message: (err as Error).message };
      }
    };
    if (!a) return bad(`${CommandType[c.commandType!]} command is missing its attributes.`);
    if (isCloseCommand(c) && i !== commands.length - 1) {
      return bad(`${CommandType[c.commandType!]} must be the last command of a workflow task completion.`);
    }
    switch (c.commandType) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const s = a as A.IScheduleActivityTaskCommandAttributes;
        if (!s.activityId) return bad('ActivityId is not set on ScheduleActivityTaskCommand.');
        if (s.activityId.length > limits.maxIdLength) return bad('ActivityId exceeds length limit.');
        if (!s.activityType?.name) return bad('ActivityType is not set on ScheduleActivityTaskCommand.');
        if (activityIds.has(s.activityId)) return bad(`Activity with id ${s.activityId} is already pending.`);
        activityIds.add(s.activityId);
        const timeoutProblem = engine.activities.normalizeTimeouts(run, s).problem;
        if (timeoutProblem) return bad(timeoutProblem);
        const rp = s.retryPolicy && retryPolicyProblem(s.retryPolicy);
        if (rp) return bad(rp);
        const size = tooBig(checkBlobProblem(limits, s.input, 'ScheduleActivityTaskCommandAttributes.Input'));
        if (size) return size;
        break;
      }
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
        const sched = int((a as A.IRequestCancelActivityTaskCommandAttributes).scheduledEventId);
        const ev = run.eventById(sched);
        if (sched <= 0 || !ev?.activityTaskScheduledEventAttributes) {
          return bad(`RequestCancelActivityTask names no scheduled activity (ScheduledEventId ${sched}).`);
        }
        break;
      }
      case CommandType.COMMAND_TYPE_START_TIMER: {
        const s = a as A.IStartTimerCommandAttributes;
        if (!s.timerId) return bad('TimerId is not set on StartTimerCommand.');
        const ms = durationMs(s.startToFireTimeout) ?? 0;
        if (ms <= 0) return bad('A valid StartToFireTimeout is not set on StartTimerCommand.');
        if (timerIds.has(s.timerId)) {
          return {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
            message: `Timer with id ${s.timerId} is already started.`,
          };
        }
        timerIds.add(s.timerId);
        break;
      }
      case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
        const id = (a as A.ICancelTimerCommandAttributes).timerId;
        if (!id) return bad('TimerId is not set on CancelTimerCommand.');
        if (!timerIds.has(id) && !firedTimerIds.has(id)) return bad(`Timer ${id} is not pending.`);
        timerIds.delete(id);
        firedTimerIds.delete(id);
        break;
      }
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
        const size = tooBig(
          checkBlobProblem(
            limits,
            (a as A.ICompleteWorkflowExecutionCommandAttributes).result,
            'CompleteWorkflowExecutionCommandAttributes.Result',
          ),
        );
        if (size) return size;
        break;
      }
      case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
        const failure = (a as A.IFailWorkflowExecutionCommandAttributes).failure;
        const bytes = failure ? temporal.api.failure.v1.Failure.encode(failure).finish().length : 0;
        if (bytes > limits.blobSizeLimit)
          return { ...bad(`FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.`), terminate: true };
        break;
      }
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
        const size = tooBig(
          checkBlobProblem(
            limits,
            (a as A.ICancelWorkflowExecutionCommandAttributes).details,
            'CancelWorkflowExecutionCommandAttributes.Details',
          ),
        );
        if (size) return size;
        break;
      }
      case CommandType.COMMAND_TYPE_RECORD_MARKER: {
        const m = a as A.IRecordMarkerCommandAttributes;
        if (!m.markerName) return bad('MarkerName is not set on RecordMarkerCommand.');
        for (const [k, v] of Object.entries(m.details ?? {})) {
          const size = tooBig(checkBlobProblem(limits, v, `RecordMarkerCommandAttributes.Details[${k}]`));
          if (size) return size;
        }
        break;
      }
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const u = a as A.IUpsertWorkflowSearchAttributesCommandAttributes;
        if (!u.searchAttributes?.indexedFields || Object.keys(u.searchAttributes.indexedFields).length === 0) {
          return bad('SearchAttributes are not set on UpsertWorkflowSearchAttributesCommand.');
        }
        const problem = badSearchAttributes(u.searchAttributes);
        if (problem) return problem;
        break;
      }
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
        const m = a as A.IModifyWorkflowPropertiesCommandAttributes;
        if (!m.upsertedMemo) return bad('UpsertedMemo is not set on ModifyWorkflowPropertiesCommand.');
        const size = tooBig(memoProblem(limits, m.upsertedMemo));
        if (size) return size;
        break;
      }
      case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: {
        const id = (a as A.IProtocolMessageCommandAttributes).messageId ?? '';
        if (!messageIds.has(id)) return bad(`ProtocolMessageCommand referenced absent message ID ${id}.`);
        messageIds.delete(id);
        messageOrder.push(id);
        break;
      }
      case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: {
        const s = a as A.IContinueAsNewWorkflowExecutionCommandAttributes;
        if (s.cronSchedule) return bad('CronSchedule is not supported by embedded-temporal.');
        if (
          (durationMs(s.workflowRunTimeout) ?? 0) < 0 ||
          (durationMs(s.workflowTaskTimeout) ?? 0) < 0 ||
          (durationMs(s.backoffStartInterval) ?? 0) < 0
        ) {
          return bad('A negative timeout is set on ContinueAsNewWorkflowExecutionCommand.');
        }
        const rp = s.retryPolicy && retryPolicyProblem(s.retryPolicy);
        if (rp) return bad(rp);
        const problem =
          badSearchAttributes(s.searchAttributes) ??
          tooBig(checkBlobProblem(limits, s.input, 'ContinueAsNewWorkflowExecutionCommandAttributes. Input')) ??
          tooBig(memoProblem(limits, s.memo));
        if (problem) return problem;
        break;
      }
      case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
        const s = a as A.IStartChildWorkflowExecutionCommandAttributes;
        if (!s.workflowId) return bad('Required field WorkflowId is not set on StartChildWorkflowExecutionCommand.');
        if (s.workflowId.length > limits.maxIdLength) return bad('WorkflowId exceeds length limit.');
        if (!s.workflowType?.name)
          return bad('Required field WorkflowType is not set on StartChildWorkflowExecutionCommand.');
        if (s.namespace && !engine.namespaces.list().some((n) => n.name === s.namespace))
          return bad(`Namespace ${s.namespace} is not found.`);
        if (s.cronSchedule) return bad('CronSchedule is not supported by embedded-temporal.');
        for (const d of [s.workflowExecutionTimeout, s.workflowRunTimeout, s.workflowTaskTimeout]) {
          if ((durationMs(d) ?? 0) < 0) return bad('A negative timeout is set on StartChildWorkflowExecutionCommand.');
        }
        const rp = s.retryPolicy && retryPolicyProblem(s.retryPolicy);
        if (rp) return bad(rp);
        const problem =
          badSearchAttributes(s.searchAttributes) ??
          tooBig(checkBlobProblem(limits, s.input, 'StartChildWorkflowExecutionCommandAttributes. Input')) ??
          tooBig(memoProblem(limits, s.memo));
        if (problem) return problem;
        break;
      }
      case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: {
        const s = a as A.ISignalExternalWorkflowExecutionCommandAttributes;
        if (!s.execution?.workflowId) return bad('WorkflowId is not set on SignalExternalWorkflowExecutionCommand.');
        if (!s.signalName) return bad('SignalName is not set on SignalExternalWorkflowExecutionCommand.');
        const size = tooBig(
          checkBlobProblem(limits, s.input, 'SignalExternalWorkflowExecutionCommandAttributes.Input'),
        );
        if (size) return size;
        break;
      }
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: {
        const s = a as A.IRequestCancelExternalWorkflowExecutionCommandAttributes;
        if (!s.workflowId) return bad('WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand.');
        break;
      }
      default:
        break;
    }
  }
  return engine.updates.validate(run, messages, messageOrder);
}

/**
 * Applies one (already validated) command. The event it writes carries the command's user metadata (its summary),
 * as the real server's workflow-task-completed handler sets it on whichever event a command produced.
 */
export function applyCommand(engine: EngineContext, run: Run, c: ICommand, ctx: CommandContext): void {
  if (!run.isOpen) return;
  run.commandUserMetadata = c.userMetadata ?? null;
  try {
    applyCommandEvents(engine, run, c, ctx);
  } finally {
    run.commandUserMetadata = null;
  }
}

function applyCommandEvents(engine: EngineContext, run: Run, c: ICommand, ctx: CommandContext): void {
  const completedId = ctx.completedEventId;
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      engine.activities.schedule(run, attrs<A.IScheduleActivityTaskCommandAttributes>(c), completedId);
      return;
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
      const sched = int(attrs<A.IRequestCancelActivityTaskCommandAttributes>(c).scheduledEventId);
      if (engine.activities.requestCancel(run, sched, completedId, ctx.identity)) ctx.needsWorkflowTask = true;
      return;
    }
    case CommandType.COMMAND_TYPE_START_TIMER: {
      const s = attrs<A.IStartTimerCommandAttributes>(c);
      const ev = run.addEvent(EventType.EVENT_TYPE_TIMER_STARTED, {
        timerId: s.timerId,
        startToFireTimeout: s.startToFireTimeout,
        workflowTaskCompletedEventId: completedId,
      });
      const timer = {
        timerId: s.timerId!,
        startedEventId: int(ev.eventId),
        fireTime: engine.now() + (durationMs(s.startToFireTimeout) ?? 0),
      };
      run.timers.set(timer.timerId, timer);
      engine.workflowTasks.armUserTimer(run, timer);
      return;
    }
    case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
      const id = attrs<A.ICancelTimerCommandAttributes>(c).timerId!;
      const timer = run.timers.get(id)!;
      if (timer.firedBuffered) {
        // The fire arrived while the worker was deciding to cancel: the cancel wins (srv workflow_timer_test).
        run.buffered = run.buffered.filter((b) => b.event.timerFiredEventAttributes?.timerId !== id);
      }
      run.addEvent(EventType.EVENT_TYPE_TIMER_CANCELED, {
        timerId: id,
        startedEventId: timer.startedEventId,
        workflowTaskCompletedEventId: completedId,
        identity: ctx.identity,
      });
      run.timers.delete(id);
      engine.timers.clear(`timer:${run.runId}:${id}`);
      return;
    }
    case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
      engine.executions.completeRun(
        run,
        attrs<A.ICompleteWorkflowExecutionCommandAttributes>(c).result ?? null,
        completedId,
      );
      return;
    }
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      engine.executions.failRun(run, attrs<A.IFailWorkflowExecutionCommandAttributes>(c).failure ?? null, completedId);
      return;
    case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
      const s = attrs<A.ICancelWorkflowExecutionCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {
        details: s.details ?? null,
        workflowTaskCompletedEventId: completedId,
      });
      engine.executions.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED);
      return;
    }
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      engine.executions.continueAsNew(run, attrs<A.IContinueAsNewWorkflowExecutionCommandAttributes>(c), completedId);
      return;
    case CommandType.COMMAND_TYPE_RECORD_MARKER: {
      const s = attrs<A.IRecordMarkerCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_MARKER_RECORDED, {
        markerName: s.markerName,
        details: s.details ?? {},
        workflowTaskCompletedEventId: completedId,
        header: s.header ?? null,
        failure: s.failure ?? null,
      });
      return;
    }
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const s = attrs<A.IUpsertWorkflowSearchAttributesCommandAttributes>(c);
      const normalised = validateSearchAttributes(
        s.searchAttributes,
        engine.namespaces.get(run.namespace).searchAttributes,
      );
      run.addEvent(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
        workflowTaskCompletedEventId: completedId,
        searchAttributes: s.searchAttributes,
      });
      run.searchAttributes = mergeSearchAttributes(run.searchAttributes, normalised);
      return;
    }
    case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
      const s = attrs<A.IModifyWorkflowPropertiesCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, {
        workflowTaskCompletedEventId: completedId,
        upsertedMemo: s.upsertedMemo,
      });
      const fields = { ...(run.memo?.fields ?? {}) };
      for (const [k, v] of Object.entries(s.upsertedMemo?.fields ?? {})) {
        if (!v.data || v.data.length === 0) delete fields[k];
        else fields[k] = v;
      }
      run.memo = Object.keys(fields).length > 0 ? MemoCodec.decode(MemoCodec.encode({ fields })) : null;
      return;
    }
    case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: {
      const id = attrs<A.IProtocolMessageCommandAttributes>(c).messageId!;
      const message = ctx.messages.get(id)!;
      ctx.messages.delete(id);
      engine.updates.apply(run, message);
      return;
    }
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
      const s = attrs<A.IStartChildWorkflowExecutionCommandAttributes>(c);
      const ns = s.namespace ? engine.namespaces.get(s.namespace) : engine.namespaces.get(run.namespace);
      const initiated: temporal.api.history.v1.IStartChildWorkflowExecutionInitiatedEventAttributes & {
        control?: string;
      } = {
        namespace: ns.name,
        namespaceId: ns.id,
        workflowId: s.workflowId,
        workflowType: s.workflowType,
        taskQueue: {
          name: s.taskQueue?.name || run.taskQueue,
          kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
        },
        input: s.input ?? null,
        workflowExecutionTimeout: s.workflowExecutionTimeout ?? null,
        workflowRunTimeout: s.workflowRunTimeout ?? null,
        workflowTaskTimeout: s.workflowTaskTimeout ?? null,
        parentClosePolicy: s.parentClosePolicy || temporal.api.enums.v1.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
        control: s.control ?? '',
        workflowTaskCompletedEventId: completedId as never,
        workflowIdReusePolicy:
          s.workflowIdReusePolicy ||
          temporal.api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        retryPolicy: s.retryPolicy ?? null,
        cronSchedule: s.cronSchedule ?? '',
        header: s.header ?? null,
        memo: s.memo ?? null,
        searchAttributes: s.searchAttributes ?? null,
        priority: s.priority ?? null,
      };
      const ev = run.addEvent(
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        initiated as Record<string, unknown>,
      );
      const initiatedEventId = int(ev.eventId);
      const info: ChildInfo = {
        initiatedEventId,
        namespace: ns.name,
        namespaceId: ns.id,
        workflowId: s.workflowId!,
        workflowType: s.workflowType!.name!,
        parentClosePolicy: initiated.parentClosePolicy!,
      };
      run.children.set(initiatedEventId, info);
      ctx.postActions.push(() => engine.children.start(run, initiatedEventId, initiated));
      return;
    }
    case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: {
      const s = attrs<A.ISignalExternalWorkflowExecutionCommandAttributes>(c);
      const initiated = {
        workflowTaskCompletedEventId: completedId,
        namespace: s.namespace || run.namespace,
        namespaceId: run.namespaceId,
        workflowExecution: s.execution,
        signalName: s.signalName,
        input: s.input ?? null,
        control: s.control ?? '',
        childWorkflowOnly: !!s.childWorkflowOnly,
        header: s.header ?? null,
      };
      const ev = run.addEvent(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, initiated);
      const id = int(ev.eventId);
      ctx.postActions.push(() => engine.children.signalExternal(run, id, initiated as never));
      return;
    }
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: {
      const s = attrs<A.IRequestCancelExternalWorkflowExecutionCommandAttributes>(c);
      const initiated = {
        workflowTaskCompletedEventId: completedId,
        namespace: s.namespace || run.namespace,
        namespaceId: run.namespaceId,
        workflowExecution: { workflowId: s.workflowId, runId: s.runId ?? '' },
        control: s.control ?? '',
        childWorkflowOnly: !!s.childWorkflowOnly,
        reason: s.reason ?? '',
      };
      const ev = run.addEvent(EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, initiated);
      const id = int(ev.eventId);
      ctx.postActions.push(() => engine.children.cancelExternal(run, id, initiated as never));
      return;
    }
    default:
      return;
  }
}
