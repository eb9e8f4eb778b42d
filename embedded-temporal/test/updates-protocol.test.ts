/**
 * The update protocol by hand: request messages in workflow tasks, acceptance and response positioned by
 * PROTOCOL_MESSAGE commands, rejections that leave no trace (speculative tasks), updates the worker
 * ignored, what happens to updates when the workflow closes, and that an outcome is answered only once
 * committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Long from 'long';
import { startEmbeddedTemporal } from '../server';
import type { Store } from '../store/store';
import { createEnv, eventTypes, eventually, uid } from './harness';
import { CommandType, RawWorker, cmd, decode, payloads, sleep } from './raw-worker';

const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createEnv();
});
afterAll(async () => {
  await env?.teardown();
});

function any(typeName: string, message: Uint8Array) {
  return { type_url: `type.googleapis.com/${typeName}`, value: message };
}

function sendUpdate(
  w: RawWorker,
  workflowId: string,
  updateId: string,
  stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
) {
  return w.service.updateWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId },
    waitPolicy: { lifecycleStage: stage },
    request: { meta: { updateId, identity: 'test' }, input: { name: 'set', args: payloads(1) } },
  });
}

const accept = (u: temporal.api.protocol.v1.IMessage) => ({
  id: `${u.protocolInstanceId}/accept`,
  protocolInstanceId: u.protocolInstanceId,
  body: any(
    'temporal.api.update.v1.Acceptance',
    temporal.api.update.v1.Acceptance.encode({
      acceptedRequestMessageId: u.id,
      acceptedRequestSequencingEventId: u.eventId,
    }).finish(),
  ),
});
const respond = (u: temporal.api.protocol.v1.IMessage, value: unknown) => ({
  id: `${u.protocolInstanceId}/complete`,
  protocolInstanceId: u.protocolInstanceId,
  body: any(
    'temporal.api.update.v1.Response',
    temporal.api.update.v1.Response.encode({
      meta: { updateId: u.protocolInstanceId },
      outcome: { success: payloads(value) },
    }).finish(),
  ),
});
const reject = (u: temporal.api.protocol.v1.IMessage, message: string) => ({
  id: `${u.protocolInstanceId}/reject`,
  protocolInstanceId: u.protocolInstanceId,
  body: any(
    'temporal.api.update.v1.Rejection',
    temporal.api.update.v1.Rejection.encode({ rejectedRequestMessageId: u.id, failure: { message } }).finish(),
  ),
});
const protocolCommand = (messageId: string) => ({
  commandType: CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE,
  protocolMessageCommandAttributes: { messageId },
});

/** A raw workflow that completed its first task (idle, waiting on a long timer). */
async function idleWorkflow() {
  const w = new RawWorker(env.connection, uid('tq'));
  const id = uid('wf');
  await w.start(id);
  await w.complete(await w.pollWorkflowTask(), [cmd.startTimer('t', 600_000)]);
  return { w, id };
}

test('an update to an idle workflow rides a speculative task; accepted and completed events sit at their commands', async () => {
  const { w, id } = await idleWorkflow();
  const update = sendUpdate(w, id, 'u1');
  const task = await w.pollWorkflowTask();
  // Speculative: its Scheduled/Started events exist only in the poll response.
  expect(await w.types(id)).toHaveLength(5);
  expect(eventTypes(task.history!).slice(5)).toEqual(['WorkflowTaskScheduled', 'WorkflowTaskStarted']);
  const [request] = task.messages;
  expect(request.protocolInstanceId).toBe('u1');
  expect(request.id).toBe('u1/request');
  expect(Number(request.eventId)).toBe(Number(task.startedEventId) - 1);
  const body = temporal.api.update.v1.Request.decode(request.body!.value!);
  expect(body.input?.name).toBe('set');

  await w.complete(
    task,
    [protocolCommand('u1/accept'), cmd.startTimer('t2', 600_000), protocolCommand('u1/complete')],
    {
      messages: [accept(request), respond(request, 'done')],
    },
  );
  const res = await update;
  expect(res.stage).toBe(Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED);
  expect(decode(res.outcome!.success)).toBe('done');
  const history = await w.history(id);
  expect(eventTypes(history).slice(5)).toEqual([
    'WorkflowTaskScheduled',
    'WorkflowTaskStarted',
    'WorkflowTaskCompleted',
    'WorkflowExecutionUpdateAccepted',
    'TimerStarted',
    'WorkflowExecutionUpdateCompleted',
  ]);
  const accepted = history.events![8].workflowExecutionUpdateAcceptedEventAttributes!;
  expect(accepted.protocolInstanceId).toBe('u1');
  expect(Number(accepted.acceptedRequestSequencingEventId)).toBe(6);
  expect(Number(history.events![10].workflowExecutionUpdateCompletedEventAttributes!.acceptedEventId)).toBe(9);
  // Polling the finished update returns its outcome; so does sending it again (update_id de-duplication).
  const polled = await w.service.pollWorkflowExecutionUpdate({
    namespace: 'default',
    updateRef: { workflowExecution: { workflowId: id }, updateId: 'u1' },
    waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED },
  });
  expect(decode(polled.outcome!.success)).toBe('done');
  expect(decode((await sendUpdate(w, id, 'u1')).outcome!.success)).toBe('done');
});

test('a rejection on a speculative task writes nothing; the response resets history to the last completed task', async () => {
  const { w, id } = await idleWorkflow();
  const update = sendUpdate(w, id, 'bad');
  const task = await w.pollWorkflowTask();
  const res = await w.complete(task, [], { messages: [reject(task.messages[0], 'no thanks')] });
  expect(Number(res.resetHistoryEventId)).toBe(3);
  expect((await update).outcome?.failure?.message).toBe('no thanks');
  expect(await w.types(id)).toHaveLength(5);
});

test('an update the worker ignores is rejected by the server', async () => {
  const { w, id } = await idleWorkflow();
  const update = sendUpdate(w, id, 'ignored');
  await w.complete(await w.pollWorkflowTask(), []);
  const res = await update;
  expect(res.outcome?.failure?.applicationFailureInfo?.type).toBe('UnprocessedUpdate');
});

test('an update admitted during a task forbids closing the run (UnhandledCommand), then rides the next task', async () => {
  const w = new RawWorker(env.connection, uid('tq'));
  const id = uid('wf');
  await w.start(id);
  const task = await w.pollWorkflowTask();
  const update = sendUpdate(w, id, 'late', Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
  await sleep(100);
  const err = await w.complete(task, [cmd.complete()]).catch((e: unknown) => e);
  expect(isGrpcServiceError(err) && err.details).toBe('UnhandledCommand');
  const next = await w.pollWorkflowTask();
  expect(next.messages.map((m) => m.protocolInstanceId)).toEqual(['late']);
  await w.complete(next, [protocolCommand('late/accept'), cmd.complete()], { messages: [accept(next.messages[0])] });
  expect((await update).stage).toBeGreaterThanOrEqual(Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
  // Accepted but never completed when the run closed: the update fails with the server's failure.
  const polled = await w.service.pollWorkflowExecutionUpdate({
    namespace: 'default',
    updateRef: { workflowExecution: { workflowId: id }, updateId: 'late' },
  });
  expect(polled.outcome?.failure?.applicationFailureInfo?.type).toBe('AcceptedUpdateCompletedWorkflow');
});

test('updates to a closed workflow, or with bad input, are refused', async () => {
  const w = new RawWorker(env.connection, uid('tq'));
  const id = uid('wf');
  await w.start(id);
  await w.complete(await w.pollWorkflowTask(), [cmd.complete()]);
  const closed = await sendUpdate(w, id, 'x').catch((e: unknown) => e);
  expect(isGrpcServiceError(closed) && closed.code).toBe(grpcStatus.NOT_FOUND);
  const noId = await w.service
    .updateWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: id },
      request: { meta: {}, input: { name: 'x' } },
    })
    .catch((e: unknown) => e);
  expect(isGrpcServiceError(noId) && noId.code).toBe(grpcStatus.INVALID_ARGUMENT);
  const unknown = await w.service
    .pollWorkflowExecutionUpdate({
      namespace: 'default',
      updateRef: { workflowExecution: { workflowId: id }, updateId: 'never' },
    })
    .catch((e: unknown) => e);
  expect(isGrpcServiceError(unknown) && unknown.code).toBe(grpcStatus.NOT_FOUND);
});

test('a message for an unknown update fails the task with BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE', async () => {
  const { w, id } = await idleWorkflow();
  await w.signal(id);
  const task = await w.pollWorkflowTask();
  const fake = { id: 'nope/request', protocolInstanceId: 'nope', eventId: Long.fromNumber(1) };
  const err = await w.complete(task, [], { messages: [accept(fake)] }).catch((e: unknown) => e);
  expect(isGrpcServiceError(err) && err.code).toBe(grpcStatus.INVALID_ARGUMENT);
  const history = await w.history(id);
  expect(history.events!.pop()!.workflowTaskFailedEventAttributes?.cause).toBe(
    temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
  );
});

test('an update is answered only once the completion that carries its outcome is committed', async () => {
  // In-process, on PGlite, to hold the store's commits.
  const dir = mkdtempSync(path.join(tmpdir(), 'et-update-commit-'));
  const server = await startEmbeddedTemporal({ dbFilename: dir });
  const connection = await Connection.connect({ address: server.address });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  try {
    const store = (server.engine.persistence as unknown as { store: Store }).store;
    const commit = store.commit.bind(store);
    let heldCommits = 0;
    store.commit = async (batch) => {
      const completesUpdate = batch.events.some(
        (e) =>
          temporal.api.history.v1.HistoryEvent.decode(e.data).eventType ===
          temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
      );
      if (completesUpdate) {
        heldCommits++;
        await held;
      }
      return commit(batch);
    };
    const w = new RawWorker(connection, uid('tq'));
    const id = uid('wf');
    await w.start(id);
    await w.complete(await w.pollWorkflowTask(), [cmd.startTimer('t', 600_000)]);
    let answered = false;
    const update = sendUpdate(w, id, 'u-held').then((r) => ((answered = true), r));
    const task = await w.pollWorkflowTask();
    const [request] = task.messages;
    const completion = w.complete(task, [protocolCommand('u-held/accept'), protocolCommand('u-held/complete')], {
      messages: [accept(request), respond(request, 'kept')],
    });
    await eventually(() => heldCommits > 0);
    await sleep(300);
    expect(answered).toBe(false); // the outcome is in memory, not yet in the store
    release();
    expect(decode((await update).outcome!.success)).toBe('kept');
    await completion;
  } finally {
    release();
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
