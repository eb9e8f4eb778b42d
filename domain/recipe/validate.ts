/**
 * Recipe validation: the schema first, then every rule across fields — unique ids, known equipment
 * classes and materials, ordered limits, UCUM units of the right kind, positive durations. Each problem
 * names its place in the recipe as a JSON pointer, e.g. `/procedure/unitProcedures/0/operations/1/phases/2/setpoints/0/unit`.
 */
import type { z } from 'zod';
import type { PhaseInterface, PhaseSignal } from '../equipment';
import { QUANTITY_KINDS, commensurable, ucumProblem, unitKindProblem, type QuantityKind } from '../units';
import { yieldSourceUnit } from './compile';
import {
  recipeDefinitionSchema,
  type DataField,
  type NumericParameter,
  type Phase,
  type RecipeDefinition,
} from './definition';

/** What a recipe may refer to: the equipment classes and materials Ampoule knows. */
export interface RecipeCatalogue {
  /**
   * Class code → the equipment phases its units offer (empty: not declared yet, any phase is accepted),
   * and, where declared, each phase's interface: the parameters and reports it has.
   */
  equipmentClasses: ReadonlyMap<
    string,
    { phases: readonly string[]; interfaces?: Readonly<Record<string, PhaseInterface>> }
  >;
  /** Material code → its base unit (a UCUM code of mass, volume or amount). */
  materials: ReadonlyMap<string, { baseUnit: string }>;
}

export interface RecipeProblem {
  /** JSON pointer into the recipe definition. */
  path: string;
  message: string;
}

export type RecipeValidation = { ok: true; definition: RecipeDefinition } | { ok: false; problems: RecipeProblem[] };

const pointer = (parts: readonly PropertyKey[]) =>
  parts.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

function schemaProblems(error: z.ZodError): RecipeProblem[] {
  const problems: RecipeProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({ path: pointer([...issue.path, key]), message: `unknown field "${key}"` });
    } else {
      problems.push({ path: pointer(issue.path), message: issue.message });
    }
  }
  return problems;
}

/** Validates a recipe definition against the schema and every rule; returns the parsed definition or all problems. */
export function validateRecipe(input: unknown, catalogue: RecipeCatalogue): RecipeValidation {
  const parsed = recipeDefinitionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: schemaProblems(parsed.error) };
  const problems = ruleProblems(parsed.data, catalogue);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, definition: parsed.data };
}

function ruleProblems(r: RecipeDefinition, catalogue: RecipeCatalogue): RecipeProblem[] {
  const problems: RecipeProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });

  // Batch size: an amount of something, ordered, positive.
  const bs = r.batchSize;
  const bsUnit =
    ucumProblem(bs.unit) ??
    (['mass', 'volume', 'amount'].some((k) => !unitKindProblem(bs.unit, k as QuantityKind))
      ? undefined
      : `"${bs.unit}" is not a unit of mass, volume or amount`);
  if (bsUnit) add('/batchSize/unit', bsUnit);
  if (!(bs.min > 0)) add('/batchSize/min', 'the smallest batch must be more than 0');
  if (!(bs.min <= bs.nominal && bs.nominal <= bs.max))
    add('/batchSize', `expected min ≤ nominal ≤ max, got ${bs.min} ≤ ${bs.nominal} ≤ ${bs.max}`);

  const seen = new Map<string, string>();
  const unique = (id: string, path: string) => {
    const first = seen.get(id);
    if (first) add(`${path}/id`, `the id "${id}" is already used at ${first}`);
    else seen.set(id, path);
  };

  const phases = new Map<string, Phase>();
  r.procedure.unitProcedures.forEach((up, u) => {
    const upPath = `/procedure/unitProcedures/${u}`;
    unique(up.id, upPath);
    const cls = catalogue.equipmentClasses.get(up.equipmentClass);
    if (!cls) add(`${upPath}/equipmentClass`, `unknown equipment class "${up.equipmentClass}"`);
    if (u === 0 && up.start === 'with-previous')
      add(`${upPath}/start`, 'the first unit procedure has no previous one to run with');
    if (up.plannedDuration) {
      const unitProblem = unitKindProblem(up.plannedDuration.unit, 'time');
      if (unitProblem) add(`${upPath}/plannedDuration/unit`, unitProblem);
      if (!(up.plannedDuration.value > 0)) add(`${upPath}/plannedDuration/value`, 'a duration must be more than 0');
    }
    up.operations.forEach((op, o) => {
      const opPath = `${upPath}/operations/${o}`;
      unique(op.id, opPath);
      op.phases.forEach((phase, p) => {
        const phasePath = `${opPath}/phases/${p}`;
        unique(phase.id, phasePath);
        phases.set(phase.id, phase);
        phaseProblems(phase, phasePath, cls ?? { phases: [] }, up.equipmentClass, catalogue, add);
      });
    });
  });
  if (r.yield) yieldProblems(r, phases, catalogue, add);
  return problems;
}

/** The yield is measured by a report or number field of a step of the recipe, in an amount the product is counted in. */
function yieldProblems(
  r: RecipeDefinition,
  phases: ReadonlyMap<string, Phase>,
  catalogue: RecipeCatalogue,
  add: Add,
): void {
  const y = r.yield!;
  const { step: stepName, report, field } = y.measuredBy;
  if ((report === undefined) === (field === undefined)) {
    add(
      '/yield/measuredBy',
      'name either the report (of an equipment phase) or the field (of an operator step) that measures the yield',
    );
    return;
  }
  const phase = phases.get(stepName);
  if (!phase) {
    add('/yield/measuredBy/step', `the recipe has no step "${stepName}"`);
    return;
  }
  const source = report !== undefined ? { report } : { field: field! };
  const unit = yieldSourceUnit(phase, source);
  if (unit === undefined) {
    add(
      `/yield/measuredBy/${report !== undefined ? 'report' : 'field'}`,
      report !== undefined
        ? `step ${stepName} has no report "${report}"`
        : `step ${stepName} has no number field "${field}"`,
    );
    return;
  }
  if (field !== undefined && phase.kind !== 'equipment') {
    const f = (phase.kind === 'instruction' ? phase.fields : phase.kind === 'sample' ? phase.results : []).find(
      (x) => x.id === field,
    );
    if (f && !f.required)
      add(
        '/yield/measuredBy/field',
        `the field "${field}" of step ${stepName} measures the yield: it must be required`,
      );
  }
  const theoretical = y.theoretical ?? { value: r.batchSize.nominal, unit: r.batchSize.unit };
  const theoreticalUnit = ucumProblem(theoretical.unit);
  if (theoreticalUnit) add('/yield/theoretical/unit', theoreticalUnit);
  else if (!commensurable(unit, theoretical.unit))
    add(
      '/yield/theoretical/unit',
      `the yield is measured in ${unit}, which cannot be converted to ${theoretical.unit}`,
    );
  if (!(theoretical.value > 0)) add('/yield/theoretical/value', 'the theoretical yield must be more than 0');
  const product = catalogue.materials.get(r.product.code);
  if (product && !commensurable(unit, product.baseUnit))
    add(
      `/yield/measuredBy`,
      `the yield is measured in ${unit}, but ${r.product.code} is counted in ${product.baseUnit}`,
    );
  if (!(y.limits.low >= 0 && y.limits.low < y.limits.high))
    add(
      '/yield/limits',
      `expected 0 ≤ low < high (percent of the theoretical yield), got ${y.limits.low}–${y.limits.high}`,
    );
}

type Add = (path: string, message: string) => void;

function phaseProblems(
  phase: Phase,
  path: string,
  cls: { phases: readonly string[]; interfaces?: Readonly<Record<string, PhaseInterface>> },
  equipmentClass: string,
  catalogue: RecipeCatalogue,
  add: Add,
): void {
  const classPhases = cls.phases;
  for (const [i, r] of (phase.performedBy ?? []).entries())
    if (r === 'admin') add(`${path}/performedBy/${i}`, 'administrators do not perform or sign GMP steps');
  for (const [i, r] of (phase.signatures.verifiedBy ?? []).entries())
    if (r === 'admin') add(`${path}/signatures/verifiedBy/${i}`, 'administrators do not perform or sign GMP steps');
  if (phase.signatures.verifiedBy && !phase.signatures.verified)
    add(`${path}/signatures/verifiedBy`, 'verifiedBy is only meaningful with verified: true');

  switch (phase.kind) {
    case 'equipment': {
      if (classPhases.length > 0 && !classPhases.includes(phase.phase)) {
        add(
          `${path}/phase`,
          `equipment class "${equipmentClass}" has no phase ${phase.phase} (it has ${classPhases.join(', ')})`,
        );
      }
      uniqueWithin(phase.setpoints, `${path}/setpoints`, add);
      uniqueWithin(phase.reports, `${path}/reports`, add);
      phase.setpoints.forEach((sp, i) => numericProblems(sp, `${path}/setpoints/${i}`, add, true));
      phase.reports.forEach((rp, i) => numericProblems(rp, `${path}/reports/${i}`, add, false));
      const contract = cls.interfaces?.[phase.phase];
      if (contract) {
        phase.setpoints.forEach((sp, i) =>
          signalProblems(
            sp,
            contract.parameters,
            'parameter',
            `${equipmentClass} ${phase.phase}`,
            `${path}/setpoints/${i}`,
            add,
          ),
        );
        phase.reports.forEach((rp, i) =>
          signalProblems(
            rp,
            contract.reports,
            'report',
            `${equipmentClass} ${phase.phase}`,
            `${path}/reports/${i}`,
            add,
          ),
        );
      }
      break;
    }
    case 'instruction':
      fieldsProblems(phase.fields, `${path}/fields`, add);
      break;
    case 'sample':
      fieldsProblems(phase.results, `${path}/results`, add);
      break;
    case 'material': {
      const material = catalogue.materials.get(phase.material);
      const unitProblem = ucumProblem(phase.quantity.unit);
      if (!material) add(`${path}/material`, `unknown material "${phase.material}"`);
      if (unitProblem) add(`${path}/quantity/unit`, unitProblem);
      else if (material && !commensurable(phase.quantity.unit, material.baseUnit)) {
        add(
          `${path}/quantity/unit`,
          `"${phase.quantity.unit}" cannot be converted to ${phase.material}'s base unit ${material.baseUnit}`,
        );
      }
      if (!(phase.quantity.value > 0)) add(`${path}/quantity/value`, 'a material quantity must be more than 0');
      break;
    }
    case 'hold': {
      const unitProblem = unitKindProblem(phase.duration.unit, 'time');
      if (unitProblem) add(`${path}/duration/unit`, unitProblem);
      if (!(phase.duration.value > 0)) add(`${path}/duration/value`, 'a duration must be more than 0');
      break;
    }
    case 'approval':
      break;
  }
}

/** A setpoint or report must be one the phase has, of the same kind of quantity. */
function signalProblems(
  p: NumericParameter,
  signals: Record<string, PhaseSignal>,
  what: string,
  phase: string,
  path: string,
  add: Add,
): void {
  const signal = signals[p.id];
  if (!signal) {
    const known = Object.keys(signals);
    add(`${path}/id`, `${phase} has no ${what} "${p.id}"${known.length ? ` (it has ${known.join(', ')})` : ''}`);
  } else if (signal.quantity !== p.quantity) {
    add(`${path}/quantity`, `${phase}'s ${what} "${p.id}" is a ${signal.quantity}, not a ${p.quantity}`);
  }
}

function uniqueWithin(items: readonly { id: string }[], path: string, add: Add): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (seen.has(item.id))
      add(`${path}/${i}/id`, `the id "${item.id}" is already used at ${path}/${seen.get(item.id)}`);
    else seen.set(item.id, i);
  });
}

function fieldsProblems(fields: readonly DataField[], path: string, add: Add): void {
  uniqueWithin(fields, path, add);
  fields.forEach((f, i) => {
    if (f.type === 'number') numericProblems(f, `${path}/${i}`, add, false);
    if (f.type === 'choice' && new Set(f.options).size !== f.options.length)
      add(`${path}/${i}/options`, 'options must be distinct');
  });
}

/** A number's unit must fit its kind, and its limits must be ordered: min ≤ low ≤ target ≤ high ≤ max. */
function numericProblems(
  p: Pick<NumericParameter, 'quantity' | 'unit' | 'target' | 'low' | 'high' | 'min' | 'max'> & { scaling?: string },
  path: string,
  add: Add,
  isSetpoint: boolean,
): void {
  const unitProblem = unitKindProblem(p.unit, p.quantity);
  if (unitProblem) add(`${path}/unit`, unitProblem);
  if (p.scaling === 'linear' && !QUANTITY_KINDS[p.quantity].extensive)
    add(`${path}/scaling`, `a ${p.quantity} does not scale with the batch size`);
  if (isSetpoint && p.target === undefined) add(`${path}/target`, 'a setpoint needs a target');
  const order: [string, number | undefined][] = [
    ['min', p.min],
    ['low', p.low],
    ['target', p.target],
    ['high', p.high],
    ['max', p.max],
  ];
  const present = order.filter((e): e is [string, number] => e[1] !== undefined);
  for (let i = 1; i < present.length; i++) {
    const [prevName, prev] = present[i - 1];
    const [curName, cur] = present[i];
    if (prev > cur)
      add(
        `${path}/${curName}`,
        `limits out of order: ${prevName} ${prev} > ${curName} ${cur} (expected min ≤ low ≤ target ≤ high ≤ max)`,
      );
  }
}
