/** Retry policy defaults and next-attempt decisions, as the real server computes them. */
import { temporal } from '@temporalio/proto';
import { nextRetry, normalizeRetryPolicy, retryPolicyProblem } from '../../engine/retry';
import { duration, durationMs } from '../../util/time';

const RetryState = temporal.api.enums.v1.RetryState;

test('defaults: 1 s initial, coefficient 2, maximum 100 × initial, unlimited attempts', () => {
  const p = normalizeRetryPolicy(undefined);
  expect(durationMs(p.initialInterval)).toBe(1000);
  expect(p.backoffCoefficient).toBe(2);
  expect(durationMs(p.maximumInterval)).toBe(100_000);
  expect(p.maximumAttempts).toBe(0);
  expect(durationMs(normalizeRetryPolicy({ initialInterval: duration(3000) }).maximumInterval)).toBe(300_000);
});

test('exponential backoff capped by the maximum interval', () => {
  const p = normalizeRetryPolicy({ initialInterval: duration(1000), maximumInterval: duration(5000) });
  const delays = [1, 2, 3, 4, 5].map((attempt) => {
    const d = nextRetry(p, attempt, { message: 'x' }, 0, 0);
    return d.retry ? d.delayMs : -1;
  });
  expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
});

test('stops: maximum attempts, non-retryable, listed error type, schedule-to-close deadline', () => {
  const p = normalizeRetryPolicy({ maximumAttempts: 3, nonRetryableErrorTypes: ['Fatal'] });
  expect(nextRetry(p, 3, { message: 'x' }, 0, 0)).toEqual({
    retry: false,
    state: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
  });
  expect(nextRetry(p, 1, { message: 'x', applicationFailureInfo: { nonRetryable: true } }, 0, 0)).toEqual({
    retry: false,
    state: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
  });
  expect(nextRetry(p, 1, { message: 'x', applicationFailureInfo: { type: 'Fatal' } }, 0, 0).retry).toBe(false);
  expect(nextRetry(p, 1, { message: 'x' }, 10_000, 10_500)).toEqual({
    retry: false,
    state: RetryState.RETRY_STATE_TIMEOUT,
  });
});

test('next_retry_delay from the failure wins over the policy', () => {
  const p = normalizeRetryPolicy(undefined);
  expect(nextRetry(p, 1, { message: 'x', applicationFailureInfo: { nextRetryDelay: duration(250) } }, 0, 0)).toEqual({
    retry: true,
    delayMs: 250,
  });
});

test('invalid policies are named', () => {
  expect(retryPolicyProblem({ backoffCoefficient: 0.5 })).toMatch(/BackoffCoefficient/);
  expect(retryPolicyProblem({ initialInterval: duration(5000), maximumInterval: duration(1000) })).toMatch(
    /MaximumInterval/,
  );
  expect(retryPolicyProblem({ maximumAttempts: -1 })).toMatch(/MaximumAttempts/);
  expect(retryPolicyProblem({})).toBeUndefined();
});
