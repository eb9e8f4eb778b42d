/**
 * Health, readiness and metrics of a process that runs batches: a real batch through the API on the embedded
 * Temporal server and the simulator, then `/healthz`, `/readyz` (the database, Temporal) and `/metrics` — steps
 * completed by kind summing to the record's completions, the step-ready latency, signatures by meaning, requests by
 * route pattern, the audit seal lag — and no label naming a batch, a lot, a user or any id. And a phase whose
 * controller cannot be reached says so on its step (the batch's live state), with the attempt under way.
 */
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { requester } from '../support/long-batch';
import { until } from '../support/wait';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
beforeAll(async () => {
  env = await startBatchEnv();
  await env.startWorker();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

/** Each sample of the scrape: name, labels, value. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(l)!;
      const labels = Object.fromEntries(
        [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
      );
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

test('a batch’s run as /metrics counts it, /readyz and /healthz answer, and no label names a record', async () => {
  const request = requester(env);
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(launched.status).toBe(201);
  const batch = launched.body.number as string;
  expect(await operateBatch(request, batch, { lots, password: DEMO_PASSWORD })).toBe('complete');

  const base = env.api.url;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const ready = await fetch(`${base}/readyz`);
  expect([ready.status, await ready.json()]).toEqual([
    200,
    { status: 'ready', checks: { database: 'ok', temporal: 'ok' } },
  ]);

  const scrape = await fetch(`${base}/metrics`);
  expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const all = samples(await scrape.text());
  const sum = (name: string, labels: Record<string, string> = {}) =>
    all
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);

  // Steps completed, by kind: as many as the record's completions.
  const record = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as Json[];
  const completions = record.filter((e) => e.kind === 'step-completed').length;
  expect(completions).toBeGreaterThan(5);
  expect(sum('ampoule_steps_completed_total')).toBe(completions);
  expect(sum('ampoule_steps_completed_total', { kind: 'equipment' })).toBeGreaterThan(0);
  // The operators' waits for the next step, their signatures, their requests by route pattern.
  expect(sum('ampoule_step_ready_latency_seconds_count', { action: 'complete' })).toBeGreaterThan(0);
  expect(sum('ampoule_step_ready_latency_seconds_count', { action: 'verify' })).toBeGreaterThan(0);
  expect(sum('ampoule_signatures_total', { meaning: 'performed' })).toBeGreaterThan(0);
  expect(sum('ampoule_signatures_total', { meaning: 'verified' })).toBeGreaterThan(0);
  expect(
    sum('ampoule_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/batches/:id/steps/:stepId/complete',
      status_code: '200',
    }),
  ).toBeGreaterThan(0);
  expect(all.some((s) => s.name === 'ampoule_audit_seal_lag_seconds')).toBe(true);
  expect(all.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);

  // No label carries a record's identity: no batch or lot number, no user, no id, no raw path.
  const values = new Set(all.flatMap((s) => Object.values(s.labels)));
  const forbidden = [batch, ...Object.values(lots), 'operator1', 'operator2', 'qa1', 'planner'];
  for (const v of values) {
    for (const f of forbidden) expect([v, v.includes(f)]).toEqual([v, false]);
    expect([v, /[0-9a-f]{8}-[0-9a-f]{4}-/i.test(v)]).toEqual([v, false]);
    expect([v, /^\/api\/.*\/B\d{4}-/.test(v)]).toEqual([v, false]);
  }
}, 120_000);

test('an equipment phase that cannot reach its controller says so on its step, with the attempt, until it can', async () => {
  const request = requester(env);
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const fills = ['MX-201', 'MX-202'].map((u) => env.simulator.phase(u, 'FILL'));
  for (const f of fills) f.faults.slowdown = 40; // a fill that lasts while the network is down
  try {
    const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
    const batch = launched.body.number as string;
    const live = async () => (await request('qa1', 'GET', `/batches/${batch}`)).body.live as Json;
    await until(async () => (await live()).steps.some((s: Json) => s.equipment?.state === 'running'), 30_000);
    const outage = env.simulator.outage(8_000);
    const problem = await until(
      async () => (await live()).steps.find((s: Json) => s.equipmentProblem)?.equipmentProblem as Json | undefined,
      8_000,
      'the step’s equipment problem',
    );
    expect(problem.attempt).toBeGreaterThanOrEqual(2);
    expect(problem.message).toMatch(/cannot reach|failed|no answer/i);
    await outage;
    for (const f of fills) f.faults.slowdown = undefined;
    expect(await operateBatch(request, batch, { lots, password: DEMO_PASSWORD })).toBe('complete');
  } finally {
    for (const f of fills) f.faults.slowdown = undefined;
  }
}, 120_000);
