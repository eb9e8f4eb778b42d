/**
 * The real SDK client and worker against the embedded server: results, and the exact event sequences the
 * real server writes (temporal-server-semantics §2.3). Every history produced here is replayed at the end.
 */
import {
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowClient,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import * as wf from './fixtures/workflows';
import { eventTypes, replay, startHarness, uid, eventually, type Harness } from './harness';

const RetryState = temporal.api.enums.v1.RetryState;

let h: Harness;
const produced: { workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

async function historyOf(handle: WorkflowHandle): Promise<temporal.api.history.v1.IHistory> {
  const history = await handle.fetchHistory();
  produced.push({ workflowId: handle.workflowId, history });
  return history;
}

const TRIPLE = ['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted'];

test('one activity: result and event sequence', async () => {
  const handle = await h.env.client.workflow.start(wf.greet, {
    taskQueue: h.taskQueue,
    workflowId: uid('greet'),
    args: ['Ampoule'],
  });
  expect(await handle.result()).toBe('Hello, Ampoule!');
  const history = await historyOf(handle);
  expect(eventTypes(history)).toEqual([
    'WorkflowExecutionStarted',
    ...TRIPLE,
    'ActivityTaskScheduled',
    'ActivityTaskStarted',
    'ActivityTaskCompleted',
    ...TRIPLE,
    'WorkflowExecutionCompleted',
  ]);
  const events = history.events!;
  // Linkage fields the SDK checks.
  expect(Number(events[3].workflowTaskCompletedEventAttributes!.scheduledEventId)).toBe(2);
  expect(Number(events[3].workflowTaskCompletedEventAttributes!.startedEventId)).toBe(3);
  expect(Number(events[4].activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId)).toBe(4);
  expect(Number(events[5].activityTaskStartedEventAttributes!.scheduledEventId)).toBe(5);
  expect(events[5].activityTaskStartedEventAttributes!.attempt).toBe(1);
  expect(Number(events[6].activityTaskCompletedEventAttributes!.startedEventId)).toBe(6);
  expect(Number(events[10].workflowExecutionCompletedEventAttributes!.workflowTaskCompletedEventId)).toBe(10);
  // The default retry policy is filled in on the scheduled event.
  const rp = events[4].activityTaskScheduledEventAttributes!.retryPolicy!;
  expect(Number(rp.initialInterval!.seconds)).toBe(1);
  expect(rp.backoffCoefficient).toBe(2);
  expect(Number(rp.maximumInterval!.seconds)).toBe(100);
  // Workflow task completions carry the SDK's metadata verbatim (the SDK's replay flags depend on it).
  expect(events[3].workflowTaskCompletedEventAttributes!.sdkMetadata).toBeTruthy();
});

test('a timer: TimerStarted then TimerFired', async () => {
  const handle = await h.env.client.workflow.start(wf.sleeper, {
    taskQueue: h.taskQueue,
    workflowId: uid('timer'),
    args: [300],
  });
  const started = Date.now();
  expect(await handle.result()).toBe('slept');
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  const history = await historyOf(handle);
  expect(eventTypes(history)).toEqual([
    'WorkflowExecutionStarted',
    ...TRIPLE,
    'TimerStarted',
    'TimerFired',
    ...TRIPLE,
    'WorkflowExecutionCompleted',
  ]);
  expect(Number(history.events![5].timerFiredEventAttributes!.startedEventId)).toBe(5);
});

test('a retried activity: retries write no events; Started carries the last attempt and failure', async () => {
  const handle = await h.env.client.workflow.start(wf.flaky, {
    taskQueue: h.taskQueue,
    workflowId: uid('flaky'),
    args: [3, uid('key')],
  });
  expect(await handle.result()).toBe(4);
  const history = await historyOf(handle);
  expect(eventTypes(history)).toEqual([
    'WorkflowExecutionStarted',
    ...TRIPLE,
    'ActivityTaskScheduled',
    'ActivityTaskStarted',
    'ActivityTaskCompleted',
    ...TRIPLE,
    'WorkflowExecutionCompleted',
  ]);
  const started = history.events![5].activityTaskStartedEventAttributes!;
  expect(started.attempt).toBe(4);
  expect(started.lastFailure?.message).toBe('attempt 3 fails');
});

test('an activity that exhausts its attempts fails with MAXIMUM_ATTEMPTS_REACHED', async () => {
  const handle = await h.env.client.workflow.start(wf.alwaysFails, {
    taskQueue: h.taskQueue,
    workflowId: uid('exhaust'),
    args: [uid('key')],
  });
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const history = await historyOf(handle);
  const types = eventTypes(history);
  expect(types.slice(4, 7)).toEqual(['ActivityTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskFailed']);
  expect(history.events![5].activityTaskStartedEventAttributes!.attempt).toBe(5);
  expect(history.events![6].activityTaskFailedEventAttributes!.retryState).toBe(
    RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
  );
});

test('a signal while idle, and a query answered while idle', async () => {
  const handle = await h.env.client.workflow.start(wf.accumulator, { taskQueue: h.taskQueue, workflowId: uid('acc') });
  await eventually(async () => (await handle.describe()).historyLength >= 4);
  await handle.signal(wf.addSignal, 5);
  await eventually(async () => (await handle.query(wf.totalQuery)) === 5);
  await handle.signal(wf.addSignal, 7);
  await handle.signal(wf.doneSignal);
  expect(await handle.result()).toBe(12);
  const history = await historyOf(handle);
  const types = eventTypes(history);
  expect(types.slice(0, 8)).toEqual(['WorkflowExecutionStarted', ...TRIPLE, 'WorkflowExecutionSignaled', ...TRIPLE]);
  expect(history.events![4].workflowExecutionSignaledEventAttributes!.signalName).toBe('add');
  expect(types[types.length - 1]).toBe('WorkflowExecutionCompleted');
});

test('a signal while a workflow task is in flight is buffered and written after the commands', async () => {
  // The signal arrives during the first workflow task's processing window only by luck, so instead we
  // check the invariant that makes that case work: whatever the timing, the history is well formed and
  // replays, and the signal is never lost.
  const handle = await h.env.client.workflow.start(wf.signalDuringActivity, {
    taskQueue: h.taskQueue,
    workflowId: uid('inflight'),
    args: [200],
  });
  await handle.signal(wf.addSignal, 1);
  await handle.signal(wf.addSignal, 2);
  expect(await handle.result()).toEqual([1, 2]);
  const history = await historyOf(handle);
  const types = eventTypes(history);
  expect(types.filter((t) => t === 'WorkflowExecutionSignaled')).toHaveLength(2);
  // Command events always directly follow WorkflowTaskCompleted.
  const scheduledAt = types.indexOf('ActivityTaskScheduled');
  expect(types[scheduledAt - 1]).toBe('WorkflowTaskCompleted');
});

test('a failed workflow task: WorkflowTaskFailed, then a transient retry written only on success', async () => {
  const handle = await h.env.client.workflow.start(wf.failsFirstTask, {
    taskQueue: h.taskQueue,
    workflowId: uid('wftfail'),
    workflowTaskTimeout: '1s',
  });
  expect(await handle.result()).toBe('recovered');
  const history = await historyOf(handle);
  expect(eventTypes(history)).toEqual([
    'WorkflowExecutionStarted',
    'WorkflowTaskScheduled',
    'WorkflowTaskStarted',
    'WorkflowTaskFailed',
    ...TRIPLE,
    'WorkflowExecutionCompleted',
  ]);
  expect(history.events![4].workflowTaskScheduledEventAttributes!.attempt).toBe(2);
  expect(Number(history.events![5].workflowTaskStartedEventAttributes!.scheduledEventId)).toBe(5);
});

test('a workflow failure reaches the client with its cause', async () => {
  const handle = await h.env.client.workflow.start(wf.failing, {
    taskQueue: h.taskQueue,
    workflowId: uid('fail'),
    args: ['broken'],
  });
  const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(err.cause).toBeInstanceOf(ApplicationFailure);
  expect((err.cause as ApplicationFailure).type).toBe('Boom');
  expect(eventTypes(await historyOf(handle)).pop()).toBe('WorkflowExecutionFailed');
  expect((await handle.describe()).status.name).toBe('FAILED');
});

test('cancellation: CancelRequested, then the workflow cleans up and is Canceled; a second request is a no-op', async () => {
  const handle = await h.env.client.workflow.start(wf.cancellable, {
    taskQueue: h.taskQueue,
    workflowId: uid('cancel'),
  });
  await eventually(async () => (await handle.describe()).historyLength >= 5);
  await handle.cancel();
  await handle.cancel();
  expect(await handle.result()).toBe('cleaned up after cancel');
  const types = eventTypes(await historyOf(handle));
  expect(types.filter((t) => t === 'WorkflowExecutionCancelRequested')).toHaveLength(1);
  expect(types.slice(4)).toEqual([
    'TimerStarted',
    'WorkflowExecutionCancelRequested',
    ...TRIPLE,
    'TimerCanceled',
    'WorkflowExecutionCompleted',
  ]);
});

test('terminate: Terminated at once; later calls get NOT_FOUND', async () => {
  const handle = await h.env.client.workflow.start(wf.accumulator, { taskQueue: h.taskQueue, workflowId: uid('term') });
  await eventually(async () => (await handle.describe()).historyLength >= 4);
  await handle.terminate('operator stopped it');
  const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
  expect(err.cause).toBeInstanceOf(TerminatedFailure);
  expect(err.message).toBe('operator stopped it');
  const history = await historyOf(handle);
  expect(eventTypes(history).pop()).toBe('WorkflowExecutionTerminated');
  await expect(handle.signal(wf.addSignal, 1)).rejects.toThrow(/not found|completed/i);
  await expect(handle.terminate()).rejects.toThrow(/not found|completed/i);
});

test('cancelling a running activity reaches it through its heartbeat', async () => {
  const handle = await h.env.client.workflow.start(wf.cancelActivity, {
    taskQueue: h.taskQueue,
    workflowId: uid('actcancel'),
  });
  expect(await handle.result()).toBe('activity cancelled');
  const types = eventTypes(await historyOf(handle));
  const i = types.indexOf('ActivityTaskCancelRequested');
  expect(i).toBeGreaterThan(0);
  expect(types.slice(i)).toContain('ActivityTaskCanceled');
  expect(types.indexOf('ActivityTaskStarted')).toBeGreaterThan(i);
});

test('a timer cancelled in the same task it was started', async () => {
  const handle = await h.env.client.workflow.start(wf.timerCancel, {
    taskQueue: h.taskQueue,
    workflowId: uid('tcancel'),
  });
  expect(await handle.result()).toBe('timer cancelled');
  const types = eventTypes(await historyOf(handle));
  expect(types).not.toContain('TimerFired');
});

test('queries: unknown query type, closed workflow, reject condition', async () => {
  const handle = await h.env.client.workflow.start(wf.accumulator, {
    taskQueue: h.taskQueue,
    workflowId: uid('query'),
  });
  await handle.signal(wf.addSignal, 3);
  expect(await handle.query(wf.totalQuery)).toBe(3);
  await expect(handle.query('nope')).rejects.toBeInstanceOf(QueryNotRegisteredError);
  await handle.signal(wf.doneSignal);
  await handle.result();
  // A closed workflow still answers queries (the worker replays its history)...
  expect(await handle.query(wf.totalQuery)).toBe(3);
  // ...unless the caller rejects closed workflows.
  const rejecting = new WorkflowClient({ connection: h.env.connection, queryRejectCondition: 'NOT_OPEN' });
  await expect(rejecting.getHandle(handle.workflowId).query(wf.totalQuery)).rejects.toBeInstanceOf(QueryRejectedError);
  await historyOf(handle);
});

test('patched() upserts TemporalChangeVersion and replays', async () => {
  const handle = await h.env.client.workflow.start(wf.patchedWorkflow, {
    taskQueue: h.taskQueue,
    workflowId: uid('patch'),
  });
  expect(await handle.result()).toBe('new');
  const history = await historyOf(handle);
  expect(eventTypes(history)).toContain('MarkerRecorded');
  expect(eventTypes(history)).toContain('UpsertWorkflowSearchAttributes');
});

test('search attributes: upserted by the workflow, then found by a visibility query', async () => {
  const value = uid('sa');
  const handle = await h.env.client.workflow.start(wf.searchAttributeUpsert, {
    taskQueue: h.taskQueue,
    workflowId: uid('upsert'),
    args: [value],
  });
  await handle.result();
  await historyOf(handle);
  const found = await eventually(async () => {
    const rows = [];
    for await (const w of h.env.client.workflow.list({ query: `CustomKeywordField = '${value}'` })) rows.push(w);
    return rows.length === 1 ? rows : undefined;
  });
  expect(found[0].workflowId).toBe(handle.workflowId);
  expect(found[0].searchAttributes.CustomKeywordField).toEqual([value]);
});

test('describe reports type, queue, status and history length', async () => {
  const handle = await h.env.client.workflow.start(wf.accumulator, {
    taskQueue: h.taskQueue,
    workflowId: uid('describe'),
    memo: { purpose: 'test' },
  });
  const d = await eventually(async () => {
    const x = await handle.describe();
    return x.historyLength >= 4 ? x : undefined;
  });
  expect(d.type).toBe('accumulator');
  expect(d.taskQueue).toBe(h.taskQueue);
  expect(d.status.name).toBe('RUNNING');
  expect(d.memo).toEqual({ purpose: 'test' });
  expect(d.runId).toBe(handle.firstExecutionRunId);
  await handle.terminate();
  await historyOf(handle);
});

test('cancelled workflow surfaces CancelledFailure to result()', async () => {
  const handle = await h.env.client.workflow.start(wf.sleeper, {
    taskQueue: h.taskQueue,
    workflowId: uid('cancel2'),
    args: [60_000],
  });
  await eventually(async () => (await handle.describe()).historyLength >= 5);
  await handle.cancel();
  const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
  expect(err.cause).toBeInstanceOf(CancelledFailure);
  expect(eventTypes(await historyOf(handle)).pop()).toBe('WorkflowExecutionCanceled');
});

test('every history produced above replays without non-determinism', async () => {
  expect(produced.length).toBeGreaterThan(10);
  for (const { workflowId, history } of produced) await replay(history, workflowId);
});
