/**
 * Temporal's limits: payload blobs, history size and count, and the continue-as-new suggestion. The
 * embedded server runs in-process with small limits so that each is reached in a few steps; the real
 * defaults (2 MiB, 50 MiB, 51,200 events, 4 MiB / 4,096 suggested) are checked on the default server.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '..';
import { DEFAULT_LIMITS } from '../engine/limits';
import { embeddedOnly, eventTypes, uid } from './harness';
import { RawWorker, cmd, payloads, seconds } from './raw-worker';

const SuggestReason = temporal.api.enums.v1.SuggestContinueAsNewReason;

test('the defaults are Temporal’s', () => {
  expect(DEFAULT_LIMITS.blobSizeLimit).toBe(2 * 1024 * 1024);
  expect(DEFAULT_LIMITS.historySizeLimit).toBe(50 * 1024 * 1024);
  expect(DEFAULT_LIMITS.historyCountLimit).toBe(51_200);
  expect(DEFAULT_LIMITS.historySizeSuggestContinueAsNew).toBe(4 * 1024 * 1024);
  expect(DEFAULT_LIMITS.historyCountSuggestContinueAsNew).toBe(4096);
});

embeddedOnly('with small limits', () => {
  let server: EmbeddedTemporal;
  let connection: Connection;
  const big = 'x'.repeat(12_000);

  beforeAll(async () => {
    server = await startEmbeddedTemporal({
      limits: {
        blobSizeLimit: 10_000,
        historyCountLimit: 60,
        historySizeLimit: 120_000,
        historyCountSuggestContinueAsNew: 20,
        historySizeSuggestContinueAsNew: 60_000,
      },
    });
    connection = await Connection.connect({ address: server.address });
  });
  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  async function code(p: Promise<unknown>): Promise<number | undefined> {
    try {
      await p;
      return undefined;
    } catch (err) {
      return isGrpcServiceError(err) ? err.code : -1;
    }
  }

  test('oversized start input, signal and update are refused and change nothing', async () => {
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    expect(await code(w.start(id, { input: payloads(big) }))).toBe(grpcStatus.INVALID_ARGUMENT);
    await w.start(id);
    expect(await code(w.signal(id, 's', big))).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(
      await code(
        w.service.updateWorkflowExecution({
          namespace: 'default',
          workflowExecution: { workflowId: id },
          request: { meta: { updateId: 'u' }, input: { name: 'u', args: payloads(big) } },
        }),
      ),
    ).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(await w.types(id)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled']);
  });

  test('an oversized result terminates the run, as the real server does', async () => {
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    const err = await w.complete(await w.pollWorkflowTask(), [cmd.complete(big)]).catch((e: unknown) => e);
    expect(isGrpcServiceError(err) && err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    const history = await w.history(id);
    expect(eventTypes(history)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskFailed',
      'WorkflowExecutionTerminated',
    ]);
    expect(history.events![4].workflowExecutionTerminatedEventAttributes!.reason).toMatch(
      /^BadCompleteWorkflowExecutionAttributes: /,
    );
  });

  test('an oversized heartbeat fails the activity and tells the worker to stop', async () => {
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    await w.complete(await w.pollWorkflowTask(), [cmd.scheduleActivity('a', { retryPolicy: { maximumAttempts: 5 } })]);
    const task = await w.pollActivityTask();
    const res = await w.service.recordActivityTaskHeartbeat({
      namespace: 'default',
      taskToken: task.taskToken,
      details: payloads(big),
    });
    expect(res.cancelRequested).toBe(true);
    const history = await w.history(id);
    const failed = history.events![6].activityTaskFailedEventAttributes!;
    expect(failed.failure!.message).toBe('Heartbeat details exceed size limit.');
  });

  test('a history over the count limit is terminated', async () => {
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    let suggested: number[] | undefined;
    const running = async () =>
      (
        await connection.workflowService.describeWorkflowExecution({
          namespace: 'default',
          execution: { workflowId: id },
        })
      ).workflowExecutionInfo!.status ===
      temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
    for (let i = 0; i < 30 && (await running()); i++) {
      const task = await w.pollWorkflowTask();
      const started = task.history!.events!.at(-1)!.workflowTaskStartedEventAttributes!;
      if (started.suggestContinueAsNew && !suggested) suggested = started.suggestContinueAsNewReasons as number[];
      await w.complete(task, [cmd.startTimer(`t${i}`, 600_000)]).catch(() => undefined);
      if (await running()) await w.signal(id).catch(() => undefined);
    }
    expect(suggested).toEqual([SuggestReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS]);
    const history = await w.history(id);
    expect(eventTypes(history).pop()).toBe('WorkflowExecutionTerminated');
    expect(history.events!.at(-1)!.workflowExecutionTerminatedEventAttributes!.reason).toBe(
      'Workflow history count exceeds limit.',
    );
    expect(history.events!.length).toBeGreaterThan(60);
  });

  test('a history over the size limit is terminated', async () => {
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    const almost = 'y'.repeat(9_000);
    for (let i = 0; i < 20; i++) {
      const res = await w.signal(id, 's', almost).then(
        () => true,
        () => false,
      );
      if (!res) break;
    }
    const history = await w.history(id);
    expect(history.events!.at(-1)!.workflowExecutionTerminatedEventAttributes!.reason).toBe(
      'Workflow history size exceeds limit.',
    );
  });
});

test('a message far over gRPC’s default 4 MB is read and refused by Temporal’s rule, not by the transport', async () => {
  const server = await startEmbeddedTemporal({});
  const connection = await Connection.connect({ address: server.address });
  try {
    const err = await connection.workflowService
      .startWorkflowExecution({
        namespace: 'default',
        workflowId: uid('huge'),
        workflowType: { name: 'x' },
        taskQueue: { name: 'q' },
        input: payloads('z'.repeat(6 * 1024 * 1024)),
        workflowRunTimeout: seconds(1000),
      })
      .catch((e: unknown) => e);
    expect(isGrpcServiceError(err) && err.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect((err as Error).message).toMatch(/BlobSizeLimit/);
  } finally {
    await connection.close();
    await server.stop();
  }
});
