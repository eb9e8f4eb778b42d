/**
 * The failure types with which the batch workflow refuses an operator's entry or a batch command, and which
 * the API turns into problems. One list, imported by the workflow and the API alike, so that each side names
 * a refusal the same way. Pure constants: workflow code imports them.
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
