/**
 * Runs the plan: stages one after another, the unit procedures of a stage side by side, each step by its
 * kind — an equipment phase through its activity (a failure holds the batch until it is restarted or ended),
 * a hold as a durable timer, an operator step by waiting for the entry a handler hands over. A step's start is
 * written with the previous step's end, and its end held back for the next step's start.
 */
import { phaseCommandSummary, phaseSummary } from '../../domain/batch/workflow-metadata';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  sleep,
} from '@temporalio/workflow';
import { reportDeviations } from '../../domain/batch/completion';
import type { BatchCommand } from '../../domain/batch/types';
import type { PlanStep, PlanUnitProcedure } from '../../domain/recipe/plan';
import { equipmentCommands, equipmentPhases } from './activity-proxies';
import { PATCHES } from './patches';
import type { Entries, HeldBackEnd, RecordWriter } from './record-writer';
import { takeHandedOver, type BatchState, type StepState } from './state';

export class PlanRunner {
  private readonly phases: ReturnType<typeof equipmentPhases>;

  constructor(
    private readonly state: BatchState,
    private readonly writer: RecordWriter,
    /** Since `equipment-results-with-step-end`, decided at the batch's start. */
    private readonly resultsWithStepEnd: boolean,
  ) {
    this.phases = equipmentPhases(state.input.equipmentHeartbeatTimeout);
  }

  /** Every stage in turn, in `scope` (cancelled by a Stop or Abort). */
  async run(scope: CancellationScope): Promise<void> {
    await scope.run(async () => {
      for (const stage of this.state.input.plan.stages)
        await Promise.all(stage.unitProcedures.map((up) => this.runUnitProcedure(up)));
    });
  }

  /** Passes a batch command to a running equipment phase; a phase that cannot take it is left as it is. */
  async passCommand(s: StepState, command: BatchCommand): Promise<void> {
    if (s.step.kind !== 'equipment') return;
    const unit = this.state.input.units[s.step.unitProcedureId];
    const phase = s.step.phase;
    try {
      await CancellationScope.nonCancellable(() =>
        equipmentCommands.commandEquipmentPhase.executeWithOptions(
          { summary: phaseCommandSummary(command, s.step, phase, unit.code) },
          [{ unit, phase, command, commandId: this.state.commandIdOf(s) }],
        ),
      );
    } catch {
      // Recorded by the activity's failure in history; the phase's own state decides what happens next.
    }
  }

  private async runUnitProcedure(up: PlanUnitProcedure): Promise<void> {
    const steps = this.state.steps;
    if (!patched(PATCHES.oneWriteBetweenSteps.id)) {
      for (const id of up.steps) await this.runStep(steps.get(id)!);
      return;
    }
    const pending: HeldBackEnd = { ended: [] };
    this.writer.heldBack.add(pending);
    for (const id of up.steps) await this.runStep(steps.get(id)!, pending);
    await this.writer.writeHeldBack(pending);
    this.writer.heldBack.delete(pending);
  }

  /**
   * Runs one step. With `pending` (the unit procedure's held-back step end), the previous step's end is
   * written together with this step's start, and this step's end is held back in turn.
   */
  private async runStep(s: StepState, pending?: HeldBackEnd): Promise<void> {
    const { state, writer } = this;
    // A batch held between two steps: the step that ended is recorded now, not at the restart.
    if (pending && pending.ended.length > 0 && state.status !== 'running' && state.ending === null)
      await writer.writeHeldBack(pending);
    await condition(() => state.status === 'running' || state.ending !== null);
    if (state.ending) return;
    const step = s.step;
    const operatorStep = step.kind !== 'equipment' && step.kind !== 'hold';
    // An operator step is waiting for its operator from the moment it starts: one write says both.
    s.status = operatorStep ? 'awaiting-input' : 'active';
    if (operatorStep) s.readyAt = Date.now();
    const started = writer.entries(
      [
        {
          kind: 'step-started',
          stepId: step.id,
          data: {
            number: step.number,
            name: step.name,
            kind: step.kind,
            unitProcedure: step.unitProcedureId,
            operation: step.operation.name,
          },
        },
      ],
      [state.projection(s)],
    );
    if (pending) await writer.writeHeldBack(pending, [started]);
    else await writer.write([started]);
    // This step's entries not written yet, to go with its end.
    let held: Entries[] = [];
    switch (step.kind) {
      case 'equipment': {
        const results = await this.runEquipment(s, step);
        // With nothing to wait for after the phase, its results go with the step's end (and the next step's
        // start), taken in the same turn; a step that awaits a signature shows them at once, to whoever signs.
        if (pending && this.resultsWithStepEnd && !step.signatures.performed && !step.signatures.verified)
          held = [results];
        else await writer.write([results]);
        if (step.signatures.performed) await this.awaitOperator(s);
        else if (step.signatures.verified && patched(PATCHES.verifiedEquipmentAwaitsVerification.id))
          await this.awaitVerifier(s);
        break;
      }
      case 'hold':
        await sleep(step.durationMs);
        break;
      default:
        await condition(() => s.status !== 'awaiting-input' || s.handedOver !== undefined);
    }
    if (step.signatures.verified || s.verificationRequired)
      await condition(() => s.status === 'done' || s.handedOver !== undefined);
    // The operator's last entry, if it was handed over, goes into the same write as the step's end.
    const last = takeHandedOver(s);
    s.status = 'done';
    const ended = writer.entries(
      [
        {
          kind: 'step-completed',
          stepId: step.id,
          data: { performedBy: s.performedBy?.fullName ?? null, verifiedBy: s.verifiedBy?.fullName ?? null },
        },
      ],
      [state.projection(s)],
    );
    if (pending) pending.ended = [...held, ...last, ended];
    else await writer.write([...held, ...last, ended]);
  }

  /** A signed equipment phase, once run: its performer signs what the equipment did. */
  private async awaitOperator(s: StepState): Promise<void> {
    s.status = 'awaiting-input';
    s.readyAt = Date.now();
    await this.writer.writeNow([], [this.state.projection(s)]);
    await condition(() => s.status !== 'awaiting-input' || s.handedOver !== undefined);
  }

  /** An equipment phase that is verified but performed by no one: a second person checks what the equipment did. */
  private async awaitVerifier(s: StepState): Promise<void> {
    s.status = 'awaiting-verification';
    await this.writer.writeNow([], [this.state.projection(s)]);
  }

  /**
   * Runs an equipment phase; a failure holds the batch until an operator restarts (the phase runs again) or ends it.
   * Returns the phase's parameters and reports (and their deviations) as entries for the caller to write.
   */
  private async runEquipment(s: StepState, step: Extract<PlanStep, { kind: 'equipment' }>): Promise<Entries> {
    const { state, writer } = this;
    const unit = state.input.units[step.unitProcedureId];
    for (;;) {
      try {
        const result = await this.phases.runEquipmentPhase.executeWithOptions(
          { summary: phaseSummary(step, unit.code) },
          [
            {
              batchId: state.input.batchId,
              unit,
              step,
              commandId: state.commandIdOf(s),
              onCancel: state.input.onCancel ?? 'stop',
            },
          ],
        );
        const found = reportDeviations(step, result.reports);
        state.deviations.push(...found);
        state.noteYieldReport(step.id, result.reports);
        // Only an interrupted phase asks for the patch: every other history stays as it was.
        const interrupted =
          result.interruption && patched(PATCHES.recordInterruptedPhases.id)
            ? [
                {
                  kind: 'phase-interrupted' as const,
                  stepId: step.id,
                  data: { unit: unit.code, phase: step.phase, commandId: state.commandIdOf(s), ...result.interruption },
                },
              ]
            : [];
        return writer.entries([
          ...interrupted,
          {
            kind: 'equipment-parameters',
            stepId: step.id,
            data: {
              unit: unit.code,
              phase: step.phase,
              commandId: state.commandIdOf(s),
              parameters: result.parameters,
              reconciled: result.reconciled,
            },
          },
          {
            kind: 'equipment-reports',
            stepId: step.id,
            data: { unit: unit.code, phase: step.phase, reports: result.reports },
          },
          ...found.map((d) => ({ kind: 'deviation' as const, stepId: step.id, data: { ...d } })),
        ]);
      } catch (err) {
        if (isCancellation(err) || state.ending) throw err;
        const failure =
          err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        s.status = 'failed';
        // A phase taken up again after an interruption, then failed: the failure says so too.
        const interruption = (failure?.details?.[0] as { interruption?: object } | undefined)?.interruption;
        const interrupted = interruption && patched(PATCHES.recordInterruptedPhases.id) ? { interruption } : {};
        await writer.writeNow(
          [
            {
              kind: 'step-failed',
              stepId: step.id,
              data: { type: failure?.type ?? 'unknown', message: failure?.message ?? String(err), ...interrupted },
            },
          ],
          [state.projection(s)],
        );
        await writer.writeStatus('held', { reason: `step ${step.id} failed: ${failure?.message ?? String(err)}` });
        await condition(() => state.status === 'running' || state.ending !== null);
        if (state.ending) throw err;
        s.reruns++;
        s.status = 'active';
        await writer.writeNow(
          [{ kind: 'step-started', stepId: step.id, data: { rerun: s.reruns } }],
          [state.projection(s)],
        );
      }
    }
  }
}
