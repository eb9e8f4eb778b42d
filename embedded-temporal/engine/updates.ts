/**
 * Workflow updates: admission, delivery as protocol messages in workflow tasks, the worker's acceptance,
 * rejection and response, waiting for a lifecycle stage, and update-with-start (ExecuteMultiOperation).
 * A rejected update leaves no event; an update admitted to an idle workflow rides a speculative task.
 */
import * as grpc from '@grpc/grpc-js';
import { RpcError, invalidArgument, notFound } from '../errors';
import { EventType, messageCodec, packAny, temporal } from '../proto';
import { long } from '../util/time';
import type { CommandProblem } from './commands';
import type { EngineContext } from './context';
import type { Req, Res } from './types';
import { checkBlob, checkBlobProblem } from './limits';
import { Run, int, type UpdateInfo } from './run';

const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;
type IMessage = temporal.api.protocol.v1.IMessage;

const AcceptanceCodec = messageCodec<temporal.api.update.v1.IAcceptance>('temporal.api.update.v1.Acceptance');
const RejectionCodec = messageCodec<temporal.api.update.v1.IRejection>('temporal.api.update.v1.Rejection');
const ResponseCodec = messageCodec<temporal.api.update.v1.IResponse>('temporal.api.update.v1.Response');

type Decoded =
  | { kind: 'acceptance'; body: temporal.api.update.v1.IAcceptance }
  | { kind: 'rejection'; body: temporal.api.update.v1.IRejection }
  | { kind: 'response'; body: temporal.api.update.v1.IResponse };

/** srv update/errors_failures.go */
const UNPROCESSED_UPDATE_FAILURE: temporal.api.failure.v1.IFailure = {
  message:
    "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
  source: 'Server',
  applicationFailureInfo: { type: 'UnprocessedUpdate', nonRetryable: true },
};
const ACCEPTED_UPDATE_COMPLETED_WORKFLOW_FAILURE: temporal.api.failure.v1.IFailure = {
  message: 'Workflow Update failed because the Workflow completed before the Update completed.',
  source: 'Server',
  applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
};

/** How long an update call waits for its stage before answering with the stage reached (srv long-poll interval). */
const UPDATE_LONG_POLL_MS = 20_000;

function stageOf(u: UpdateInfo): number {
  switch (u.state) {
    case 'accepted':
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    case 'completed':
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    default:
      return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED;
  }
}

export class Updates {
  constructor(private readonly engine: EngineContext) {}

  // ---- inside workflow tasks --------------------------------------------------------------------------------

  /** Admitted updates not yet sent to a worker: they forbid closing the run (UnhandledCommand). */
  hasUndelivered(run: Run): boolean {
    for (const u of run.updates.values()) if (u.state === 'admitted') return true;
    return false;
  }

  /** The request messages a starting workflow task carries (srv: event_id is WorkflowTaskStarted − 1). */
  deliver(run: Run, startedEventId: number, stamp: number): IMessage[] {
    const out: IMessage[] = [];
    for (const u of run.updates.values()) {
      if (u.state !== 'admitted') continue;
      out.push({
        id: `${u.updateId}/request`,
        protocolInstanceId: u.updateId,
        eventId: long(startedEventId - 1),
        body: packAny('temporal.api.update.v1.Request', u.request),
      });
      u.state = 'sent';
      u.sentStamp = stamp;
    }
    if (out.length > 0) run.touch();
    return out;
  }

  decode(m: IMessage): Decoded | undefined {
    const typeUrl = m.body?.type_url ?? '';
    const value = m.body?.value ?? new Uint8Array();
    try {
      if (typeUrl.endsWith('/temporal.api.update.v1.Acceptance'))
        return { kind: 'acceptance', body: AcceptanceCodec.decode(value) };
      if (typeUrl.endsWith('/temporal.api.update.v1.Rejection'))
        return { kind: 'rejection', body: RejectionCodec.decode(value) };
      if (typeUrl.endsWith('/temporal.api.update.v1.Response'))
        return { kind: 'response', body: ResponseCodec.decode(value) };
    } catch {
      return undefined;
    }
    return undefined;
  }

  isRejection(m: IMessage): boolean {
    return this.decode(m)?.kind === 'rejection';
  }

  /** Checks the messages of a completion, in the order they will be applied, without changing anything. */
  validate(run: Run, messages: IMessage[], order: string[]): CommandProblem | undefined {
    const bad = (message: string): CommandProblem => ({
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
      message,
    });
    const byId = new Map<string, IMessage>();
    for (const m of messages) {
      if (!m.id) return bad('A protocol message has no id.');
      if (byId.has(m.id)) return bad(`Protocol message ${m.id} appears twice.`);
      byId.set(m.id, m);
    }
    const states = new Map<string, UpdateInfo['state']>();
    const sequence = [...order, ...[...byId.keys()].filter((id) => !order.includes(id))];
    for (const id of sequence) {
      const m = byId.get(id)!;
      const decoded = this.decode(m);
      if (!decoded) return bad(`Protocol message ${id} has an unsupported body ${m.body?.type_url ?? '(none)'}.`);
      const updateId = m.protocolInstanceId ?? '';
      const u = run.updates.get(updateId);
      if (!u) return bad(`update ${updateId} wasn't found on the server.`);
      const size =
        decoded.kind === 'response'
          ? checkBlobProblem(this.engine.limits, decoded.body.outcome?.success, `Update ${updateId} result`)
          : undefined;
      if (size) return { ...bad(size), terminate: true };
      const state = states.get(updateId) ?? u.state;
      const next =
        decoded.kind === 'acceptance' && (state === 'admitted' || state === 'sent')
          ? 'accepted'
          : decoded.kind === 'rejection' && (state === 'admitted' || state === 'sent')
            ? 'completed'
            : decoded.kind === 'response' && state === 'accepted'
              ? 'completed'
              : undefined;
      if (!next) return bad(`Update ${updateId} cannot take a ${decoded.kind} in state ${state}.`);
      states.set(updateId, next);
    }
    return undefined;
  }

  /** Applies one (validated) message: Accepted and Completed write events at their command's position. */
  apply(run: Run, m: IMessage): void {
    const decoded = this.decode(m)!;
    const u = run.updates.get(m.protocolInstanceId ?? '')!;
    if (decoded.kind === 'acceptance') {
      const ev = run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, {
        protocolInstanceId: u.updateId,
        acceptedRequestMessageId: decoded.body.acceptedRequestMessageId,
        acceptedRequestSequencingEventId: decoded.body.acceptedRequestSequencingEventId,
        acceptedRequest: decoded.body.acceptedRequest ?? u.request,
      });
      u.state = 'accepted';
      u.acceptedEventId = int(ev.eventId);
    } else if (decoded.kind === 'response') {
      run.addEvent(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, {
        meta: decoded.body.meta ?? { updateId: u.updateId },
        acceptedEventId: u.acceptedEventId ?? 0,
        outcome: decoded.body.outcome,
      });
      u.state = 'completed';
      u.outcome = decoded.body.outcome ?? {};
    } else {
      u.state = 'completed';
      u.outcome = { failure: decoded.body.failure ?? { message: 'rejected' } };
    }
    run.touch();
    this.engine.polls.notify(`update:${run.runId}`);
  }

  /** Updates delivered on this task that the worker neither accepted nor rejected are rejected by the server. */
  rejectUnprocessed(run: Run, stamp: number): void {
    let changed = false;
    for (const u of run.updates.values()) {
      if (u.state === 'sent' && u.sentStamp === stamp) {
        u.state = 'completed';
        u.outcome = { failure: UNPROCESSED_UPDATE_FAILURE };
        changed = true;
      }
    }
    if (changed) {
      run.touch();
      this.engine.polls.notify(`update:${run.runId}`);
    }
  }

  /** The task that carried them failed: they are delivered again with the retry. */
  onTaskFailed(run: Run): void {
    for (const u of run.updates.values()) if (u.state === 'sent') u.state = 'admitted';
  }

  /**
   * The run closed. Accepted updates fail (srv AcceptedUpdateCompletedWorkflowFailure); updates not yet
   * accepted move to the next run of a continue-as-new, or are aborted.
   */
  onRunClosed(run: Run): void {
    const next =
      run.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW && run.newExecutionRunId
        ? this.engine.runs.byId(run.newExecutionRunId)
        : undefined;
    for (const u of [...run.updates.values()]) {
      if (u.state === 'accepted') {
        u.state = 'completed';
        u.outcome = { failure: ACCEPTED_UPDATE_COMPLETED_WORKFLOW_FAILURE };
      } else if (u.state === 'admitted' || u.state === 'sent') {
        run.updates.delete(u.updateId);
        if (next?.isOpen) this.admit(next, u.updateId, u.request);
      }
    }
    this.engine.polls.notify(`update:${run.runId}`);
  }

  private admit(run: Run, updateId: string, request: temporal.api.update.v1.IRequest): UpdateInfo {
    const u: UpdateInfo = { updateId, request, state: 'admitted' };
    run.updates.set(updateId, u);
    run.touch();
    if (!run.wft) this.engine.workflowTasks.schedule(run, true);
    return u;
  }

  /** The update `updateId` as seen from `run`, following a continue-as-new it moved along. */
  private locate(run: Run, updateId: string): { run: Run; update: UpdateInfo } | undefined {
    let current: Run | undefined = run;
    for (let hops = 0; current && hops < 1000; hops++) {
      const update = current.updates.get(updateId);
      if (update) return { run: current, update };
      if (current.isOpen || current.status !== ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
        return undefined;
      current = current.newExecutionRunId ? this.engine.runs.byId(current.newExecutionRunId) : undefined;
    }
    return undefined;
  }

  /** Waits until the update reaches `stage`, or the long-poll interval ends; then reports where it is. */
  private async waitForStage(
    run: Run,
    updateId: string,
    stage: number,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<{ run: Run; update: UpdateInfo }> {
    const reached = () => {
      const found = this.locate(run, updateId);
      return !found || stageOf(found.update) >= stage;
    };
    await this.engine.polls.waitFor(() => this.keysOf(run, updateId), reached, call, UPDATE_LONG_POLL_MS);
    // The stage is reached in memory when the worker's completion is applied; answer only once that
    // completion is committed, or a crash in between would lose an outcome the caller was given (the real
    // server completes updates in its registry after the transaction commits).
    await this.engine.persistence.barrier();
    const found = this.locate(run, updateId);
    if (!found) throw notFound('workflow update was aborted by closing workflow');
    return found;
  }

  /** Wait keys of every run the update may have moved through. */
  private keysOf(run: Run, updateId: string): string[] {
    const keys = [`update:${run.runId}`];
    const found = this.locate(run, updateId);
    if (found && found.run !== run) keys.push(`update:${found.run.runId}`);
    return keys;
  }

  private response(found: { run: Run; update: UpdateInfo }): Res<'UpdateWorkflowExecutionResponse'> {
    const { run, update } = found;
    return {
      updateRef: { workflowExecution: { workflowId: run.workflowId, runId: run.runId }, updateId: update.updateId },
      outcome: update.state === 'completed' ? (update.outcome ?? null) : null,
      stage: stageOf(update),
    };
  }

  // ---- RPCs -------------------------------------------------------------------------------------------------

  private validateRequest(req: Req<'UpdateWorkflowExecutionRequest'>): { updateId: string; stage: number } {
    const updateId = req.request?.meta?.updateId ?? '';
    if (!updateId) throw invalidArgument('Update ID is not set on request.');
    if (!req.request?.input?.name) throw invalidArgument('Update name is not set on request.');
    checkBlob(this.engine.limits, req.request.input.args, 'Update input');
    const stage = req.waitPolicy?.lifecycleStage || Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    return { updateId, stage };
  }

  /** Admits the update to `run` unless it is already known there (update_id de-duplication). */
  private admitOrFind(run: Run, updateId: string, request: temporal.api.update.v1.IRequest): void {
    if (this.locate(run, updateId)) return;
    if (!run.isOpen) throw notFound('workflow execution already completed');
    this.admit(run, updateId, request);
  }

  async update(
    req: Req<'UpdateWorkflowExecutionRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'UpdateWorkflowExecutionResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const { updateId, stage } = this.validateRequest(req);
    const run = this.engine.runs.resolve(ns.name, req.workflowExecution, req.firstExecutionRunId);
    this.admitOrFind(run, updateId, req.request!);
    await this.engine.persistence.barrier();
    return this.response(await this.waitForStage(run, updateId, stage, call));
  }

  async poll(
    req: Req<'PollWorkflowExecutionUpdateRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'PollWorkflowExecutionUpdateResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const updateId = req.updateRef?.updateId ?? '';
    if (!updateId) throw invalidArgument('Update ID is not set on request.');
    const run = this.engine.runs.resolve(ns.name, req.updateRef?.workflowExecution);
    if (!this.locate(run, updateId)) throw notFound(`update ${updateId} not found`);
    await this.engine.persistence.barrier();
    const stage = req.waitPolicy?.lifecycleStage || Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    const found = await this.waitForStage(run, updateId, stage, call);
    const r = this.response(found);
    return { outcome: r.outcome, stage: r.stage, updateRef: r.updateRef };
  }

  /** Update-with-start: start the workflow (or use the running one, per its conflict policy) and update it. */
  async multiOperation(
    req: Req<'ExecuteMultiOperationRequest'>,
    call?: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<Res<'ExecuteMultiOperationResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const ops = req.operations ?? [];
    if (ops.length !== 2 || !ops[0].startWorkflow || !ops[1].updateWorkflow) {
      throw invalidArgument('ExecuteMultiOperation supports exactly [StartWorkflow, UpdateWorkflow].');
    }
    const start = ops[0].startWorkflow;
    const upd = ops[1].updateWorkflow;
    let phase = 0;
    try {
      if (start.namespace && start.namespace !== ns.name)
        throw invalidArgument('Operations must use the request namespace.');
      const params = this.engine.executions.validateStart(ns, start);
      if (start.cronSchedule) throw invalidArgument('CronSchedule is not supported with update-with-start.');
      phase = 1;
      const { updateId, stage } = this.validateRequest(upd);
      if (upd.workflowExecution?.workflowId !== params.workflowId)
        throw invalidArgument('WorkflowId of the update must match the start.');
      if (upd.workflowExecution?.runId || upd.firstExecutionRunId)
        throw invalidArgument('The update of update-with-start may not name a run.');
      phase = 0;
      const conflict = start.workflowIdConflictPolicy ?? 0;
      const existing = this.engine.executions.checkWorkflowIdPolicies(
        ns,
        params.workflowId,
        params.requestId,
        start.workflowIdReusePolicy ?? 0,
        conflict,
      );
      const run = existing?.run ?? this.engine.executions.startRun(params);
      phase = 1;
      this.admitOrFind(run, updateId, upd.request!);
      await this.engine.persistence.barrier();
      const found = await this.waitForStage(run, updateId, stage, call);
      return {
        responses: [
          { startWorkflow: { runId: run.runId, started: existing ? existing.started : true, status: run.status } },
          { updateWorkflow: this.response(found) },
        ],
      };
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      throw multiOperationFailure(phase, err);
    }
  }
}

/** The error of one operation, with the other one marked aborted (errordetails MultiOperationExecutionFailure). */
function multiOperationFailure(failedIndex: number, err: RpcError): RpcError {
  const statuses = [0, 1].map((i) =>
    i === failedIndex
      ? {
          code: err.code,
          message: err.message,
          details: err.detail ? [packAny(err.detail.type, err.detail.value)] : [],
        }
      : {
          code: grpc.status.ABORTED,
          message: 'Operation was aborted.',
          details: [packAny('temporal.api.failure.v1.MultiOperationExecutionAborted', {})],
        },
  );
  return new RpcError(err.code, `MultiOperation could not be executed: ${err.message}`, {
    type: 'temporal.api.errordetails.v1.MultiOperationExecutionFailure',
    value: { statuses },
  });
}
