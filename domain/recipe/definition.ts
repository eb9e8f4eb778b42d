/**
 * The master recipe as authors write it (ISA-88): product and batch size, then procedure → unit
 * procedures (each on an equipment class, after or alongside the one before) → operations → phases. This
 * module is the schema of that document: strict (unknown fields are refused), numbers that are numbers
 * (no NaN, Infinity or "37,5"). The rules across fields (units, limits, references) are in `validate.ts`.
 */
import { z } from 'zod';
import { ROLES, SIGNATURE_MEANINGS } from '../identity';
import { QUANTITY_KIND_NAMES } from '../units';

/** Step, operation and unit-procedure ids: short, lower case, unique in the recipe. */
export const stepId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'expected an id of lower-case letters, digits and dashes, starting with a letter');
const name = z.string().trim().min(1).max(200);
const text = z.string().trim().min(1).max(5000);
const finite = z.number(); // zod refuses NaN and ±Infinity; JSON has neither, and strings are not numbers
const unit = z.string().min(1).max(64).describe('a UCUM code, e.g. Cel, mL, kg, /min, g/L');
const quantityKind = z.enum(QUANTITY_KIND_NAMES);
const role = z.enum(ROLES);

/** An amount: a number with its unit. */
export const quantitySchema = z.strictObject({ value: finite, unit });

/**
 * Limits around a target: values outside low..high are deviations (accepted, with a comment); values
 * outside min..max (the validation range) are refused as implausible.
 */
const limits = {
  target: finite.optional(),
  low: finite.optional(),
  high: finite.optional(),
  min: finite.optional().describe('validation range: anything below is refused as a typing error'),
  max: finite.optional().describe('validation range: anything above is refused as a typing error'),
};

/** A number with a unit and limits: an equipment setpoint, an expected report, an entered value. */
export const numericParameterSchema = z.strictObject({
  id: stepId,
  name,
  quantity: quantityKind,
  unit,
  ...limits,
  /** Extensive quantities (mass, volume, amount) scale with the batch size unless marked fixed. */
  scaling: z.enum(['linear', 'fixed']).optional(),
});

export const dataFieldSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('number'),
    id: stepId,
    label: name,
    quantity: quantityKind,
    unit,
    ...limits,
    required: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('text'),
    id: stepId,
    label: name,
    maxLength: z.int().min(1).max(5000).default(500),
    required: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('choice'),
    id: stepId,
    label: name,
    options: z.array(name).min(2).max(50),
    required: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal('passFail'), id: stepId, label: name, required: z.boolean().default(true) }),
]);

const signatures = z
  .strictObject({
    /** The performer signs "performed" on completing the step. */
    performed: z.boolean().default(false),
    /** A second person, never the performer, signs "verified". */
    verified: z.boolean().default(false),
    /** Roles that may verify (by default the roles that may perform). */
    verifiedBy: z.array(role).min(1).optional(),
  })
  .default({ performed: false, verified: false });

const phaseBase = {
  id: stepId,
  name,
  instructions: text.optional(),
  /** Roles that may perform (or, for an equipment phase, confirm) the step. */
  performedBy: z.array(role).min(1).optional(),
  signatures,
};

export const phaseSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...phaseBase,
    kind: z.literal('equipment'),
    /** The equipment phase to run on the unit (e.g. HEAT, AGITATE, TRANSFER). */
    phase: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an equipment phase name such as HEAT or AGITATE'),
    setpoints: z.array(numericParameterSchema).max(50).default([]),
    reports: z.array(numericParameterSchema).max(50).default([]),
  }),
  z.strictObject({
    ...phaseBase,
    kind: z.literal('instruction'),
    text,
    fields: z.array(dataFieldSchema).max(50).default([]),
  }),
  z.strictObject({
    ...phaseBase,
    kind: z.literal('material'),
    material: z.string().min(1).max(64),
    /** Per nominal batch; scaled with the batch size unless `scaling: fixed`. */
    quantity: quantitySchema,
    tolerancePercent: finite.min(0).max(100),
    weighed: z.boolean(),
    scaling: z.enum(['linear', 'fixed']).default('linear'),
  }),
  z.strictObject({ ...phaseBase, kind: z.literal('hold'), duration: quantitySchema }),
  z.strictObject({
    ...phaseBase,
    kind: z.literal('sample'),
    sampleType: name.optional(),
    results: z.array(dataFieldSchema).min(1).max(50),
  }),
  z.strictObject({
    ...phaseBase,
    kind: z.literal('approval'),
    text,
    meaning: z.enum(SIGNATURE_MEANINGS).default('approved'),
  }),
]);

export const operationSchema = z.strictObject({ id: stepId, name, phases: z.array(phaseSchema).min(1).max(200) });

export const unitProcedureSchema = z.strictObject({
  id: stepId,
  name,
  equipmentClass: z.string().min(1).max(64),
  /** `after-previous` (default) or `with-previous`: run alongside the unit procedure before it. */
  start: z.enum(['after-previous', 'with-previous']).default('after-previous'),
  /** How long it is planned to hold its unit for a batch (the ideal cycle: OEE's planned runtime). */
  plannedDuration: quantitySchema.optional(),
  operations: z.array(operationSchema).min(1).max(200),
});

/**
 * The batch's yield: where it is measured (an equipment phase's report, or a number an operator enters),
 * what a nominal batch should give, and the accepted range. The output lot is what was measured; a yield
 * outside its limits is a deviation for QA.
 */
export const yieldSchema = z.strictObject({
  measuredBy: z
    .strictObject({ step: stepId, report: stepId.optional(), field: stepId.optional() })
    .describe('the step, and its report (equipment) or number field (operator) that gives the yield'),
  /** Per nominal batch, scaled with the batch size; by default the nominal batch size itself. */
  theoretical: quantitySchema.optional(),
  /** Percent of the theoretical yield. */
  limits: z.strictObject({ low: finite, high: finite }),
});

export const recipeDefinitionSchema = z.strictObject({
  product: z.strictObject({ code: z.string().min(1).max(64), name }),
  description: text.optional(),
  batchSize: z.strictObject({ nominal: finite, min: finite, max: finite, unit }),
  yield: yieldSchema.optional(),
  procedure: z.strictObject({
    unitProcedures: z.array(unitProcedureSchema).min(1, 'a procedure needs at least one unit procedure').max(50),
  }),
});

export type RecipeDefinition = z.output<typeof recipeDefinitionSchema>;
export type RecipeDefinitionInput = z.input<typeof recipeDefinitionSchema>;
export type UnitProcedure = z.output<typeof unitProcedureSchema>;
export type Operation = z.output<typeof operationSchema>;
export type Phase = z.output<typeof phaseSchema>;
export type PhaseKind = Phase['kind'];
export type NumericParameter = z.output<typeof numericParameterSchema>;
export type DataField = z.output<typeof dataFieldSchema>;
export type Quantity = z.output<typeof quantitySchema>;
export type YieldDefinition = z.output<typeof yieldSchema>;
