/**
 * Launching batches from outside, as planners racing each other would: concurrent launches never claim one
 * unit twice (on PostgreSQL; PGlite's one connection runs the launches one after another anyway), and a unit is
 * given back only by the batch that holds it; batch numbers have no gaps (a refused launch gives its number back, a number lost to a launch
 * that never committed is voided with its reason); a tampered execution plan is refused with a problem and a
 * security event, and nothing is written. No worker runs: the workflows started here only wait.
 */
import { createActivities } from '../../activities';
import { startBatchEnv, type BatchEnv } from '../support/batch-env';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;

beforeAll(async () => {
  env = await startBatchEnv();
}, 120_000);
afterAll(async () => env?.close());

async function as(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  return env.api.request(method, path, body, { token: await env.token(user) });
}

const MIXERS = ['MX-201', 'MX-202'];

/** Both mixers clean and available again: QA forces them free of the batches that took them (which never run here). */
async function freeMixers(): Promise<void> {
  for (const code of MIXERS) {
    const r = await as('qa1', 'POST', `/equipment/${code}/status`, {
      status: 'available',
      cleanliness: 'clean',
      force: true,
      reason: 'test: the batch holding it never runs',
    });
    expect(r.status).toBe(200);
  }
}

/** How often each mixer was claimed (its state history's `in-use` rows) since `since`. */
async function claims(since: Date): Promise<Record<string, number>> {
  const rows = await env.api.services
    .db('equipment_state_history')
    .whereIn('unit_code', MIXERS)
    .where({ state: 'in-use' })
    .where('recorded_at', '>=', since)
    .select('unit_code');
  return Object.fromEntries(MIXERS.map((m) => [m, rows.filter((r) => r.unit_code === m).length]));
}

const sequence = (n: string) => Number(n.slice(6));

test('20 concurrent launches for the two mixers: each mixer is claimed by one batch, the other 18 are refused with 409', async () => {
  await freeMixers();
  const since = new Date();
  // Numbers given explicitly: the launches do not queue behind the batch number counter, only race for the units.
  const launches = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500, number: `RACE-${i + 1}` }),
    ),
  );
  const won = launches.filter((r) => r.status === 201);
  expect(launches.filter((r) => r.status === 409).map((r) => r.body.detail)).toEqual(
    Array(18).fill('unit procedure buffer-preparation: no clean, available MIXER is left'),
  );
  expect(won.map((r) => r.body.units['buffer-preparation']).sort()).toEqual(MIXERS);
  expect(await claims(since)).toEqual({ 'MX-201': 1, 'MX-202': 1 });
  // The database agrees: no unit is bound to two batches.
  const bound = (await env.api.services.db('batches').where('number', 'like', 'RACE-%').select('units')).map(
    (b) => b.units['buffer-preparation'].code,
  );
  expect(bound.sort()).toEqual(MIXERS);
}, 120_000);

test('a unit a batch holds is given back only by that batch: not set free by hand unless forced by QA, not by a retried release of an earlier batch', async () => {
  await freeMixers();
  const first = await as('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 500,
    units: { 'buffer-preparation': 'MX-201' },
  });
  expect(first.status).toBe(201);
  expect((await as('qa1', 'GET', '/equipment/MX-201')).body).toMatchObject({
    status: 'in-use',
    heldByBatch: first.body.number,
  });
  // By hand: refused while the batch holds it; nor does anyone put a unit in use.
  const byHand = await as('operator1', 'POST', '/equipment/MX-201/status', {
    status: 'available',
    reason: 'looks free to me',
  });
  expect(byHand).toMatchObject({ status: 409, body: { heldByBatch: first.body.number } });
  expect(
    (await as('operator1', 'POST', '/equipment/MX-202/status', { status: 'in-use', reason: 'reserving it' })).status,
  ).toBe(409);
  expect(
    (
      await as('operator1', 'POST', '/equipment/MX-201/status', {
        status: 'available',
        force: true,
        reason: 'an operator may not force',
      })
    ).status,
  ).toBe(403);
  // QA forces it free; a second batch claims it; the first batch's end (its release retried late) leaves it to the second.
  expect(
    (
      await as('qa1', 'POST', '/equipment/MX-201/status', {
        status: 'available',
        force: true,
        reason: 'batch stuck before its first step',
      })
    ).status,
  ).toBe(200);
  const second = await as('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 500,
    units: { 'buffer-preparation': 'MX-201' },
  });
  expect(second.status).toBe(201);
  const activities = createActivities({
    db: env.api.services.db,
    stores: env.api.services.stores,
    driver: undefined as never,
  });
  await activities.releaseUnits({ batchId: first.body.id, units: ['MX-201'] });
  expect((await as('qa1', 'GET', '/equipment/MX-201')).body).toMatchObject({
    status: 'in-use',
    heldByBatch: second.body.number,
    cleanliness: 'clean',
  });
  await activities.releaseUnits({ batchId: second.body.id, units: ['MX-201'] });
  expect((await as('qa1', 'GET', '/equipment/MX-201')).body).toMatchObject({
    status: 'available',
    heldByBatch: null,
    cleanliness: 'dirty',
  });
  const forced = (
    await as('qa1', 'GET', '/audit?entity=equipment-unit&entityId=MX-201&action=status&limit=1000')
  ).body.items.filter((e: Json) => e.newValue.forced);
  expect(forced.at(-1)).toMatchObject({
    username: 'qa1',
    reason: 'batch stuck before its first step',
    oldValue: { heldByBatch: first.body.number },
    newValue: { heldByBatch: null, forced: true },
  });
});

test('batch numbers have no gaps: a refused launch gives its number back, and concurrent launches take consecutive ones', async () => {
  await freeMixers();
  const first = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
  expect(first.status).toBe(201);
  // One mixer left, taken by the next; the one after is refused (no unit) after its number was drawn.
  expect((await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 })).status).toBe(201);
  const refused = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
  expect(refused.status).toBe(409);
  await freeMixers();
  const since = new Date();
  const concurrent = await Promise.all(
    Array.from({ length: 6 }, () => as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 })),
  );
  const numbers = concurrent.filter((r) => r.status === 201).map((r) => r.body.number as string);
  expect(numbers).toHaveLength(2);
  expect(numbers.map(sequence).sort((a, b) => a - b)).toEqual([
    sequence(first.body.number) + 2,
    sequence(first.body.number) + 3,
  ]);
  expect(await claims(since)).toEqual({ 'MX-201': 1, 'MX-202': 1 });
});

test('a number whose workflow survives a launch that never committed is voided, with its reason, and the next one taken', async () => {
  await freeMixers();
  const before = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
  expect(before.status).toBe(201);
  const last = before.body.number as string;
  await freeMixers();
  const orphan = `${last.slice(0, 6)}${String(sequence(last) + 1).padStart(5, '0')}`;
  // What a launch whose commit failed leaves behind: the workflow, and no batch.
  await env.client.workflow.start('batchWorkflow', {
    workflowId: `batch-${orphan}`,
    taskQueue: `${env.taskQueue}-nobody`,
    args: [{}],
  });
  const launched = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
  expect(launched.status).toBe(201);
  expect(sequence(launched.body.number)).toBe(sequence(orphan) + 1);
  const voided = await as('qa1', 'GET', `/audit?entity=batch-number&entityId=${orphan}`);
  expect(voided.body.items).toEqual([
    expect.objectContaining({
      action: 'void',
      username: 'planner',
      newValue: expect.objectContaining({
        number: orphan,
        voided: true,
        reason: expect.stringMatching(/exists but no batch/),
      }),
    }),
  ]);
  expect(await env.api.services.stores.batches.voidedNumbers(env.api.services.db)).toEqual([
    expect.objectContaining({ number: orphan }),
  ]);
  await env.client.workflow.getHandle(`batch-${orphan}`).terminate('test: the orphan of a launch that never committed');
});

test('a tampered execution plan: the launch is refused (409 plan-integrity), a security event is raised, and nothing is written', async () => {
  await freeMixers();
  const db = env.api.services.db;
  const count = async (table: string) => Number((await db(table).count({ n: '*' }))[0].n);
  const plan = await env.api.services.recipes.plan('PBS-1X', 1);
  await env.api.asOwner(async (owner) => {
    // An intruder with the owner's rights changes a setpoint of the approved plan.
    await owner.raw('create table plan_copy as select * from execution_plans where hash = ?', [plan.hash]);
    await owner.raw('alter table execution_plans disable trigger execution_plans_append_only');
    await owner.raw(
      `update execution_plans set plan = jsonb_set(plan, '{steps,0,setpoints,0,target}', '900') where hash = ?`,
      [plan.hash],
    );
    await owner.raw('alter table execution_plans enable always trigger execution_plans_append_only');
  });
  try {
    await env.api.services.auditSealer.sealNow();
    const [batchesBefore, auditBefore] = [await count('batches'), await count('audit_entries')];
    const counterBefore = await db('batch_number_counters').select('year', 'last');
    const r = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({
      type: '/api/problems/plan-integrity',
      detail: expect.stringMatching(/no longer matches the hash it was approved with/),
    });
    const events = await as('qa1', 'GET', '/security-events?kind=plan_integrity_failed');
    expect(events.body.items).toEqual([
      expect.objectContaining({ username: 'planner', detail: { recipe: 'PBS-1X', version: 1, planHash: plan.hash } }),
    ]);
    await env.api.services.auditSealer.sealNow();
    expect([await count('batches'), await count('audit_entries')]).toEqual([batchesBefore, auditBefore]);
    expect(await db('batch_number_counters').select('year', 'last')).toEqual(counterBefore);
    expect(await env.api.services.db('equipment_units').whereIn('code', MIXERS).pluck('status')).toEqual([
      'available',
      'available',
    ]);
    // The intruder's change itself is in the trail, attributed to the database user.
    expect((await as('qa1', 'GET', '/audit/verify')).body.outsideAmpoule).toMatchObject({
      count: 1,
      first: { entityType: 'execution_plans', entityId: plan.hash },
    });
  } finally {
    await env.api.asOwner(async (owner) => {
      await owner.raw('alter table execution_plans disable trigger execution_plans_append_only');
      await owner.raw('update execution_plans p set plan = c.plan from plan_copy c where p.hash = c.hash');
      await owner.raw('alter table execution_plans enable always trigger execution_plans_append_only');
      await owner.raw('drop table plan_copy');
    });
  }
  expect((await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 })).status).toBe(201);
});

test('a write of the record tried again stores nothing twice, and says with which event and time it stored its entries', async () => {
  await freeMixers();
  const launched = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500 });
  expect(launched.status).toBe(201);
  const activities = createActivities({
    db: env.api.services.db,
    stores: env.api.services.stores,
    driver: undefined as never,
  });
  // The batch's first write, as its workflow task takes it down; then again, as that workflow task takes it down when
  // it runs again later in the history (its first completion lost after the local activity committed).
  const write = (eventId: number, occurredAt: string) =>
    activities.recordEbr({
      batchId: launched.body.id,
      workflowId: `batch-${launched.body.number}`,
      runId: 'run-1',
      entries: [{ no: 1, kind: 'batch-started', stepId: null, data: { size: 500 }, eventId, occurredAt, user: null }],
    });
  expect(await write(4, '2026-12-07T10:00:00.000Z')).toEqual({ written: 1, earlier: [] });
  expect(await write(9, '2026-12-07T10:00:05.000Z')).toEqual({
    written: 0,
    earlier: [{ no: 1, kind: 'batch-started', stepId: null, eventId: 4, occurredAt: '2026-12-07T10:00:00.000Z' }],
  });
  const record = await as('qa1', 'GET', `/batches/${launched.body.number}/ebr`);
  expect(record.body.entries.map((e: Json) => [e.eventId, e.occurredAt])).toEqual([[4, '2026-12-07T10:00:00.000Z']]);
});
