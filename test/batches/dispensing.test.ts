/**
 * Weigh and dispense, through the API and the batch workflow, against the simulator's scales over OPC UA: a scale
 * is usable only once calibrated and checked today (each refusal names why); a weighed step's quantity is the
 * scale's stable net weight — an unstable or Bad one is refused, one outside the tolerance is a deviation with a
 * comment — recorded with the scale, its calibration, gross, tare and time; the lot's ledger takes exactly what was
 * weighed; where the scale is down a typed weight needs a reason and a second person.
 */
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { pdfText } from '../support/pdf-text';
import { until } from '../support/wait';

let env: BatchEnv;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  env = await startBatchEnv({ qualifyScales: false });
  await env.startWorker();
}, 120_000);
afterAll(async () => env?.close());

async function as(user: string, method: string, path: string, body?: unknown) {
  return env.api.request(method, path, body, { token: await env.token(user) });
}
const sign = (username: string, meaning: string) => ({ username, password: DEMO_PASSWORD, meaning });

/** The test's recipe: three weighed steps on one mixer, none of them verified by a second person. */
const RECIPE = {
  format: 'ampoule-recipe/1',
  code: 'DISPENSE-1',
  name: 'Dispensing test',
  definition: {
    product: { code: 'PBS-1X', name: 'Phosphate-buffered saline 1X, pH 7.4' },
    batchSize: { nominal: 100, min: 50, max: 200, unit: 'L' },
    procedure: {
      unitProcedures: [
        {
          id: 'prep',
          name: 'Preparation',
          equipmentClass: 'MIXER',
          operations: [
            {
              id: 'charge',
              name: 'Charge the salts',
              phases: [
                ['add-nacl', 'NACL', { value: 2.5, unit: 'kg' }, 1],
                ['add-kcl', 'KCL', { value: 250, unit: 'g' }, 2],
                ['top-up-nacl', 'NACL', { value: 1, unit: 'kg' }, 5],
              ].map(([id, material, quantity, tolerancePercent]) => ({
                id,
                name: `Dispense ${material}`,
                kind: 'material',
                material,
                quantity,
                tolerancePercent,
                weighed: true,
                signatures: { performed: true },
              })),
            },
          ],
        },
      ],
    },
  },
};

let batch: string;
const lots: Record<string, string> = {};

async function stepReaches(stepId: string, status: string): Promise<void> {
  await until(async () => {
    const live = (await as('qa1', 'GET', `/batches/${batch}`)).body.live as Json;
    return live.steps.find((s: Json) => s.id === stepId)?.status === status;
  }, 30_000);
}

async function settled(scale: string): Promise<Json> {
  return until(async () => {
    const r = await as('operator1', 'GET', `/scales/${scale}/reading`);
    return r.body.reading?.stable ? r.body.reading : undefined;
  }, 10_000);
}

/** The scale cleared, an empty container put on and tared, then `kg` put in by hand (no simulated pouring), settled. */
async function weighOut(scale: string, kg: number): Promise<Json> {
  const terminal = env.simulator.scale(scale);
  terminal.autoPour = false;
  terminal.place(-terminal.load);
  terminal.place(0.5);
  await settled(scale);
  expect((await as('operator1', 'POST', `/scales/${scale}/tare`)).status).toBe(200);
  terminal.place(kg);
  return settled(scale);
}

const lotQuantity = async (material: string) => (await as('qa1', 'GET', `/lots/${lots[material]}`)).body.quantity;

beforeAll(async () => {
  for (const [material, quantity, unit] of [
    ['NACL', 10, 'kg'],
    ['KCL', 1, 'kg'],
  ] as const) {
    const r = await as('operator1', 'POST', '/lots', {
      material,
      quantity,
      unit,
      expiryDate: '2099-12-31',
      supplier: 'Merck KGaA',
      supplierLot: `D-${material}`,
    });
    lots[material] = r.body.lotNumber;
    await as('qa1', 'POST', `/lots/${r.body.id}/status`, {
      status: 'released',
      reason: 'CoA reviewed',
      signature: sign('qa1', 'released'),
    });
  }
  expect((await as('planner', 'POST', '/recipes/import', { file: RECIPE, reason: 'dispensing test' })).status).toBe(
    201,
  );
  await as('planner', 'POST', '/recipes/DISPENSE-1/versions/1/submit', { signature: sign('planner', 'authored') });
  await as('qa1', 'POST', '/recipes/DISPENSE-1/versions/1/approve', { signature: sign('qa1', 'approved') });
  await as('qa1', 'POST', '/recipes/DISPENSE-1/versions/1/make-effective', { reason: 'dispensing test' });
  const launched = await as('planner', 'POST', '/batches', { recipe: 'DISPENSE-1', batchSize: 100 });
  expect(launched.status).toBe(201);
  batch = launched.body.number;
  await stepReaches('add-nacl', 'awaiting-input');
}, 60_000);

test('a scale is usable only calibrated and checked today: each refusal says why, until it is', async () => {
  const dispensing = `/batches/${batch}/steps/add-nacl/dispensing`;
  const refusal = async (body: Json = { scale: 'SC-302' }) => {
    const r = await as('operator1', 'POST', dispensing, body);
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('/api/problems/scale-unusable');
    return r.body.detail as string;
  };
  expect(await refusal()).toBe('scale SC-302 has no calibration on record');
  // Any scale: the finest first, each with its reason.
  expect(await refusal({})).toBe(
    'scale SC-302 has no calibration on record; scale SC-301 has no calibration on record',
  );

  const calibrate = (calibratedOn: string, dueOn: string, user = 'qa1') =>
    as(user, 'POST', '/scales/SC-302/calibrations', {
      calibratedOn,
      dueOn,
      certificate: `CAL-${calibratedOn}`,
      signature: sign(user, 'approved'),
    });
  expect((await calibrate('2025-01-02', '2025-12-31', 'operator1')).status).toBe(403);
  expect(
    (
      await as('qa1', 'POST', '/scales/SC-302/calibrations', {
        calibratedOn: '2025-01-02',
        dueOn: '2025-12-31',
        certificate: 'x',
      })
    ).status,
  ).toBe(422);
  expect((await calibrate('2025-01-02', '2025-12-31')).status).toBe(201);
  expect(await refusal()).toBe("scale SC-302's calibration ran out on 2025-12-31");

  const today = new Date().toISOString().slice(0, 10);
  const calibrated = await calibrate(today, `${Number(today.slice(0, 4)) + 1}-01-01`);
  expect(calibrated.status).toBe(201);
  expect(calibrated.body.signature).toMatchObject({ meaning: 'approved', username: 'qa1' });
  expect(await refusal()).toBe('scale SC-302 has no passed daily check today (0.3 kg, 4 kg missing)');

  // The daily check reads each test weight from the scale: a moving one is refused and nothing recorded.
  const terminal = env.simulator.scale('SC-302');
  const check = (nominal: number) =>
    as('operator1', 'POST', '/scales/SC-302/checks', { nominal, signature: sign('operator1', 'performed') });
  await weighOut('SC-302', 0.3);
  terminal.vibrating = true;
  const moving = await check(0.3);
  expect(moving.status).toBe(409);
  expect(moving.body.detail).toMatch(/not stable/);
  terminal.vibrating = false;
  await settled('SC-302');
  expect((await as('qa1', 'GET', '/scales/SC-302')).body.checksToday).toEqual([]);
  const small = await check(0.3);
  expect(small.status).toBe(201);
  expect(small.body.check).toMatchObject({ passed: true, low: 0.2998, high: 0.3002 });
  expect((await check(1)).body.detail).toMatch(/weighs 0.3 kg, 4 kg, not 1/);
  // The large test weight reads 10 g heavy: outside ± 0.5 g, recorded as failed; the scale is barred.
  await weighOut('SC-302', 4.01);
  const failed = await check(4);
  expect(failed.status).toBe(201);
  expect(failed.body.check).toMatchObject({ passed: false });
  expect(await refusal()).toMatch(
    /^scale SC-302 failed its daily check with 4 kg \(read 4.01\) at .*: calibrate it before use$/,
  );

  // Calibrated again: the checks before the calibration count no more; both test weights checked again, usable.
  expect((await calibrate(today, `${Number(today.slice(0, 4)) + 1}-01-01`)).status).toBe(201);
  expect(await refusal()).toBe('scale SC-302 has no passed daily check today (0.3 kg, 4 kg missing)');
  await weighOut('SC-302', 0.3);
  const again = await check(0.3);
  expect(again.headers.get('location')).toBe(`/api/scales/SC-302/checks/${again.body.check.id}`);
  expect((await as('qa1', 'GET', `/scales/SC-302/checks/${again.body.check.id}`)).body).toMatchObject({
    nominal: 0.3,
    passed: true,
    checkDate: today,
    reading: { scale: 'SC-302', net: 0.3, tare: 0.5, stable: true, quality: 'Good' },
  });
  await weighOut('SC-302', 4);
  expect((await check(4)).body.check).toMatchObject({ passed: true });
  const scale = (await as('operator1', 'GET', '/scales/SC-302')).body;
  expect(scale).toMatchObject({
    usable: true,
    problem: null,
    calibrationDue: `${Number(today.slice(0, 4)) + 1}-01-01`,
  });
  expect(scale.checksToday.map((c: Json) => [c.nominal, c.passed])).toEqual([
    [0.3, true],
    [4, false],
    [0.3, true],
    [4, true],
  ]);
}, 60_000);

test('the stable net weight is taken from the scale, an unstable or Bad one refused; the ledger to the gram', async () => {
  const held = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/dispensing`, {});
  expect(held.status).toBe(200);
  expect(held.body).toMatchObject({
    material: 'NACL',
    target: { value: 2.5, unit: 'kg' },
    acceptance: { low: 2.475, high: 2.525, unit: 'kg' },
    scale: { code: 'SC-302', heldFor: { batch, step: 'add-nacl' } },
  });
  // The target is shown on the scale's terminal.
  await until(async () => env.simulator.scale('SC-302').target === 2.5, 5_000);

  const complete = (body: Json = {}) =>
    as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
      lots: [{ lot: lots.NACL }],
      container: 'IBC-0042',
      signature: sign('operator1', 'performed'),
      ...body,
    });
  const terminal = env.simulator.scale('SC-302');
  // The scale is its holder's: another operator can neither tare it nor let it go.
  expect((await as('operator2', 'POST', '/scales/SC-302/tare')).status).toBe(409);
  expect((await as('operator2', 'DELETE', `/batches/${batch}/steps/add-nacl/dispensing`)).status).toBe(409);
  // Poured straight onto the platform, nothing tared: refused.
  terminal.autoPour = false;
  terminal.place(-terminal.load);
  await settled('SC-302');
  expect((await as('operator1', 'POST', '/scales/SC-302/tare')).status).toBe(200);
  terminal.place(2.5);
  await settled('SC-302');
  expect((await complete()).body.detail).toMatch(/not tared: put the empty container on it and tare/);
  await weighOut('SC-302', 2.5013);
  // Tared again with the step's weight on it (a tare sent again after its answer was lost, or pressed twice), the
  // weighed portion would become the container and be poured twice: refused, the terminal left as it was. With the
  // weight taken off, the tare is taken.
  const again = await as('operator1', 'POST', '/scales/SC-302/tare');
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ type: '/api/problems/weight-on-scale', reading: { tare: 0.5, net: 2.5013 } });
  expect(terminal.tare).toBe(0.5);
  terminal.place(-2.5013);
  await settled('SC-302');
  expect((await as('operator1', 'POST', '/scales/SC-302/tare')).status).toBe(200);
  terminal.place(2.5013);
  await settled('SC-302');
  terminal.vibrating = true;
  const unstable = await complete();
  expect(unstable.status).toBe(409);
  expect(unstable.body).toMatchObject({ type: '/api/problems/weight-not-taken', reading: { stable: false } });
  terminal.vibrating = false;
  terminal.failed = true;
  const bad = await complete();
  expect(bad.status).toBe(409);
  expect(bad.body.detail).toMatch(/BadSensorFailure: only a Good weight is taken/);
  terminal.failed = false;
  await settled('SC-302');
  expect(await lotQuantity('NACL')).toBe(10);
  expect((await complete({ container: undefined })).body.detail).toMatch(/scan the container/);

  const done = await complete();
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('done');
  // 10 kg less the 2.5013 kg weighed: to the tenth of a gram.
  expect(await lotQuantity('NACL')).toBe(7.4987);
  const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as Json[];
  const weighing = ebr.find((e) => e.kind === 'weighing' && e.stepId === 'add-nacl')!;
  expect(weighing.data).toMatchObject({
    source: 'scale',
    scale: 'SC-302',
    gross: 3.0013,
    tare: 0.5,
    net: 2.5013,
    unit: 'kg',
    container: 'IBC-0042',
    material: 'NACL',
    lot: lots.NACL,
    inStepUnit: 2.5013,
    calibrationDue: expect.stringMatching(/^\d{4}-01-01$/),
    dailyCheckOn: new Date().toISOString().slice(0, 10),
  });
  expect(
    Math.abs(Date.parse(weighing.data.sourceTimestamp) - Date.parse(weighing.recordedAt ?? weighing.occurredAt)),
  ).toBeLessThan(30_000);
  expect(ebr.find((e) => e.kind === 'lots-consumed' && e.stepId === 'add-nacl')!.data.lots).toEqual([
    expect.objectContaining({ lotNumber: lots.NACL, quantity: 2.5013 }),
  ]);
  // The container's label: what is in it, from which lot, for which batch, by whom — and as a GS1 DataMatrix.
  const label = await fetch(`${env.api.url}/api/batches/${batch}/steps/add-nacl/label.pdf`, {
    headers: { Authorization: `Bearer ${await env.token('operator2')}` },
  });
  expect(label.status).toBe(200);
  expect(label.headers.get('content-type')).toMatch(/^application\/pdf/);
  const text = (await pdfText(Buffer.from(await label.arrayBuffer()))).replace(/\s+/g, ' ');
  for (const expected of [
    'NACL',
    'Sodium chloride',
    '2.5013 kg net',
    `Lot ${lots.NACL}`,
    `Batch ${batch} (PBS-1X)`,
    'Step add-nacl',
    'Container IBC-0042',
    'Weighed on scale SC-302',
    'Dispensed by Olivia Operator',
    `(91)${batch}/add-nacl/IBC-0042(92)${lots.NACL}(93)2.5013kg`,
  ])
    expect(text).toContain(expected);
  expect(
    (
      await fetch(`${env.api.url}/api/batches/${batch}/steps/top-up-nacl/label.pdf`, {
        headers: { Authorization: `Bearer ${await env.token('operator2')}` },
      })
    ).status,
  ).toBe(404);
  // The scale is free again, its terminal's target cleared.
  expect((await as('operator1', 'GET', '/scales/SC-302')).body.heldFor).toBeNull();
  await until(async () => terminal.target === 0, 5_000);
}, 60_000);

test('outside the tolerance: refused without a comment, accepted as a deviation with one, in the step’s unit', async () => {
  await stepReaches('add-kcl', 'awaiting-input');
  expect((await as('operator1', 'POST', `/batches/${batch}/steps/add-kcl/dispensing`, {})).status).toBe(200);
  await weighOut('SC-302', 0.26);
  const complete = (body: Json = {}) =>
    as('operator1', 'POST', `/batches/${batch}/steps/add-kcl/complete`, {
      lots: [{ lot: lots.KCL }],
      container: 'BAG-7',
      signature: sign('operator1', 'performed'),
      ...body,
    });
  const refused = await complete();
  expect(refused.status).toBe(422);
  expect(refused.body.detail).toBe('260 g of KCL is outside 245–255 g: a deviation needs a comment');
  const accepted = await complete({ deviationComments: { quantity: 'overfilled; QA informed' } });
  expect(accepted.status).toBe(200);
  expect(accepted.body.deviations).toEqual([
    expect.objectContaining({ field: 'quantity', value: 260, unit: 'g', comment: 'overfilled; QA informed' }),
  ]);
  expect(await lotQuantity('KCL')).toBe(0.74);
}, 60_000);

test('a scale down: a typed weight only with a reason, marked manual, and verified by a second person', async () => {
  await stepReaches('top-up-nacl', 'awaiting-input');
  expect((await as('operator1', 'POST', `/batches/${batch}/steps/top-up-nacl/dispensing`, {})).status).toBe(200);
  const complete = (body: Json) =>
    as('operator1', 'POST', `/batches/${batch}/steps/top-up-nacl/complete`, {
      lots: [{ lot: lots.NACL }],
      container: 'IBC-0043',
      signature: sign('operator1', 'performed'),
      ...body,
    });
  // While the scale works, a typed weight is refused.
  const typedAnyway = await complete({ manualWeighing: { quantity: 1, unit: 'kg', reason: 'quicker' } });
  expect([typedAnyway.status, typedAnyway.body.detail]).toEqual([409, expect.stringMatching(/SC-302 is working/)]);
  env.simulator.scale('SC-302').failed = true;
  expect((await complete({})).status).toBe(409);
  expect((await complete({ manualWeighing: { quantity: 1.02, unit: 'kg', reason: ' ' } })).status).toBe(400);
  const manual = await complete({
    manualWeighing: { quantity: 1020, unit: 'g', reason: 'SC-302 load cell failed; weighed on the QC balance B-12' },
  });
  expect(manual.status).toBe(200);
  expect(manual.body.status).toBe('awaiting-verification');
  const self = await as('operator1', 'POST', `/batches/${batch}/steps/top-up-nacl/verify`, {
    signature: sign('operator1', 'verified'),
  });
  expect(self.status).toBe(422);
  const verified = await as('operator2', 'POST', `/batches/${batch}/steps/top-up-nacl/verify`, {
    signature: sign('operator2', 'verified'),
  });
  expect(verified.status).toBe(200);
  env.simulator.scale('SC-302').failed = false;
  expect(await lotQuantity('NACL')).toBe(6.4787);
  const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as Json[];
  expect(ebr.find((e) => e.kind === 'weighing' && e.stepId === 'top-up-nacl')!.data).toMatchObject({
    source: 'manual',
    scale: 'SC-302',
    net: 1020,
    unit: 'g',
    inStepUnit: 1.02,
    reason: 'SC-302 load cell failed; weighed on the QC balance B-12',
    scaleDown: 'scale SC-302 reports an error',
  });
  // Its label says it was weighed by hand, and verified.
  const label = await fetch(`${env.api.url}/api/batches/${batch}/steps/top-up-nacl/label.pdf`, {
    headers: { Authorization: `Bearer ${await env.token('operator1')}` },
  });
  expect((await pdfText(Buffer.from(await label.arrayBuffer()))).replace(/\s+/g, ' ')).toContain(
    'MANUAL WEIGHING (scale SC-302 down), verified',
  );
  expect(ebr.find((e) => e.kind === 'verification' && e.stepId === 'top-up-nacl')!.userName).toMatch(/operator2|Oscar/);
  await until(async () => (await as('qa1', 'GET', `/batches/${batch}`)).body.status === 'complete', 30_000);
}, 60_000);
