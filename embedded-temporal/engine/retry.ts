/**
 * Retry policies as Temporal's server applies them: defaults filled in at scheduling time, and the
 * next-attempt decision (backoff, or a final RetryState) when an attempt fails or times out.
 */
import { invalidArgument } from '../errors';
import { temporal, type IFailure, type IRetryPolicy } from '../proto';
import { duration, durationMs } from '../util/time';

const RetryState = temporal.api.enums.v1.RetryState;
export type RetryState = temporal.api.enums.v1.RetryState;

/** srv common/retrypolicy: 1 s initial, coefficient 2, maximum 100 × initial, unlimited attempts. */
export function normalizeRetryPolicy(policy: IRetryPolicy | null | undefined): IRetryPolicy {
  const initial = durationMs(policy?.initialInterval) || 1000;
  const coefficient = policy?.backoffCoefficient || 2.0;
  const maximum = durationMs(policy?.maximumInterval) || 100 * initial;
  const maximumAttempts = policy?.maximumAttempts ?? 0;
  return {
    initialInterval: duration(initial),
    backoffCoefficient: coefficient,
    maximumInterval: duration(maximum),
    maximumAttempts,
    nonRetryableErrorTypes: policy?.nonRetryableErrorTypes ?? [],
  };
}

/** Throws INVALID_ARGUMENT for a policy the real server refuses. */
export function validateRetryPolicy(policy: IRetryPolicy | null | undefined, what: string): void {
  if (!policy) return;
  const problem = retryPolicyProblem(policy);
  if (problem) throw invalidArgument(`${what}: ${problem}`);
}

export function retryPolicyProblem(policy: IRetryPolicy): string | undefined {
  const initial = durationMs(policy.initialInterval) ?? 0;
  const maximum = durationMs(policy.maximumInterval) ?? 0;
  if (initial < 0) return 'InitialInterval cannot be negative on retry policy.';
  if ((policy.backoffCoefficient ?? 0) !== 0 && (policy.backoffCoefficient ?? 0) < 1)
    return 'BackoffCoefficient cannot be less than 1 on retry policy.';
  if (maximum < 0) return 'MaximumInterval cannot be negative on retry policy.';
  if (maximum > 0 && maximum < initial) return 'MaximumInterval cannot be less than InitialInterval on retry policy.';
  if ((policy.maximumAttempts ?? 0) < 0) return 'MaximumAttempts cannot be negative on retry policy.';
  return undefined;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; state: RetryState };

/**
 * Decides whether attempt `attempt` (which just failed with `failure`) is retried.
 * `deadline` is the schedule-to-close (or workflow expiration) deadline, 0 when none.
 */
export function nextRetry(
  policy: IRetryPolicy,
  attempt: number,
  failure: IFailure | null | undefined,
  now: number,
  deadline: number,
): RetryDecision {
  if (failure && isNonRetryable(policy, failure))
    return { retry: false, state: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE };
  const maxAttempts = policy.maximumAttempts ?? 0;
  if (maxAttempts > 0 && attempt >= maxAttempts)
    return { retry: false, state: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED };
  const explicit = durationMs(failure?.applicationFailureInfo?.nextRetryDelay);
  let delay: number;
  if (explicit !== undefined && explicit > 0) {
    delay = explicit;
  } else {
    const initial = durationMs(policy.initialInterval) ?? 1000;
    const coefficient = policy.backoffCoefficient || 2;
    const maximum = durationMs(policy.maximumInterval) || 100 * initial;
    delay = Math.min(initial * Math.pow(coefficient, attempt - 1), maximum);
  }
  if (deadline > 0 && now + delay >= deadline) return { retry: false, state: RetryState.RETRY_STATE_TIMEOUT };
  return { retry: true, delayMs: delay };
}

function isNonRetryable(policy: IRetryPolicy, failure: IFailure): boolean {
  if (failure.applicationFailureInfo?.nonRetryable || failure.serverFailureInfo?.nonRetryable) return true;
  if (failure.canceledFailureInfo || failure.terminatedFailureInfo) return true;
  const type =
    failure.applicationFailureInfo?.type ?? (failure.timeoutFailureInfo ? timeoutTypeName(failure) : undefined);
  return !!type && (policy.nonRetryableErrorTypes ?? []).includes(type);
}

function timeoutTypeName(failure: IFailure): string {
  const t = failure.timeoutFailureInfo?.timeoutType ?? 0;
  const names: Record<number, string> = {
    1: 'StartToClose',
    2: 'ScheduleToStart',
    3: 'ScheduleToClose',
    4: 'Heartbeat',
  };
  return `TemporalTimeout:${names[t] ?? 'Unspecified'}`;
}
