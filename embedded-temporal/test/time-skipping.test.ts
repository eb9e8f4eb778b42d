/**
 * Time skipping: `TestWorkflowEnvironment.createTimeSkipping` spawns `bin/embedded-temporal <port>` (the test
 * server's command line) and uses its TestService. Time jumps to the next deadline whenever nothing is
 * outstanding.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import * as activities from './fixtures/activities';
import * as wf from './fixtures/workflows';
import { BIN, EXTERNAL_ADDRESS, eventTypes, quietRuntime, replay, workflowBundle } from './harness';

const describeTimeSkipping = EXTERNAL_ADDRESS ? describe.skip : describe;

describeTimeSkipping('time skipping', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `ts-${randomUUID()}`;

  beforeAll(async () => {
    quietRuntime();
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: BIN } },
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  test('a workflow that sleeps two days finishes in well under a second', async () => {
    const started = Date.now();
    const handle = await env.client.workflow.start(wf.sleepsTwoDays, {
      taskQueue,
      workflowId: `sleep-${randomUUID()}`,
    });
    expect(await handle.result()).toBe('woke up');
    expect(Date.now() - started).toBeLessThan(1000);
    const history = await handle.fetchHistory();
    const times = history.events!.map((e) => Number(e.eventTime!.seconds));
    const types = eventTypes(history);
    const fired = types.indexOf('TimerFired');
    expect(times[fired] - times[types.indexOf('TimerStarted')]).toBeGreaterThanOrEqual(2 * 24 * 3600);
    await replay(history, handle.workflowId);
  });

  test('env.sleep() moves the server clock', async () => {
    const before = await env.currentTimeMs();
    const started = Date.now();
    await env.sleep('1 day');
    const after = await env.currentTimeMs();
    expect(after - before).toBeGreaterThanOrEqual(24 * 3600 * 1000);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('activities run in real time; timers after them still skip', async () => {
    const handle = await env.client.workflow.start(wf.slowActivity, {
      taskQueue,
      workflowId: `act-${randomUUID()}`,
      args: [200, 'skipper'],
    });
    expect(await handle.result()).toBe('Hello slowly, skipper!');
    const sleeper = await env.client.workflow.start(wf.sleeper, {
      taskQueue,
      workflowId: `sl-${randomUUID()}`,
      args: [3 * 3600 * 1000],
    });
    expect(await sleeper.result()).toBe('slept');
  });

  test('a run timeout in virtual time', async () => {
    const handle = await env.client.workflow.start(wf.sleepsTwoDays, {
      taskQueue,
      workflowId: `to-${randomUUID()}`,
      workflowRunTimeout: '1 hour',
    });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(eventTypes(await handle.fetchHistory()).pop()).toBe('WorkflowExecutionTimedOut');
  });

  test('time is held while the client holds the lock (no result() waiting)', async () => {
    const handle = await env.client.workflow.start(wf.sleeper, {
      taskQueue,
      workflowId: `lock-${randomUUID()}`,
      args: [3600 * 1000],
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await handle.result()).toBe('slept');
  });
});
