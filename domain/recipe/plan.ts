/**
 * The execution plan: what an approved recipe version compiles into and what the batch workflow
 * interprets. Flat and explicit — every step carries its kind, its parameters with units and limits, who
 * performs and verifies it, and where it sits — so the workflow never looks anything up. Types only:
 * workflow code may import this module.
 */
import type { Role, SignatureMeaning } from '../identity';
import type { QuantityKind } from '../units';

export const PLAN_FORMAT = 'ampoule-plan/1';

/** A number with its unit and limits (a setpoint, an expected report, an entered value). */
export interface PlanNumber {
  id: string;
  name: string;
  quantity: QuantityKind;
  unit: string;
  target?: number;
  low?: number;
  high?: number;
  min?: number;
  max?: number;
  /** Whether the batch size scales it (extensive quantities only). */
  scaling: 'linear' | 'fixed';
}

export type PlanField =
  | ({ type: 'number'; label: string; required: boolean } & Omit<PlanNumber, 'name' | 'scaling'>)
  | { type: 'text'; id: string; label: string; maxLength: number; required: boolean }
  | { type: 'choice'; id: string; label: string; options: string[]; required: boolean }
  | { type: 'passFail'; id: string; label: string; required: boolean };

interface PlanStepBase {
  /** Unique in the plan: the step's id in the recipe. */
  id: string;
  name: string;
  /** Position in the plan, counting from 1 across all unit procedures: the order of the batch record. */
  number: number;
  /** Where the step sits: unit procedure, operation and JSON pointer into the recipe. */
  unitProcedureId: string;
  operation: { id: string; name: string };
  recipePath: string;
  instructions?: string;
  performedBy: Role[];
  signatures: { performed: boolean; verified: boolean; verifiedBy: Role[] };
}

export type PlanStep =
  | (PlanStepBase & {
      kind: 'equipment';
      equipmentClass: string;
      phase: string;
      setpoints: PlanNumber[];
      reports: PlanNumber[];
    })
  | (PlanStepBase & { kind: 'instruction'; text: string; fields: PlanField[] })
  | (PlanStepBase & {
      kind: 'material';
      material: string;
      quantity: { value: number; unit: string };
      tolerancePercent: number;
      /** The accepted range of the quantity, in its unit: value ± tolerance. */
      acceptance: { low: number; high: number };
      weighed: boolean;
      scaling: 'linear' | 'fixed';
    })
  | (PlanStepBase & { kind: 'hold'; duration: { value: number; unit: string }; durationMs: number })
  | (PlanStepBase & { kind: 'sample'; sampleType?: string; results: PlanField[] })
  | (PlanStepBase & { kind: 'approval'; text: string; meaning: SignatureMeaning });

export interface PlanUnitProcedure {
  id: string;
  name: string;
  equipmentClass: string;
  /** The ids of its steps, in order. */
  steps: string[];
  /** How long it is planned to hold its unit for a batch, when the recipe says (OEE's planned runtime). */
  plannedDuration?: { value: number; unit: string };
}

/** Unit procedures of one stage run side by side; stages run one after another. */
export interface PlanStage {
  unitProcedures: PlanUnitProcedure[];
}

/** How the batch's yield is measured and judged (absent from plans of recipes that do not say). */
export interface PlanYield {
  stepId: string;
  /** The equipment report, or the operator's number field, that gives it. */
  source: { report: string } | { field: string };
  /** The unit the measured value comes in. */
  unit: string;
  /** What the batch should give: per nominal batch in the approved plan, for this batch once scaled. */
  theoretical: { value: number; unit: string };
  /** Multiplies a measured value into the theoretical's unit (worked out when compiling: the workflow has no unit library). */
  toTheoretical: number;
  /** Percent of the theoretical: outside is a deviation. */
  limits: { low: number; high: number };
}

export interface ExecutionPlan {
  format: typeof PLAN_FORMAT;
  recipe: { code: string; name: string; version: number; versionId: string };
  product: { code: string; name: string };
  batchSize: { nominal: number; min: number; max: number; unit: string };
  stages: PlanStage[];
  /** Every step, in batch-record order. */
  steps: PlanStep[];
  yield?: PlanYield;
}

/** A plan scaled to one batch: what a batch workflow receives. */
export interface ScaledPlan extends ExecutionPlan {
  scaling: {
    /** SHA-256 of the approved plan it was scaled from. */
    planHash: string;
    batchSize: { value: number; unit: string };
    factor: number;
  };
}
