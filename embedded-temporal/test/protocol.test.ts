/**
 * WorkflowService semantics at the protocol level, driven by a hand-written worker over the SDK client's
 * connection: buffering, UnhandledCommand, transient workflow-task attempts, bad commands, stale tokens,
 * queries riding tasks, and the long-poll rules.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createClockedServer, eventTypes, uid, type ClockedServer } from './harness';
import { Cause, CommandType, RawWorker, cmd, decode, payloads, seconds, sleep, TimeoutType } from './raw-worker';

let env: ClockedServer;

beforeAll(async () => {
  env = await createClockedServer();
});
afterAll(async () => {
  await env?.teardown();
});

function worker(): RawWorker {
  return new RawWorker(env.connection, uid('tq'));
}

async function grpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    if (isGrpcServiceError(err)) return { code: err.code, details: err.details };
    throw err;
  }
  throw new Error('expected a gRPC error');
}

describe('events arriving around a workflow task', () => {
  test('a signal while a task is scheduled but not started is written at once, with no second task', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    await w.signal(id);
    expect(await w.types(id)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowExecutionSignaled',
    ]);
    const task = await w.pollWorkflowTask();
    expect(eventTypes(task.history!)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowExecutionSignaled',
      'WorkflowTaskStarted',
    ]);
    expect(Number(task.history!.events![3].workflowTaskStartedEventAttributes!.scheduledEventId)).toBe(2);
    expect(Number(task.startedEventId)).toBe(4);
    expect(Number(task.previousStartedEventId)).toBe(0);
  });

  test('a signal while a task is in flight is buffered, then written after the command events', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    await w.signal(id);
    // Not visible until the task completes.
    expect(await w.types(id)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted']);
    await w.complete(task, [cmd.scheduleActivity('a1')]);
    expect(await w.types(id)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
      'ActivityTaskScheduled',
      'WorkflowExecutionSignaled',
      'WorkflowTaskScheduled',
    ]);
    const next = await w.pollWorkflowTask();
    expect(Number(next.previousStartedEventId)).toBe(3);
    expect(Number(next.startedEventId)).toBe(8);
  });

  test('closing the run while events are buffered is refused with UnhandledCommand', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    await w.signal(id);
    const err = await grpcError(w.complete(task, [cmd.complete()]));
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe('UnhandledCommand');
    const history = await w.history(id);
    expect(eventTypes(history)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskFailed',
      'WorkflowExecutionSignaled',
      'WorkflowTaskScheduled',
    ]);
    expect(history.events![3].workflowTaskFailedEventAttributes!.cause).toBe(
      Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    );
    const retry = await w.pollWorkflowTask();
    expect(retry.attempt).toBe(1);
    await w.complete(retry, [cmd.complete('ok')]);
    expect((await w.types(id)).pop()).toBe('WorkflowExecutionCompleted');
  });

  test('CancelTimer in the same completion as a buffered TimerFired drops the fire', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    await w.complete(await w.pollWorkflowTask(), [cmd.startTimer('t1', 150)]);
    await w.signal(id); // a second task, held open while the timer fires
    const task = await w.pollWorkflowTask();
    await env.passTime(400);
    await w.complete(task, [cmd.cancelTimer('t1')]);
    const types = await w.types(id);
    expect(types.slice(-2)).toEqual(['WorkflowTaskCompleted', 'TimerCanceled']);
    expect(types).not.toContain('TimerFired');
  });

  test('force_create_new_workflow_task heartbeats the task even with nothing new', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    const res = await w.complete(task, [], { forceCreateNewWorkflowTask: true, returnNewWorkflowTask: true });
    expect(res.workflowTask?.taskToken?.length).toBeGreaterThan(0);
    expect(eventTypes(res.workflowTask!.history!).slice(3)).toEqual([
      'WorkflowTaskCompleted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
    ]);
  });
});

describe('workflow task failures and timeouts', () => {
  test('a timed-out task is retried as a transient attempt that is written only when it completes', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id, { workflowTaskTimeout: seconds(1000) });
    const first = await w.pollWorkflowTask();
    expect(first.attempt).toBe(1);
    await env.passTime(1300);
    expect(await w.types(id)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskTimedOut',
    ]);
    const timedOut = (await w.history(id)).events![3].workflowTaskTimedOutEventAttributes!;
    expect(timedOut.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);

    const second = await w.pollWorkflowTask();
    expect(second.attempt).toBe(2);
    expect(eventTypes(second.history!).slice(4)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted']);
    expect(second.history!.events![4].workflowTaskScheduledEventAttributes!.attempt).toBe(2);
    // Nothing of the transient attempt is persisted.
    expect(await w.types(id)).toHaveLength(4);
    await env.passTime(1300); // the second attempt times out too, silently

    const third = await w.pollWorkflowTask();
    expect(third.attempt).toBe(3);
    expect(await w.types(id)).toHaveLength(4);
    await expect(w.complete(first, [])).rejects.toThrow(/not found/i); // stale token
    await w.complete(third, [cmd.complete()]);
    const history = await w.history(id);
    expect(eventTypes(history)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskTimedOut',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionCompleted',
    ]);
    expect(history.events![4].workflowTaskScheduledEventAttributes!.attempt).toBe(3);
  });

  test('a signal during a transient retry turns it back into a normal task with attempt 1', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id, { workflowTaskTimeout: seconds(1000) });
    await w.pollWorkflowTask();
    await env.passTime(1300);
    await w.signal(id);
    expect((await w.types(id)).slice(3)).toEqual(['WorkflowTaskTimedOut', 'WorkflowExecutionSignaled']);
    const task = await w.pollWorkflowTask();
    expect(task.attempt).toBe(1);
    expect((await w.types(id)).slice(5)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted']);
  });

  test('RespondWorkflowTaskFailed writes WorkflowTaskFailed once; the retry is attempt 2', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    await w.service.respondWorkflowTaskFailed({
      namespace: 'default',
      taskToken: task.taskToken,
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'boom' },
      identity: 'raw',
    });
    const history = await w.history(id);
    expect(eventTypes(history).pop()).toBe('WorkflowTaskFailed');
    expect(history.events![3].workflowTaskFailedEventAttributes!.failure!.message).toBe('boom');
    const retry = await w.pollWorkflowTask();
    expect(retry.attempt).toBe(2);
  });

  test('an invalid command fails the task with its cause and INVALID_ARGUMENT, and writes nothing else', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    const bad = { commandType: CommandType.COMMAND_TYPE_START_TIMER, startTimerCommandAttributes: { timerId: 't' } };
    const err = await grpcError(w.complete(task, [cmd.scheduleActivity('fine'), bad]));
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/StartToFireTimeout/);
    const history = await w.history(id);
    expect(eventTypes(history)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskFailed',
    ]);
    expect(history.events![3].workflowTaskFailedEventAttributes!.cause).toBe(
      Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
    );
  });

  test.each([
    [
      'an activity without any timeout',
      [cmd.scheduleActivity('a', { startToCloseTimeout: null })],
      /StartToClose or ScheduleToClose/,
    ],
    ['a duplicate activity id', [cmd.scheduleActivity('a'), cmd.scheduleActivity('a')], /already pending/],
    ['a close command that is not last', [cmd.complete(), cmd.startTimer('t', 10)], /last command/],
    ['a command without attributes', [{ commandType: CommandType.COMMAND_TYPE_START_TIMER }], /missing its attributes/],
    ['a duplicate timer id', [cmd.startTimer('t', 1000), cmd.startTimer('t', 1000)], /already started/],
    ['cancelling an unknown timer', [cmd.cancelTimer('nope')], /not pending/],
    [
      'an unregistered search attribute',
      [
        {
          commandType: CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
          upsertWorkflowSearchAttributesCommandAttributes: {
            searchAttributes: { indexedFields: { Unknown: payloads('x').payloads![0] } },
          },
        },
      ],
      /not defined/,
    ],
  ])('%s is refused', async (_name, commands, message) => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    const err = await grpcError(w.complete(task, commands));
    expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(message);
    expect((await w.types(id)).pop()).toBe('WorkflowTaskFailed');
  });

  test('task tokens: a repeated completion and a malformed token are refused', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    await w.complete(task, [cmd.startTimer('t', 60_000)]);
    expect((await grpcError(w.complete(task, [cmd.complete()]))).code).toBe(grpcStatus.NOT_FOUND);
    expect((await grpcError(w.complete({ taskToken: Buffer.from('garbage') }, []))).code).toBe(
      grpcStatus.INVALID_ARGUMENT,
    );
    expect(await w.types(id)).toHaveLength(5);
  });
});

describe('queries around workflow tasks', () => {
  test('a query during an in-flight task goes to a legacy query task once that task completes', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    const query = env.client.workflow.getHandle(id).query<number>('state');
    await sleep(100);
    await w.complete(task, [cmd.startTimer('t', 60_000)]);
    const q = await w.pollWorkflowTask();
    expect(q.query?.queryType).toBe('state');
    expect(Number(q.startedEventId)).toBe(0);
    expect(Number(q.previousStartedEventId)).toBe(3);
    await w.service.respondQueryTaskCompleted({
      namespace: 'default',
      taskToken: q.taskToken,
      completedType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: payloads(42),
    });
    expect(await query).toBe(42);
  });

  test('a query waiting for a task rides the next task in `queries`', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask();
    await w.signal(id);
    const query = env.client.workflow.getHandle(id).query<string>('state');
    await sleep(100);
    await w.complete(task, []);
    const next = await w.pollWorkflowTask();
    const [queryId] = Object.keys(next.queries ?? {});
    expect(next.queries[queryId].queryType).toBe('state');
    expect(next.query).toBeFalsy();
    await w.complete(next, [], {
      queryResults: {
        [queryId]: {
          resultType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
          answer: payloads('riding'),
        },
      },
    });
    expect(await query).toBe('riding');
  });

  test('a failed query returns the worker message verbatim', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    await w.complete(await w.pollWorkflowTask(), [cmd.startTimer('t', 60_000)]);
    const query = env.client.workflow
      .getHandle(id)
      .query('state')
      .catch((e: unknown) => e);
    const q = await w.pollWorkflowTask();
    await w.service.respondQueryTaskCompleted({
      namespace: 'default',
      taskToken: q.taskToken,
      completedType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_FAILED,
      errorMessage: 'handler exploded',
    });
    expect(((await query) as Error).message).toBe('handler exploded');
  });
});

describe('polls', () => {
  test('a long poll answers empty before the caller deadline', async () => {
    const w = worker();
    const started = Date.now();
    const res = await env.connection.withDeadline(Date.now() + 3000, () =>
      w.service.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: w.taskQueue } }),
    );
    expect(res.taskToken?.length ?? 0).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a poll cancelled by its caller does not swallow a task', async () => {
    const w = worker();
    const controller = new AbortController();
    const abandoned = env.connection
      .withAbortSignal(controller.signal, () =>
        w.service.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: w.taskQueue } }),
      )
      .catch(() => undefined);
    await sleep(100);
    controller.abort();
    await abandoned;
    const id = uid('wf');
    await w.start(id);
    const task = await w.pollWorkflowTask(5000);
    expect(task.workflowExecution?.workflowId).toBe(id);
  });

  test('a sticky poll gets only the tasks of runs sticky to it: a new run’s first task is on the normal queue', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const res = await env.connection.withDeadline(Date.now() + 1500, () =>
      w.service.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: {
          name: 'sticky-xyz',
          kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY,
          normalName: w.taskQueue,
        },
      }),
    );
    expect(res.taskToken?.length ?? 0).toBe(0);
    const task = await w.pollWorkflowTask();
    expect(task.workflowExecution?.workflowId).toBe(id);
    expect(Number(task.history!.events![0].eventId)).toBe(1);
  });
});

describe('history', () => {
  test('paging with next_page_token, and a long poll that wakes on the next event', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    await w.complete(await w.pollWorkflowTask(), [cmd.startTimer('t', 60_000)]);
    const all: temporal.api.history.v1.IHistoryEvent[] = [];
    let token: Uint8Array | null | undefined;
    do {
      const page = await w.service.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: id },
        maximumPageSize: 2,
        nextPageToken: token,
      });
      all.push(...page.history!.events!);
      token = page.nextPageToken;
    } while (token?.length);
    expect(all.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5]);

    // With wait_new_event, an open run's last page carries a token to long-poll for what comes next.
    const first = await w.service.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: id },
      waitNewEvent: true,
    });
    expect(first.history!.events).toHaveLength(5);
    expect(first.nextPageToken?.length).toBeGreaterThan(0);
    const waiting = w.service.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: id },
      waitNewEvent: true,
      nextPageToken: first.nextPageToken,
    });
    await sleep(200);
    await w.signal(id);
    const page = await waiting;
    expect(eventTypes(page.history!)[0]).toBe('WorkflowExecutionSignaled');
  });

  test('result() waits on the close-event long poll', async () => {
    const w = worker();
    const id = uid('wf');
    await w.start(id);
    const result = env.client.workflow.getHandle(id).result();
    await sleep(300);
    await w.complete(await w.pollWorkflowTask(), [cmd.complete({ answer: 7 })]);
    expect(await result).toEqual({ answer: 7 });
    expect(decode(payloads('x'))).toBe('x');
  });
});
