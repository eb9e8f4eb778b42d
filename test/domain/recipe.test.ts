/** The recipe model, its validation rules, the compiler, scaling, the diff and the lifecycle: pure functions. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BatchSizeOutOfRange, compilePlan, planHash, scalePlan } from '../../domain/recipe/compile';
import { diffRecipes } from '../../domain/recipe/diff';
import { judgeYield } from '../../domain/batch/yield';
import type { RecipeDefinition } from '../../domain/recipe/definition';
import {
  RECIPE_ACTIONS,
  RECIPE_STATUSES,
  launchable,
  transition,
  type RecipeAction,
  type RecipeStatus,
} from '../../domain/recipe/lifecycle';
import { validateRecipe, type RecipeCatalogue } from '../../domain/recipe/validate';
import { commensurable, convert, kindOf, ucumProblem, unitKindProblem } from '../../domain/units';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';

const catalogue: RecipeCatalogue = {
  equipmentClasses: new Map(
    DEMO_EQUIPMENT_CLASSES.map((c) => [c.code, { phases: c.phases, interfaces: c.interfaces }]),
  ),
  materials: new Map(DEMO_MATERIALS.map((m) => [m.code, { baseUnit: m.baseUnit }])),
};

function example(file: string): { code: string; name: string; definition: RecipeDefinition } {
  return JSON.parse(readFileSync(path.resolve(__dirname, '../../demo/recipes', file), 'utf8'));
}
const pbs = () => example('pbs-buffer-1000l.json');
const mab = () => example('mab-fed-batch-2000l.json');
const identity = { code: 'PBS-1X', name: 'PBS', version: 1, versionId: '00000000-0000-4000-8000-000000000001' };

/** The problems of a PBS recipe after `mutate`, as "path: message" lines. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function problemsAfter(mutate: (d: any) => void): string[] {
  const d = structuredClone(pbs().definition);
  mutate(d);
  const r = validateRecipe(d, catalogue);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

const phase0 = '/procedure/unitProcedures/0/operations/0/phases/0';

describe('units', () => {
  test('UCUM codes are checked, converted, and matched to quantity kinds', () => {
    expect(ucumProblem('Cel')).toBeUndefined();
    expect(ucumProblem('degC')).toMatch(/not a valid UCUM code/);
    expect(ucumProblem('{rpm}')).toMatch(/annotation/);
    expect(convert(37, 'Cel', 'K')).toBeCloseTo(310.15);
    expect(convert(1500, 'g', 'kg')).toBe(1.5);
    expect(convert(1, 'mL', 'K')).toBeUndefined();
    expect(commensurable('mg/mL', 'g/L')).toBe(true);
    expect(unitKindProblem('mL', 'temperature')).toMatch(/"mL" is not a unit of temperature/);
    expect(unitKindProblem('[degF]', 'temperature')).toBeUndefined();
    expect(kindOf('10*6/mL')).toBe('numberConcentration');
    expect(kindOf('/min')).toBe('rotationalSpeed');
  });
});

describe('validation', () => {
  test('both example recipes are valid', () => {
    for (const r of [pbs(), mab()]) expect(validateRecipe(r.definition, catalogue)).toMatchObject({ ok: true });
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  test.each<[string, (d: any) => void, string]>([
    [
      'an unknown field',
      (d) => (d.procedure.unitProcedures[0].colour = 'red'),
      '/procedure/unitProcedures/0/colour: unknown field "colour"',
    ],
    [
      'a missing name',
      (d) => delete d.product.name,
      '/product/name: Invalid input: expected string, received undefined',
    ],
    [
      'an empty procedure',
      (d) => (d.procedure.unitProcedures = []),
      '/procedure/unitProcedures: a procedure needs at least one unit procedure',
    ],
    [
      'an operation without phases',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases = []),
      '/procedure/unitProcedures/0/operations/0/phases: Too small: expected array to have >=1 items',
    ],
    [
      'a duplicate step id',
      (d) => (d.procedure.unitProcedures[0].operations[1].phases[0].id = 'fill-wfi'),
      `/procedure/unitProcedures/0/operations/1/phases/0/id: the id "fill-wfi" is already used at ${phase0}`,
    ],
    [
      'a step id reused by an operation',
      (d) => (d.procedure.unitProcedures[0].operations[1].id = 'charge'),
      '/procedure/unitProcedures/0/operations/1/id: the id "charge" is already used at /procedure/unitProcedures/0/operations/0',
    ],
    [
      'a badly formed id',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].id = 'Fill WFI'),
      `${phase0}/id: expected an id of lower-case letters, digits and dashes, starting with a letter`,
    ],
    [
      'an unknown equipment class',
      (d) => (d.procedure.unitProcedures[0].equipmentClass = 'CENTRIFUGE'),
      '/procedure/unitProcedures/0/equipmentClass: unknown equipment class "CENTRIFUGE"',
    ],
    [
      'a phase the class does not have',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].phase = 'CULTIVATE'),
      `${phase0}/phase: equipment class "MIXER" has no phase CULTIVATE (it has FILL, MIX, HEAT, TRANSFER)`,
    ],
    [
      'an unknown material',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[1].material = 'UNOBTAINIUM'),
      '/procedure/unitProcedures/0/operations/0/phases/1/material: unknown material "UNOBTAINIUM"',
    ],
    [
      'a material unit that is not its kind',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[1].quantity.unit = 'mL'),
      '/procedure/unitProcedures/0/operations/0/phases/1/quantity/unit: "mL" cannot be converted to NACL\'s base unit kg',
    ],
    [
      'a zero quantity',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[1].quantity.value = 0),
      '/procedure/unitProcedures/0/operations/0/phases/1/quantity/value: a material quantity must be more than 0',
    ],
    [
      'a temperature in mL',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].reports[1].unit = 'mL'),
      `${phase0}/reports/1/unit: "mL" is not a unit of temperature (for example Cel)`,
    ],
    [
      'a unit that is not UCUM',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].setpoints[0].unit = 'litres'),
      `${phase0}/setpoints/0/unit: "litres" is not a valid UCUM code`,
    ],
    [
      'limits out of order',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].setpoints[0].low = 805),
      `${phase0}/setpoints/0/target: limits out of order: low 805 > target 800 (expected min ≤ low ≤ target ≤ high ≤ max)`,
    ],
    [
      'a validation range inside the limits',
      (d) => (d.procedure.unitProcedures[0].operations[2].phases[0].results[0].max = 7.45),
      '/procedure/unitProcedures/0/operations/2/phases/0/results/0/max: limits out of order: high 7.5 > max 7.45 (expected min ≤ low ≤ target ≤ high ≤ max)',
    ],
    [
      'a setpoint the phase does not take',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].setpoints[0].id = 'pressure'),
      `${phase0}/setpoints/0/id: MIXER FILL has no parameter "pressure" (it has volume)`,
    ],
    [
      'a report of another kind than the phase gives',
      (d) =>
        Object.assign(d.procedure.unitProcedures[0].operations[0].phases[0].reports[1], {
          quantity: 'volume',
          unit: 'L',
        }),
      `${phase0}/reports/1/quantity: MIXER FILL's report "temperature" is a temperature, not a volume`,
    ],
    [
      'a setpoint without target',
      (d) => delete d.procedure.unitProcedures[0].operations[0].phases[0].setpoints[0].target,
      `${phase0}/setpoints/0/target: a setpoint needs a target`,
    ],
    [
      'a temperature that scales',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].reports[1].scaling = 'linear'),
      `${phase0}/reports/1/scaling: a temperature does not scale with the batch size`,
    ],
    [
      'a locale string for a number',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].setpoints[0].target = '800,5'),
      `${phase0}/setpoints/0/target: Invalid input: expected number, received string`,
    ],
    [
      'NaN (as JSON would carry it: null)',
      (d) => (d.batchSize.nominal = null),
      '/batchSize/nominal: Invalid input: expected number, received null',
    ],
    [
      'Infinity',
      (d) => (d.batchSize.max = Infinity),
      '/batchSize/max: Invalid input: expected number, received Infinity',
    ],
    [
      'a batch size range not around the nominal',
      (d) => (d.batchSize.min = 1200),
      '/batchSize: expected min ≤ nominal ≤ max, got 1200 ≤ 1000 ≤ 2000',
    ],
    [
      'a batch size in a unit of time',
      (d) => (d.batchSize.unit = 'h'),
      '/batchSize/unit: "h" is not a unit of mass, volume or amount',
    ],
    [
      'a zero duration',
      (d) =>
        d.procedure.unitProcedures[0].operations[0].phases.push({
          id: 'rest',
          name: 'Rest',
          kind: 'hold',
          duration: { value: 0, unit: 'min' },
        }),
      '/procedure/unitProcedures/0/operations/0/phases/5/duration/value: a duration must be more than 0',
    ],
    [
      'a duration that is not a time',
      (d) =>
        d.procedure.unitProcedures[0].operations[0].phases.push({
          id: 'rest',
          name: 'Rest',
          kind: 'hold',
          duration: { value: 5, unit: 'kg' },
        }),
      '/procedure/unitProcedures/0/operations/0/phases/5/duration/unit: "kg" is not a unit of time (for example min)',
    ],
    [
      'an unknown phase kind',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[0].kind = 'magic'),
      `${phase0}/kind: Invalid discriminator value. Expected 'equipment' | 'instruction' | 'material' | 'hold' | 'sample' | 'approval'`,
    ],
    [
      'a pH in another unit',
      (d) => (d.procedure.unitProcedures[0].operations[2].phases[0].results[0].unit = 'mmol/L'),
      '/procedure/unitProcedures/0/operations/2/phases/0/results/0/unit: a pH is given in [pH], not "mmol/L"',
    ],
    [
      'an administrator as performer',
      (d) => (d.procedure.unitProcedures[0].operations[0].phases[1].performedBy = ['admin']),
      '/procedure/unitProcedures/0/operations/0/phases/1/performedBy/0: administrators do not perform or sign GMP steps',
    ],
    [
      'the first unit procedure running with a previous one',
      (d) => (d.procedure.unitProcedures[0].start = 'with-previous'),
      '/procedure/unitProcedures/0/start: the first unit procedure has no previous one to run with',
    ],
  ])('refuses %s, naming the place', (_what, mutate, expected) => {
    expect(problemsAfter(mutate)).toContain(expected);
  });
});

describe('compiler', () => {
  test('the plan is flat and explicit: numbered steps, stages for parallel unit procedures, defaults filled in', () => {
    const r = mab();
    const plan = compilePlan(validateOk(r.definition), {
      code: r.code,
      name: r.name,
      version: 1,
      versionId: identity.versionId,
    });
    expect(plan.stages).toHaveLength(1);
    expect(plan.stages[0].unitProcedures.map((u) => u.id)).toEqual(['production', 'harvest-vessel']);
    expect(plan.steps.map((s) => s.number)).toEqual(plan.steps.map((_, i) => i + 1));
    const inoculum = plan.steps.find((s) => s.id === 'add-inoculum')!;
    expect(inoculum).toMatchObject({
      kind: 'material',
      performedBy: ['operator'],
      signatures: { performed: true, verified: true, verifiedBy: ['operator'] },
      acceptance: { low: 190, high: 210 },
    });
    const settle = plan.steps.find((s) => s.id === 'settle')!;
    expect(settle).toMatchObject({ kind: 'hold', durationMs: 300_000 });
    const decision = plan.steps.find((s) => s.id === 'harvest-decision')!;
    expect(decision).toMatchObject({ kind: 'approval', performedBy: ['qa'], meaning: 'approved' });
    const transfer = plan.steps.find((s) => s.id === 'transfer')!;
    expect(transfer).toMatchObject({
      kind: 'equipment',
      equipmentClass: 'BIOREACTOR',
      phase: 'TRANSFER',
      setpoints: [{ id: 'volume', scaling: 'linear' }],
    });
    expect(plan.steps.find((s) => s.id === 'heat-medium')).toMatchObject({
      setpoints: [{ id: 'temperature', scaling: 'fixed' }],
    });

    const sequential = compilePlan(validateOk(pbs().definition), identity);
    expect(sequential.stages).toHaveLength(1);
    expect(sequential.stages[0].unitProcedures[0].steps[0]).toBe('fill-wfi');
  });

  test('determinism: the same recipe gives the same hash; any change gives another', () => {
    const a = planHash(compilePlan(validateOk(pbs().definition), identity));
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const reordered = reverseKeys(pbs().definition);
    expect(Object.keys(reordered as object)[0]).toBe('procedure');
    expect(planHash(compilePlan(validateOk(pbs().definition), identity))).toBe(a);
    expect(planHash(compilePlan(validateOk(reordered), identity))).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    const changed = structuredClone(pbs().definition);
    (changed.procedure.unitProcedures[0].operations[0].phases[1] as { tolerancePercent: number }).tolerancePercent =
      1.5;
    expect(planHash(compilePlan(validateOk(changed), identity))).not.toBe(a);
    expect(planHash(compilePlan(validateOk(pbs().definition), { ...identity, version: 2 }))).not.toBe(a);
  });
});

function validateOk(d: unknown): RecipeDefinition {
  const r = validateRecipe(d, catalogue);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.definition;
}

describe('scaling', () => {
  const plan = compilePlan(validateOk(pbs().definition), identity);
  const hash = planHash(plan);

  test('linear for material amounts and extensive setpoints, fixed for the rest and for quantities marked fixed', () => {
    const half = scalePlan(plan, hash, 500);
    expect(half.scaling).toEqual({ planHash: hash, batchSize: { value: 500, unit: 'L' }, factor: 0.5 });
    expect(half.steps.find((s) => s.id === 'add-nacl')).toMatchObject({
      quantity: { value: 4, unit: 'kg' },
      acceptance: { low: 3.96, high: 4.04 },
    });
    expect(half.steps.find((s) => s.id === 'qs-wfi')).toMatchObject({
      setpoints: [{ target: 500, low: 497.5, high: 502.5 }],
      reports: [{ low: 497.5, high: 502.5 }],
    });
    expect(half.steps.find((s) => s.id === 'mix')).toMatchObject({ setpoints: [{ target: 120 }, { target: 30 }] });
    const fixed = structuredClone(pbs().definition);
    fixed.procedure.unitProcedures[0].operations[0].phases[2] = {
      ...fixed.procedure.unitProcedures[0].operations[0].phases[2],
      scaling: 'fixed',
    } as never;
    const fixedPlan = compilePlan(validateOk(fixed), identity);
    expect(scalePlan(fixedPlan, planHash(fixedPlan), 500).steps.find((s) => s.id === 'add-kcl')).toMatchObject({
      quantity: { value: 0.2 },
    });
  });

  test('is pure and exact: the same size gives the same plan, with no floating-point noise', () => {
    const a = scalePlan(plan, hash, 300);
    expect(scalePlan(plan, hash, 300)).toEqual(a);
    expect(a.steps.find((s) => s.id === 'add-kh2po4')).toMatchObject({ quantity: { value: 72, unit: 'g' } }); // 240 × 0.3, not 71.99999999999999
    expect(plan.steps.find((s) => s.id === 'add-nacl')).toMatchObject({ quantity: { value: 8 } }); // the approved plan is untouched
  });

  test('refuses a size outside the recipe’s range', () => {
    expect(() => scalePlan(plan, hash, 199)).toThrow(BatchSizeOutOfRange);
    expect(() => scalePlan(plan, hash, 2001)).toThrow(/outside the recipe's range 200–2000 L/);
    expect(() => scalePlan(plan, hash, NaN)).toThrow(BatchSizeOutOfRange);
  });
});

describe('yield', () => {
  test('a recipe names where its yield is measured; the plan carries it, scaled with the batch, with the conversion to the theoretical', () => {
    const m = compilePlan(validateOk(mab().definition), identity);
    expect(m.yield).toEqual({
      stepId: 'transfer',
      source: { report: 'transferred' },
      unit: 'L',
      theoretical: { value: 1650, unit: 'L' },
      toTheoretical: 1,
      limits: { low: 85, high: 105 },
    });
    expect(scalePlan(m, planHash(m), 1500).yield).toMatchObject({ theoretical: { value: 1237.5, unit: 'L' } });
    // By default the theoretical yield is the batch size; a measurement in mL converts.
    const p = structuredClone(pbs().definition);
    p.procedure.unitProcedures[0].operations[2].phases[0] = {
      ...p.procedure.unitProcedures[0].operations[2].phases[0],
      results: [
        ...(p.procedure.unitProcedures[0].operations[2].phases[0] as { results: unknown[] }).results,
        { type: 'number', id: 'final-volume', label: 'Final volume', quantity: 'volume', unit: 'mL' },
      ],
    } as never;
    p.yield = { measuredBy: { step: 'ph-conductivity', field: 'final-volume' }, limits: { low: 95, high: 105 } };
    expect(compilePlan(validateOk(p), identity).yield).toEqual({
      stepId: 'ph-conductivity',
      source: { field: 'final-volume' },
      unit: 'mL',
      theoretical: { value: 1000, unit: 'L' },
      toTheoretical: 0.001,
      limits: { low: 95, high: 105 },
    });
    // A recipe without a yield compiles as before: no member, the same hash as before yields existed.
    const without = structuredClone(pbs().definition);
    delete without.yield;
    expect(compilePlan(validateOk(without), identity)).not.toHaveProperty('yield');
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  test.each<[string, (d: any) => void, string]>([
    [
      'neither report nor field',
      (d) => (d.yield.measuredBy = { step: 'qs-wfi' }),
      '/yield/measuredBy: name either the report (of an equipment phase) or the field (of an operator step) that measures the yield',
    ],
    [
      'both',
      (d) => (d.yield.measuredBy = { step: 'qs-wfi', report: 'volume', field: 'x' }),
      '/yield/measuredBy: name either the report (of an equipment phase) or the field (of an operator step) that measures the yield',
    ],
    [
      'an unknown step',
      (d) => (d.yield.measuredBy.step = 'nowhere'),
      '/yield/measuredBy/step: the recipe has no step "nowhere"',
    ],
    [
      'an unknown report',
      (d) => (d.yield.measuredBy.report = 'weight'),
      '/yield/measuredBy/report: step qs-wfi has no report "weight"',
    ],
    [
      'a report of another kind',
      (d) => (d.yield.measuredBy = { step: 'mix', report: 'time' }),
      '/yield/theoretical/unit: the yield is measured in min, which cannot be converted to L',
    ],
    [
      'limits out of order',
      (d) => (d.yield.limits = { low: 105, high: 95 }),
      '/yield/limits: expected 0 ≤ low < high (percent of the theoretical yield), got 105–95',
    ],
    [
      'a theoretical of nothing',
      (d) => (d.yield.theoretical = { value: 0, unit: 'L' }),
      '/yield/theoretical/value: the theoretical yield must be more than 0',
    ],
    [
      'a field that may be left empty',
      (d) => {
        d.procedure.unitProcedures[0].operations[2].phases[0].results.push({
          type: 'number',
          id: 'final-volume',
          label: 'Final volume',
          quantity: 'volume',
          unit: 'L',
          required: false,
        });
        d.yield.measuredBy = { step: 'ph-conductivity', field: 'final-volume' };
      },
      '/yield/measuredBy/field: the field "final-volume" of step ph-conductivity measures the yield: it must be required',
    ],
  ])('refuses %s', (_what, mutate, problem) => {
    expect(problemsAfter(mutate)).toContain(problem);
  });

  test('judged at the batch’s end: in percent of the theoretical, a deviation outside the limits, the output lot what was measured', () => {
    const y = {
      stepId: 'transfer',
      source: { report: 'transferred' },
      unit: 'L',
      theoretical: { value: 1650, unit: 'L' },
      toTheoretical: 1,
      limits: { low: 85, high: 105 },
    };
    expect(judgeYield(y, 1600)).toEqual({
      entry: {
        measured: { value: 1600, unit: 'L' },
        theoretical: { value: 1650, unit: 'L' },
        percent: 96.97,
        limits: { low: 85, high: 105 },
        source: { step: 'transfer', report: 'transferred' },
        outputLot: 'measured',
      },
      deviations: [],
      quantity: { value: 1600, unit: 'L' },
    });
    expect(judgeYield(y, 1300).deviations).toEqual([
      {
        stepId: 'transfer',
        field: 'yield',
        value: 78.79,
        unit: '%',
        low: 85,
        high: 105,
        comment: null,
        source: 'equipment',
      },
    ]);
    const unmeasured = judgeYield(y, null);
    expect(unmeasured).toMatchObject({
      entry: { measured: null, percent: null, outputLot: 'theoretical' },
      quantity: { value: 1650, unit: 'L' },
    });
    expect(unmeasured.deviations).toEqual([
      expect.objectContaining({ field: 'yield', value: null, comment: expect.stringMatching(/not measured/) }),
    ]);
  });
});

describe('diff', () => {
  test('lists changed fields, added, removed and moved steps, matched by id, with where they are in words', () => {
    const before = pbs().definition;
    const after = structuredClone(before);
    const charge = after.procedure.unitProcedures[0].operations[0];
    (charge.phases[1] as { tolerancePercent: number }).tolerancePercent = 0.5; // changed
    charge.phases.splice(2, 1); // remove add-kcl
    charge.phases.push({
      id: 'add-edta',
      name: 'Add EDTA',
      kind: 'instruction',
      text: 'Add EDTA',
      fields: [],
      signatures: { performed: false, verified: false },
    } as never);
    const [na2hpo4] = charge.phases.splice(2, 1); // move add-na2hpo4 after add-kh2po4
    charge.phases.splice(3, 0, na2hpo4);
    const changes = diffRecipes(before, after);
    expect(changes).toEqual(
      expect.arrayContaining([
        {
          kind: 'changed',
          path: '/procedure/unitProcedures/0/operations/0/phases/1/tolerancePercent',
          where:
            'Unit procedure ‘Buffer preparation’ › Operation ‘Charge water and salts’ › Phase ‘Add sodium chloride’ › tolerancePercent',
          before: 1,
          after: 0.5,
        },
        expect.objectContaining({
          kind: 'removed',
          path: '/procedure/unitProcedures/0/operations/0/phases/2',
          where:
            'Unit procedure ‘Buffer preparation’ › Operation ‘Charge water and salts’ › Phase ‘Add potassium chloride’',
        }),
        expect.objectContaining({
          kind: 'added',
          where: 'Unit procedure ‘Buffer preparation’ › Operation ‘Charge water and salts’ › Phase ‘Add EDTA’',
        }),
        expect.objectContaining({
          kind: 'moved',
          where:
            'Unit procedure ‘Buffer preparation’ › Operation ‘Charge water and salts’ › Phase ‘Add disodium hydrogen phosphate’',
        }),
      ]),
    );
    expect(changes).toHaveLength(5); // the move of one step shows as two positions swapping
    expect(diffRecipes(before, structuredClone(before))).toEqual([]);
  });

  test('a changed limit of a setpoint and the batch size', () => {
    const before = pbs().definition;
    const after = structuredClone(before);
    after.batchSize.max = 1500;
    (
      after.procedure.unitProcedures[0].operations[1].phases[0] as { setpoints: { high?: number }[] }
    ).setpoints[0].high = 150;
    expect(diffRecipes(before, after)).toEqual([
      { kind: 'changed', path: '/batchSize/max', where: 'batchSize › max', before: 2000, after: 1500 },
      {
        kind: 'changed',
        path: '/procedure/unitProcedures/0/operations/1/phases/0/setpoints/0/high',
        where:
          'Unit procedure ‘Buffer preparation’ › Operation ‘Dissolve and bring to volume’ › Phase ‘Mix until dissolved’ › Setpoint ‘Agitator speed’ › high',
        before: 140,
        after: 150,
      },
    ]);
  });
});

describe('lifecycle', () => {
  const legal: Record<RecipeAction, Partial<Record<RecipeStatus, RecipeStatus>>> = {
    edit: { draft: 'draft' },
    submit: { draft: 'in-review' },
    approve: { 'in-review': 'approved' },
    reject: { 'in-review': 'draft' },
    'make-effective': { approved: 'effective' },
    retire: { draft: 'retired', approved: 'retired', effective: 'retired', superseded: 'retired' },
  };

  test.each(RECIPE_ACTIONS.flatMap((a) => RECIPE_STATUSES.map((s) => [a, s] as const)))(
    '%s from %s',
    (action, status) => {
      const to = legal[action][status];
      const r = transition(status, action);
      if (to) expect(r).toEqual({ ok: true, to });
      else
        expect(r).toMatchObject({
          ok: false,
          reason: expect.stringContaining(`a version that is ${status} cannot be`),
        });
    },
  );

  test('only an Effective version launches', () => {
    expect(RECIPE_STATUSES.filter(launchable)).toEqual(['effective']);
  });
});
