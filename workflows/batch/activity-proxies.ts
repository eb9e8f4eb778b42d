/**
 * The batch workflow's activities, proxied by how they run (activities are imported as types only). Short
 * database writes (the batch record, lots, units) run as local activities: in the worker, without a round
 * trip through the server per write, retried in place; they are idempotent by key like the rest.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../activities';
import { BUSINESS_FAILURES } from '../../domain/batch/failures';

/** Writes of the batch record after the first, lots consumed and produced, units given back. */
export const localWrites = proxyLocalActivities<BatchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200 ms', maximumInterval: '10 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES },
});

/** The first write: the launch commits the batch just after starting the workflow; give up if it never appears. */
export const firstWrite = proxyLocalActivities<BatchActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '200 ms', maximumInterval: '5 seconds' },
});

/** Commands to equipment go through the server like the phases they act on. */
export const equipmentCommands = proxyActivities<BatchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 ms', maximumInterval: '30 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES },
});

/**
 * Equipment phases: a phase may run for days; the heartbeat says it is alive, and its absence for
 * `heartbeatTimeout` (the batch's input says how long; 30 s unless configured) hands the phase to another worker.
 */
export function equipmentPhases(heartbeatTimeout = '30 seconds') {
  return proxyActivities<BatchActivities>({
    startToCloseTimeout: '30 days',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES },
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  });
}
