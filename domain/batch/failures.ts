/**
 * The failure types of batch execution, named once and imported by the workflow, its activities and the API:
 * the refusals with which the workflow's updates answer an operator's entry or a batch command (each mapped to
 * its problem by the API), and the activities' business failures that no retry can mend. Pure constants:
 * workflow code imports them.
 */
export const REFUSALS = {
  /** The entry is not possible in the step's or the batch's current state: the API answers 409 `step-not-awaited`. */
  stepNotAwaited: 'StepNotAwaited',
  /** The entry breaks a rule of the step (a value, a role, a lot, a late entry outside its window): 422 `step-refused`. */
  stepRefused: 'StepRefused',
  /** A batch command the ISA-88 table does not allow in the batch's current state: 409 `invalid-transition`. */
  invalidTransition: 'InvalidTransition',
} as const;

export type Refusal = (typeof REFUSALS)[keyof typeof REFUSALS];

/** An equipment phase that cannot (or did not) complete, for a reason no retry will change (`equipment/errors.ts`). */
export const PHASE_FAILURES = [
  'PhaseStopped',
  'PhaseAborted',
  'CommandRefused',
  'ParametersRefused',
  'ParameterReadbackMismatch',
  'EquipmentNotIdle',
  'BindingInvalid',
] as const;
export type PhaseFailureType = (typeof PHASE_FAILURES)[number];

/** The activities' failures that no retry can mend, besides the phases': the workflow does not retry them. */
export const ACTIVITY_FAILURES = {
  /** A parameter or report in a unit the controller's cannot be converted to. */
  unitConversion: 'UnitConversion',
  /** A lot that cannot supply the step (material, status, expiry, quantity) when it is consumed. */
  lotUnusable: 'LotUnusable',
  /** Any other refusal of the inventory ledger. */
  inventory: 'Inventory',
} as const;

/** Every failure type an activity of the batch workflow raises that is not worth a retry. */
export const BUSINESS_FAILURES: string[] = [...PHASE_FAILURES, ...Object.values(ACTIVITY_FAILURES)];

/** Retried: the launch starts the workflow just before it commits the batch, so the first write may not find it yet. */
export const BATCH_MISSING = 'BatchMissing';
