/**
 * Time skipping: `TestWorkflowEnvironment.createTimeSkipping` spawns `bin/embedded-temporal <port>` (the test
 * server's command line) and uses its TestService. Time jumps to the next deadline whenever nothing is
 * outstanding.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import * as wf from './fixtures/workflows';
import { embeddedOnly, eventTypes, replay, startTimeSkipping } from './harness';

embeddedOnly('time skipping', () => {
  let env: TestWorkflowEnvironment;
  let stop: () => Promise<void>;
  const taskQueue = `ts-${randomUUID()}`;

  beforeAll(async () => {
    ({ env, stop } = await startTimeSkipping(taskQueue));
  });

  afterAll(async () => {
    await stop?.();
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

  test('a cron workflow: a run at each schedule time, chained as Temporal writes it, its last result and failure carried', async () => {
    const workflowId = `cron-${randomUUID()}`;
    const handle = await env.client.workflow.start(wf.cronCounter, {
      taskQueue,
      workflowId,
      cronSchedule: '0 * * * *',
    });
    const run = (runId: string) => env.client.workflow.getHandle(workflowId, runId, { followRuns: false });
    const started = async (runId: string) => {
      const history = await run(runId).fetchHistory();
      await replay(history, workflowId);
      return { history, attrs: history.events![0].workflowExecutionStartedEventAttributes! };
    };
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
      Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
    // Each run waits for the top of the next hour: its execution time is on the hour, its first task's backoff
    // at most an hour.
    const onTheHour = async (runId: string, backoff: { seconds?: unknown } | null | undefined) => {
      const executionTime = (await run(runId).describe()).executionTime!.getTime();
      return [executionTime % 3_600_000, Number(backoff?.seconds ?? 0) <= 3600];
    };
    const first = handle.firstExecutionRunId;
    expect(await run(first).result()).toBe(1);
    const one = await started(first);
    expect(one.attrs).toMatchObject({ cronSchedule: '0 * * * *', attempt: 1 });
    expect(await onTheHour(first, one.attrs.firstWorkflowTaskBackoff)).toEqual([0, true]);
    const second = one.history.events!.at(-1)!.workflowExecutionCompletedEventAttributes!.newExecutionRunId!;
    expect(second).toMatch(/^[0-9a-f-]{36}$/);

    await expect(run(second).result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const two = await started(second);
    expect(two.attrs).toMatchObject({
      cronSchedule: '0 * * * *',
      initiator: temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
      continuedExecutionRunId: first,
      firstExecutionRunId: first,
    });
    expect(defaultPayloadConverter.fromPayload(two.attrs.lastCompletionResult!.payloads![0])).toBe(1);
    expect(await onTheHour(second, two.attrs.firstWorkflowTaskBackoff)).toEqual([0, true]);
    expect(ms(two.history.events![0].eventTime) - ms(one.history.events![0].eventTime)).toBeLessThanOrEqual(3_600_000);
    const failed = two.history.events!.at(-1)!.workflowExecutionFailedEventAttributes!;
    const third = failed.newExecutionRunId!;

    expect(await run(third).result()).toBe(2);
    const three = await started(third);
    expect(three.attrs.continuedFailure?.message).toBe('the second run fails');
    expect(defaultPayloadConverter.fromPayload(three.attrs.lastCompletionResult!.payloads![0])).toBe(1);
    expect((await env.client.workflow.getHandle(workflowId).describe()).runId).not.toBe(third);

    // A run timeout shorter than the wait for the schedule time counts from that time, as Temporal's does.
    const bounded = await env.client.workflow.start(wf.cronCounter, {
      taskQueue,
      workflowId: `cron-bounded-${randomUUID()}`,
      cronSchedule: '@hourly',
      workflowRunTimeout: '10 minutes',
    });
    expect(
      await env.client.workflow
        .getHandle(bounded.workflowId, bounded.firstExecutionRunId, { followRuns: false })
        .result(),
    ).toBe(1);
    await bounded.terminate('enough');

    // Terminated, the chain ends.
    await env.client.workflow.getHandle(workflowId).terminate('enough');
    expect((await env.client.workflow.getHandle(workflowId).describe()).status.name).toBe('TERMINATED');
  });

  test('a cron schedule Temporal would not take is refused, and so is one with a start delay', async () => {
    // robfig/cron's standard parser: five fields, no L, W, #, H or day-of-week 7, a zone that exists.
    for (const cronSchedule of [
      'not a cron',
      '* * * *',
      '0 0 * * * *',
      '0 0 L * *',
      '0 0 * * 5#2',
      'H * * * *',
      '0 0 * * 7',
      '@every 1 hour',
      'CRON_TZ=Mars/Olympus 0 * * * *',
    ])
      await expect(
        env.client.workflow.start(wf.cronCounter, { taskQueue, workflowId: `bad-cron-${randomUUID()}`, cronSchedule }),
      ).rejects.toMatchObject({ cause: { code: grpcStatus.INVALID_ARGUMENT, details: 'Invalid CronSchedule.' } });
    await expect(
      env.client.workflow.start(wf.cronCounter, {
        taskQueue,
        workflowId: `cron-delay-${randomUUID()}`,
        cronSchedule: '@hourly',
        startDelay: '1 minute',
      }),
    ).rejects.toMatchObject({
      cause: {
        code: grpcStatus.INVALID_ARGUMENT,
        details: 'CronSchedule and WorkflowStartDelay may not be used together.',
      },
    });
  });
});
