/**
 * The equipment failure taxonomy. A lost connection or a timeout is transient: the outcome is unknown,
 * so the caller retries, and the driver reconciles before it sends anything again. A phase that ends
 * Stopped or Aborted, or a controller that refuses a command, is a business failure: retrying cannot
 * help, and each has a type the batch record and the operator see.
 */

/** The controller could not be reached or did not answer in time. Retry: the driver reconciles first. */
export class EquipmentUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EquipmentUnavailable';
  }
}

import type { PhaseFailureType } from '../domain/batch/failures';

/** The business failures' names are the batch domain's (`domain/batch/failures.ts`): the workflow does not retry them. */
export type { PhaseFailureType };

/** The phase cannot (or did not) complete, for a reason no retry will change. */
export class PhaseFailure extends Error {
  constructor(
    readonly type: PhaseFailureType,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PhaseFailure';
  }
}
