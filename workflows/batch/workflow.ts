/**
 * The batch workflow: an interpreter of the scaled execution plan. It wires the batch's state, its record
 * writer, its plan runner and its message handlers together, runs the plan, and ends the batch — complete
 * (the yield judged, the output lot produced, the units given back) or stopped or aborted (what was under way
 * recorded, the units given back). Everything that happens becomes an entry of the batch record.
 *
 * Deterministic: no I/O, no clock but the workflow's; activities are imported as types only. The order of
 * the `patched()` calls below is part of every history: it never changes.
 */
import { unitsReleasedSummary } from '../../domain/batch/workflow-metadata';
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { BatchInput } from '../../domain/batch/types';
import { judgeYield } from '../../domain/batch/yield';
import { localWrites } from './activity-proxies';
import { installHandlers } from './handlers';
import { BATCH_SEARCH_ATTRIBUTES, type BatchResult } from './messages';
import { PATCHES } from './patches';
import { PlanRunner } from './plan-runner';
import { RecordWriter } from './record-writer';
import { BatchState, takeHandedOver } from './state';

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const { workflowId } = workflowInfo();
  const state = new BatchState(input, workflowId);
  const writer = new RecordWriter(input, state);
  const scope = new CancellationScope();
  // Decided once, at the start, so that a run keeps the way it began with through every later replay.
  const entriesEndSteps = patched(PATCHES.oneWritePerEntry.id);
  const resultsWithStepEnd = patched(PATCHES.equipmentResultsWithStepEnd.id);
  const serialisedCommands = patched(PATCHES.serialisedCommands.id);
  const runner = new PlanRunner(state, writer, resultsWithStepEnd);
  installHandlers(state, writer, runner, {
    entriesEndSteps,
    serialisedCommands,
    commandTurns: new Mutex(),
    end: () => scope.cancel(),
  });

  /**
   * Waits for every update handler to finish before the workflow returns. An entry accepted just before the
   * end — its lots consumed after the last step runner had gone — is handed over with no runner to take it:
   * it is written here (the lots were taken; the record says so), and its handler answered.
   */
  const settleHandlers = async (): Promise<void> => {
    for (;;) {
      await condition(() => allHandlersFinished() || [...state.steps.values()].some((s) => s.handedOver !== undefined));
      const late = [...state.steps.values()].flatMap(takeHandedOver);
      if (late.length === 0) return;
      await writer.write(late);
    }
  };
  const units = Object.values(input.units).map((u) => u.code);

  upsertSearchAttributes([{ key: BATCH_SEARCH_ATTRIBUTES.status, value: 'running' }]);
  await writer.writeNow(
    [
      {
        kind: 'batch-started',
        data: {
          batch: input.batchNumber,
          recipe: input.plan.recipe,
          product: input.plan.product,
          batchSize: input.plan.scaling.batchSize,
          planHash: input.planHash,
          units: Object.fromEntries(Object.entries(input.units).map(([up, u]) => [up, u.code])),
        },
        user: input.launchedBy,
      },
    ],
    input.plan.steps.map((st) => ({ stepId: st.id, status: 'pending', awaitingRoles: [] })),
    'running',
  );

  try {
    await runner.run(scope);
  } catch (err) {
    if (!state.ending && !isCancellation(err)) throw err;
    const end = state.ending === 'abort' ? 'aborted' : 'stopped';
    // Entries handed over just before the end, to step runners cancelled before they took them: recorded, and
    // their steps count as done.
    const untaken = [...state.steps.values()].flatMap(takeHandedOver);
    const cancelled = [...state.steps.values()].filter((s) => s.status !== 'done');
    for (const s of cancelled) s.status = 'cancelled';
    await CancellationScope.nonCancellable(async () => {
      for (const pending of writer.heldBack) await writer.writeHeldBack(pending);
      if (untaken.length > 0) await writer.write(untaken);
      await writer.writeNow(
        [],
        cancelled.map((s) => state.projection(s)),
      );
      await localWrites.releaseUnits.executeWithOptions({ summary: unitsReleasedSummary(units) }, [
        { batchId: input.batchId, units },
      ]);
      await writer.writeStatus(end);
    });
    if (serialisedCommands) await CancellationScope.nonCancellable(settleHandlers);
    return { status: end, outputLot: null, deviations: state.deviations.length };
  }

  // What the batch gave: the measured yield where the plan names how it is measured (judged against the
  // theoretical, and recorded), else, as before, the nominal batch size.
  const yieldPlan = input.plan.yield;
  let quantity: { value: number; unit: string } = input.plan.scaling.batchSize;
  if (yieldPlan && patched(PATCHES.measuredYield.id)) {
    const judged = judgeYield(yieldPlan, state.measuredYield ?? null);
    state.deviations.push(...judged.deviations);
    await writer.writeNow([
      { kind: 'yield', data: judged.entry },
      ...judged.deviations.map((d) => ({ kind: 'deviation' as const, stepId: yieldPlan.stepId, data: { ...d } })),
    ]);
    quantity = judged.quantity;
  }
  const produced = await localWrites.produceOutputLot.executeWithOptions(
    { summary: `output lot ${input.outputLot.lotNumber} of ${input.outputLot.material}` },
    [
      {
        batchId: input.batchId,
        batchNumber: input.batchNumber,
        workflowId,
        material: input.outputLot.material,
        lotNumber: input.outputLot.lotNumber,
        quantity,
        expiryDate: input.outputLot.expiryDate,
      },
    ],
  );
  await writer.writeNow([{ kind: 'output-lot', data: { ...produced } }]);
  await localWrites.releaseUnits.executeWithOptions({ summary: unitsReleasedSummary(units) }, [
    { batchId: input.batchId, units },
  ]);
  await writer.writeStatus('complete', { deviations: state.deviations.length });
  if (serialisedCommands) await settleHandlers();
  return {
    status: 'complete',
    outputLot: { lotId: produced.lotId, lotNumber: produced.lotNumber },
    deviations: state.deviations.length,
  };
}
