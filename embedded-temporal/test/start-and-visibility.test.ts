/**
 * Starting workflows (idempotency, id reuse and conflict policies, memo, search attributes, timeouts, start
 * delay), bad requests that must change nothing, namespaces, and the visibility query subset.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  NamespaceNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { TimeoutFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createEnv, eventTypes, uid } from './harness';
import { RawWorker, cmd, payloads, seconds, sleep } from './raw-worker';

const ReusePolicy = temporal.api.enums.v1.WorkflowIdReusePolicy;
const ConflictPolicy = temporal.api.enums.v1.WorkflowIdConflictPolicy;

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createEnv();
});
afterAll(async () => {
  await env?.teardown();
});

async function grpcCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (isGrpcServiceError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a gRPC error');
}

describe('start', () => {
  test('the same request id starts once and returns the same run', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    const a = await w.start(id, { requestId: 'req-1' });
    const b = await w.start(id, { requestId: 'req-1' });
    expect(b.runId).toBe(a.runId);
    expect(a.started).toBe(true);
    expect(await w.types(id)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled']);
  });

  test('a running id: FAIL (default) refuses with WorkflowExecutionAlreadyStartedError, USE_EXISTING returns it, TERMINATE_EXISTING replaces it', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    const first = await w.start(id, { requestId: 'r1' });
    await expect(env.client.workflow.start('raw', { taskQueue: w.taskQueue, workflowId: id })).rejects.toBeInstanceOf(
      WorkflowExecutionAlreadyStartedError,
    );
    const existing = await w.start(id, {
      requestId: 'r2',
      workflowIdConflictPolicy: ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
    });
    expect(existing.runId).toBe(first.runId);
    expect(existing.started).toBe(false);
    const replaced = await w.start(id, {
      requestId: 'r3',
      workflowIdConflictPolicy: ConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
    });
    expect(replaced.runId).not.toBe(first.runId);
    const old = await env.client.workflow.getHandle(id, first.runId).describe();
    expect(old.status.name).toBe('TERMINATED');
  });

  test('a closed id: ALLOW_DUPLICATE starts again, REJECT_DUPLICATE refuses, ALLOW_DUPLICATE_FAILED_ONLY depends on how it ended', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    await w.start(id, { requestId: 'r1' });
    await w.complete(await w.pollWorkflowTask(), [cmd.complete()]);
    const reject = await grpcCode(
      w.start(id, { requestId: 'r2', workflowIdReusePolicy: ReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE }),
    );
    expect(reject).toBe(grpcStatus.ALREADY_EXISTS);
    const failedOnly = await grpcCode(
      w.start(id, {
        requestId: 'r3',
        workflowIdReusePolicy: ReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
      }),
    );
    expect(failedOnly).toBe(grpcStatus.ALREADY_EXISTS);
    const again = await w.start(id, { requestId: 'r4' });
    await env.client.workflow.getHandle(id, again.runId).terminate();
    const afterTerminate = await w.start(id, {
      requestId: 'r5',
      workflowIdReusePolicy: ReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
    });
    expect(afterTerminate.started).toBe(true);
  });

  test('memo and typed search attributes are stored, described, and found by queries', async () => {
    const value = uid('kw');
    const handle = await env.client.workflow.start('raw', {
      taskQueue: uid('tq'),
      workflowId: uid('wf'),
      memo: { note: 'hello', n: 3 },
      searchAttributes: { CustomKeywordField: [value], CustomIntField: [42] },
    });
    const d = await handle.describe();
    expect(d.memo).toEqual({ note: 'hello', n: 3 });
    expect(d.searchAttributes.CustomKeywordField).toEqual([value]);
    const started = (await handle.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
    expect(started.memo?.fields?.note).toBeTruthy();
    const rows = [];
    for await (const x of env.client.workflow.list({
      query: `CustomKeywordField = '${value}' AND CustomIntField > 40`,
    }))
      rows.push(x);
    expect(rows.map((r) => r.workflowId)).toEqual([handle.workflowId]);
  });

  test('the WorkflowExecutionStarted event carries what the SDK needs', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    const { runId } = await w.start(id, { input: payloads('x'), workflowRunTimeout: seconds(3_600_000) });
    const started = (await w.history(id)).events![0].workflowExecutionStartedEventAttributes!;
    expect(started.originalExecutionRunId).toBe(runId);
    expect(started.firstExecutionRunId).toBe(runId);
    expect(started.attempt).toBe(1);
    expect(Number(started.workflowTaskTimeout!.seconds)).toBe(10);
    expect(Number(started.workflowRunTimeout!.seconds)).toBe(3600);
    expect(started.taskQueue?.name).toBe(w.taskQueue);
  });

  test('a run timeout closes the run as TimedOut', async () => {
    const handle = await env.client.workflow.start('raw', {
      taskQueue: uid('tq'),
      workflowId: uid('wf'),
      workflowRunTimeout: '300ms',
    });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(TimeoutFailure);
    expect(eventTypes(await handle.fetchHistory()).pop()).toBe('WorkflowExecutionTimedOut');
  });

  test('an execution timeout applies as well (and caps the run timeout)', async () => {
    const handle = await env.client.workflow.start('raw', {
      taskQueue: uid('tq'),
      workflowId: uid('wf'),
      workflowExecutionTimeout: '300ms',
      workflowRunTimeout: '1h',
    });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const started = (await handle.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
    expect(started.workflowExecutionExpirationTime).toBeTruthy();
    expect(Number(started.workflowRunTimeout!.nanos)).toBe(300e6);
  });

  test('a start delay postpones the first workflow task', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    const handle = await env.client.workflow.start('raw', {
      taskQueue: w.taskQueue,
      workflowId: id,
      startDelay: '400ms',
    });
    expect(eventTypes(await handle.fetchHistory())).toEqual(['WorkflowExecutionStarted']);
    const started = Date.now();
    await w.pollWorkflowTask();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const first = (await handle.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
    expect(first.firstWorkflowTaskBackoff).toBeTruthy();
  });
});

describe('bad requests get a clear status and change nothing', () => {
  test.each([
    ['no workflow id', { workflowId: '' }, grpcStatus.INVALID_ARGUMENT],
    ['no workflow type', { workflowType: { name: '' } }, grpcStatus.INVALID_ARGUMENT],
    ['no task queue', { taskQueue: { name: '' } }, grpcStatus.INVALID_ARGUMENT],
    ['a negative timeout', { workflowRunTimeout: seconds(-5000) }, grpcStatus.INVALID_ARGUMENT],
    ['an unknown namespace', { namespace: 'no-such-namespace' }, grpcStatus.NOT_FOUND],
    ['an oversized input', { input: payloads('y'.repeat(2 * 1024 * 1024 + 1)) }, grpcStatus.INVALID_ARGUMENT],
    [
      'an unregistered search attribute',
      { searchAttributes: { indexedFields: { NotRegistered: payloads('v').payloads![0] } } },
      grpcStatus.INVALID_ARGUMENT,
    ],
    [
      'a search attribute of the wrong type',
      { searchAttributes: { indexedFields: { CustomIntField: payloads('text').payloads![0] } } },
      grpcStatus.INVALID_ARGUMENT,
    ],
    ['a bad retry policy', { retryPolicy: { backoffCoefficient: 0.5 } }, grpcStatus.INVALID_ARGUMENT],
  ])('%s', async (_name, override, code) => {
    const id = uid('bad');
    const req = {
      namespace: 'default',
      workflowId: id,
      workflowType: { name: 'raw' },
      taskQueue: { name: 'tq' },
      requestId: uid('r'),
      ...override,
    } as temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
    expect(await grpcCode(env.connection.workflowService.startWorkflowExecution(req))).toBe(code);
    const count = await env.connection.workflowService.countWorkflowExecutions({
      namespace: 'default',
      query: `WorkflowId = '${id}'`,
    });
    expect(Number(count.count)).toBe(0);
  });

  test('an unknown namespace is NamespaceNotFoundError in the SDK', async () => {
    const { Client } = await import('@temporalio/client');
    const client = new Client({ connection: env.connection, namespace: 'nowhere' });
    await expect(client.workflow.start('raw', { taskQueue: 'tq', workflowId: uid('x') })).rejects.toBeInstanceOf(
      NamespaceNotFoundError,
    );
  });

  test('signals and cancels of unknown or closed workflows are NOT_FOUND', async () => {
    const svc = env.connection.workflowService;
    expect(
      await grpcCode(
        svc.signalWorkflowExecution({
          namespace: 'default',
          workflowExecution: { workflowId: uid('none') },
          signalName: 's',
        }),
      ),
    ).toBe(grpcStatus.NOT_FOUND);
    expect(
      await grpcCode(
        svc.requestCancelWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: uid('none') } }),
      ),
    ).toBe(grpcStatus.NOT_FOUND);
    expect(
      await grpcCode(
        svc.signalWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: '' }, signalName: 's' }),
      ),
    ).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  test('a run id that is not a UUID is INVALID_ARGUMENT "Invalid RunId." (as Temporal answers), wherever a run id is taken', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    const svc = env.connection.workflowService;
    const execution = { workflowId: id, runId: 'not-a-uuid' };
    const calls: [string, Promise<unknown>][] = [
      ['DescribeWorkflowExecution', svc.describeWorkflowExecution({ namespace: 'default', execution })],
      ['GetWorkflowExecutionHistory', svc.getWorkflowExecutionHistory({ namespace: 'default', execution })],
      [
        'SignalWorkflowExecution',
        svc.signalWorkflowExecution({ namespace: 'default', workflowExecution: execution, signalName: 's' }),
      ],
      [
        'RequestCancelWorkflowExecution',
        svc.requestCancelWorkflowExecution({ namespace: 'default', workflowExecution: execution }),
      ],
      [
        'TerminateWorkflowExecution',
        svc.terminateWorkflowExecution({ namespace: 'default', workflowExecution: execution }),
      ],
      ['QueryWorkflow', svc.queryWorkflow({ namespace: 'default', execution, query: { queryType: 'q' } })],
    ];
    for (const [rpc, call] of calls) {
      const answer = await call.then(
        () => 'answered',
        (err) => (isGrpcServiceError(err) ? { code: err.code, message: err.details } : String(err)),
      );
      expect({ rpc, answer }).toEqual({
        rpc,
        answer: { code: grpcStatus.INVALID_ARGUMENT, message: 'Invalid RunId.' },
      });
    }
    // A well-formed run id that names nothing is still NOT_FOUND, and the workflow was left alone.
    expect(
      await grpcCode(
        svc.describeWorkflowExecution({
          namespace: 'default',
          execution: { workflowId: id, runId: '00000000-0000-4000-8000-000000000000' },
        }),
      ),
    ).toBe(grpcStatus.NOT_FOUND);
    expect(await w.types(id)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskScheduled']);
  });

  test('a signal with the same request id is applied once', async () => {
    const w = new RawWorker(env.connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    for (let i = 0; i < 3; i++) {
      await w.service.signalWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: id },
        signalName: 's',
        requestId: 'same',
      });
    }
    expect((await w.types(id)).filter((t) => t === 'WorkflowExecutionSignaled')).toHaveLength(1);
  });
});

describe('namespaces and system info', () => {
  test('GetSystemInfo advertises the capabilities the SDK relies on', async () => {
    const info = await env.connection.workflowService.getSystemInfo({});
    expect(info.capabilities?.sdkMetadata).toBe(true);
    expect(info.capabilities?.signalAndQueryHeader).toBe(true);
    expect(info.capabilities?.encodedFailureAttributes).toBe(true);
    expect(info.capabilities?.activityFailureIncludeHeartbeat).toBe(true);
    expect(info.capabilities?.buildIdBasedVersioning).toBeFalsy();
  });

  test('register, describe, list; registering twice is ALREADY_EXISTS', async () => {
    const svc = env.connection.workflowService;
    const name = uid('ns');
    await svc.registerNamespace({
      namespace: name,
      description: 'for tests',
      workflowExecutionRetentionPeriod: seconds(86400_000 * 3),
    });
    const d = await svc.describeNamespace({ namespace: name });
    expect(d.namespaceInfo?.name).toBe(name);
    expect(d.namespaceInfo?.description).toBe('for tests');
    expect(d.namespaceInfo?.state).toBe(temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED);
    expect(Number(d.config?.workflowExecutionRetentionTtl?.seconds)).toBe(86400 * 3);
    const byId = await svc.describeNamespace({ id: d.namespaceInfo!.id! });
    expect(byId.namespaceInfo?.name).toBe(name);
    expect(await grpcCode(svc.registerNamespace({ namespace: name }))).toBe(grpcStatus.ALREADY_EXISTS);
    expect(await grpcCode(svc.registerNamespace({ namespace: 'bad name!' }))).toBe(grpcStatus.INVALID_ARGUMENT);
    const names: string[] = [];
    let token: Uint8Array | undefined | null;
    do {
      const page = await svc.listNamespaces({ pageSize: 2, nextPageToken: token });
      names.push(...page.namespaces.map((n) => n.namespaceInfo!.name!));
      token = page.nextPageToken;
    } while (token?.length);
    expect(names).toEqual(expect.arrayContaining(['default', name]));
    expect(await grpcCode(svc.describeNamespace({ namespace: uid('missing') }))).toBe(grpcStatus.NOT_FOUND);
  });
});

describe('visibility queries', () => {
  let tq: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    tq = uid('vis');
    const w = new RawWorker(env.connection, tq);
    for (const name of ['alpha', 'beta', 'gamma']) {
      ids[name] = `${tq}-${name}`;
      await env.client.workflow.start(name === 'gamma' ? 'other' : 'raw', {
        taskQueue: tq,
        workflowId: ids[name],
        searchAttributes: { CustomIntField: [name.length] },
      });
    }
    // Complete alpha; terminate beta; gamma stays running.
    for (;;) {
      const task = await w.pollWorkflowTask();
      if (task.workflowExecution!.workflowId === ids.alpha) {
        await w.complete(task, [cmd.complete()]);
        break;
      }
      await w.complete(task, [cmd.startTimer('t', 600_000)]);
    }
    await env.client.workflow.getHandle(ids.beta).terminate();
    await sleep(20);
  });

  async function list(query: string): Promise<string[]> {
    const out: string[] = [];
    for await (const x of env.client.workflow.list({ query: `TaskQueue = '${tq}' AND (${query})` }))
      out.push(x.workflowId.replace(`${tq}-`, ''));
    return out.sort();
  }

  test.each([
    [`ExecutionStatus = 'Running'`, ['gamma']],
    [`ExecutionStatus != 'Running'`, ['alpha', 'beta']],
    [`ExecutionStatus IN ('Completed', 'Terminated')`, ['alpha', 'beta']],
    [`WorkflowType = 'other'`, ['gamma']],
    [`WorkflowType = 'raw' OR ExecutionStatus = 'Running'`, ['alpha', 'beta', 'gamma']],
    [`WorkflowId STARTS_WITH 'vis'`, ['alpha', 'beta', 'gamma']],
    [`CustomIntField > 4`, ['alpha', 'gamma']],
    [`CustomIntField < 5 AND WorkflowType = 'raw'`, ['beta']],
    [`CloseTime IS NULL`, ['gamma']],
    [`StartTime > '2000-01-01T00:00:00Z'`, ['alpha', 'beta', 'gamma']],
    [`StartTime < '2000-01-01T00:00:00Z'`, []],
  ])('%s', async (query, expected) => {
    expect(await list(query)).toEqual(expected);
  });

  test('count, paging and order', async () => {
    const count = await env.client.workflow.count(`TaskQueue = '${tq}'`);
    expect(count.count).toBe(3);
    const page = await env.connection.workflowService.listWorkflowExecutions({
      namespace: 'default',
      query: `TaskQueue = '${tq}' ORDER BY StartTime ASC`,
      pageSize: 2,
    });
    expect(page.executions.map((e) => e.execution!.workflowId)).toEqual([ids.alpha, ids.beta]);
    const rest = await env.connection.workflowService.listWorkflowExecutions({
      namespace: 'default',
      query: `TaskQueue = '${tq}' ORDER BY StartTime ASC`,
      pageSize: 2,
      nextPageToken: page.nextPageToken,
    });
    expect(rest.executions.map((e) => e.execution!.workflowId)).toEqual([ids.gamma]);
  });

  test.each([
    `NoSuchField = 'x'`,
    `WorkflowId = `,
    `WorkflowId == 'x'`,
    `(WorkflowId = 'x'`,
    `StartTime > 'yesterday'`,
  ])('an invalid query is INVALID_ARGUMENT: %s', async (query) => {
    expect(await grpcCode(env.connection.workflowService.listWorkflowExecutions({ namespace: 'default', query }))).toBe(
      grpcStatus.INVALID_ARGUMENT,
    );
  });
});
