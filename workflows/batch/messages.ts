/**
 * What the outside world exchanges with a batch workflow: its Updates (an operator's entry, a verification, a
 * batch command), its state query, its result and its search attributes. The one module of the workflow the
 * API imports; definitions only, no workflow logic.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate, type Sinks } from '@temporalio/workflow';
import type {
  BatchCommandRequest,
  BatchStatus,
  EbrEntryInput,
  LiveState,
  StepCompletion,
  StepOutcome,
  StepVerification,
} from '../../domain/batch/types';

/** The workflow type the worker registers and the API starts. */
export const BATCH_WORKFLOW = 'batchWorkflow';

export const completeStepUpdate = defineUpdate<StepOutcome, [StepCompletion]>('completeStep');
export const verifyStepUpdate = defineUpdate<StepOutcome, [StepVerification]>('verifyStep');
export const batchCommandUpdate = defineUpdate<{ status: BatchStatus }, [BatchCommandRequest]>('batchCommand');
export const batchStateQuery = defineQuery<LiveState>('state');

export interface BatchResult {
  status: 'complete' | 'stopped' | 'aborted';
  outputLot: { lotId: string; lotNumber: string } | null;
  deviations: number;
}

/** The search attributes a batch's workflow carries (temporal.yaml declares them for the cluster). */
export const BATCH_SEARCH_ATTRIBUTES = {
  batch: defineSearchAttributeKey('AmpouleBatch', SearchAttributeType.KEYWORD),
  recipe: defineSearchAttributeKey('AmpouleRecipe', SearchAttributeType.KEYWORD),
  product: defineSearchAttributeKey('AmpouleProduct', SearchAttributeType.KEYWORD),
  /** Kept up to date by the workflow: running, held, complete, stopped, aborted. */
  status: defineSearchAttributeKey('AmpouleStatus', SearchAttributeType.KEYWORD),
};

/**
 * What the workflow tells its worker besides its commands: each write of its batch record, as it hands the entries
 * to `recordEbr`. A sink makes no command and leaves the history alone. Batch workers ignore it; a replay for an
 * investigation calls it during replay (`callDuringReplay`) and so rebuilds, from the history alone, every entry
 * the workflow wrote — to hold against the stored record.
 */
export interface BatchSinks extends Sinks {
  record: { written(entries: EbrEntryInput[]): void };
}
