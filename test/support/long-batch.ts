/**
 * The durability suites' batch: a PBS batch whose mixing runs long enough to be interrupted, driven by automated
 * operators, and the checks of a clean record once it has finished.
 */
import { DEMO_STOCK, operateBatch, stockMaterials, type Request } from '../../demo/automated-operator';
import { DEMO_PASSWORD, type BatchEnv } from './batch-env';
import { replayBatch } from './replay-corpus';
import { until } from './wait';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function requester(env: BatchEnv): Request {
  return async (user, method, p, body) => env.api.request(method, p, body, { token: await env.token(user) });
}

/** Launches a PBS batch whose mixing runs long enough to be interrupted, and drives it with automated operators. */
export async function longMixBatch(env: BatchEnv, request: Request) {
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const mix = env.simulator.phase('MX-201', 'MIX');
  mix.faults.slowdown = 12; // 30 process minutes, at 7200× and 12 times slower, take 3 s of real time
  const starts = { mix: mix.executed.start, fill: env.simulator.phase('MX-201', 'FILL').executed.start };
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(launched.status).toBe(201);
  const batch: string = launched.body.number;
  const operating = operateBatch(request, batch, { lots, password: DEMO_PASSWORD });
  await until(() => mix.state === 'running');
  return { batch, operating, mix, starts };
}

/** The record of a finished batch: complete, every entry once and chained, each equipment step started once. */
export async function assertClean(
  env: BatchEnv,
  request: Request,
  batch: string,
  starts: { mix: number; fill: number },
) {
  const status = await (async () => {
    const r = await request('qa1', 'GET', `/batches/${batch}`);
    return r.body.status;
  })();
  expect(status).toBe('complete');
  const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(ebr.chain.ok).toBe(true);
  const keys = ebr.entries.map((e: Json) => e.entryKey);
  expect(new Set(keys).size).toBe(keys.length);
  const starting = ebr.entries.filter((e: Json) => e.kind === 'step-started').map((e: Json) => e.stepId);
  expect(new Set(starting).size).toBe(starting.length);
  expect(ebr.entries.filter((e: Json) => e.kind === 'equipment-parameters').map((e: Json) => e.stepId)).toEqual([
    'fill-wfi',
    'mix',
    'qs-wfi',
  ]);
  expect(env.simulator.phase('MX-201', 'MIX').executed.start - starts.mix).toBe(1);
  expect(env.simulator.phase('MX-201', 'FILL').executed.start - starts.fill).toBe(2); // fill-wfi and qs-wfi, once each
  return replayBatch(env.client, batch);
}
