/** The rules the batch workflow's validators apply to operators' entries: pure functions, every rule. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkCompletion, checkVerification, reportDeviations } from '../../domain/batch/completion';
import type { Weighing } from '../../domain/weighing';
import type { Signer, StepCompletion } from '../../domain/batch/types';
import { compilePlan } from '../../domain/recipe/compile';
import type { PlanStep } from '../../domain/recipe/plan';
import { validateRecipe } from '../../domain/recipe/validate';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';

const file = JSON.parse(readFileSync(path.resolve(__dirname, '../../demo/recipes/pbs-buffer-1000l.json'), 'utf8'));
const valid = validateRecipe(file.definition, {
  equipmentClasses: new Map(
    DEMO_EQUIPMENT_CLASSES.map((c) => [c.code, { phases: c.phases, interfaces: c.interfaces }]),
  ),
  materials: new Map(DEMO_MATERIALS.map((m) => [m.code, { baseUnit: m.baseUnit }])),
});
if (!valid.ok) throw new Error('the example recipe is invalid');
const plan = compilePlan(valid.definition, { code: 'PBS-1X', name: 'PBS', version: 1, versionId: 'v1' });
const step = (id: string): PlanStep => plan.steps.find((s) => s.id === id)!;
const today = '2026-11-27';
const operator: Signer = {
  userId: 'u1',
  username: 'op1',
  fullName: 'Op One',
  roles: ['operator'],
  meaning: 'performed',
  comment: null,
};
const sample = (values: StepCompletion['values'], extra: Partial<StepCompletion> = {}): StepCompletion => ({
  stepId: 'ph-conductivity',
  signer: operator,
  values,
  ...extra,
});
const lot = {
  lotId: 'l1',
  lotNumber: 'L1',
  material: 'NACL',
  status: 'released' as const,
  expiryDate: '2030-01-01',
  available: 20,
  quantity: 8,
};

/** A weighing from the scale of `kg` into a container, as the API passes it. */
const weighed = (kg: number): Weighing => ({
  source: 'scale',
  scale: 'SC-302',
  gross: kg + 0.5,
  tare: 0.5,
  net: kg,
  unit: 'kg',
  sourceTimestamp: '2026-11-27T08:00:00.000Z',
  serverTimestamp: '2026-11-27T08:00:00.000Z',
  calibrationDue: '2027-01-01',
  dailyCheckOn: '2026-11-27',
  container: 'IBC-1',
  inStepUnit: kg,
});

test('a weighed step takes its quantity from one weighing, into a container; a manual one says why', () => {
  const problems = (c: Partial<StepCompletion>) =>
    checkCompletion(
      step('add-nacl'),
      'awaiting-input',
      { stepId: 'add-nacl', signer: operator, values: {}, lots: [lot], ...c },
      today,
    ).problems;
  expect(problems({ weighing: weighed(8) })).toEqual([]);
  expect(problems({})).toEqual([
    'step add-nacl is weighed: its quantity comes from a scale (or, where the scale is down, a manual weighing with a reason)',
  ]);
  expect(problems({ weighing: weighed(8.01) })).toEqual([
    "the quantity taken from lot L1 is the weighing's 8.01, not 8",
  ]);
  expect(problems({ weighing: { ...weighed(8), container: ' ' } })).toEqual([
    'a weighing names the container dispensed into',
  ]);
  expect(
    problems({
      weighing: weighed(8),
      lots: [
        { ...lot, quantity: 4 },
        { ...lot, lotId: 'l2', lotNumber: 'L2', quantity: 4 },
      ],
    }),
  ).toContain('a weighing dispenses from one lot');
  expect(
    problems({
      weighing: {
        source: 'manual',
        scale: null,
        net: 8,
        unit: 'kg',
        reason: ' ',
        scaleDown: 'x',
        container: 'C',
        inStepUnit: 8,
      },
    }),
  ).toEqual(['a manual weighing needs a reason']);
  expect(
    checkCompletion(
      step('ph-conductivity'),
      'awaiting-input',
      sample({ ph: 7.4, conductivity: 15.5, appearance: true }, { weighing: weighed(1) }),
      today,
    ).problems,
  ).toEqual(['step ph-conductivity is not weighed: it takes no weighing']);
});

test('a complete, in-limit entry passes with no deviation', () => {
  expect(
    checkCompletion(
      step('ph-conductivity'),
      'awaiting-input',
      sample({ ph: 7.4, conductivity: 15.5, appearance: true }),
      today,
    ),
  ).toEqual({ problems: [], deviations: [] });
});

test.each<[string, PlanStep['id'], StepCompletion, string]>([
  [
    'the wrong role',
    'ph-conductivity',
    sample({ ph: 7.4, conductivity: 15.5, appearance: true }, { signer: { ...operator, roles: ['planner'] } }),
    'performing ph-conductivity needs the role operator',
  ],
  [
    'an administrator',
    'ph-conductivity',
    sample(
      { ph: 7.4, conductivity: 15.5, appearance: true },
      { signer: { ...operator, roles: ['admin', 'operator'] } },
    ),
    'administrators do not perform or sign GMP steps',
  ],
  [
    'the wrong meaning',
    'ph-conductivity',
    sample({ ph: 7.4, conductivity: 15.5, appearance: true }, { signer: { ...operator, meaning: 'approved' } }),
    'completing step ph-conductivity is signed "performed", not "approved"',
  ],
  [
    'a missing value',
    'ph-conductivity',
    sample({ ph: 7.4, appearance: true }),
    '"Conductivity at 25 °C" (conductivity) is required',
  ],
  [
    'an unknown field',
    'ph-conductivity',
    sample({ ph: 7.4, conductivity: 15.5, appearance: true, colour: 'blue' }),
    'step ph-conductivity has no field "colour"',
  ],
  [
    'a wrong type',
    'ph-conductivity',
    sample({ ph: '7.4', conductivity: 15.5, appearance: true }),
    '"pH at 25 °C" must be a number',
  ],
  [
    'an implausible value',
    'ph-conductivity',
    sample({ ph: 15, conductivity: 15.5, appearance: true }),
    '"pH at 25 °C" 15 [pH] is outside the plausible range 0–14',
  ],
  [
    'a deviation without a comment',
    'ph-conductivity',
    sample({ ph: 7.6, conductivity: 15.5, appearance: true }),
    '"pH at 25 °C" 7.6 [pH] is outside its limits 7.3–7.5: a deviation needs a comment',
  ],
  [
    'a pass/fail given as text',
    'ph-conductivity',
    sample({ ph: 7.4, conductivity: 15.5, appearance: 'yes' }),
    '"Clear, colourless, free of visible particles" must be true (pass) or false (fail)',
  ],
  [
    'a late entry without a reason',
    'ph-conductivity',
    sample(
      { ph: 7.4, conductivity: 15.5, appearance: true },
      { lateEntry: { performedAt: '2026-11-27T08:00:00Z', reason: ' ' } },
    ),
    'a late entry needs a reason',
  ],
  [
    'a material step without lots',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {} },
    'step add-nacl needs the lot(s) of NACL used',
  ],
  [
    'another material',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {}, lots: [{ ...lot, material: 'KCL' }] },
    'lot L1 is KCL, not NACL',
  ],
  [
    'a quarantined lot',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {}, lots: [{ ...lot, status: 'quarantine' }] },
    'lot L1 is quarantine, not released',
  ],
  [
    'an expired lot',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {}, lots: [{ ...lot, expiryDate: '2026-11-26' }] },
    'lot L1 expired on 2026-11-26',
  ],
  [
    'a lot marked expired before its date',
    'add-nacl',
    {
      stepId: 'add-nacl',
      signer: operator,
      values: {},
      lots: [{ ...lot, status: 'expired', expiryDate: '2099-12-31' }],
    },
    'lot L1 was marked expired (before its expiry date, 2099-12-31)',
  ],
  [
    'more than the lot holds',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {}, lots: [{ ...lot, available: 5 }] },
    'lot L1 holds 5 kg, less than 8',
  ],
  [
    'the same lot twice',
    'add-nacl',
    {
      stepId: 'add-nacl',
      signer: operator,
      values: {},
      lots: [
        { ...lot, quantity: 4 },
        { ...lot, quantity: 4 },
      ],
    },
    'lot L1 is listed twice',
  ],
  [
    'too little, no comment',
    'add-nacl',
    { stepId: 'add-nacl', signer: operator, values: {}, lots: [{ ...lot, quantity: 7 }] },
    '7 kg of NACL is outside 7.92–8.08 kg: a deviation needs a comment',
  ],
])('refuses %s', (_what, id, c, problem) => {
  expect(checkCompletion(step(id), 'awaiting-input', c, today).problems).toContain(problem);
});

test('a step that is not awaiting input takes no entry: a conflict with its state, not a wrong value', () => {
  expect(
    checkCompletion(
      step('ph-conductivity'),
      'pending',
      sample({ ph: 7.4, conductivity: 15.5, appearance: true }),
      today,
    ),
  ).toEqual({ notAwaited: 'step ph-conductivity is pending, not awaiting input', problems: [], deviations: [] });
});

test('a late entry lies between the moment the step became ready and now', () => {
  const readyAt = Date.parse('2026-11-27T08:00:00Z');
  const now = Date.parse('2026-11-27T10:00:00Z');
  const late = (performedAt: string) =>
    checkCompletion(
      step('ph-conductivity'),
      'awaiting-input',
      sample(
        { ph: 7.4, conductivity: 15.5, appearance: true },
        { lateEntry: { performedAt, reason: 'printout found later' } },
      ),
      today,
      { readyAt, now },
    ).problems;
  expect(late('2026-11-27T09:00:00Z')).toEqual([]);
  expect(late('2026-11-27T08:00:00Z')).toEqual([]);
  expect(late('2020-01-01T00:00:00Z')).toEqual([
    'a late entry must lie between the moment step ph-conductivity became ready (2026-11-27T08:00:00.000Z) and now (2026-11-27T10:00:00.000Z): 2020-01-01T00:00:00Z does not',
  ]);
  expect(late('2026-11-27T07:59:59.999Z')).toHaveLength(1);
  expect(late('2026-11-27T10:00:00.001Z')).toHaveLength(1);
});

test('a deviation with its comment is accepted and reported', () => {
  const v = checkCompletion(
    step('add-nacl'),
    'awaiting-input',
    {
      stepId: 'add-nacl',
      signer: operator,
      values: {},
      lots: [{ ...lot, quantity: 7 }],
      deviationComments: { quantity: 'lot ran out, remainder from the next lot' },
      weighing: weighed(7),
    },
    today,
  );
  expect(v.problems).toEqual([]);
  expect(v.deviations).toEqual([
    {
      stepId: 'add-nacl',
      field: 'quantity',
      value: 7,
      unit: 'kg',
      low: 7.92,
      high: 8.08,
      comment: 'lot ran out, remainder from the next lot',
      source: 'operator',
    },
  ]);
});

test('verification: awaiting it, by the right role, never by the performer', () => {
  const verifier = { ...operator, userId: 'u2', meaning: 'verified' as const };
  expect(
    checkVerification(step('add-nacl'), 'awaiting-verification', 'u1', { stepId: 'add-nacl', signer: verifier }),
  ).toEqual({ problems: [] });
  expect(
    checkVerification(step('add-nacl'), 'awaiting-verification', 'u1', {
      stepId: 'add-nacl',
      signer: { ...verifier, userId: 'u1' },
    }),
  ).toEqual({ problems: ['the person who performed step add-nacl cannot verify it'] });
  expect(checkVerification(step('add-nacl'), 'done', 'u1', { stepId: 'add-nacl', signer: verifier })).toEqual({
    notAwaited: 'step add-nacl is done, not awaiting verification',
    problems: [],
  });
  expect(
    checkVerification(step('add-nacl'), 'awaiting-verification', 'u1', {
      stepId: 'add-nacl',
      signer: { ...verifier, roles: ['qa'] },
    }),
  ).toEqual({ problems: ['verifying add-nacl needs the role operator'] });
});

test('equipment reports outside their limits are deviations for QA', () => {
  const fill = step('fill-wfi') as Extract<PlanStep, { kind: 'equipment' }>;
  expect(
    reportDeviations(fill, [
      { id: 'volume', value: 800 },
      { id: 'temperature', value: 35 },
    ]),
  ).toEqual([
    {
      stepId: 'fill-wfi',
      field: 'temperature',
      value: 35,
      unit: 'Cel',
      low: 15,
      high: 30,
      comment: null,
      source: 'equipment',
    },
  ]);
});
