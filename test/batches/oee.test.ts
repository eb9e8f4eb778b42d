/**
 * OEE through the API, from a real batch on the embedded Temporal server and the equipment simulator: the unit's
 * phases running, the batch's hold, the wait for people, the cleaning after it; the time elements summing exactly
 * whatever the periods, the recipe's planned runtime, and quality pending until QA disposes of the batch.
 */
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { heldBatch } from '../support/held-batch';
import { requester } from '../support/long-batch';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
beforeAll(async () => {
  env = await startBatchEnv();
  await env.startWorker();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

const request = async (user: string, method: string, p: string, body?: unknown) =>
  env.api.request(method, p, body, { token: await env.token(user) });
const sign = (username: string, meaning: string) => ({ username, password: DEMO_PASSWORD, meaning });

/** A new effective version of PBS-1X whose unit procedure plans 90 s on its mixer. */
async function recipeWithPlannedDuration(): Promise<void> {
  const v1 = (await request('qa1', 'GET', '/recipes/PBS-1X/versions/1')).body;
  const definition = structuredClone(v1.definition);
  definition.procedure.unitProcedures[0].plannedDuration = { value: 1.5, unit: 'min' };
  const created = await request('planner', 'POST', '/recipes/PBS-1X/versions', { reason: 'OEE: planned duration' });
  expect(created.status).toBe(201);
  const v = created.body.version as number;
  const etag = async () => ({
    'If-Match': `"v${(await request('qa1', 'GET', `/recipes/PBS-1X/versions/${v}`)).body.rowVersion}"`,
  });
  const edited = await env.api.request(
    'PUT',
    `/recipes/PBS-1X/versions/${v}`,
    { definition, reason: 'planned duration' },
    {
      token: await env.token('planner'),
      headers: await etag(),
    },
  );
  expect(edited.status).toBe(200);
  for (const [user, step, body] of [
    ['planner', 'submit', { signature: sign('planner', 'authored') }],
    ['qa1', 'approve', { signature: sign('qa1', 'approved') }],
    ['qa1', 'make-effective', { reason: 'OEE test' }],
  ] as const) {
    const r = await env.api.request('POST', `/recipes/PBS-1X/versions/${v}/${step}`, body, {
      token: await env.token(user),
      headers: await etag(),
    });
    expect([step, r.status]).toEqual([step, 200]);
  }
}

test('a batch’s unit: running, held, waiting and cleaning time summing exactly; planned runtime; quality pending, then released', async () => {
  await recipeWithPlannedDuration();
  const lots = await stockMaterials(requester(env), DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const from = new Date(Date.now() - 60_000).toISOString();
  const { batch, unit } = await heldBatch(env, lots, 1_500);
  await new Promise((r) => setTimeout(r, 1_000)); // the mixer stands dirty a moment
  const to = new Date().toISOString(); // past: every call sees the same window

  const oee = async (by: string) => {
    const r = await request('operator1', 'GET', `/oee?unit=${unit}&from=${from}&to=${to}&by=${by}`);
    expect(r.status).toBe(200);
    return r.body as Json;
  };
  const whole = await oee('whole');
  const t = whole.total.time;
  // Exact sums (in milliseconds, given in seconds).
  expect(Math.round((t.APT + t.AUST + t.ADET + t.ADOT) * 1000)).toBe(Math.round(t.PBT * 1000));
  expect(Math.round((t.POT - t.PDOT) * 1000)).toBe(Math.round(t.PBT * 1000));
  expect(Math.round((t.notScheduled + t.POT) * 1000)).toBe(Math.round(t.calendar * 1000));
  expect(t.APT).toBeGreaterThan(0); // the mixer's phases ran
  // The 1.5 s hold: a small stop (under 2 minutes, between two runs: production time with a performance loss), or
  // delay where it came before the first phase ran; either way it is counted, and needs no reason.
  expect(whole.total.microStops.duration + t.ADET).toBeGreaterThanOrEqual(1.5);
  expect(whole.total.stops).toEqual([]);
  expect(t.AUST).toBeGreaterThan(0); // dirty after the batch: cleaning
  expect(t.ADOT).toBeGreaterThan(0); // before the batch: idle
  expect(whole.total.plannedRuntime).toBe(90);
  expect(whole.total.effectiveness).toBeCloseTo(90 / t.APT, 10);
  expect(whole.total.availability).toBeCloseTo(t.APT / t.PBT, 10);
  expect(whole.total.quantities).toEqual([
    { unit: 'L', PQ: expect.any(Number), GQ: 0, SQ: 0, pending: expect.any(Number) },
  ]);
  expect(whole.total.qualityRatio).toBeNull(); // pending until QA disposes of it
  expect(whole.total.oee).toBeNull();

  // The same figures whatever the periods: by shift (round the clock) and by day their totals are the window's.
  for (const by of ['shift', 'day', 'batch']) expect((await oee(by)).total).toEqual(whole.total);
  // The shifts (round the clock here) and the days cover the window: their time elements add up to the window's.
  for (const by of ['shift', 'day']) {
    const periods = (await oee(by)).periods as Json[];
    for (const element of Object.keys(t))
      expect([by, element, Math.round(periods.reduce((n, p) => n + (p.time[element] as number), 0) * 1000)]).toEqual([
        by,
        element,
        Math.round(t[element] * 1000),
      ]);
  }
  const byBatch = await oee('batch');
  expect(byBatch.periods.map((p: Json) => p.label)).toEqual([batch]);
  expect(byBatch.periods[0].quantities[0].pending).toBe(whole.total.quantities[0].PQ);

  // Released: quality follows QA's disposition.
  expect(
    (
      await request('qa1', 'POST', `/batches/${batch}/review`, {
        auditTrailReviewed: true,
        signature: sign('qa1', 'reviewed'),
      })
    ).status,
  ).toBe(200);
  expect(
    (await request('qa1', 'POST', `/batches/${batch}/release`, { signature: sign('qa1', 'released') })).status,
  ).toBe(200);
  const released = (await oee('whole')).total;
  expect(released.qualityRatio).toBe(1);
  expect(released.oee).toBeCloseTo(released.availability * released.effectiveness, 10);

  // A second batch, produced later and rejected by QA: the quality ratio of the window it was produced in falls.
  await request('operator1', 'POST', `/equipment/${unit}/status`, { cleanliness: 'clean', reason: 'cleaned' });
  const second = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(second.status).toBe(201);
  expect(await operateBatch(requester(env), second.body.number, { lots, password: DEMO_PASSWORD })).toBe('complete');
  const later = new Date().toISOString();
  const both = async () =>
    (await request('qa1', 'GET', `/oee?unit=${unit}&from=${from}&to=${later}&by=batch`)).body as Json;
  expect((await both()).total.qualityRatio).toBe(1); // the second is pending: quality is over what QA disposed of
  expect(
    (
      await request('qa1', 'POST', `/batches/${second.body.number}/review`, {
        auditTrailReviewed: true,
        signature: sign('qa1', 'reviewed'),
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await request('qa1', 'POST', `/batches/${second.body.number}/reject`, {
        reason: 'conductivity trend',
        signature: sign('qa1', 'rejected'),
      })
    ).status,
  ).toBe(200);
  const after = await both();
  const [first, rejected] = after.total.quantities[0].PQ === 0 ? [] : [after.periods[0], after.periods[1]];
  expect(after.total.qualityRatio).toBeCloseTo(0.5, 10); // two batches of 400 L, one rejected
  expect(after.total.quantities).toEqual([
    { unit: 'L', PQ: expect.any(Number), GQ: expect.any(Number), SQ: expect.any(Number), pending: 0 },
  ]);
  expect(first.qualityRatio).toBe(1);
  expect(rejected.qualityRatio).toBe(0);
  expect(rejected.label).toBe(second.body.number);

  // Bad input: refused, in words.
  expect((await request('operator1', 'GET', `/oee?unit=${unit}&from=${to}&to=${from}`)).status).toBe(422);
  expect((await request('operator1', 'GET', `/oee?unit=NOPE&from=${from}&to=${to}`)).status).toBe(404);
  expect((await request('operator1', 'GET', `/oee?from=${from}&to=${to}`)).status).toBe(400);
});
