/**
 * The gRPC surface: WorkflowService, OperatorService, Temporal's TestService and Health, each RPC one line
 * naming the engine's method for it (the protocol's constant answers, server and cluster info, are here). Every handler answers with a status the SDK understands; nothing ever escapes as UNKNOWN.
 */
import * as grpc from '@grpc/grpc-js';
import { RpcError, unavailable, unimplemented } from '../errors';
import type { Engine, Logger, Req, Res } from '../engine/engine';
import { temporal } from '../proto';
import { durationMs, timestamp, timestampMs } from '../util/time';

export const SERVER_VERSION = '1.27.0';

type Call = grpc.ServerUnaryCall<unknown, unknown>;
type Handler = (request: never, call: Call) => Promise<unknown>;

/** Wraps async handlers as grpc-js unary handlers with Temporal-style error mapping. */
export function implement(
  engine: Engine,
  log: Logger,
  handlers: Record<string, Handler>,
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    impl[name] = (call: Call, callback: grpc.sendUnaryData<unknown>) => {
      if (engine.isStopped()) {
        callback(unavailable('The server is shutting down.').toServiceError());
        return;
      }
      handler(call.request as never, call).then(
        (response) => {
          callback(null, response);
          engine.afterChange();
        },
        (err: unknown) => {
          engine.afterChange();
          if (err instanceof RpcError) {
            callback(err.toServiceError());
            return;
          }
          log.error(
            { method: name, err: err instanceof Error ? err.stack : String(err) },
            'unexpected error in handler',
          );
          const message = err instanceof Error ? err.message : String(err);
          callback(new RpcError(grpc.status.INTERNAL, `Internal error: ${message}`).toServiceError());
        },
      );
    };
  }
  return impl;
}

export function workflowService(engine: Engine): Record<string, Handler> {
  const h = {
    GetSystemInfo: async (): Promise<Res<'GetSystemInfoResponse'>> => ({
      serverVersion: SERVER_VERSION,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: true,
        encodedFailureAttributes: true,
        buildIdBasedVersioning: false,
        upsertMemo: true,
        eagerWorkflowStart: false,
        sdkMetadata: true,
        countGroupByExecutionStatus: false,
        nexus: false,
      },
    }),

    GetClusterInfo: async (): Promise<Res<'GetClusterInfoResponse'>> => ({
      supportedClients: {},
      serverVersion: SERVER_VERSION,
      clusterId: 'embedded-temporal',
      clusterName: 'active',
      historyShardCount: 1,
      persistenceStore: 'embedded',
      visibilityStore: 'embedded',
    }),

    DescribeNamespace: async (req: Req<'DescribeNamespaceRequest'>) => engine.describeNamespace(req),
    ListNamespaces: async (req: Req<'ListNamespacesRequest'>) => engine.listNamespaces(req),
    RegisterNamespace: (req: Req<'RegisterNamespaceRequest'>) => engine.registerNamespace(req),
    GetSearchAttributes: async () => engine.getSearchAttributes(),

    StartWorkflowExecution: (req: Req<'StartWorkflowExecutionRequest'>) => engine.startWorkflowExecution(req),
    SignalWorkflowExecution: (req: Req<'SignalWorkflowExecutionRequest'>) => engine.signalWorkflowExecution(req),
    SignalWithStartWorkflowExecution: (req: Req<'SignalWithStartWorkflowExecutionRequest'>) =>
      engine.signalWithStartWorkflowExecution(req),
    UpdateWorkflowExecution: (req: Req<'UpdateWorkflowExecutionRequest'>, call: Call) =>
      engine.updateWorkflowExecution(req, call),
    PollWorkflowExecutionUpdate: (req: Req<'PollWorkflowExecutionUpdateRequest'>, call: Call) =>
      engine.pollWorkflowExecutionUpdate(req, call),
    ExecuteMultiOperation: (req: Req<'ExecuteMultiOperationRequest'>, call: Call) =>
      engine.executeMultiOperation(req, call),
    RequestCancelWorkflowExecution: (req: Req<'RequestCancelWorkflowExecutionRequest'>) =>
      engine.requestCancelWorkflowExecution(req),
    TerminateWorkflowExecution: (req: Req<'TerminateWorkflowExecutionRequest'>) =>
      engine.terminateWorkflowExecution(req),
    DescribeWorkflowExecution: (req: Req<'DescribeWorkflowExecutionRequest'>) => engine.describeWorkflowExecution(req),
    GetWorkflowExecutionHistory: (req: Req<'GetWorkflowExecutionHistoryRequest'>, call: Call) =>
      engine.getWorkflowExecutionHistory(req, call),
    ListWorkflowExecutions: (req: Req<'ListWorkflowExecutionsRequest'>) => engine.listWorkflowExecutions(req),
    ScanWorkflowExecutions: (req: Req<'ScanWorkflowExecutionsRequest'>) => engine.scanWorkflowExecutions(req),
    CountWorkflowExecutions: (req: Req<'CountWorkflowExecutionsRequest'>) => engine.countWorkflowExecutions(req),

    PollWorkflowTaskQueue: (req: Req<'PollWorkflowTaskQueueRequest'>, call: Call) =>
      engine.pollWorkflowTaskQueue(req, call),
    RespondWorkflowTaskCompleted: (req: Req<'RespondWorkflowTaskCompletedRequest'>) =>
      engine.respondWorkflowTaskCompleted(req),
    RespondWorkflowTaskFailed: (req: Req<'RespondWorkflowTaskFailedRequest'>) => engine.respondWorkflowTaskFailed(req),
    QueryWorkflow: (req: Req<'QueryWorkflowRequest'>, call: Call) => engine.queryWorkflow(req, call),
    RespondQueryTaskCompleted: (req: Req<'RespondQueryTaskCompletedRequest'>) => engine.respondQueryTaskCompleted(req),

    PollActivityTaskQueue: (req: Req<'PollActivityTaskQueueRequest'>, call: Call) =>
      engine.pollActivityTaskQueue(req, call),
    RespondActivityTaskCompleted: (req: Req<'RespondActivityTaskCompletedRequest'>) =>
      engine.respondActivityTaskCompleted(req),
    RespondActivityTaskCompletedById: (req: Req<'RespondActivityTaskCompletedByIdRequest'>) =>
      engine.respondActivityTaskCompletedById(req),
    RespondActivityTaskFailed: (req: Req<'RespondActivityTaskFailedRequest'>) => engine.respondActivityTaskFailed(req),
    RespondActivityTaskFailedById: (req: Req<'RespondActivityTaskFailedByIdRequest'>) =>
      engine.respondActivityTaskFailedById(req),
    RespondActivityTaskCanceled: (req: Req<'RespondActivityTaskCanceledRequest'>) =>
      engine.respondActivityTaskCanceled(req),
    RespondActivityTaskCanceledById: (req: Req<'RespondActivityTaskCanceledByIdRequest'>) =>
      engine.respondActivityTaskCanceledById(req),
    RecordActivityTaskHeartbeat: (req: Req<'RecordActivityTaskHeartbeatRequest'>) =>
      engine.recordActivityTaskHeartbeat(req),
    RecordActivityTaskHeartbeatById: (req: Req<'RecordActivityTaskHeartbeatByIdRequest'>) =>
      engine.recordActivityTaskHeartbeatById(req),

    ShutdownWorker: (req: Req<'ShutdownWorkerRequest'>) => engine.shutdownWorker(req),
    ResetStickyTaskQueue: (req: Req<'ResetStickyTaskQueueRequest'>) => engine.resetStickyTaskQueue(req),

    CreateSchedule: (req: Req<'CreateScheduleRequest'>) => engine.createSchedule(req),
    DescribeSchedule: (req: Req<'DescribeScheduleRequest'>) => engine.describeSchedule(req),
    UpdateSchedule: (req: Req<'UpdateScheduleRequest'>) => engine.updateSchedule(req),
    PatchSchedule: (req: Req<'PatchScheduleRequest'>) => engine.patchSchedule(req),
    DeleteSchedule: (req: Req<'DeleteScheduleRequest'>) => engine.deleteSchedule(req),
    ListSchedules: (req: Req<'ListSchedulesRequest'>) => engine.listSchedules(req),
    ListScheduleMatchingTimes: (req: Req<'ListScheduleMatchingTimesRequest'>) => engine.listScheduleMatchingTimes(req),
  };
  return h;
}

export function operatorService(engine: Engine): Record<string, Handler> {
  return {
    AddSearchAttributes: (req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest) =>
      engine.addSearchAttributes(req),
    RemoveSearchAttributes: (req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest) =>
      engine.removeSearchAttributes(req),
    ListSearchAttributes: async (req: temporal.api.operatorservice.v1.IListSearchAttributesRequest) =>
      engine.listSearchAttributes(req),
  };
}

/** temporal.api.testservice.v1.TestService: the time-skipping controls of Temporal's test server. */
export function testService(engine: Engine): Record<string, Handler> {
  const skipping = () => {
    if (!engine.timeSkipping) throw unimplemented('Time skipping is not enabled on this server.');
    return engine.timeSkipping;
  };
  return {
    LockTimeSkipping: async () => {
      skipping().lock();
      return {};
    },
    UnlockTimeSkipping: async () => {
      skipping().unlock();
      return {};
    },
    Sleep: async (req: temporal.api.testservice.v1.ISleepRequest, call: Call) => {
      await skipping().sleep(durationMs(req.duration) ?? 0, call);
      return {};
    },
    SleepUntil: async (req: temporal.api.testservice.v1.ISleepUntilRequest, call: Call) => {
      await skipping().sleep((timestampMs(req.timestamp) ?? 0) - engine.now(), call);
      return {};
    },
    UnlockTimeSkippingWithSleep: async (req: temporal.api.testservice.v1.ISleepRequest, call: Call) => {
      const s = skipping();
      s.unlock();
      try {
        await s.sleep(durationMs(req.duration) ?? 0, call);
      } finally {
        s.lock();
      }
      return {};
    },
    GetCurrentTime: async () => ({ time: timestamp(engine.now()) }),
  };
}

export function healthService(): Record<string, Handler> {
  return {
    Check: async () => ({ status: 1 /* SERVING */ }),
  };
}
