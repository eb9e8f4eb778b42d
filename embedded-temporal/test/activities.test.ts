/**
 * Activity semantics at the protocol level: lazy ActivityTaskStarted, server-side retries, the four
 * timeouts, heartbeat details carried to the next attempt, cancellation, and completion by id.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError } from '@temporalio/client';
import { createClockedServer, eventTypes, uid, type ClockedServer } from './harness';
import { RawWorker, RetryState, TimeoutType, cmd, decode, payloads, seconds } from './raw-worker';

let env: ClockedServer;

beforeAll(async () => {
  env = await createClockedServer();
});
afterAll(async () => {
  await env?.teardown();
});

/** Starts a raw workflow whose first task schedules one activity with these options. */
async function withActivity(opts: Parameters<typeof cmd.scheduleActivity>[1]) {
  const w = new RawWorker(env.connection, uid('tq'));
  const id = uid('wf');
  await w.start(id);
  await w.complete(await w.pollWorkflowTask(), [cmd.scheduleActivity('a1', opts)]);
  return { w, id };
}

test('dispatch writes nothing; completion writes Started then Completed; the poll response is complete', async () => {
  const { w, id } = await withActivity({ input: payloads('in'), heartbeatTimeout: seconds(5000) });
  const task = await w.pollActivityTask();
  expect(task.activityId).toBe('a1');
  expect(task.activityType?.name).toBe('act');
  expect(task.workflowExecution?.workflowId).toBe(id);
  expect(task.workflowNamespace).toBe('default');
  expect(task.attempt).toBe(1);
  expect(decode(task.input)).toBe('in');
  for (const field of [
    'scheduledTime',
    'currentAttemptScheduledTime',
    'startToCloseTimeout',
    'scheduleToCloseTimeout',
  ] as const) {
    expect(task[field]).toBeTruthy();
  }
  expect(Number(task.heartbeatTimeout!.seconds)).toBe(5);
  expect((await w.types(id)).pop()).toBe('ActivityTaskScheduled');
  await w.service.respondActivityTaskCompleted({
    namespace: 'default',
    taskToken: task.taskToken,
    result: payloads('out'),
    identity: 'act-worker',
  });
  const history = await w.history(id);
  expect(eventTypes(history).slice(4)).toEqual([
    'ActivityTaskScheduled',
    'ActivityTaskStarted',
    'ActivityTaskCompleted',
    'WorkflowTaskScheduled',
  ]);
  expect(history.events![5].activityTaskStartedEventAttributes!.identity).toBe('raw-worker');
  expect(decode(history.events![6].activityTaskCompletedEventAttributes!.result)).toBe('out');
  // A second answer for the same attempt is refused.
  const again = await w.service
    .respondActivityTaskCompleted({ namespace: 'default', taskToken: task.taskToken, result: payloads('again') })
    .catch((e: unknown) => e);
  expect(isGrpcServiceError(again) && again.code).toBe(grpcStatus.NOT_FOUND);
});

test('server-side retries: each attempt gets attempt+1, the last failure, and backoff; the final failure names the retry state', async () => {
  const { w, id } = await withActivity({
    retryPolicy: { initialInterval: seconds(100), backoffCoefficient: 2, maximumAttempts: 3 },
  });
  const times: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const task = await w.pollActivityTask();
    times.push(Date.now());
    expect(task.attempt).toBe(attempt);
    await w.service.respondActivityTaskFailed({
      namespace: 'default',
      taskToken: task.taskToken,
      failure: { message: `fail ${attempt}`, applicationFailureInfo: { type: 'Oops' } },
    });
  }
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(90);
  expect(times[2] - times[1]).toBeGreaterThanOrEqual(190);
  const history = await w.history(id);
  expect(eventTypes(history).slice(4, 7)).toEqual([
    'ActivityTaskScheduled',
    'ActivityTaskStarted',
    'ActivityTaskFailed',
  ]);
  expect(history.events![5].activityTaskStartedEventAttributes!.attempt).toBe(3);
  expect(history.events![5].activityTaskStartedEventAttributes!.lastFailure!.message).toBe('fail 2');
  expect(history.events![6].activityTaskFailedEventAttributes!.retryState).toBe(
    RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
  );
});

test('a non-retryable failure and a non-retryable error type stop retries at once', async () => {
  for (const failure of [
    { message: 'fatal', applicationFailureInfo: { type: 'X', nonRetryable: true } },
    { message: 'listed', applicationFailureInfo: { type: 'NotRetried' } },
  ]) {
    const { w, id } = await withActivity({ retryPolicy: { nonRetryableErrorTypes: ['NotRetried'] } });
    const task = await w.pollActivityTask();
    await w.service.respondActivityTaskFailed({ namespace: 'default', taskToken: task.taskToken, failure });
    const history = await w.history(id);
    expect(history.events![6].activityTaskFailedEventAttributes!.retryState).toBe(
      RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
    );
  }
});

test("the failure's next_retry_delay overrides the policy's backoff", async () => {
  const { w } = await withActivity({ retryPolicy: { initialInterval: seconds(10_000) } });
  const first = await w.pollActivityTask();
  const failedAt = Date.now();
  await w.service.respondActivityTaskFailed({
    namespace: 'default',
    taskToken: first.taskToken,
    failure: { message: 'soon', applicationFailureInfo: { nextRetryDelay: seconds(200) } },
  });
  const second = await w.pollActivityTask(5000);
  expect(second.attempt).toBe(2);
  expect(Date.now() - failedAt).toBeLessThan(5000);
});

test('schedule-to-start timeout: TimedOut without Started, never retried', async () => {
  const { w, id } = await withActivity({
    taskQueue: { name: uid('nobody-polls') },
    scheduleToStartTimeout: seconds(200),
  });
  await env.passTime(500);
  const history = await w.history(id);
  expect(eventTypes(history).slice(4)).toEqual([
    'ActivityTaskScheduled',
    'ActivityTaskTimedOut',
    'WorkflowTaskScheduled',
  ]);
  const timedOut = history.events![5].activityTaskTimedOutEventAttributes!;
  expect(timedOut.failure!.timeoutFailureInfo!.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
  expect(timedOut.retryState).toBe(RetryState.RETRY_STATE_TIMEOUT);
  expect(Number(timedOut.startedEventId)).toBe(0);
});

test('start-to-close timeout is retried; heartbeat details reach the next attempt and the final failure', async () => {
  const { w, id } = await withActivity({
    startToCloseTimeout: seconds(300),
    retryPolicy: { initialInterval: seconds(50), maximumAttempts: 2 },
  });
  const first = await w.pollActivityTask();
  const hb = await w.service.recordActivityTaskHeartbeat({
    namespace: 'default',
    taskToken: first.taskToken,
    details: payloads('progress-1'),
  });
  expect(hb.cancelRequested).toBe(false);
  const second = await w.pollActivityTask(5000);
  expect(second.attempt).toBe(2);
  expect(decode(second.heartbeatDetails)).toBe('progress-1');
  // The first attempt's token is dead now.
  const late = await w.service
    .recordActivityTaskHeartbeat({ namespace: 'default', taskToken: first.taskToken })
    .catch((e: unknown) => e);
  expect(isGrpcServiceError(late) && late.code).toBe(grpcStatus.NOT_FOUND);
  await env.passTime(600);
  const history = await w.history(id);
  expect(eventTypes(history).slice(4, 7)).toEqual([
    'ActivityTaskScheduled',
    'ActivityTaskStarted',
    'ActivityTaskTimedOut',
  ]);
  expect(history.events![5].activityTaskStartedEventAttributes!.attempt).toBe(2);
  const timedOut = history.events![6].activityTaskTimedOutEventAttributes!;
  expect(timedOut.failure!.timeoutFailureInfo!.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
  expect(decode(timedOut.failure!.timeoutFailureInfo!.lastHeartbeatDetails)).toBe('progress-1');
  expect(timedOut.retryState).toBe(RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
});

test('heartbeat timeout', async () => {
  const { w, id } = await withActivity({ heartbeatTimeout: seconds(200), retryPolicy: { maximumAttempts: 1 } });
  await w.pollActivityTask();
  await env.passTime(500);
  const history = await w.history(id);
  const timedOut = history.events![6].activityTaskTimedOutEventAttributes!;
  expect(timedOut.failure!.timeoutFailureInfo!.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
});

test('schedule-to-close timeout is final, and stops retries whose backoff would pass it', async () => {
  const { w, id } = await withActivity({ scheduleToCloseTimeout: seconds(400), startToCloseTimeout: seconds(100) });
  await w.pollActivityTask(); // attempt 1 times out after 100 ms, retried after 1 s: past the deadline
  await env.passTime(700);
  const history = await w.history(id);
  const timedOut = history.events![6].activityTaskTimedOutEventAttributes!;
  expect(timedOut.retryState).toBe(RetryState.RETRY_STATE_TIMEOUT);
  expect(eventTypes(history)[5]).toBe('ActivityTaskStarted');
});

test('cancelling an activity that was never dispatched writes CancelRequested and Canceled at once', async () => {
  const { w, id } = await withActivity({ taskQueue: { name: uid('nobody') } });
  await w.signal(id);
  await w.complete(await w.pollWorkflowTask(), [cmd.cancelActivity(5)]);
  const types = await w.types(id);
  expect(types.slice(-4)).toEqual([
    'WorkflowTaskCompleted',
    'ActivityTaskCancelRequested',
    'ActivityTaskCanceled',
    'WorkflowTaskScheduled',
  ]);
});

test('cancelling a running activity: heartbeat says cancel_requested; Canceled names the request', async () => {
  const { w, id } = await withActivity({});
  const task = await w.pollActivityTask();
  await w.signal(id);
  await w.complete(await w.pollWorkflowTask(), [cmd.cancelActivity(5)]);
  const hb = await w.service.recordActivityTaskHeartbeat({ namespace: 'default', taskToken: task.taskToken });
  expect(hb.cancelRequested).toBe(true);
  await w.service.respondActivityTaskCanceled({
    namespace: 'default',
    taskToken: task.taskToken,
    details: payloads('stopped'),
  });
  const history = await w.history(id);
  const types = eventTypes(history);
  const requested = types.indexOf('ActivityTaskCancelRequested');
  expect(types.slice(requested, requested + 3)).toEqual([
    'ActivityTaskCancelRequested',
    'ActivityTaskStarted',
    'ActivityTaskCanceled',
  ]);
  const canceled = history.events![requested + 2].activityTaskCanceledEventAttributes!;
  expect(Number(canceled.latestCancelRequestedEventId)).toBe(requested + 1);
  expect(Number(canceled.startedEventId)).toBe(requested + 2);
});

test('heartbeats for a closed workflow get NOT_FOUND (the SDK cancels the activity)', async () => {
  const { w, id } = await withActivity({});
  const task = await w.pollActivityTask();
  await env.client.workflow.getHandle(id).terminate('done with it');
  const err = await w.service
    .recordActivityTaskHeartbeat({ namespace: 'default', taskToken: task.taskToken })
    .catch((e: unknown) => e);
  expect(isGrpcServiceError(err) && err.code).toBe(grpcStatus.NOT_FOUND);
});

test('completion by workflow and activity id (async completion)', async () => {
  const { w, id } = await withActivity({});
  await w.pollActivityTask();
  await env.client.activity.heartbeat({ workflowId: id, activityId: 'a1' }, 'beat');
  await env.client.activity.complete({ workflowId: id, activityId: 'a1' }, 'by id');
  const history = await w.history(id);
  expect(decode(history.events![6].activityTaskCompletedEventAttributes!.result)).toBe('by id');
});

test('an oversized result fails the activity instead of growing the history', async () => {
  const { w, id } = await withActivity({});
  const task = await w.pollActivityTask();
  const big = 'x'.repeat(2 * 1024 * 1024 + 10);
  await w.service.respondActivityTaskCompleted({
    namespace: 'default',
    taskToken: task.taskToken,
    result: payloads(big),
  });
  const history = await w.history(id);
  const failed = history.events![6].activityTaskFailedEventAttributes!;
  expect(failed.failure!.message).toBe('Complete result exceeds size limit.');
  expect(failed.retryState).toBe(RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
});
