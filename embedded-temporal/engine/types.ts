/** Types every part of the engine shares: the WorkflowService's request and response shapes, and the logger. */
import type { temporal } from '../proto';

type WS = typeof temporal.api.workflowservice.v1;
export type Req<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? P : never;
export type Res<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? P : never;

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
