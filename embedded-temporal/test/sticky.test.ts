/**
 * Sticky task queues, at the protocol level (a hand-written worker on a clock the test moves) and with the SDK's
 * worker: the run's next task on the worker's sticky queue with the events since its last task, written `Sticky`;
 * the schedule-to-start timeout back to the normal queue; a sticky queue nobody polls; ShutdownWorker;
 * ResetStickyTaskQueue; a failure on a sticky queue retried on the normal one, its attempt not counted; and
 * ShutdownWorker answering the stopping worker's polls.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './fixtures/activities';
import * as wf from './fixtures/workflows';
import {
  createClockedServer,
  embeddedOnly,
  eventTypes,
  quietRuntime,
  replay,
  spawnServer,
  freePort,
  uid,
  workflowBundle,
  type ClockedServer,
  type ServerProcess,
} from './harness';
import { RawWorker, seconds } from './raw-worker';

const Kind = temporal.api.enums.v1.TaskQueueKind;
type Poll = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;

// What happens to tasks already waiting differs from Temporal's server (which leaves them to time out): embedded only.
embeddedOnly('sticky queues (protocol)', () => {
  let env: ClockedServer;
  beforeAll(async () => {
    env = await createClockedServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  /** A raw worker whose completions name its sticky queue. */
  function stickyWorker() {
    const w = new RawWorker(env.connection, uid('tq'));
    const sticky = `${w.taskQueue}-sticky-${randomUUID()}`;
    const pollSticky = async (waitMs = 2_000): Promise<Poll> =>
      env.connection.withDeadline(Date.now() + waitMs, () =>
        w.service.pollWorkflowTaskQueue({
          namespace: 'default',
          taskQueue: { name: sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: w.taskQueue },
          identity: 'raw-sticky',
        }),
      );
    const completeSticky = (task: Poll, timeoutMs = 5_000) =>
      w.complete(task, [], {
        stickyAttributes: {
          workerTaskQueue: { name: sticky, kind: Kind.TASK_QUEUE_KIND_STICKY },
          scheduleToStartTimeout: seconds(timeoutMs),
        },
      });
    /** Starts a run and completes its first task naming the sticky queue. */
    const begin = async (timeoutMs = 5_000) => {
      const id = uid('wf');
      await w.start(id);
      await completeSticky(await w.pollWorkflowTask(), timeoutMs);
      return id;
    };
    const scheduled = async (id: string) =>
      (await w.history(id))
        .events!.filter((e) => e.workflowTaskScheduledEventAttributes)
        .map((e) => e.workflowTaskScheduledEventAttributes!);
    return { w, sticky, pollSticky, completeSticky, begin, scheduled };
  }

  test('the next task goes to the sticky queue, written Sticky, with the events since the last completed task', async () => {
    const { w, sticky, pollSticky, begin, scheduled } = stickyWorker();
    const id = await begin();
    await pollSticky(300); // the worker has polled its sticky queue, as the SDK's does
    const polled = pollSticky();
    await new Promise((r) => setTimeout(r, 50));
    await w.signal(id);
    const task = await polled;
    expect(Number(task.previousStartedEventId)).toBe(3);
    expect(eventTypes(task.history!)).toEqual([
      'WorkflowTaskCompleted',
      'WorkflowExecutionSignaled',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
    ]);
    expect(Number(task.history!.events![0].eventId)).toBe(4);
    expect(task.workflowExecutionTaskQueue).toMatchObject({ name: w.taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL });
    const s = await scheduled(id);
    expect(s.map((a) => [a.taskQueue!.name, a.taskQueue!.kind, a.taskQueue!.normalName || ''])).toEqual([
      [w.taskQueue, Kind.TASK_QUEUE_KIND_NORMAL, ''],
      [sticky, Kind.TASK_QUEUE_KIND_STICKY, w.taskQueue],
    ]);
  });

  test('a sticky task not started in time times out (SCHEDULE_TO_START, not an attempt) and goes to the normal queue', async () => {
    const { w, pollSticky, begin, scheduled } = stickyWorker();
    const id = await begin(2_000);
    expect((await pollSticky(300)).taskToken?.length ?? 0).toBe(0); // polled, so the queue is there; then silent
    await w.signal(id);
    await env.passTime(2_100);
    const events = (await w.history(id)).events!;
    const timedOut = events.find((e) => e.workflowTaskTimedOutEventAttributes)!.workflowTaskTimedOutEventAttributes!;
    expect(timedOut).toMatchObject({
      timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
    expect(Number(timedOut.startedEventId)).toBe(0);
    const task = await w.pollWorkflowTask();
    expect(eventTypes(task.history!).slice(0, 2)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled']);
    expect(task.attempt).toBe(1);
    const s = await scheduled(id);
    expect(s[s.length - 1]).toMatchObject({
      attempt: 1,
      taskQueue: { name: w.taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL },
    });
  });

  test('a sticky queue nobody polls, ShutdownWorker and ResetStickyTaskQueue send the task to the normal queue at once', async () => {
    // Never polled: the task is dispatched to the normal queue (its Scheduled event as written, Sticky).
    const a = stickyWorker();
    const idA = await a.begin();
    await a.w.signal(idA);
    const taskA = await a.w.pollWorkflowTask(2_000);
    expect(eventTypes(taskA.history!)[0]).toBe('WorkflowExecutionStarted');

    // Polled, then the worker says it is shutting down: the waiting task moves.
    const b = stickyWorker();
    const idB = await b.begin();
    await b.pollSticky(300);
    await b.w.signal(idB);
    await b.w.service.shutdownWorker({ namespace: 'default', stickyTaskQueue: b.sticky, identity: 'raw-sticky' });
    const taskB = await b.w.pollWorkflowTask(2_000);
    expect(eventTypes(taskB.history!)[0]).toBe('WorkflowExecutionStarted');
    // A later completion naming the queue and a poll revive it.
    await b.completeSticky(taskB);
    await b.pollSticky(300);
    const revived = b.pollSticky();
    await new Promise((r) => setTimeout(r, 50));
    await b.w.signal(idB);
    expect(eventTypes((await revived).history!)[0]).toBe('WorkflowTaskCompleted');

    // A poll the stopping worker sent before its ShutdownWorker but that arrives after it revives nothing.
    const d = stickyWorker();
    const idD = await d.begin();
    await d.w.service.shutdownWorker({
      namespace: 'default',
      stickyTaskQueue: d.sticky,
      workerInstanceKey: 'stopping-worker',
      identity: 'raw-sticky',
    });
    const late = await env.connection.withDeadline(Date.now() + 2_000, () =>
      d.w.service.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: { name: d.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: d.w.taskQueue },
        identity: 'raw-sticky',
        workerInstanceKey: 'stopping-worker',
      }),
    );
    expect(late.taskToken?.length ?? 0).toBe(0);
    await d.w.signal(idD);
    expect(eventTypes((await d.w.pollWorkflowTask(2_000)).history!)[0]).toBe('WorkflowExecutionStarted');

    // ResetStickyTaskQueue on a run whose task waits on its sticky queue.
    const c = stickyWorker();
    const idC = await c.begin();
    await c.pollSticky(300);
    await c.w.signal(idC);
    await c.w.service.resetStickyTaskQueue({ namespace: 'default', execution: { workflowId: idC } });
    const taskC = await c.w.pollWorkflowTask(2_000);
    expect(eventTypes(taskC.history!)[0]).toBe('WorkflowExecutionStarted');
  });

  test('ShutdownWorker answers the worker’s waiting polls at once (the poll-complete-on-shutdown capability)', async () => {
    const { w } = stickyWorker();
    const ns = await w.service.describeNamespace({ namespace: 'default' });
    expect(ns.namespaceInfo?.capabilities?.workerPollCompleteOnShutdown).toBe(true);
    const sent = Date.now();
    const polled = env.connection.withDeadline(Date.now() + 30_000, () =>
      w.service.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: { name: w.taskQueue },
        identity: 'raw',
        workerInstanceKey: 'worker-1',
      }),
    );
    const other = env.connection.withDeadline(Date.now() + 4_000, () =>
      w.service.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: { name: w.taskQueue },
        identity: 'raw',
        workerInstanceKey: 'worker-2',
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    await w.service.shutdownWorker({ namespace: 'default', identity: 'raw', workerInstanceKey: 'worker-1' });
    expect((await polled).taskToken?.length ?? 0).toBe(0);
    expect(Date.now() - sent).toBeLessThan(1_000);
    // Another worker's poll waits on, to its own deadline (less the server's margin).
    expect((await other).taskToken?.length ?? 0).toBe(0);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(2_000);
  });

  test('a task that fails on the sticky queue is tried again on the normal queue, at attempt 1', async () => {
    const { w, pollSticky, begin, scheduled } = stickyWorker();
    const id = await begin();
    await pollSticky(300);
    const polled = pollSticky();
    await new Promise((r) => setTimeout(r, 50));
    await w.signal(id);
    const task = await polled;
    await w.service.respondWorkflowTaskFailed({
      namespace: 'default',
      taskToken: task.taskToken,
      cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'cache lost' },
      identity: 'raw-sticky',
    });
    const again = await w.pollWorkflowTask(2_000);
    expect(again.attempt).toBe(1);
    expect(eventTypes(again.history!)[0]).toBe('WorkflowExecutionStarted');
    const s = await scheduled(id);
    expect(s[s.length - 1]).toMatchObject({ attempt: 1, taskQueue: { kind: Kind.TASK_QUEUE_KIND_NORMAL } });
  });
});

embeddedOnly('sticky queues with the SDK worker', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    quietRuntime();
    server = await spawnServer([], await freePort());
  });
  afterAll(async () => {
    await server?.kill();
  });

  test('a cached run’s tasks go to its worker’s sticky queue; after worker.shutdown() another worker takes it at once', async () => {
    const taskQueue = uid('tq');
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const makeWorker = async () =>
      Worker.create({
        connection: await NativeConnection.connect({ address: server.address }),
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities,
      });
    const first = await makeWorker();
    const firstRun = first.run();
    const handle = await client.workflow.start(wf.accumulator, { taskQueue, workflowId: uid('acc') });
    for (const n of [1, 2, 3]) {
      await handle.signal(wf.addSignal, n);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await handle.query(wf.totalQuery)).toBe(6);
    const kinds = (await handle.fetchHistory())
      .events!.filter((e) => e.workflowTaskScheduledEventAttributes)
      .map((e) => e.workflowTaskScheduledEventAttributes!.taskQueue!.kind);
    expect(kinds[0]).toBe(Kind.TASK_QUEUE_KIND_NORMAL);
    expect(kinds.slice(1).every((k) => k === Kind.TASK_QUEUE_KIND_STICKY)).toBe(true);
    expect(kinds.length).toBeGreaterThanOrEqual(2);

    const stopping = Date.now();
    first.shutdown();
    await firstRun;
    const shutdownMs = Date.now() - stopping;
    expect(shutdownMs).toBeLessThan(5_000); // its polls answered by ShutdownWorker, not left to their deadline
    const second = await makeWorker();
    const secondRun = second.run();
    try {
      const sent = Date.now();
      await handle.signal(wf.addSignal, 4);
      await handle.signal(wf.doneSignal);
      expect(await handle.result()).toBe(10);
      // Not after the sticky queue's schedule-to-start timeout (the SDK's default is 10 s).
      expect(Date.now() - sent).toBeLessThan(3_000);
      await replay(await handle.fetchHistory(), handle.workflowId);
    } finally {
      second.shutdown();
      await secondRun;
      await connection.close();
    }
  });
});
