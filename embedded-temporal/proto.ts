/**
 * Temporal's API messages, reused from `@temporalio/proto` (the same definitions the SDK encodes with),
 * and the grpc-js service definitions built from them by reflection.
 */
import type * as grpc from '@grpc/grpc-js';
import { temporal, google } from '@temporalio/proto';
import Long from 'long';

export { temporal, google, Long };

/** The reflection root behind `@temporalio/proto` (its module object is a protobufjs Root). */
interface ReflectionType {
  fullName: string;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromObject(object: unknown): unknown;
}
interface ReflectionMethod {
  name: string;
  requestType: string;
  responseType: string;
  requestStream?: boolean;
  responseStream?: boolean;
  resolve(): ReflectionMethod;
  resolvedRequestType: ReflectionType | null;
  resolvedResponseType: ReflectionType | null;
}
interface ReflectionService {
  fullName: string;
  methodsArray: ReflectionMethod[];
}
interface ReflectionRoot {
  lookupService(path: string): ReflectionService;
  lookupType(path: string): ReflectionType;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require('@temporalio/proto') as ReflectionRoot;

export const wf = temporal.api.workflowservice.v1;
export const enums = temporal.api.enums.v1;
export const history = temporal.api.history.v1;
export const common = temporal.api.common.v1;
export const failure = temporal.api.failure.v1;

export type HistoryEvent = temporal.api.history.v1.HistoryEvent;
export type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type IPayloads = temporal.api.common.v1.IPayloads;
export type IPayload = temporal.api.common.v1.IPayload;
export type IFailure = temporal.api.failure.v1.IFailure;
export type IRetryPolicy = temporal.api.common.v1.IRetryPolicy;
export type IHeader = temporal.api.common.v1.IHeader;
export type IMemo = temporal.api.common.v1.IMemo;
export type ISearchAttributes = temporal.api.common.v1.ISearchAttributes;
export type ICommand = temporal.api.command.v1.ICommand;
export type ITimestamp = google.protobuf.ITimestamp;
export type IDuration = google.protobuf.IDuration;

export const EventType = temporal.api.enums.v1.EventType;
export type EventType = temporal.api.enums.v1.EventType;
export const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;
export type ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

/** Encodes and decodes one message type, by its full name. */
export function messageCodec<T>(fullName: string): { encode(m: T): Uint8Array; decode(b: Uint8Array): T } {
  const type = root.lookupType(fullName);
  return {
    encode: (m: T) => type.encode(m).finish(),
    decode: (b: Uint8Array) => type.decode(b) as T,
  };
}

export const HistoryEventCodec = messageCodec<HistoryEvent>('temporal.api.history.v1.HistoryEvent');

/** The attribute field name of each event type, e.g. `workflowExecutionStartedEventAttributes`. */
export function attributesFieldOf(eventType: EventType): string {
  const name = EventType[eventType]; // EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
  const words = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .split('_');
  return words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('') + 'EventAttributes';
}

/**
 * A grpc-js service definition for a service of the Temporal API, built from the reflection root so that
 * every method of the service is known to the server (unimplemented ones answer UNIMPLEMENTED).
 */
export function serviceDefinition(serviceName: string): grpc.ServiceDefinition {
  const service = root.lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${service.fullName.replace(/^\./, '')}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (v: unknown) => Buffer.from(req.encode(v).finish()),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: (v: unknown) => Buffer.from(res.encode(v).finish()),
      responseDeserialize: (b: Buffer) => res.decode(b),
      originalName: method.name,
    };
  }
  return definition;
}

/** Packs a message into a `google.protobuf.Any`. */
export function packAny(fullName: string, message: unknown): google.protobuf.IAny {
  const type = root.lookupType(fullName);
  return { type_url: `type.googleapis.com/${fullName}`, value: type.encode(type.fromObject(message)).finish() };
}
