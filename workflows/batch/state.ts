/**
 * What a batch workflow knows while it runs: each step's state, the batch's status and whether it is ending,
 * the deviations so far and the measured yield; the projections the work queue reads and the live state the
 * query answers. Plain data and pure functions of it: every change comes from the plan runner or a handler.
 */
import type {
  BatchCommand,
  BatchInput,
  BatchStatus,
  Deviation,
  FieldValue,
  LiveState,
  Signer,
  StepProjection,
  StepStatus,
} from '../../domain/batch/types';
import { afterCommand, type PhaseState } from '../../domain/isa88';
import type { PlanStep } from '../../domain/recipe/plan';
import type { Entries } from './record-writer';

/** An operator's entry that ends its step, handed to the step's runner to be written with the step's end. */
export interface HandedOver {
  entries: Entries;
  /** Takes the entry's effect on the step (who performed or verified it, its deviations). */
  apply(): void;
}

export interface StepState {
  step: PlanStep;
  status: StepStatus;
  /** Set while an operator's completion is being recorded: a second one is refused. */
  busy: boolean;
  performedBy?: Signer;
  verifiedBy?: Signer;
  equipmentState?: PhaseState;
  /** Re-runs of an equipment phase after a failure, at the operator's Restart: part of its command id. */
  reruns: number;
  /** Workflow time at which the step last became ready for an operator's input: where a late entry's window opens. */
  readyAt?: number;
  /** A second person must verify the step though its recipe does not ask it (a manual weighing). */
  verificationRequired?: boolean;
  /** The entry that ended the step, until its runner takes it. */
  handedOver?: HandedOver;
}

export class BatchState {
  readonly steps: Map<string, StepState>;
  status: BatchStatus = 'running';
  /** A Stop or Abort under way. */
  ending: 'stop' | 'abort' | null = null;
  readonly deviations: Deviation[] = [];
  /** The yield as measured by the step the plan names (its report, or its operator's entry); null: not given. */
  measuredYield: number | null | undefined;

  constructor(
    readonly input: BatchInput,
    readonly workflowId: string,
  ) {
    this.steps = new Map(input.plan.steps.map((s) => [s.id, { step: s, status: 'pending', busy: false, reruns: 0 }]));
  }

  /** `stopping` or `aborting`, for refusals while the batch ends. */
  get endingWord(): string {
    return this.ending === 'stop' ? 'stopping' : 'aborting';
  }

  /** The command id of a step's equipment phase: `<workflowId>/<stepId>`, and `/rerun-<n>` after a failure. */
  commandIdOf(s: StepState): string {
    return `${this.workflowId}/${s.step.id}${s.reruns > 0 ? `/rerun-${s.reruns}` : ''}`;
  }

  /** What the work queue's table should say about a step. */
  projection(s: StepState): StepProjection {
    return {
      stepId: s.step.id,
      status: s.status,
      awaitingRoles:
        s.status === 'awaiting-input'
          ? s.step.performedBy
          : s.status === 'awaiting-verification'
            ? s.step.signatures.verifiedBy
            : [],
      performedBy: s.performedBy?.userId ?? null,
      verifiedBy: s.verifiedBy?.userId ?? null,
    };
  }

  /** Why the ISA-88 table refuses `command` to the batch as it stands now, or undefined if it allows it. */
  commandRefusal(command: BatchCommand): string | undefined {
    const s = this.status;
    const from: PhaseState =
      s === 'held'
        ? 'held'
        : s === 'running'
          ? 'running'
          : s === 'stopped'
            ? 'stopped'
            : s === 'aborted'
              ? 'aborted'
              : 'complete';
    if (this.ending || !afterCommand(from, command))
      return `a batch that is ${this.ending ? this.endingWord : s} cannot be given ${command}`;
    return undefined;
  }

  /** Notes the yield when the step the plan names reports it (an equipment phase). */
  noteYieldReport(stepId: string, reports: { id: string; value: number | null }[]): void {
    const y = this.input.plan.yield;
    if (y?.stepId === stepId && 'report' in y.source) {
      const report = y.source.report;
      this.measuredYield = reports.find((r) => r.id === report)?.value ?? null;
    }
  }

  /** Notes the yield when the step the plan names is entered (an operator's number). */
  noteYieldValues(stepId: string, values: Record<string, FieldValue>): void {
    const y = this.input.plan.yield;
    if (y?.stepId === stepId && 'field' in y.source) {
      const v = values[y.source.field];
      this.measuredYield = typeof v === 'number' ? v : null;
    }
  }

  /** The state query's answer: what each step does or waits for, and from whom. */
  live(): LiveState {
    return {
      batchNumber: this.input.batchNumber,
      status: this.status,
      deviations: this.deviations.length,
      steps: [...this.steps.values()].map((s) => ({
        id: s.step.id,
        number: s.step.number,
        name: s.step.name,
        kind: s.step.kind,
        unitProcedureId: s.step.unitProcedureId,
        status: s.status,
        ...(s.status === 'awaiting-input' ? { awaiting: { what: 'input' as const, roles: s.step.performedBy } } : {}),
        ...(s.status === 'awaiting-verification'
          ? {
              awaiting: {
                what: 'verification' as const,
                roles: s.step.signatures.verifiedBy,
                notBy: s.performedBy?.fullName,
              },
            }
          : {}),
        ...(s.equipmentState ? { equipmentState: s.equipmentState } : {}),
        ...(s.performedBy ? { performedBy: s.performedBy.fullName } : {}),
      })),
    };
  }
}

/**
 * Hands an operator's entry that ends step `s` to the step's runner, which writes it with the step's end
 * (and the next step's start); resolves with the entries' numbers once written.
 */
export function handOver(s: StepState, entries: Omit<Entries, 'onWritten'>, apply: () => void): Promise<number[]> {
  return new Promise((resolve) => {
    s.handedOver = { entries: { ...entries, onWritten: resolve }, apply };
  });
}

/** Takes the entry handed over for step `s`, if any, and its effect on the step; the caller writes it. */
export function takeHandedOver(s: StepState): Entries[] {
  const h = s.handedOver;
  if (!h) return [];
  s.handedOver = undefined;
  h.apply();
  return [h.entries];
}
