/**
 * OEE's losses through the API, with a site's settings (a micro-stop threshold of 1.2 s, so that a real batch's
 * hold of 3 s is a stop that needs a reason): the stop unqualified, then given a reason (audited), the Pareto by
 * reason; a reason not in the tree, or for no stop, refused. Then the simulator's faults: a phase its controller
 * holds part-way (a breakdown, cleared by the operator) and a slow phase, as OEE sees them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { parseFaultPlan } from '../../equipment/simulator/fault-plan';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { heldBatch } from '../support/held-batch';
import { requester } from '../support/long-batch';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
beforeAll(async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ampoule-oee-')), 'oee.yaml');
  writeFileSync(
    file,
    'timeZone: UTC\nshifts:\n  - { name: all-day, start: "00:00", end: "00:00" }\nmicroStopMinutes: 0.02\n',
  );
  env = await startBatchEnv({ env: { AMPOULE_OEE_CONFIG: file } });
  await env.startWorker();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

const request = async (user: string, method: string, p: string, body?: unknown) =>
  env.api.request(method, p, body, { token: await env.token(user) });

test('a long hold is a stop: unqualified until an operator gives its reason (audited); the Pareto by reason', async () => {
  const lots = await stockMaterials(requester(env), DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const from = new Date(Date.now() - 10_000).toISOString();
  const { unit } = await heldBatch(env, lots, 3_000);
  const to = new Date().toISOString();

  const losses = async () => {
    const r = await request('operator1', 'GET', `/oee/losses?unit=${unit}&from=${from}&to=${to}`);
    expect(r.status).toBe(200);
    return r.body as Json;
  };
  const before = await losses();
  // The hold (with the waits it joins): the longest stop.
  const held = [...(before.stops as Json[])].sort((a, b) => b.duration - a.duration)[0];
  expect(held).toBeDefined();
  expect(held.duration).toBeGreaterThanOrEqual(3);
  expect(held.reason).toBeNull();
  expect(held.condition).not.toBe('held-fault'); // a Hold commanded by the operator (with waits), not a fault
  const unqualified = (before.lines as Json[]).find((l) => l.reason === 'unqualified')!;
  expect(unqualified.duration).toBeGreaterThanOrEqual(held.duration);
  // Largest first.
  const durations = (before.lines as Json[]).map((l) => l.duration);
  expect(durations).toEqual([...durations].sort((a, b) => b - a));

  // A reason not in the tree, and a stop that is not one: refused, nothing recorded.
  const bad = await request('operator1', 'POST', '/oee/stops', {
    unit,
    start: held.start,
    stopReason: 'breakdowns/gremlins',
  });
  expect(bad.status).toBe(422);
  expect(bad.body.detail).toMatch(
    /no stop reason breakdowns\/gremlins: expected one of .*breakdowns\/equipment-failure/,
  );
  const none = await request('operator1', 'POST', '/oee/stops', {
    unit,
    start: from,
    stopReason: 'small-stops/waiting-qa',
  });
  expect(none.status).toBe(404);

  const given = await request('operator1', 'POST', '/oee/stops', {
    unit,
    start: held.start,
    stopReason: 'breakdowns/equipment-failure',
    comment: 'transfer pump cavitating',
  });
  expect(given.status).toBe(201);
  const after = await losses();
  expect((after.stops as Json[]).find((s) => s.start === held.start)!.reason).toBe('breakdowns/equipment-failure');
  const line = (after.lines as Json[]).find((l) => l.reason === 'breakdowns/equipment-failure')!;
  expect(line).toMatchObject({ loss: 'breakdowns', count: 1 });
  expect(line.duration).toBeCloseTo(held.duration, 3);
  const trail = (await request('qa1', 'GET', '/audit?entity=oee-stop&user=operator1')).body.items as Json[];
  expect(trail).toHaveLength(1);
  expect(trail[0]).toMatchObject({
    action: 'qualify-stop',
    newValue: { reason: 'breakdowns/equipment-failure', comment: 'transfer pump cavitating' },
  });
});

test('a phase its controller holds part-way is a breakdown until the operator restarts it; a slow phase runs longer', async () => {
  const lots = await stockMaterials(requester(env), DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  // Every run of the mixers' MIX is held by the controller, and goes 12 times slower: 3 s of real time here.
  for (const mixer of ['MX-201', 'MX-202'])
    Object.assign(
      env.simulator.phase(mixer, 'MIX').faults,
      parseFaultPlan(`${mixer}/MIX:hold-every=1,slowdown=12`)[0].faults,
    );
  try {
    const from = new Date(Date.now() - 1_000).toISOString();
    const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
    expect(launched.status).toBe(201);
    const batch = launched.body.number as string;
    const unit = Object.values(launched.body.units as Record<string, string>)[0];
    expect(await operateBatch(requester(env), batch, { lots, password: DEMO_PASSWORD, faultClearingMs: 2_000 })).toBe(
      'complete',
    );
    const to = new Date().toISOString();

    // The operator's hold and restart, with their reasons, in the batch record.
    const record = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as Json[];
    expect(
      record.filter((e) => e.kind === 'batch-command' && e.data.command).map((e) => [e.data.command, e.data.reason]),
    ).toEqual([
      ['hold', `the controller held ${unit} MIX: checking the unit`],
      ['restart', `${unit} checked, the fault cleared`],
    ]);
    const r = await request('operator1', 'GET', `/oee/losses?unit=${unit}&from=${from}&to=${to}`);
    expect(r.status).toBe(200);
    // The controller's hold: a breakdown (held-fault) from the moment the phase held, not from the operator's Hold.
    const faults = (r.body.stops as Json[]).filter((s) => s.condition === 'held-fault');
    if (faults.length !== 1) {
      // What OEE saw, to tell a misclassified hold from one the state history does not hold.
      const states = await request('operator1', 'GET', `/equipment/${unit}/state?from=${from}&to=${to}&limit=1000`);
      const commands = record.filter((e) => e.kind === 'batch-command').map((e) => [e.occurredAt, e.data]);
      throw new Error(
        `${faults.length} held-fault stops, 1 expected: stops ${JSON.stringify(r.body.stops)}; batch commands ${JSON.stringify(commands)}; unit history ${JSON.stringify((states.body.history as Json[]).map((h) => [h.sourceTimestamp, h.phase, h.state]))}`,
      );
    }
    expect(faults[0].duration).toBeGreaterThanOrEqual(2);
    expect(faults[0].reason).toBeNull();
    // The slow MIX: 30 process minutes at 7200× and 12 times slower run 3 s of real time, in production time.
    const oee = await request('operator1', 'GET', `/oee?unit=${unit}&from=${from}&to=${to}`);
    expect(oee.body.total.time.APT).toBeGreaterThanOrEqual(3);
  } finally {
    for (const mixer of ['MX-201', 'MX-202']) env.simulator.phase(mixer, 'MIX').faults = {};
  }
});
