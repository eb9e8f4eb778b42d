/**
 * A worker speaking the WorkflowService protocol by hand, through the SDK client's own gRPC connection, so
 * that tests can hold a workflow task open, send a signal into it, time a task out, or send a bad command:
 * the timings the real worker makes impossible to control.
 */
import type { Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { eventTypes } from './harness';

export const CommandType = temporal.api.enums.v1.CommandType;
export const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
export const TimeoutType = temporal.api.enums.v1.TimeoutType;
export const RetryState = temporal.api.enums.v1.RetryState;

type Poll = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;
type ActivityPoll = temporal.api.workflowservice.v1.PollActivityTaskQueueResponse;
type ICommand = temporal.api.command.v1.ICommand;

export const payloads = (...values: unknown[]): temporal.api.common.v1.IPayloads => ({
  payloads: values.map((v) => defaultPayloadConverter.toPayload(v)),
});

export const decode = (p: temporal.api.common.v1.IPayloads | null | undefined): unknown =>
  p?.payloads?.[0] ? defaultPayloadConverter.fromPayload(p.payloads[0]) : undefined;

/** A protobuf Duration of `ms` milliseconds. */
export const seconds = (ms: number) => ({ seconds: Long.fromNumber(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

export const cmd = {
  scheduleActivity: (
    activityId: string,
    opts: Partial<temporal.api.command.v1.IScheduleActivityTaskCommandAttributes> = {},
  ): ICommand => ({
    commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
    scheduleActivityTaskCommandAttributes: {
      activityId,
      activityType: { name: 'act' },
      startToCloseTimeout: seconds(10_000),
      ...opts,
    },
  }),
  cancelActivity: (scheduledEventId: number): ICommand => ({
    commandType: CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
    requestCancelActivityTaskCommandAttributes: { scheduledEventId: Long.fromNumber(scheduledEventId) },
  }),
  startTimer: (timerId: string, ms: number): ICommand => ({
    commandType: CommandType.COMMAND_TYPE_START_TIMER,
    startTimerCommandAttributes: { timerId, startToFireTimeout: seconds(ms) },
  }),
  cancelTimer: (timerId: string): ICommand => ({
    commandType: CommandType.COMMAND_TYPE_CANCEL_TIMER,
    cancelTimerCommandAttributes: { timerId },
  }),
  complete: (value: unknown = 'done'): ICommand => ({
    commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    completeWorkflowExecutionCommandAttributes: { result: payloads(value) },
  }),
};

export class RawWorker {
  constructor(
    readonly connection: Connection,
    readonly taskQueue: string,
    readonly namespace = 'default',
  ) {}

  get service() {
    return this.connection.workflowService;
  }

  /** Polls for a workflow task, failing the test if none arrives within `timeoutMs`. */
  async pollWorkflowTask(timeoutMs = 10_000): Promise<Poll> {
    const res = await this.connection.withDeadline(Date.now() + timeoutMs + 1500, () =>
      this.service.pollWorkflowTaskQueue({
        namespace: this.namespace,
        taskQueue: { name: this.taskQueue },
        identity: 'raw-worker',
      }),
    );
    if (!res.taskToken?.length) throw new Error('no workflow task arrived');
    return res;
  }

  async pollActivityTask(timeoutMs = 10_000): Promise<ActivityPoll> {
    const res = await this.connection.withDeadline(Date.now() + timeoutMs + 1500, () =>
      this.service.pollActivityTaskQueue({
        namespace: this.namespace,
        taskQueue: { name: this.taskQueue },
        identity: 'raw-worker',
      }),
    );
    if (!res.taskToken?.length) throw new Error('no activity task arrived');
    return res;
  }

  complete(
    task: { taskToken?: Uint8Array | null },
    commands: ICommand[],
    extra: Partial<temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest> = {},
  ) {
    return this.service.respondWorkflowTaskCompleted({
      namespace: this.namespace,
      taskToken: task.taskToken,
      commands,
      identity: 'raw-worker',
      ...extra,
    });
  }

  async history(workflowId: string): Promise<temporal.api.history.v1.IHistory> {
    const res = await this.service.getWorkflowExecutionHistory({
      namespace: this.namespace,
      execution: { workflowId },
    });
    return res.history!;
  }

  async types(workflowId: string): Promise<string[]> {
    return eventTypes(await this.history(workflowId));
  }

  /** Starts a workflow that only this raw worker will see. */
  async start(workflowId: string, extra: Partial<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest> = {}) {
    return this.service.startWorkflowExecution({
      namespace: this.namespace,
      workflowId,
      workflowType: { name: 'raw' },
      taskQueue: { name: this.taskQueue },
      requestId: `${workflowId}-start`,
      ...extra,
    });
  }

  signal(workflowId: string, signalName = 'sig', value: unknown = 1) {
    return this.service.signalWorkflowExecution({
      namespace: this.namespace,
      workflowExecution: { workflowId },
      signalName,
      input: payloads(value),
      identity: 'raw-test',
    });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
