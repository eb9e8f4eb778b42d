/**
 * Schedules through the SDK's `client.schedule`, under time skipping (the server's clock jumps to each action):
 * create, describe, list, matching times, the actions and the workflows they start, overlap policies, pause,
 * trigger, backfill, limited actions, pause on failure, update and delete.
 */
import { randomUUID } from 'node:crypto';
import Long from 'long';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleHandle,
} from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import * as wf from './fixtures/workflows';
import { embeddedOnly, startTimeSkipping } from './harness';

const HOUR = 3600_000;

embeddedOnly('schedules', () => {
  let env: TestWorkflowEnvironment;
  let stop: () => Promise<void>;
  const taskQueue = `sched-${randomUUID()}`;

  beforeAll(async () => {
    ({ env, stop } = await startTimeSkipping(taskQueue));
  });

  afterAll(async () => {
    await stop?.();
  });

  const now = async () => env.currentTimeMs();
  const describeIt = (h: ScheduleHandle) => h.describe();
  /** Waits until every workflow the schedule started has closed (time does not skip while one has work). */
  const settled = async (h: ScheduleHandle) => {
    for (let i = 0; i < 200; i++) {
      const d = await h.describe();
      if (d.info.runningActions.length === 0) return d;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the schedule’s workflows did not close');
  };

  test('an hourly schedule: described and listed as created, a workflow at each hour with the last result and failure', async () => {
    const scheduleId = `hourly-${randomUUID()}`;
    const workflowId = `counted-${randomUUID()}`;
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { cronExpressions: ['0 * * * *'] },
      action: { type: 'startWorkflow', workflowType: wf.cronCounter, taskQueue, workflowId },
      memo: { owner: 'qa' },
    });
    await expect(
      env.client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: HOUR }] },
        action: { type: 'startWorkflow', workflowType: wf.greet, args: ['x'], taskQueue },
      }),
    ).rejects.toBeInstanceOf(ScheduleAlreadyRunning);

    const d = await describeIt(handle);
    // The cron string is shown compiled, as the real server shows it.
    expect(d.spec.calendars).toEqual([
      expect.objectContaining({ minute: [{ start: 0, end: 0, step: 1 }], second: [{ start: 0, end: 0, step: 1 }] }),
    ]);
    expect(d.policies).toEqual({
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: 365 * 24 * HOUR,
      pauseOnFailure: false,
    });
    expect(d.state).toMatchObject({ paused: false });
    expect(d.memo).toEqual({ owner: 'qa' });
    expect(d.info.nextActionTimes).toHaveLength(10);
    const first = d.info.nextActionTimes[0].getTime();
    expect(first % HOUR).toBe(0);
    expect(first - (await now())).toBeLessThanOrEqual(HOUR);
    const listed = [];
    for await (const s of env.client.schedule.list()) if (s.scheduleId === scheduleId) listed.push(s);
    expect(listed).toEqual([
      expect.objectContaining({
        scheduleId,
        memo: { owner: 'qa' },
        action: { type: 'startWorkflow', workflowType: 'cronCounter' },
      }),
    ]);
    expect(listed[0].info.nextActionTimes).toHaveLength(5);
    const matching = await env.client.workflowService.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId,
      startTime: { seconds: Long.fromNumber(first / 1000) },
      endTime: { seconds: Long.fromNumber((first + 3 * HOUR) / 1000) },
    });
    expect(matching.startTime.map((t) => Number(t.seconds) * 1000)).toEqual([0, 1, 2, 3].map((i) => first + i * HOUR));

    // Four hours pass: four workflows, one an hour, each named for its hour.
    await env.sleep(first - (await now()) + 3 * HOUR + 60_000);
    const after = await settled(handle);
    expect(after.info.numActionsTaken).toBe(4);
    const ids = after.info.recentActions.map((a) => a.action.workflow.workflowId);
    expect(ids).toEqual(
      [0, 1, 2, 3].map((i) => `${workflowId}-${new Date(first + i * HOUR).toISOString().replace('.000Z', 'Z')}`),
    );
    // As a cron chain: the second run fails, the third gets the last result (1) and that failure, the fourth 2.
    const outcomes = [];
    for (const id of ids) {
      const h = env.client.workflow.getHandle(id);
      outcomes.push(await h.result().catch(() => 'failed'));
    }
    expect(outcomes).toEqual([1, 'failed', 2, 3]);
    const started = await env.client.workflow.getHandle(ids[0]).describe();
    expect(started.searchAttributes).toMatchObject({
      TemporalScheduledById: [scheduleId],
      TemporalScheduledStartTime: [new Date(first)],
    });
    await handle.delete();
  });

  test('overlap policies: SKIP, ALLOW_ALL, TERMINATE_OTHER, BUFFER_ONE and CANCEL_OTHER', async () => {
    const make = async (overlap: ScheduleOverlapPolicy) =>
      env.client.schedule.create({
        scheduleId: `overlap-${overlap}-${randomUUID()}`,
        spec: { intervals: [{ every: HOUR }] },
        // Each workflow runs for 150 minutes: two more hours begin while it runs.
        action: { type: 'startWorkflow', workflowType: wf.sleeper, args: [150 * 60_000], taskQueue },
        policies: { overlap },
      });
    const skip = await make(ScheduleOverlapPolicy.SKIP);
    const all = await make(ScheduleOverlapPolicy.ALLOW_ALL);
    const terminate = await make(ScheduleOverlapPolicy.TERMINATE_OTHER);
    const bufferOne = await make(ScheduleOverlapPolicy.BUFFER_ONE);
    const cancel = await make(ScheduleOverlapPolicy.CANCEL_OTHER);
    const start = (await describeIt(skip)).info.nextActionTimes[0].getTime();
    await env.sleep(start - (await now()) + 2 * HOUR + 60_000); // three hours begin
    const [s, a, t, b, c] = await Promise.all([skip, all, terminate, bufferOne, cancel].map(describeIt));
    expect([s.info.numActionsTaken, s.info.numActionsSkippedOverlap, s.info.runningActions.length]).toEqual([1, 2, 1]);
    expect([a.info.numActionsTaken, a.info.runningActions.length]).toEqual([3, 3]);
    expect([t.info.numActionsTaken, t.info.runningActions.length]).toEqual([3, 1]);
    // BUFFER_ONE: the second hour waits for the first workflow, the third is skipped.
    expect([b.info.numActionsTaken, b.raw.info?.bufferSize?.toNumber(), b.info.numActionsSkippedOverlap]).toEqual([
      1, 1, 1,
    ]);
    // CANCEL_OTHER: each hour cancels the running workflow and starts once it has closed.
    expect([c.info.numActionsTaken, c.info.runningActions.length]).toEqual([3, 1]);
    const status = async (d: typeof s, i: number) =>
      (await env.client.workflow.getHandle(d.info.recentActions[i].action.workflow.workflowId).describe()).status.name;
    expect(await status(t, 0)).toBe('TERMINATED');
    expect([await status(c, 0), await status(c, 1), await status(c, 2)]).toEqual(['CANCELLED', 'CANCELLED', 'RUNNING']);
    // Half an hour later the first BUFFER_ONE workflow has closed and the buffered hour started.
    await env.sleep(30 * 60_000);
    const b2 = await describeIt(bufferOne);
    expect([b2.info.numActionsTaken, b2.raw.info?.bufferSize?.toNumber()]).toEqual([2, 0]);
    expect(b2.info.recentActions[1].scheduledAt.getTime()).toBe(start + HOUR);
    for (const h of [skip, all, terminate, bufferOne, cancel]) await h.delete();
  });

  test('pause, unpause, trigger and backfill; a limited schedule stops after its actions', async () => {
    const workflowId = `greet-${randomUUID()}`;
    const handle = await env.client.schedule.create({
      scheduleId: `paused-${randomUUID()}`,
      spec: { intervals: [{ every: HOUR }] },
      action: { type: 'startWorkflow', workflowType: wf.greet, args: ['sched'], taskQueue, workflowId },
      state: { paused: true, note: 'not yet' },
    });
    let d = await describeIt(handle);
    expect(d.state).toMatchObject({ paused: true, note: 'not yet' });
    expect(d.info.nextActionTimes).toHaveLength(10); // shown while paused, as Temporal shows them
    await env.sleep(3 * HOUR);
    expect((await describeIt(handle)).info.numActionsTaken).toBe(0); // paused: the hours pass untaken
    // A trigger is a manual action: taken even when paused.
    await handle.trigger();
    d = await settled(handle);
    expect(d.info.numActionsTaken).toBe(1);
    await handle.unpause('go');
    d = await describeIt(handle);
    expect(d.state).toMatchObject({ paused: false, note: 'go' });
    const next = d.info.nextActionTimes[0].getTime();
    await env.sleep(next - (await now()) + 60_000);
    d = await settled(handle);
    expect(d.info.numActionsTaken).toBe(2);
    // Backfill: the hours of a day in the past, each a workflow named for its hour.
    const day = Date.UTC(2020, 0, 1);
    await handle.backfill({
      start: new Date(day),
      end: new Date(day + 2 * HOUR),
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
    d = await settled(handle);
    expect(d.info.numActionsTaken).toBe(5);
    for (const hour of ['00', '01', '02'])
      expect(await env.client.workflow.getHandle(`${workflowId}-2020-01-01T${hour}:00:00Z`).result()).toBe(
        'Hello, sched!',
      );
    await handle.delete();
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

    const limited = await env.client.schedule.create({
      scheduleId: `limited-${randomUUID()}`,
      spec: { intervals: [{ every: HOUR }] },
      action: { type: 'startWorkflow', workflowType: wf.greet, args: ['twice'], taskQueue },
      state: { remainingActions: 2 },
    });
    expect((await describeIt(limited)).info.nextActionTimes).toHaveLength(2);
    await env.sleep(4 * HOUR);
    d = await settled(limited);
    expect([d.info.numActionsTaken, d.state.remainingActions, d.info.nextActionTimes]).toEqual([2, 0, []]);
    await limited.delete();
  });

  test('paused by a failure, a schedule starts none of the hours it had buffered', async () => {
    const handle = await env.client.schedule.create({
      scheduleId: `buffered-failure-${randomUUID()}`,
      spec: { intervals: [{ every: HOUR }] },
      // Runs 90 minutes, then fails: the next hour is buffered behind it.
      action: { type: 'startWorkflow', workflowType: wf.sleepsThenFails, args: [90 * 60_000], taskQueue },
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL, pauseOnFailure: true },
    });
    const first = (await describeIt(handle)).info.nextActionTimes[0].getTime();
    await env.sleep(first - (await now()) + HOUR + 60_000);
    expect((await describeIt(handle)).raw.info?.bufferSize?.toNumber()).toBe(1);
    await env.sleep(HOUR);
    const d = await settled(handle);
    expect([d.info.numActionsTaken, d.state.paused, d.raw.info?.bufferSize?.toNumber()]).toEqual([1, true, 0]);
    await handle.delete();
  });

  test('a time whose nominal moment has passed but whose jitter has not is taken, even when the schedule is touched between', async () => {
    // The jitter is a function of the schedule and the time: find a schedule whose first delay is over a minute.
    let handle: ScheduleHandle | undefined;
    let nominal = 0;
    let actual = 0;
    for (let i = 0; i < 10 && actual - nominal < 60_000; i++) {
      await handle?.delete();
      handle = await env.client.schedule.create({
        scheduleId: `jittered-${randomUUID()}`,
        spec: { intervals: [{ every: HOUR }], jitter: 30 * 60_000 },
        action: { type: 'startWorkflow', workflowType: wf.greet, args: ['late'], taskQueue },
      });
      actual = (await describeIt(handle)).info.nextActionTimes[0].getTime();
      nominal = Math.floor(actual / HOUR) * HOUR;
    }
    expect(actual - nominal).toBeGreaterThanOrEqual(60_000);
    await env.sleep(nominal - (await now()) + 30_000); // past its nominal time, before its jittered one
    await handle!.trigger(); // the schedule looks at its times now
    await env.sleep(actual - (await now()) + 1_000);
    const d = await settled(handle!);
    expect(d.info.recentActions.map((a) => a.scheduledAt.getTime())).toContain(nominal);
    expect(d.info.numActionsTaken).toBe(2);
    await handle!.delete();
  });

  test('pause on failure; update (with the conflict token) and the refusals Temporal gives', async () => {
    const handle = await env.client.schedule.create({
      scheduleId: `fails-${randomUUID()}`,
      spec: { intervals: [{ every: HOUR }] },
      action: { type: 'startWorkflow', workflowType: wf.failing, args: ['broken'], taskQueue, workflowId: 'fails' },
      policies: { pauseOnFailure: true },
    });
    await env.sleep(HOUR + 60_000);
    let d = await settled(handle);
    expect(d.info.numActionsTaken).toBe(1);
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toMatch(/^Schedule paused due to workflow failure: fails-.*: broken$/);
    await handle.update((prev) => ({
      ...prev,
      spec: { cronExpressions: ['0 12 * * *'] },
      action: { type: 'startWorkflow', workflowType: wf.greet, args: ['noon'], taskQueue, workflowId: 'noon' },
      state: { paused: false },
    }));
    d = await describeIt(handle);
    expect(d.action).toMatchObject({ workflowType: 'greet', args: ['noon'] });
    expect(d.state.paused).toBe(false);
    expect(d.info.lastUpdatedAt).toBeInstanceOf(Date);
    expect(d.info.nextActionTimes[0].getUTCHours()).toBe(12);
    // An update made from an older describe (its conflict token stale) is dropped, as Temporal's scheduler drops it.
    await env.client.workflowService.updateSchedule({
      namespace: 'default',
      scheduleId: handle.scheduleId,
      schedule: { ...d.raw.schedule, state: { paused: true, notes: 'stale' } },
      conflictToken: new Uint8Array(8),
    });
    expect((await describeIt(handle)).state).toMatchObject({ paused: false });
    await env.client.workflowService.updateSchedule({
      namespace: 'default',
      scheduleId: handle.scheduleId,
      schedule: { ...d.raw.schedule, state: { paused: true, notes: 'current' } },
      conflictToken: d.raw.conflictToken,
    });
    expect((await describeIt(handle)).state).toMatchObject({ paused: true, note: 'current' });
    await handle.delete();

    for (const spec of [{ cronExpressions: ['61 * * * *'] }, { cronExpressions: ['@every 0s'] }])
      await expect(
        env.client.schedule.create({
          scheduleId: `bad-${randomUUID()}`,
          spec,
          action: { type: 'startWorkflow', workflowType: wf.greet, args: ['x'], taskQueue },
        }),
      ).rejects.toMatchObject({ cause: { code: grpcStatus.INVALID_ARGUMENT } });
    // The SDK clamps a calendar's ranges; the server checks what another client may send.
    await expect(
      env.client.workflowService.createSchedule({
        namespace: 'default',
        scheduleId: `bad-${randomUUID()}`,
        schedule: {
          spec: { structuredCalendar: [{ hour: [{ start: 20, end: 30 }] }] },
          action: {
            startWorkflow: { workflowId: 'x', workflowType: { name: 'greet' }, taskQueue: { name: taskQueue } },
          },
        },
      }),
    ).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
      details: 'Invalid schedule spec: hour 20-30 is outside 0-23',
    });
    await expect(env.client.schedule.getHandle('no-such-schedule').describe()).rejects.toBeInstanceOf(
      ScheduleNotFoundError,
    );
  });
});
