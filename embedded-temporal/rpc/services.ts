/**
 * The gRPC surface: thin handlers for WorkflowService, OperatorService and Health, mapping requests to the
 * engine. Every handler answers with a status the SDK understands; nothing ever escapes as UNKNOWN.
 */
import * as grpc from '@grpc/grpc-js';
import { RpcError, invalidArgument, namespaceNotFound, unavailable, unimplemented } from '../errors';
import type { Engine, Logger, Req, Res } from '../engine/engine';
import { INDEXED_VALUE_TYPE, SEARCH_ATTRIBUTE_TYPES, SYSTEM_SEARCH_ATTRIBUTES, type SearchAttributeType } from '../engine/search-attributes';
import { temporal } from '../proto';
import { duration, durationMs, long, timestamp, timestampMs } from '../util/time';
import type { NamespaceRecord } from '../store/store';

export const SERVER_VERSION = '1.27.0';

type Call = grpc.ServerUnaryCall<unknown, unknown>;
type Handler = (request: never, call: Call) => Promise<unknown>;

/** Wraps async handlers as grpc-js unary handlers with Temporal-style error mapping. */
export function implement(engine: Engine, log: Logger, handlers: Record<string, Handler>): grpc.UntypedServiceImplementation {
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
          log.error({ method: name, err: err instanceof Error ? err.stack : String(err) }, 'unexpected error in handler');
          const message = err instanceof Error ? err.message : String(err);
          callback(new RpcError(grpc.status.INTERNAL, `Internal error: ${message}`).toServiceError());
        },
      );
    };
  }
  return impl;
}

function namespaceDescription(ns: NamespaceRecord): Res<'DescribeNamespaceResponse'> {
  return {
    namespaceInfo: {
      name: ns.name,
      state: temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED,
      description: ns.description,
      ownerEmail: ns.ownerEmail,
      data: ns.data,
      id: ns.id,
      capabilities: { eagerWorkflowStart: false, syncUpdate: true, asyncUpdate: true },
      supportsSchedules: false,
    },
    config: {
      workflowExecutionRetentionTtl: duration(ns.retentionDays * 24 * 3600 * 1000),
      historyArchivalState: temporal.api.enums.v1.ArchivalState.ARCHIVAL_STATE_DISABLED,
      visibilityArchivalState: temporal.api.enums.v1.ArchivalState.ARCHIVAL_STATE_DISABLED,
      customSearchAttributeAliases: {},
    },
    replicationConfig: {
      activeClusterName: 'active',
      clusters: [{ clusterName: 'active' }],
      state: temporal.api.enums.v1.ReplicationState.REPLICATION_STATE_NORMAL,
    },
    failoverVersion: long(0),
    isGlobalNamespace: false,
  };
}

function searchAttributeTypes(attrs: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, INDEXED_VALUE_TYPE[v as SearchAttributeType]]));
}

export function workflowService(engine: Engine): Record<string, Handler> {
  const h = {
    GetSystemInfo: async (): Promise<Res<'GetSystemInfoResponse'>> => ({
      serverVersion: SERVER_VERSION,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: false,
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

    DescribeNamespace: async (req: Req<'DescribeNamespaceRequest'>): Promise<Res<'DescribeNamespaceResponse'>> => {
      let ns: NamespaceRecord | undefined;
      if (req.id) {
        ns = engine.namespaceById(req.id);
        if (!ns) throw namespaceNotFound(req.id);
      } else {
        ns = engine.namespace(req.namespace);
      }
      return namespaceDescription(ns);
    },

    ListNamespaces: async (req: Req<'ListNamespacesRequest'>): Promise<Res<'ListNamespacesResponse'>> => {
      const all = engine.listNamespaces();
      const pageSize = req.pageSize && req.pageSize > 0 ? req.pageSize : 100;
      const offset = req.nextPageToken?.length ? Number(Buffer.from(req.nextPageToken).toString()) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('Invalid NextPageToken.');
      const page = all.slice(offset, offset + pageSize);
      const next = offset + page.length;
      return { namespaces: page.map(namespaceDescription), nextPageToken: next < all.length ? Buffer.from(String(next)) : null };
    },

    RegisterNamespace: async (req: Req<'RegisterNamespaceRequest'>): Promise<Res<'RegisterNamespaceResponse'>> => {
      if (!req.namespace) throw invalidArgument('Namespace is not set on request.');
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(req.namespace)) {
        throw invalidArgument('Namespace name may only contain letters, digits, ".", "_" and "-", and must start with a letter or digit.');
      }
      const retention = req.workflowExecutionRetentionPeriod;
      const retentionDays = retention ? Math.max(1, Math.round(Number(retention.seconds ?? 0) / 86400)) : 1;
      engine.createNamespace({
        name: req.namespace,
        description: req.description ?? '',
        ownerEmail: req.ownerEmail ?? '',
        data: (req.data as Record<string, string>) ?? {},
        retentionDays,
        searchAttributes: {},
      });
      await engine.persistence.barrier();
      return {};
    },

    GetSearchAttributes: async (): Promise<Res<'GetSearchAttributesResponse'>> => {
      const custom = Object.assign({}, ...engine.listNamespaces().map((n) => n.searchAttributes)) as Record<string, string>;
      return { keys: { ...searchAttributeTypes(SYSTEM_SEARCH_ATTRIBUTES), ...searchAttributeTypes(custom) } };
    },

    StartWorkflowExecution: (req: Req<'StartWorkflowExecutionRequest'>) => engine.startWorkflowExecution(req),
    SignalWorkflowExecution: (req: Req<'SignalWorkflowExecutionRequest'>) => engine.signalWorkflowExecution(req),
    SignalWithStartWorkflowExecution: (req: Req<'SignalWithStartWorkflowExecutionRequest'>) => engine.signalWithStartWorkflowExecution(req),
    UpdateWorkflowExecution: (req: Req<'UpdateWorkflowExecutionRequest'>, call: Call) => engine.updates.update(req, call),
    PollWorkflowExecutionUpdate: (req: Req<'PollWorkflowExecutionUpdateRequest'>, call: Call) => engine.updates.poll(req, call),
    ExecuteMultiOperation: (req: Req<'ExecuteMultiOperationRequest'>, call: Call) => engine.executeMultiOperation(req, call),
    RequestCancelWorkflowExecution: (req: Req<'RequestCancelWorkflowExecutionRequest'>) => engine.requestCancelWorkflowExecution(req),
    TerminateWorkflowExecution: (req: Req<'TerminateWorkflowExecutionRequest'>) => engine.terminateWorkflowExecution(req),
    DescribeWorkflowExecution: (req: Req<'DescribeWorkflowExecutionRequest'>) => engine.describeWorkflowExecution(req),
    GetWorkflowExecutionHistory: (req: Req<'GetWorkflowExecutionHistoryRequest'>, call: Call) => engine.getWorkflowExecutionHistory(req, call),
    ListWorkflowExecutions: (req: Req<'ListWorkflowExecutionsRequest'>) => engine.listWorkflowExecutions(req),
    ScanWorkflowExecutions: (req: Req<'ScanWorkflowExecutionsRequest'>) => engine.listWorkflowExecutions(req),
    CountWorkflowExecutions: (req: Req<'CountWorkflowExecutionsRequest'>) => engine.countWorkflowExecutions(req),

    PollWorkflowTaskQueue: async (req: Req<'PollWorkflowTaskQueueRequest'>, call: Call): Promise<Res<'PollWorkflowTaskQueueResponse'>> => {
      const ns = engine.namespace(req.namespace);
      const taskQueue = pollQueueName(req.taskQueue);
      const task = await engine.waitForTask(engine.workflowQueues, ns.name, taskQueue, req.identity ?? '', call);
      if (!task) return {};
      await engine.persistence.barrier();
      return task;
    },

    RespondWorkflowTaskCompleted: (req: Req<'RespondWorkflowTaskCompletedRequest'>) => engine.workflowTasks.complete(req),
    RespondWorkflowTaskFailed: (req: Req<'RespondWorkflowTaskFailedRequest'>) => engine.workflowTasks.fail(req),
    QueryWorkflow: (req: Req<'QueryWorkflowRequest'>, call: Call) => engine.workflowTasks.query(req, call),
    RespondQueryTaskCompleted: (req: Req<'RespondQueryTaskCompletedRequest'>) => engine.workflowTasks.respondQuery(req),

    PollActivityTaskQueue: async (req: Req<'PollActivityTaskQueueRequest'>, call: Call): Promise<Res<'PollActivityTaskQueueResponse'>> => {
      const ns = engine.namespace(req.namespace);
      const taskQueue = pollQueueName(req.taskQueue);
      const task = await engine.waitForTask(engine.activityQueues, ns.name, taskQueue, req.identity ?? '', call);
      if (!task) return {};
      await engine.persistence.barrier();
      if (call.cancelled) {
        // The poller went away while the start was being committed: give the attempt to another worker.
        engine.activities.revertStart(task);
        return {};
      }
      return task;
    },

    RespondActivityTaskCompleted: (req: Req<'RespondActivityTaskCompletedRequest'>) => engine.activities.completed(req),
    RespondActivityTaskCompletedById: (req: Req<'RespondActivityTaskCompletedByIdRequest'>) => engine.activities.completedById(req),
    RespondActivityTaskFailed: (req: Req<'RespondActivityTaskFailedRequest'>) => engine.activities.failed(req),
    RespondActivityTaskFailedById: (req: Req<'RespondActivityTaskFailedByIdRequest'>) => engine.activities.failedById(req),
    RespondActivityTaskCanceled: (req: Req<'RespondActivityTaskCanceledRequest'>) => engine.activities.canceled(req),
    RespondActivityTaskCanceledById: (req: Req<'RespondActivityTaskCanceledByIdRequest'>) => engine.activities.canceledById(req),
    RecordActivityTaskHeartbeat: (req: Req<'RecordActivityTaskHeartbeatRequest'>) => engine.activities.heartbeat(req),
    RecordActivityTaskHeartbeatById: (req: Req<'RecordActivityTaskHeartbeatByIdRequest'>) => engine.activities.heartbeatById(req),

    ShutdownWorker: async (req: Req<'ShutdownWorkerRequest'>): Promise<Res<'ShutdownWorkerResponse'>> => {
      engine.namespace(req.namespace);
      return {};
    },
  };
  return h;
}

/** Sticky queues are not used: a sticky poller is served from its normal queue, with full history. */
function pollQueueName(tq: temporal.api.taskqueue.v1.ITaskQueue | null | undefined): string {
  if (!tq?.name) throw invalidArgument('TaskQueue is not set on request.');
  if (tq.kind === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY) {
    if (!tq.normalName) throw invalidArgument('A sticky TaskQueue needs its NormalName.');
    return tq.normalName;
  }
  return tq.name;
}

export function operatorService(engine: Engine): Record<string, Handler> {
  const typeName = (n: number): SearchAttributeType => {
    const entry = Object.entries(INDEXED_VALUE_TYPE).find(([, v]) => v === n);
    if (!entry) throw invalidArgument(`Unknown search attribute type ${n}; use one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}.`);
    return entry[0] as SearchAttributeType;
  };
  const h = {
    AddSearchAttributes: async (req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest) => {
      const ns = engine.namespace(req.namespace || 'default');
      const attrs = Object.fromEntries(Object.entries(req.searchAttributes ?? {}).map(([k, v]) => [k, typeName(v as number)]));
      if (Object.keys(attrs).length === 0) throw invalidArgument('SearchAttributes are not set on request.');
      engine.addSearchAttributes(ns, attrs);
      await engine.persistence.barrier();
      return {};
    },
    RemoveSearchAttributes: async (req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest) => {
      const ns = engine.namespace(req.namespace || 'default');
      engine.removeSearchAttributes(ns, req.searchAttributes ?? []);
      await engine.persistence.barrier();
      return {};
    },
    ListSearchAttributes: async (req: temporal.api.operatorservice.v1.IListSearchAttributesRequest) => {
      const ns = engine.namespace(req.namespace || 'default');
      return {
        customAttributes: searchAttributeTypes(ns.searchAttributes),
        systemAttributes: searchAttributeTypes(SYSTEM_SEARCH_ATTRIBUTES),
        storageSchema: {},
      };
    },
  };
  return h;
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
