/**
 * Commands of a workflow task completion: validated all together first (an invalid one fails the task
 * with its cause and changes nothing else), then applied in order, each writing its event(s) right after
 * WorkflowTaskCompleted as the SDK expects.
 */
import { EventType, temporal, type ICommand } from '../proto';
import { durationMs } from '../util/time';
import type { Engine } from './engine';
import { checkBlobProblem } from './limits';
import { retryPolicyProblem } from './retry';
import { Run, int, MemoCodec } from './run';
import { mergeSearchAttributes, validateSearchAttributes } from './search-attributes';

const CommandType = temporal.api.enums.v1.CommandType;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

export interface CommandContext {
  completedEventId: number;
  identity: string;
  /** Set when a command wrote an event the workflow must see (an undispatched activity cancelled at once). */
  needsWorkflowTask: boolean;
}

export interface CommandProblem {
  cause: number;
  message: string;
}

/** Which attributes field each command type carries, and the failure cause for bad attributes. */
const SHAPE: Record<number, { field: string; cause: number }> = {
  [CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK]: { field: 'scheduleActivityTaskCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK]: { field: 'requestCancelActivityTaskCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_START_TIMER]: { field: 'startTimerCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_CANCEL_TIMER]: { field: 'cancelTimerCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION]: { field: 'completeWorkflowExecutionCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION]: { field: 'failWorkflowExecutionCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION]: { field: 'cancelWorkflowExecutionCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_RECORD_MARKER]: { field: 'recordMarkerCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]: { field: 'upsertWorkflowSearchAttributesCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES },
  [CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES]: { field: 'modifyWorkflowPropertiesCommandAttributes', cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES },
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

function attrs<T>(c: ICommand): T {
  return (c as Record<string, unknown>)[SHAPE[c.commandType ?? 0].field] as T;
}

/** Finds the first command the server would refuse, with the cause it fails the workflow task with. */
export function validateCommands(engine: Engine, run: Run, commands: ICommand[]): CommandProblem | undefined {
  const activityIds = new Set([...run.activities.values()].map((a) => a.activityId));
  const timerIds = new Set([...run.timers.values()].filter((t) => !t.firedBuffered).map((t) => t.timerId));
  const firedTimerIds = new Set([...run.timers.values()].filter((t) => t.firedBuffered).map((t) => t.timerId));
  const limits = engine.limits;

  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const shape = SHAPE[c.commandType ?? 0];
    if (!shape) {
      const name = CommandType[c.commandType ?? 0] ?? String(c.commandType);
      return { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, message: `Command type ${name} is not supported by this server.` };
    }
    const a = (c as Record<string, unknown>)[shape.field];
    const bad = (message: string): CommandProblem => ({ cause: shape.cause, message });
    if (!a) return bad(`${CommandType[c.commandType!]} command is missing its attributes.`);
    if (isCloseCommand(c) && i !== commands.length - 1) {
      return bad(`${CommandType[c.commandType!]} must be the last command of a workflow task completion.`);
    }
    switch (c.commandType) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const s = a as temporal.api.command.v1.IScheduleActivityTaskCommandAttributes;
        if (!s.activityId) return bad('ActivityId is not set on ScheduleActivityTaskCommand.');
        if (s.activityId.length > limits.maxIdLength) return bad('ActivityId exceeds length limit.');
        if (!s.activityType?.name) return bad('ActivityType is not set on ScheduleActivityTaskCommand.');
        if (activityIds.has(s.activityId)) return bad(`Activity with id ${s.activityId} is already pending.`);
        activityIds.add(s.activityId);
        const timeoutProblem = engine.activities.normalizeTimeouts(run, s).problem;
        if (timeoutProblem) return bad(timeoutProblem);
        const rp = s.retryPolicy && retryPolicyProblem(s.retryPolicy);
        if (rp) return bad(rp);
        const size = checkBlobProblem(limits, s.input, 'ScheduleActivityTaskCommandAttributes.Input');
        if (size) return bad(size);
        break;
      }
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
        const sched = int((a as temporal.api.command.v1.IRequestCancelActivityTaskCommandAttributes).scheduledEventId);
        const ev = run.eventById(sched);
        if (sched <= 0 || !ev?.activityTaskScheduledEventAttributes) {
          return bad(`RequestCancelActivityTask names no scheduled activity (ScheduledEventId ${sched}).`);
        }
        break;
      }
      case CommandType.COMMAND_TYPE_START_TIMER: {
        const s = a as temporal.api.command.v1.IStartTimerCommandAttributes;
        if (!s.timerId) return bad('TimerId is not set on StartTimerCommand.');
        const ms = durationMs(s.startToFireTimeout) ?? 0;
        if (ms <= 0) return bad('A valid StartToFireTimeout is not set on StartTimerCommand.');
        if (timerIds.has(s.timerId)) {
          return { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID, message: `Timer with id ${s.timerId} is already started.` };
        }
        timerIds.add(s.timerId);
        break;
      }
      case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
        const id = (a as temporal.api.command.v1.ICancelTimerCommandAttributes).timerId;
        if (!id) return bad('TimerId is not set on CancelTimerCommand.');
        if (!timerIds.has(id) && !firedTimerIds.has(id)) return bad(`Timer ${id} is not pending.`);
        timerIds.delete(id);
        firedTimerIds.delete(id);
        break;
      }
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
        const size = checkBlobProblem(limits, (a as temporal.api.command.v1.ICompleteWorkflowExecutionCommandAttributes).result, 'CompleteWorkflowExecutionCommandAttributes.Result');
        if (size) return bad(size);
        break;
      }
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
        const size = checkBlobProblem(limits, (a as temporal.api.command.v1.ICancelWorkflowExecutionCommandAttributes).details, 'CancelWorkflowExecutionCommandAttributes.Details');
        if (size) return bad(size);
        break;
      }
      case CommandType.COMMAND_TYPE_RECORD_MARKER: {
        const m = a as temporal.api.command.v1.IRecordMarkerCommandAttributes;
        if (!m.markerName) return bad('MarkerName is not set on RecordMarkerCommand.');
        for (const [k, v] of Object.entries(m.details ?? {})) {
          const size = checkBlobProblem(limits, v, `RecordMarkerCommandAttributes.Details[${k}]`);
          if (size) return bad(size);
        }
        break;
      }
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const u = a as temporal.api.command.v1.IUpsertWorkflowSearchAttributesCommandAttributes;
        if (!u.searchAttributes?.indexedFields || Object.keys(u.searchAttributes.indexedFields).length === 0) {
          return bad('SearchAttributes are not set on UpsertWorkflowSearchAttributesCommand.');
        }
        try {
          validateSearchAttributes(u.searchAttributes, engine.namespace(run.namespace).searchAttributes);
        } catch (err) {
          return bad((err as Error).message);
        }
        break;
      }
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
        const m = a as temporal.api.command.v1.IModifyWorkflowPropertiesCommandAttributes;
        if (!m.upsertedMemo) return bad('UpsertedMemo is not set on ModifyWorkflowPropertiesCommand.');
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Applies one (already validated) command. */
export function applyCommand(engine: Engine, run: Run, c: ICommand, ctx: CommandContext): void {
  if (!run.isOpen) return;
  const completedId = ctx.completedEventId;
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
      const s = attrs<temporal.api.command.v1.IScheduleActivityTaskCommandAttributes>(c);
      engine.activities.schedule(run, s, completedId);
      return;
    }
    case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
      const sched = int(attrs<temporal.api.command.v1.IRequestCancelActivityTaskCommandAttributes>(c).scheduledEventId);
      if (engine.activities.requestCancel(run, sched, completedId, ctx.identity)) ctx.needsWorkflowTask = true;
      return;
    }
    case CommandType.COMMAND_TYPE_START_TIMER: {
      const s = attrs<temporal.api.command.v1.IStartTimerCommandAttributes>(c);
      const ev = run.addEvent(EventType.EVENT_TYPE_TIMER_STARTED, {
        timerId: s.timerId,
        startToFireTimeout: s.startToFireTimeout,
        workflowTaskCompletedEventId: completedId,
      });
      const timer = { timerId: s.timerId!, startedEventId: int(ev.eventId), fireTime: engine.now() + (durationMs(s.startToFireTimeout) ?? 0) };
      run.timers.set(timer.timerId, timer);
      engine.workflowTasks.armUserTimer(run, timer);
      return;
    }
    case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
      const id = attrs<temporal.api.command.v1.ICancelTimerCommandAttributes>(c).timerId!;
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
      const s = attrs<temporal.api.command.v1.ICompleteWorkflowExecutionCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, { result: s.result ?? null, workflowTaskCompletedEventId: completedId });
      engine.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
      return;
    }
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
      const s = attrs<temporal.api.command.v1.IFailWorkflowExecutionCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
        failure: s.failure ?? null,
        retryState: temporal.api.enums.v1.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
        workflowTaskCompletedEventId: completedId,
      });
      engine.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED);
      return;
    }
    case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
      const s = attrs<temporal.api.command.v1.ICancelWorkflowExecutionCommandAttributes>(c);
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, { details: s.details ?? null, workflowTaskCompletedEventId: completedId });
      engine.closeRun(run, ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED);
      return;
    }
    case CommandType.COMMAND_TYPE_RECORD_MARKER: {
      const s = attrs<temporal.api.command.v1.IRecordMarkerCommandAttributes>(c);
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
      const s = attrs<temporal.api.command.v1.IUpsertWorkflowSearchAttributesCommandAttributes>(c);
      const normalised = validateSearchAttributes(s.searchAttributes, engine.namespace(run.namespace).searchAttributes);
      run.addEvent(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
        workflowTaskCompletedEventId: completedId,
        searchAttributes: s.searchAttributes,
      });
      run.searchAttributes = mergeSearchAttributes(run.searchAttributes, normalised);
      return;
    }
    case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
      const s = attrs<temporal.api.command.v1.IModifyWorkflowPropertiesCommandAttributes>(c);
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
    default:
      return;
  }
}
