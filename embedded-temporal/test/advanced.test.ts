/**
 * The rest of the SDK surface with the real client and worker: updates (and update-with-start),
 * signal-with-start, child workflows and parent close policies, external signals and cancels,
 * continue-as-new chains, local activities, memo and workflow retries. Every history produced is replayed.
 */
import {
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import * as wf from './fixtures/workflows';
import { eventTypes, eventually, replay, startHarness, uid, type Harness } from './harness';

let h: Harness;
const produced: { workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function historyOf(
  handle: WorkflowHandle | { workflowId: string; fetchHistory(): Promise<temporal.api.history.v1.IHistory> },
) {
  const history = await handle.fetchHistory();
  produced.push({ workflowId: handle.workflowId, history });
  return history;
}

const TRIPLE = ['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted'];

describe('updates', () => {
  test('an accepted update on an idle workflow: Accepted and Completed after a task of its own', async () => {
    const handle = await h.env.client.workflow.start(wf.updatable, { taskQueue: h.taskQueue, workflowId: uid('upd') });
    await eventually(async () => (await handle.describe()).historyLength >= 4);
    expect(await handle.executeUpdate(wf.setValue, { args: [5] })).toBe(0);
    expect(await handle.executeUpdate(wf.setValue, { args: [9] })).toBe(5);
    await handle.signal(wf.finish);
    expect(await handle.result()).toBe(9);
    const types = eventTypes(await historyOf(handle));
    expect(types.slice(0, 9)).toEqual([
      'WorkflowExecutionStarted',
      ...TRIPLE,
      ...TRIPLE,
      'WorkflowExecutionUpdateAccepted',
      'WorkflowExecutionUpdateCompleted',
    ]);
  });

  test('a rejected update on an idle workflow leaves no events', async () => {
    const handle = await h.env.client.workflow.start(wf.updatable, { taskQueue: h.taskQueue, workflowId: uid('rej') });
    await eventually(async () => (await handle.describe()).historyLength >= 4);
    const before = eventTypes(await handle.fetchHistory());
    const err = await handle.executeUpdate(wf.setValue, { args: [-1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((err as Error).cause as Error).message).toBe('negative values are refused');
    expect(eventTypes(await handle.fetchHistory())).toEqual(before);
    await handle.signal(wf.finish);
    expect(await handle.result()).toBe(0);
    await historyOf(handle);
  });

  test('the same update id is applied once; the second call gets the first outcome', async () => {
    const handle = await h.env.client.workflow.start(wf.updatable, {
      taskQueue: h.taskQueue,
      workflowId: uid('dedupe'),
    });
    const updateId = uid('update');
    const first = await handle.executeUpdate(wf.setValue, { args: [3], updateId });
    const second = await handle.executeUpdate(wf.setValue, { args: [4], updateId });
    expect([first, second]).toEqual([0, 0]);
    await handle.signal(wf.finish);
    expect(await handle.result()).toBe(3);
    const types = eventTypes(await historyOf(handle));
    expect(types.filter((t) => t === 'WorkflowExecutionUpdateAccepted')).toHaveLength(1);
  });

  test('an update accepted now and completed later: startUpdate then result()', async () => {
    const handle = await h.env.client.workflow.start(wf.updatable, {
      taskQueue: h.taskQueue,
      workflowId: uid('slowupd'),
    });
    const upd = await handle.startUpdate(wf.slowUpdate, { args: [300], waitForStage: 'ACCEPTED' });
    expect(await upd.result()).toBe('slept 300');
    await handle.signal(wf.finish);
    await handle.result();
    const types = eventTypes(await historyOf(handle));
    const accepted = types.indexOf('WorkflowExecutionUpdateAccepted');
    expect(types[accepted + 1]).toBe('TimerStarted');
    expect(types).toContain('WorkflowExecutionUpdateCompleted');
  });

  test('update-with-start: the update rides the first workflow task', async () => {
    const workflowId = uid('uws');
    const startOp = new WithStartWorkflowOperation(wf.startedByUpdate, {
      workflowId,
      taskQueue: h.taskQueue,
      workflowIdConflictPolicy: 'FAIL',
    });
    expect(
      await h.env.client.workflow.executeUpdateWithStart(wf.setValue, { args: [21], startWorkflowOperation: startOp }),
    ).toBe(42);
    const handle = await startOp.workflowHandle();
    expect(await handle.result()).toBe(21);
    expect(eventTypes(await historyOf(handle)).slice(0, 6)).toEqual([
      'WorkflowExecutionStarted',
      ...TRIPLE,
      'WorkflowExecutionUpdateAccepted',
      'WorkflowExecutionUpdateCompleted',
    ]);
    const history = await handle.fetchHistory();
    expect(
      Number(history.events![4].workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequestSequencingEventId),
    ).toBe(2);
  });

  test('update-with-start on a running workflow with USE_EXISTING updates it', async () => {
    const workflowId = uid('uws2');
    const running = await h.env.client.workflow.start(wf.updatable, { taskQueue: h.taskQueue, workflowId });
    const startOp = new WithStartWorkflowOperation(wf.updatable, {
      workflowId,
      taskQueue: h.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    expect(
      await h.env.client.workflow.executeUpdateWithStart(wf.setValue, { args: [7], startWorkflowOperation: startOp }),
    ).toBe(0);
    expect((await (await startOp.workflowHandle()).describe()).runId).toBe(running.firstExecutionRunId);
    await running.signal(wf.finish);
    expect(await running.result()).toBe(7);
    await historyOf(running);
  });
});

describe('signal-with-start', () => {
  test('starts the workflow with the signal first; a second call signals the running one', async () => {
    const workflowId = uid('sws');
    const a = await h.env.client.workflow.signalWithStart(wf.accumulator, {
      taskQueue: h.taskQueue,
      workflowId,
      signal: wf.addSignal,
      signalArgs: [2],
    });
    const b = await h.env.client.workflow.signalWithStart(wf.accumulator, {
      taskQueue: h.taskQueue,
      workflowId,
      signal: wf.addSignal,
      signalArgs: [3],
    });
    expect(b.signaledRunId).toBe(a.signaledRunId);
    await a.signal(wf.doneSignal);
    expect(await a.result()).toBe(5);
    const types = eventTypes(await historyOf(a));
    expect(types.slice(0, 3)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowExecutionSignaled',
      'WorkflowTaskScheduled',
    ]);
  });
});

describe('child workflows', () => {
  test('a completed child: Initiated, Started, Completed in the parent; parent fields in the child', async () => {
    const childId = uid('child');
    const parent = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('parent'),
      args: [childId, 'complete'],
    });
    expect(await parent.result()).toBe(`child of ${parent.workflowId}`);
    const types = eventTypes(await historyOf(parent));
    expect(types).toEqual([
      'WorkflowExecutionStarted',
      ...TRIPLE,
      'StartChildWorkflowExecutionInitiated',
      'ChildWorkflowExecutionStarted',
      ...TRIPLE,
      'ChildWorkflowExecutionCompleted',
      ...TRIPLE,
      'WorkflowExecutionCompleted',
    ]);
    const childHistory = await historyOf(h.env.client.workflow.getHandle(childId));
    const started = childHistory.events![0].workflowExecutionStartedEventAttributes!;
    expect(started.parentWorkflowExecution?.workflowId).toBe(parent.workflowId);
    expect(Number(started.parentInitiatedEventId)).toBe(5);
    expect(started.rootWorkflowExecution?.workflowId).toBe(parent.workflowId);
  });

  test('a failed child and a timed-out child reach the parent as errors', async () => {
    const failing = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-fail'),
      args: [uid('c-fail'), 'fail'],
    });
    expect(await failing.result()).toMatch(/child error: .*; cause: child failed on purpose/);
    expect(eventTypes(await historyOf(failing))).toContain('ChildWorkflowExecutionFailed');
    const timing = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-timeout'),
      args: [uid('c-timeout'), 'timeout'],
    });
    expect(await timing.result()).toMatch(/child error/);
    expect(eventTypes(await historyOf(timing))).toContain('ChildWorkflowExecutionTimedOut');
  });

  test('a cancelled child and a terminated child reach the parent as Canceled and Terminated', async () => {
    const cancelledId = uid('c-canceled');
    const p1 = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-canceled'),
      args: [cancelledId, 'waitUncaught'],
    });
    await eventually(async () => (await h.env.client.workflow.getHandle(cancelledId).describe()).historyLength >= 5);
    await h.env.client.workflow.getHandle(cancelledId).cancel();
    expect(await p1.result()).toMatch(/child error/);
    expect(eventTypes(await historyOf(p1))).toContain('ChildWorkflowExecutionCanceled');

    const terminatedId = uid('c-terminated');
    const p2 = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-terminated'),
      args: [terminatedId, 'waitUncaught'],
    });
    await eventually(async () => (await h.env.client.workflow.getHandle(terminatedId).describe()).historyLength >= 5);
    await h.env.client.workflow.getHandle(terminatedId).terminate('enough');
    expect(await p2.result()).toMatch(/child error/);
    expect(eventTypes(await historyOf(p2))).toContain('ChildWorkflowExecutionTerminated');
  });

  test('a child whose id is taken fails to start with WORKFLOW_ALREADY_EXISTS', async () => {
    const childId = uid('taken');
    const squatter = await h.env.client.workflow.start(wf.accumulator, { taskQueue: h.taskQueue, workflowId: childId });
    const parent = await h.env.client.workflow.start(wf.parentOf, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-dup'),
      args: [childId, 'complete'],
    });
    expect(await parent.result()).toMatch(/child error/);
    expect(eventTypes(await historyOf(parent))).toContain('StartChildWorkflowExecutionFailed');
    await squatter.terminate();
  });

  test('cancelling a workflow from another: RequestCancelExternal, then the child cleans up', async () => {
    const childId = uid('c-cancel');
    const parent = await h.env.client.workflow.start(wf.cancelsChild, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-cancel'),
      args: [childId],
    });
    expect(await parent.result()).toBe('child cancelled');
    const types = eventTypes(await historyOf(parent));
    expect(types).toContain('RequestCancelExternalWorkflowExecutionInitiated');
    expect(types).toContain('ExternalWorkflowExecutionCancelRequested');
    expect(eventTypes(await historyOf(h.env.client.workflow.getHandle(childId)))).toContain(
      'WorkflowExecutionCancelRequested',
    );
  });

  test.each([
    ['TERMINATE', 'TERMINATED'],
    ['REQUEST_CANCEL', 'COMPLETED'],
    ['ABANDON', 'RUNNING'],
  ] as const)('parent close policy %s leaves the child %s', async (policy, status) => {
    const childId = uid(`c-${policy}`);
    const parent = await h.env.client.workflow.start(wf.leavesChild, {
      taskQueue: h.taskQueue,
      workflowId: uid('p-close'),
      args: [childId, policy],
    });
    expect(await parent.result()).toBe('parent done');
    const childHandle = h.env.client.workflow.getHandle(childId);
    await eventually(async () => (await childHandle.describe()).status.name === status);
    if (status === 'RUNNING') await childHandle.terminate();
    await historyOf(parent);
  });
});

describe('external signals, continue-as-new, local activities, memo, retries', () => {
  test('signal an external workflow; a missing one is reported to the workflow', async () => {
    const receiver = await h.env.client.workflow.start(wf.pingReceiver, {
      taskQueue: h.taskQueue,
      workflowId: uid('recv'),
    });
    const sender = await h.env.client.workflow.start(wf.signaller, {
      taskQueue: h.taskQueue,
      workflowId: uid('send'),
      args: [receiver.workflowId],
    });
    expect(await sender.result()).toBe('signalled');
    expect(await receiver.result()).toBe(`from ${sender.workflowId}`);
    const types = eventTypes(await historyOf(sender));
    expect(types).toContain('SignalExternalWorkflowExecutionInitiated');
    expect(types).toContain('ExternalWorkflowExecutionSignaled');
    const received = await historyOf(receiver);
    const signaled = received.events!.find(
      (e) => e.workflowExecutionSignaledEventAttributes,
    )!.workflowExecutionSignaledEventAttributes!;
    expect(signaled.externalWorkflowExecution?.workflowId).toBe(sender.workflowId);

    const lonely = await h.env.client.workflow.start(wf.signaller, {
      taskQueue: h.taskQueue,
      workflowId: uid('send2'),
      args: [uid('nobody')],
    });
    expect(await lonely.result()).toMatch(/signal failed/);
    expect(eventTypes(await historyOf(lonely))).toContain('SignalExternalWorkflowExecutionFailed');
  });

  test('continue-as-new: result() follows the chain; first_execution_run_id names it', async () => {
    const handle = await h.env.client.workflow.start(wf.counter, {
      taskQueue: h.taskQueue,
      workflowId: uid('can'),
      args: [0, 3],
    });
    expect(await handle.result()).toBe(3);
    const runs = [];
    for await (const x of h.env.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(x);
    expect(runs.map((r) => r.status.name).sort()).toEqual([
      'COMPLETED',
      'CONTINUED_AS_NEW',
      'CONTINUED_AS_NEW',
      'CONTINUED_AS_NEW',
    ]);
    const first = await h.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    produced.push({ workflowId: handle.workflowId, history: first });
    expect(eventTypes(first).pop()).toBe('WorkflowExecutionContinuedAsNew');
    const latest = await historyOf(h.env.client.workflow.getHandle(handle.workflowId));
    const started = latest.events![0].workflowExecutionStartedEventAttributes!;
    expect(started.firstExecutionRunId).toBe(handle.firstExecutionRunId);
    expect(started.continuedExecutionRunId).toBeTruthy();
    expect(started.originalExecutionRunId).not.toBe(handle.firstExecutionRunId);
    // Describe by the chain's first run id finds the latest run.
    const d = await h.env.connection.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId: handle.workflowId },
    });
    expect(d.workflowExecutionInfo?.firstRunId).toBe(handle.firstExecutionRunId);
  });

  test('cancel and terminate by first_execution_run_id reach the latest run of the chain', async () => {
    const handle = await h.env.client.workflow.start(wf.counter, {
      taskQueue: h.taskQueue,
      workflowId: uid('can2'),
      args: [0, 1],
    });
    await handle.result();
    const waiting = await h.env.client.workflow.start(wf.accumulator, {
      taskQueue: h.taskQueue,
      workflowId: handle.workflowId,
    });
    // The chain that started with the counter is closed: a terminate restricted to it refuses.
    await expect(
      h.env.connection.workflowService.terminateWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId },
        firstExecutionRunId: handle.firstExecutionRunId,
      }),
    ).rejects.toThrow(/not found|completed/i);
    await h.env.connection.workflowService.terminateWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId },
      firstExecutionRunId: waiting.firstExecutionRunId,
    });
    expect((await waiting.describe()).status.name).toBe('TERMINATED');
  });

  test('local activities record markers; a long one heartbeats the workflow task', async () => {
    const handle = await h.env.client.workflow.start(wf.withLocalActivities, {
      taskQueue: h.taskQueue,
      workflowId: uid('local'),
      args: [2500],
      workflowTaskTimeout: '2s',
    });
    expect(await handle.result()).toEqual(['Hello, local!', 'Hello slowly, slow local!']);
    const types = eventTypes(await historyOf(handle));
    // The first task heartbeats (force_create_new_workflow_task) while the slow local activity runs past 80 %
    // of the 2 s task timeout: it completes with the first marker and a new task starts at once.
    expect(types).toEqual([
      'WorkflowExecutionStarted',
      ...TRIPLE,
      'MarkerRecorded',
      ...TRIPLE,
      'MarkerRecorded',
      'WorkflowExecutionCompleted',
    ]);
  });

  test('upsertMemo writes WorkflowPropertiesModified and changes the memo', async () => {
    const handle = await h.env.client.workflow.start(wf.memoChanger, {
      taskQueue: h.taskQueue,
      workflowId: uid('memo'),
      memo: { stage: 'first', removed: 'x' },
    });
    await handle.result();
    expect((await handle.describe()).memo).toEqual({ stage: 'second' });
    expect(eventTypes(await historyOf(handle))).toContain('WorkflowPropertiesModified');
  });

  test('a workflow retry policy starts the next run of the chain; result() follows it', async () => {
    const handle = await h.env.client.workflow.start(wf.failing, {
      taskQueue: h.taskQueue,
      workflowId: uid('retry'),
      args: ['again'],
      retry: { maximumAttempts: 3, initialInterval: '10ms', nonRetryableErrorTypes: [] },
    });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err.cause as ApplicationFailure).message).toBe('again');
    const runs = [];
    for await (const x of h.env.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(x);
    // The fixture fails non-retryably, so one run; a retryable failure retries (see the next test).
    expect(runs).toHaveLength(1);
    await historyOf(handle);
  });
});

describe('user metadata (summaries)', () => {
  test('the start request’s static summary and details, and each command’s summary, are kept on their events and described', async () => {
    const childId = uid('meta-child');
    const handle = await h.env.client.workflow.start(wf.summarised, {
      taskQueue: h.taskQueue,
      workflowId: uid('meta'),
      args: [childId],
      staticSummary: 'a summarised workflow',
      staticDetails: '**details** in Markdown',
    });
    expect(await handle.result()).toBe('Hello, world!');
    const described = await handle.describe();
    expect(await described.staticSummary()).toBe('a summarised workflow');
    expect(await described.staticDetails()).toBe('**details** in Markdown');
    const text = (p?: temporal.api.common.v1.IPayload | null) =>
      p?.data ? JSON.parse(Buffer.from(p.data).toString()) : undefined;
    const events = (await historyOf(handle)).events ?? [];
    const summaries = events
      .filter((e) => e.userMetadata)
      .map((e) => [eventTypes({ events: [e] })[0], text(e.userMetadata!.summary), text(e.userMetadata!.details)]);
    expect(summaries).toEqual([
      ['WorkflowExecutionStarted', 'a summarised workflow', '**details** in Markdown'],
      ['ActivityTaskScheduled', 'greets the world', undefined],
      ['MarkerRecorded', 'greets locally', undefined],
      ['TimerStarted', 'waits a moment', undefined],
      ['StartChildWorkflowExecutionInitiated', 'the child', 'a child with **details**'],
    ]);
    // An event without metadata carries none (not an empty one).
    expect(events.filter((e) => e.workflowTaskScheduledEventAttributes).every((e) => !e.userMetadata)).toBe(true);
    const childDescribed = await h.env.client.workflow.getHandle(childId).describe();
    expect(await childDescribed.staticSummary()).toBe('the child');
  });
});

test('every history produced above replays without non-determinism', async () => {
  expect(produced.length).toBeGreaterThan(15);
  for (const { workflowId, history } of produced) await replay(history, workflowId);
});
