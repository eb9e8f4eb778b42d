/**
 * gRPC errors the way Temporal's frontend returns them: a status code, a message, and a typed failure
 * detail in `grpc-status-details-bin` (a `google.rpc.Status`) that the SDK decodes.
 *
 * Handlers throw these; the RPC layer turns anything else into INTERNAL with the message logged, never into
 * UNKNOWN, because both SDK layers retry UNKNOWN and a non-idempotent call could then apply twice.
 */
import * as grpc from '@grpc/grpc-js';
import { google, packAny } from './proto';

interface Detail {
  type: string;
  value: unknown;
}

/** An error with a gRPC status, returned to the caller as is. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly detail?: Detail,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toServiceError(): Partial<grpc.ServiceError> {
    const metadata = new grpc.Metadata();
    const details = this.detail ? [packAny(this.detail.type, this.detail.value)] : [];
    const status = google.rpc.Status.encode({ code: this.code, message: this.message, details }).finish();
    metadata.set('grpc-status-details-bin', Buffer.from(status));
    return { code: this.code, details: this.message, metadata };
  }
}

const ED = 'temporal.api.errordetails.v1.';

/** A request field is missing or malformed; nothing was changed. */
export const invalidArgument = (message: string) => new RpcError(grpc.status.INVALID_ARGUMENT, message);

/** The workflow, run, task or namespace named in the request does not exist (or no longer accepts this call). */
export const notFound = (message: string) =>
  new RpcError(grpc.status.NOT_FOUND, message, {
    type: `${ED}NotFoundFailure`,
    value: { currentCluster: 'active', activeCluster: 'active' },
  });

export const namespaceNotFound = (namespace: string) =>
  new RpcError(grpc.status.NOT_FOUND, `Namespace ${namespace} is not found.`, {
    type: `${ED}NamespaceNotFoundFailure`,
    value: { namespace },
  });

export const namespaceAlreadyExists = (namespace: string) =>
  new RpcError(grpc.status.ALREADY_EXISTS, `Namespace ${namespace} already exists.`, {
    type: `${ED}NamespaceAlreadyExistsFailure`,
    value: {},
  });

/** A workflow with this id is running (or its id may not be reused); the SDK raises WorkflowExecutionAlreadyStartedError. */
export const workflowAlreadyStarted = (message: string, startRequestId: string, runId: string) =>
  new RpcError(grpc.status.ALREADY_EXISTS, message, {
    type: `${ED}WorkflowExecutionAlreadyStartedFailure`,
    value: { startRequestId, runId },
  });

export const failedPrecondition = (message: string) =>
  new RpcError(grpc.status.FAILED_PRECONDITION, message, { type: `${ED}FailedPreconditionFailure`, value: {} });

export const workflowNotReady = () =>
  new RpcError(grpc.status.FAILED_PRECONDITION, 'Workflow is not ready to handle queries.', {
    type: `${ED}WorkflowNotReadyFailure`,
    value: {},
  });

/** A query handler failed, or the query type is unknown; the message is the worker's, verbatim. */
export const queryFailed = (message: string, failure?: unknown) =>
  new RpcError(grpc.status.INVALID_ARGUMENT, message, { type: `${ED}QueryFailedFailure`, value: { failure } });

export const resourceExhausted = (message: string) => new RpcError(grpc.status.RESOURCE_EXHAUSTED, message);

export const unimplemented = (message: string) => new RpcError(grpc.status.UNIMPLEMENTED, message);

export const unavailable = (message: string) => new RpcError(grpc.status.UNAVAILABLE, message);

export const deadlineExceeded = (message: string) => new RpcError(grpc.status.DEADLINE_EXCEEDED, message);
