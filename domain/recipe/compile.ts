/**
 * The recipe compiler: a validated definition becomes an execution plan (see `plan.ts`), identified by
 * the SHA-256 of its canonical JSON; and a plan is scaled to a batch size. Both are pure functions: the
 * same inputs always give the same plan and the same hash.
 */
import { canonicalHash } from '../canonical-hash';
import type { Role } from '../identity';
import { QUANTITY_KINDS, convert } from '../units';
import type { DataField, NumericParameter, Phase, RecipeDefinition, YieldDefinition } from './definition';
import {
  PLAN_FORMAT,
  type ExecutionPlan,
  type PlanField,
  type PlanNumber,
  type PlanStep,
  type PlanYield,
  type ScaledPlan,
} from './plan';

export interface RecipeIdentity {
  code: string;
  name: string;
  version: number;
  versionId: string;
}

/** Who performs a step when the recipe does not say. */
const DEFAULT_PERFORMERS: Record<Phase['kind'], Role[]> = {
  equipment: ['operator'],
  instruction: ['operator'],
  material: ['operator'],
  hold: ['operator'],
  sample: ['operator'],
  approval: ['qa'],
};

/** Compiles a validated definition. Call `validateRecipe` first: this trusts what it is given. */
export function compilePlan(definition: RecipeDefinition, recipe: RecipeIdentity): ExecutionPlan {
  const steps: PlanStep[] = [];
  const stages: ExecutionPlan['stages'] = [];
  definition.procedure.unitProcedures.forEach((up, u) => {
    const stepIds: string[] = [];
    up.operations.forEach((op, o) =>
      op.phases.forEach((phase, p) => {
        const step = compileStep(phase, {
          unitProcedureId: up.id,
          operation: { id: op.id, name: op.name },
          recipePath: `/procedure/unitProcedures/${u}/operations/${o}/phases/${p}`,
          number: steps.length + 1,
          equipmentClass: up.equipmentClass,
        });
        steps.push(step);
        stepIds.push(step.id);
      }),
    );
    const entry = {
      id: up.id,
      name: up.name,
      equipmentClass: up.equipmentClass,
      steps: stepIds,
      ...(up.plannedDuration ? { plannedDuration: up.plannedDuration } : {}),
    };
    if (up.start === 'with-previous' && stages.length > 0) stages[stages.length - 1].unitProcedures.push(entry);
    else stages.push({ unitProcedures: [entry] });
  });
  return {
    format: PLAN_FORMAT,
    recipe: { code: recipe.code, name: recipe.name, version: recipe.version, versionId: recipe.versionId },
    product: { code: definition.product.code, name: definition.product.name },
    batchSize: {
      nominal: definition.batchSize.nominal,
      min: definition.batchSize.min,
      max: definition.batchSize.max,
      unit: definition.batchSize.unit,
    },
    stages,
    steps,
    // Only where the recipe names it: plans compiled before yields existed keep their hash.
    ...(definition.yield ? { yield: compileYield(definition.yield, definition, steps) } : {}),
  };
}

/** The yield as the workflow judges it: the measuring step and signal, the theoretical, the conversion between them. */
function compileYield(y: YieldDefinition, definition: RecipeDefinition, steps: PlanStep[]): PlanYield {
  const step = steps.find((s) => s.id === y.measuredBy.step)!;
  const source = y.measuredBy.report ? { report: y.measuredBy.report } : { field: y.measuredBy.field! };
  const unit = yieldSourceUnit(step, source)!;
  const theoretical = y.theoretical ?? { value: definition.batchSize.nominal, unit: definition.batchSize.unit };
  return {
    stepId: step.id,
    source,
    unit,
    theoretical: { ...theoretical },
    toTheoretical: convert(1, unit, theoretical.unit)!,
    limits: { ...y.limits },
  };
}

/** The unit of the report or number field a yield is measured by, if the step has it. */
export function yieldSourceUnit(
  step: PlanStep | Phase,
  source: { report: string } | { field: string },
): string | undefined {
  if ('report' in source)
    return step.kind === 'equipment' ? step.reports.find((r) => r.id === source.report)?.unit : undefined;
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  const f = fields.find((x) => x.id === source.field);
  return f?.type === 'number' ? f.unit : undefined;
}

/** The plan's identity: hex SHA-256 of its RFC 8785 canonical JSON. */
export function planHash(plan: ExecutionPlan): string {
  return canonicalHash(plan);
}

function compileStep(
  phase: Phase,
  where: {
    unitProcedureId: string;
    operation: { id: string; name: string };
    recipePath: string;
    number: number;
    equipmentClass: string;
  },
): PlanStep {
  const performedBy = phase.performedBy ?? DEFAULT_PERFORMERS[phase.kind];
  const base = {
    id: phase.id,
    name: phase.name,
    number: where.number,
    unitProcedureId: where.unitProcedureId,
    operation: where.operation,
    recipePath: where.recipePath,
    ...(phase.instructions ? { instructions: phase.instructions } : {}),
    performedBy,
    signatures: {
      performed: phase.signatures.performed,
      verified: phase.signatures.verified,
      verifiedBy: phase.signatures.verifiedBy ?? performedBy,
    },
  };
  switch (phase.kind) {
    case 'equipment':
      return {
        ...base,
        kind: 'equipment',
        equipmentClass: where.equipmentClass,
        phase: phase.phase,
        setpoints: phase.setpoints.map(planNumber),
        reports: phase.reports.map(planNumber),
      };
    case 'instruction':
      return { ...base, kind: 'instruction', text: phase.text, fields: phase.fields.map(planField) };
    case 'material':
      return {
        ...base,
        kind: 'material',
        material: phase.material,
        quantity: { ...phase.quantity },
        tolerancePercent: phase.tolerancePercent,
        acceptance: acceptance(phase.quantity.value, phase.tolerancePercent),
        weighed: phase.weighed,
        scaling: phase.scaling,
      };
    case 'hold':
      return {
        ...base,
        kind: 'hold',
        duration: { ...phase.duration },
        durationMs: Math.round(convert(phase.duration.value, phase.duration.unit, 'ms')!),
      };
    case 'sample':
      return {
        ...base,
        kind: 'sample',
        ...(phase.sampleType ? { sampleType: phase.sampleType } : {}),
        results: phase.results.map(planField),
      };
    case 'approval':
      return { ...base, kind: 'approval', text: phase.text, meaning: phase.meaning };
  }
}

function planNumber(p: NumericParameter): PlanNumber {
  const scaling = p.scaling ?? (QUANTITY_KINDS[p.quantity].extensive ? 'linear' : 'fixed');
  return { id: p.id, name: p.name, quantity: p.quantity, unit: p.unit, ...limitsOf(p), scaling };
}

function planField(f: DataField): PlanField {
  if (f.type === 'number')
    return {
      type: 'number',
      id: f.id,
      label: f.label,
      quantity: f.quantity,
      unit: f.unit,
      ...limitsOf(f),
      required: f.required,
    };
  return { ...f };
}

function limitsOf(p: { target?: number; low?: number; high?: number; min?: number; max?: number }) {
  const out: { target?: number; low?: number; high?: number; min?: number; max?: number } = {};
  for (const k of ['target', 'low', 'high', 'min', 'max'] as const) if (p[k] !== undefined) out[k] = p[k];
  return out;
}

function acceptance(value: number, tolerancePercent: number): { low: number; high: number } {
  return { low: round(value * (1 - tolerancePercent / 100)), high: round(value * (1 + tolerancePercent / 100)) };
}

/** Twelve significant digits: removes binary floating-point noise (0.1 × 3) without losing a real digit. */
function round(x: number): number {
  return Number(x.toPrecision(12));
}

/** The batch size is outside the range the recipe allows. */
export class BatchSizeOutOfRange extends Error {
  constructor(
    readonly size: number,
    readonly range: { min: number; max: number; unit: string },
  ) {
    super(`a batch of ${size} ${range.unit} is outside the recipe's range ${range.min}–${range.max} ${range.unit}`);
    this.name = 'BatchSizeOutOfRange';
  }
}

/**
 * Scales a plan to a batch of `size` (in the plan's batch size unit): extensive quantities marked
 * linear (material amounts, fill volumes) by size / nominal; everything else stays as approved.
 */
export function scalePlan(plan: ExecutionPlan, hash: string, size: number): ScaledPlan {
  const { min, max, nominal, unit } = plan.batchSize;
  if (!Number.isFinite(size) || size < min || size > max) throw new BatchSizeOutOfRange(size, { min, max, unit });
  const factor = size / nominal;
  const scaleNumber = (n: PlanNumber): PlanNumber => {
    if (n.scaling !== 'linear') return n;
    const out: PlanNumber = { ...n };
    for (const k of ['target', 'low', 'high', 'min', 'max'] as const)
      if (n[k] !== undefined) out[k] = round(n[k] * factor);
    return out;
  };
  const steps = plan.steps.map((s): PlanStep => {
    if (s.kind === 'material' && s.scaling === 'linear') {
      const value = round(s.quantity.value * factor);
      return { ...s, quantity: { value, unit: s.quantity.unit }, acceptance: acceptance(value, s.tolerancePercent) };
    }
    if (s.kind === 'equipment')
      return { ...s, setpoints: s.setpoints.map(scaleNumber), reports: s.reports.map(scaleNumber) };
    return s;
  });
  const scaledYield = plan.yield
    ? {
        yield: {
          ...plan.yield,
          theoretical: { value: round(plan.yield.theoretical.value * factor), unit: plan.yield.theoretical.unit },
        },
      }
    : {};
  return {
    ...plan,
    steps,
    ...scaledYield,
    scaling: { planHash: hash, batchSize: { value: size, unit }, factor: round(factor) },
  };
}
