/** Lots: receipt, disposition with signatures, the ledger, consumption and production for batches, genealogy. */
import { NO_STATION, SYSTEM_ACTOR, type ChangeContext } from '../../db/change-context';
import { InventoryError } from '../../api/lots/inventory';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';
import { POSTGRES_URL } from '../support/postgres';

let api: TestApi;
const people: Record<'operator' | 'qa' | 'planner', { name: string; token: string }> = {} as never;
const as = (who: keyof typeof people) => ({ token: people[who].token });
const sig = (who: keyof typeof people, meaning: string) => ({
  username: people[who].name,
  password: PASSWORD,
  meaning,
});

beforeAll(async () => {
  api = await startTestApi();
  await api.services.db.transaction(async (trx) => {
    const ctx = { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test master data' };
    for (const c of DEMO_EQUIPMENT_CLASSES) await api.services.masterData.createEquipmentClass(ctx, c);
    for (const m of DEMO_MATERIALS) await api.services.masterData.createMaterial(ctx, m);
  });
  for (const [key, role] of [
    ['operator', 'operator'],
    ['qa', 'qa'],
    ['planner', 'planner'],
  ] as const) {
    const name = uname(key);
    await api.createUser(name, [role]);
    people[key] = { name, token: await api.login(name) };
  }
});
afterAll(async () => api?.close());

let lotCounter = 0;
const nextLot = (prefix = 'T') => `${prefix}${Date.now().toString(36)}-${++lotCounter}`;
const future = '2099-12-31';

async function receive(material: string, quantity: number, unit: string, extra: Record<string, unknown> = {}) {
  const r = await api.request(
    'POST',
    '/lots',
    {
      material,
      lotNumber: nextLot(),
      quantity,
      unit,
      expiryDate: future,
      supplier: 'Merck KGaA',
      supplierLot: 'K123',
      ...extra,
    },
    as('operator'),
  );
  expect(r.status).toBe(201);
  return r.body;
}

async function release(lotId: string) {
  const r = await api.request(
    'POST',
    `/lots/${lotId}/status`,
    { status: 'released', reason: 'CoA reviewed, identity test passed', signature: sig('qa', 'released') },
    as('qa'),
  );
  expect(r.status).toBe(200);
  return r.body;
}

/** The batch workflow's side: the inventory ledger in a transaction of its own. */
function asBatch<T>(fn: (ctx: ChangeContext) => Promise<T>): Promise<T> {
  return api.services.db.transaction((trx) => fn({ trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: null }));
}
const inventory = () => api.services.lots.inventory;

async function ledgerConsistent(lotId: string) {
  const { rows } = await api.services.db.raw(
    `select l.quantity, coalesce(sum(t.quantity), 0) as sum from lots l left join lot_transactions t on t.lot_id = l.id where l.id = ? group by l.quantity`,
    [lotId],
  );
  expect(Number(rows[0].quantity)).toBeCloseTo(Number(rows[0].sum), 9);
}

describe('receipt', () => {
  test('a lot starts in Quarantine, its quantity in the material’s base unit, with the receipt as entered', async () => {
    const lot = await receive('NACL', 25_000, 'g');
    expect(lot).toMatchObject({
      materialCode: 'NACL',
      unit: 'kg',
      quantity: 25,
      status: 'quarantine',
      effectiveStatus: 'quarantine',
      expiryDate: future,
      supplier: 'Merck KGaA',
    });
    expect(lot.transactions).toEqual([
      expect.objectContaining({ kind: 'receipt', quantity: 25, enteredQuantity: 25_000, enteredUnit: 'g' }),
    ]);
    expect(lot.statusHistory).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 'quarantine', signature: null }),
    ]);
    await api.services.auditSealer.sealNow();
    const [entry] = await api.services.db('audit_entries').where({ entity_type: 'lot', entity_id: lot.id });
    expect(entry).toMatchObject({
      action: 'receive',
      username: people.operator.name,
      new_value: expect.objectContaining({ quantity: 25, unit: 'kg', status: 'quarantine' }),
    });
    const auto = await api.request(
      'POST',
      '/lots',
      { material: 'KCL', quantity: 5, unit: 'kg', expiryDate: null, supplier: 'x', supplierLot: 'y' },
      as('operator'),
    );
    expect(auto.body.lotNumber).toMatch(/^L\d{4}-\d{6}$/);
  });

  test.each([
    ['a negative quantity', { quantity: -5 }, 422, 'unprocessable'],
    ['zero', { quantity: 0 }, 422, 'unprocessable'],
    ['a number as a string', { quantity: '5' }, 400, 'validation-failed'],
    ['a locale string', { quantity: '5,5' }, 400, 'validation-failed'],
    ['an unknown unit', { unit: 'pounds' }, 422, 'unprocessable'],
    ['a unit of another kind', { unit: 'L' }, 422, 'unprocessable'],
    ['an unknown material', { material: 'UNOBTAINIUM' }, 422, 'unprocessable'],
    ['a date that is no date', { expiryDate: '31.12.2099' }, 400, 'validation-failed'],
    ['a client-chosen status', { status: 'released' }, 400, 'validation-failed'],
    ['a receipt dated in the future', { receivedDate: '2099-01-01' }, 422, 'unprocessable'],
  ])('refuses %s and changes nothing', async (_what, change, status, type) => {
    const [{ n: before }] = await api.services.db('lots').count({ n: '*' });
    const r = await api.request(
      'POST',
      '/lots',
      {
        material: 'NACL',
        lotNumber: nextLot(),
        quantity: 5,
        unit: 'kg',
        expiryDate: future,
        supplier: 's',
        supplierLot: 'l',
        ...change,
      },
      as('operator'),
    );
    expect({ status: r.status, type: r.body.type }).toEqual({ status, type: `/api/problems/${type}` });
    const [{ n: after }] = await api.services.db('lots').count({ n: '*' });
    expect(Number(after)).toBe(Number(before));
  });
});

describe('disposition', () => {
  test('release and reject need a QA signature and a reason; quarantine a reason; the history keeps all', async () => {
    const lot = await receive('KCL', 10, 'kg');
    const unsigned = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'released', reason: 'CoA ok' },
      as('qa'),
    );
    expect(unsigned.body.type).toBe('/api/problems/signature-required');
    const operator = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'released', reason: 'CoA ok', signature: sig('operator', 'released') },
      as('operator'),
    );
    expect(operator.status).toBe(403);
    const noReason = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'released', signature: sig('qa', 'released') },
      as('qa'),
    );
    expect(noReason.status).toBe(422);

    const released = await release(lot.lotNumber);
    expect(released.status).toBe('released');
    const hold = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'quarantine', reason: 'supplier complaint under investigation' },
      as('qa'),
    );
    expect(hold.body.status).toBe('quarantine');
    const signedForNothing = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'expired', reason: 'x', signature: sig('qa', 'released') },
      as('qa'),
    );
    expect(signedForNothing.status).toBe(400);
    const rejected = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'rejected', reason: 'complaint confirmed', signature: sig('qa', 'rejected') },
      as('qa'),
    );
    expect(rejected.body.status).toBe('rejected');
    const back = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'released', reason: 'changed my mind', signature: sig('qa', 'released') },
      as('qa'),
    );
    expect(back.status).toBe(409);
    expect(back.body.detail).toMatch(/rejected is final/);

    const detail = await api.request('GET', `/lots/${lot.lotNumber}`, undefined, as('operator'));
    expect(
      detail.body.statusHistory.map(
        (h: { fromStatus: string; toStatus: string; signature: { meaning: string } | null }) => [
          h.fromStatus,
          h.toStatus,
          h.signature?.meaning ?? null,
        ],
      ),
    ).toEqual([
      [null, 'quarantine', null],
      ['quarantine', 'released', 'released'],
      ['released', 'quarantine', null],
      ['quarantine', 'rejected', 'rejected'],
    ]);
    expect(detail.body.statusHistory[1].signature).toMatchObject({
      signedBy: `${people.qa.name} (test)`,
      username: people.qa.name,
    });
  });

  test('a lot received past its expiry date cannot be released (422), and nothing changes', async () => {
    const lot = await receive('NACL', 5, 'kg', { expiryDate: '2020-01-31', receivedDate: '2019-06-01' });
    const r = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'released', reason: 'CoA reviewed', signature: sig('qa', 'released') },
      as('qa'),
    );
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({
      type: '/api/problems/lot-expired',
      detail: expect.stringMatching(/expired on 2020-01-31/),
    });
    const detail = await api.request('GET', `/lots/${lot.id}`, undefined, as('operator'));
    expect(detail.body).toMatchObject({ status: 'quarantine', effectiveStatus: 'expired' });
    expect(detail.body.statusHistory).toHaveLength(1);
    expect(
      await api.services.db('signatures').where({ entity_type: 'lot', entity_id: lot.id }).count({ n: '*' }),
    ).toEqual([{ n: 0 }]);
    // Rejecting it is what QA can do.
    const rejected = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'rejected', reason: 'expired on receipt', signature: sig('qa', 'rejected') },
      as('qa'),
    );
    expect(rejected.body.status).toBe('rejected');
  });

  test('an expired lot counts as expired whatever its status says, and is refused at use', async () => {
    const lot = await receive('NACL', 5, 'kg', { expiryDate: '2099-12-31' });
    await release(lot.id);
    // Time passes: the released lot's expiry date is behind us.
    await api.asOwner((owner) => owner('lots').where('id', lot.id).update({ expiry_date: '2020-01-31' }));
    const detail = await api.request('GET', `/lots/${lot.id}`, undefined, as('operator'));
    expect(detail.body).toMatchObject({ status: 'released', effectiveStatus: 'expired' });
    const problems = await asBatch((ctx) =>
      inventory().check(ctx, lot.id, { material: 'NACL', quantity: { value: 1, unit: 'kg' } }),
    );
    expect(problems).toEqual([`lot ${lot.lotNumber} expired on 2020-01-31`]);
    await expect(
      asBatch((ctx) =>
        inventory().consume(ctx, {
          lotId: lot.id,
          batchId: 'B-EXP',
          stepId: 'add',
          material: 'NACL',
          quantity: { value: 1, unit: 'kg' },
          key: 'exp/1',
        }),
      ),
    ).rejects.toThrow(/expired on 2020-01-31/);
  });

  test('a lot QA marked expired before its date is refused as marked expired, not with its date', async () => {
    const lot = await receive('NACL', 5, 'kg', { expiryDate: '2099-12-31' });
    const marked = await api.request(
      'POST',
      `/lots/${lot.id}/status`,
      { status: 'expired', reason: 'stored out of specification' },
      as('qa'),
    );
    expect(marked.body.status).toBe('expired');
    const problems = await asBatch((ctx) =>
      inventory().check(ctx, lot.id, { material: 'NACL', quantity: { value: 1, unit: 'kg' } }),
    );
    expect(problems).toEqual([`lot ${lot.lotNumber} was marked expired (before its expiry date, 2099-12-31)`]);
  });
});

describe('consumption and production for batches', () => {
  test('checks: the right material, released, not expired, enough, in a convertible unit', async () => {
    const lot = await receive('NACL', 2, 'kg');
    const need = (value: number, unit = 'kg', material = 'NACL') =>
      asBatch((ctx) => inventory().check(ctx, lot.id, { material, quantity: { value, unit } }));
    expect(await need(1)).toEqual([`lot ${lot.lotNumber} is quarantine, not released`]);
    await release(lot.id);
    expect(await need(1)).toEqual([]);
    expect(await need(1500, 'g')).toEqual([]);
    expect(await need(3)).toEqual([`lot ${lot.lotNumber} holds 2 kg, less than the 3 kg needed`]);
    expect(await need(1, 'L')).toEqual(["L cannot be converted to the lot's unit kg"]);
    expect(await need(1, 'kg', 'KCL')).toEqual([`lot ${lot.lotNumber} is NACL, not KCL`]);
  });

  test('consumption is idempotent by key, converts units, and never overdraws', async () => {
    const lot = await release((await receive('NACL', 25, 'kg')).id);
    const take = (key: string, value: number, unit = 'g') =>
      asBatch((ctx) =>
        inventory().consume(ctx, {
          lotId: lot.id,
          batchId: 'B-100',
          stepId: 'add-nacl',
          material: 'NACL',
          quantity: { value, unit },
          key,
        }),
      );
    const first = await take('batch-B-100/add-nacl/1', 500);
    expect(first).toMatchObject({
      replayed: false,
      lot: { quantity: 24.5 },
      transaction: { kind: 'consumption', quantity: -0.5, enteredQuantity: 500, enteredUnit: 'g' },
    });
    const again = await take('batch-B-100/add-nacl/1', 500);
    expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id } });
    await expect(take('batch-B-100/add-nacl/1', 600)).rejects.toMatchObject({ code: 'idempotency-mismatch' });
    await expect(take('batch-B-100/add-nacl/2', 30, 'kg')).rejects.toMatchObject({ code: 'lot-unusable' });
    const detail = await api.request('GET', `/lots/${lot.id}`, undefined, as('qa'));
    expect(detail.body.quantity).toBe(24.5);
    expect(detail.body.transactions.map((t: { kind: string }) => t.kind)).toEqual(['receipt', 'consumption']);
    await ledgerConsistent(lot.id);
  });

  test('concurrent consumptions never take a lot below zero', async () => {
    const lot = await release((await receive('KCL', 10, 'kg')).id);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        asBatch((ctx) =>
          inventory().consume(ctx, {
            lotId: lot.id,
            batchId: 'B-RACE',
            stepId: `s${i}`,
            material: 'KCL',
            quantity: { value: 3, unit: 'kg' },
            key: `race/${i}`,
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof InventoryError)).toBe(true);
    const detail = await api.request('GET', `/lots/${lot.id}`, undefined, as('qa'));
    expect(detail.body.quantity).toBe(1);
    await ledgerConsistent(lot.id);
  });

  test('adjustments need a reason and cannot go below zero; the quantity is never written directly', async () => {
    const lot = await receive('KCL', 2, 'kg');
    const noReason = await api.request('POST', `/lots/${lot.id}/adjustments`, { quantity: -0.1, unit: 'kg' }, as('qa'));
    expect(noReason.status).toBe(422);
    const ok = await api.request(
      'POST',
      `/lots/${lot.id}/adjustments`,
      { quantity: -100, unit: 'g', reason: 'spill during sampling' },
      as('qa'),
    );
    expect(ok.body.quantity).toBe(1.9);
    const below = await api.request(
      'POST',
      `/lots/${lot.id}/adjustments`,
      { quantity: -2, unit: 'kg', reason: 'count' },
      as('qa'),
    );
    expect(below.status).toBe(409);
    await expect(api.services.db('lots').where('id', lot.id).update({ quantity: 100 })).rejects.toThrow(
      /permission denied/,
    );
    await expect(api.services.db('lot_transactions').where('lot_id', lot.id).update({ quantity: 100 })).rejects.toThrow(
      /permission denied/,
    );
    await api.asOwner(async (owner) => {
      await expect(owner('lot_transactions').where('lot_id', lot.id).delete()).rejects.toThrow(/append-only/);
      await expect(owner('lots').where('id', lot.id).update({ quantity: -1 })).rejects.toThrow(/check constraint/);
    });
    await ledgerConsistent(lot.id);
  });

  test('a batch’s output lot is created once, in Quarantine', async () => {
    const make = () =>
      asBatch((ctx) =>
        inventory().produce(ctx, {
          batchId: 'B-200',
          stepId: null,
          material: 'PBS-1X',
          lotNumber: 'PBS-B-200',
          quantity: { value: 1, unit: 'm3' },
          expiryDate: '2027-06-30',
          key: 'batch-B-200/output',
        }),
      );
    const first = await make();
    expect(first).toMatchObject({
      replayed: false,
      lot: { lotNumber: 'PBS-B-200', status: 'quarantine', quantity: 1000, unit: 'L', producedByBatch: 'B-200' },
    });
    const again = await make();
    expect(again).toMatchObject({ replayed: true, lot: { id: first.lot.id } });
  });
});

describe('genealogy', () => {
  // Two generations: salts → buffer batch → buffer lot; buffer lot + medium → culture batch → harvest lot.
  let salt: { id: string; lotNumber: string };
  let potash: { id: string; lotNumber: string };
  let medium: { id: string; lotNumber: string };
  let buffer: { id: string; lotNumber: string };
  let harvest: { id: string; lotNumber: string };
  const suffix = Date.now().toString(36);
  const consume = (lotId: string, batchId: string, stepId: string, material: string, value: number, unit: string) =>
    asBatch((ctx) =>
      inventory().consume(ctx, {
        lotId,
        batchId,
        stepId,
        material,
        quantity: { value, unit },
        key: `${batchId}/${stepId}/${lotId}`,
      }),
    );
  const produce = (batchId: string, material: string, lotNumber: string, value: number, unit: string) =>
    asBatch((ctx) =>
      inventory().produce(ctx, {
        batchId,
        stepId: null,
        material,
        lotNumber,
        quantity: { value, unit },
        expiryDate: null,
        key: `${batchId}/output`,
      }),
    );

  beforeAll(async () => {
    salt = await release((await receive('NACL', 20, 'kg')).id);
    potash = await release((await receive('KCL', 5, 'kg')).id);
    medium = await release((await receive('CD-CHO', 2000, 'L')).id);
    await consume(salt.id, `BUF-${suffix}`, 'add-nacl', 'NACL', 8, 'kg');
    await consume(potash.id, `BUF-${suffix}`, 'add-kcl', 'KCL', 200, 'g');
    buffer = (await produce(`BUF-${suffix}`, 'PBS-1X', `PBS-${suffix}`, 1000, 'L')).lot;
    await api.request(
      'POST',
      `/lots/${buffer.id}/status`,
      { status: 'released', reason: 'QC passed', signature: sig('qa', 'released') },
      as('qa'),
    );
    await consume(buffer.id, `CUL-${suffix}`, 'wash', 'PBS-1X', 50, 'L');
    await consume(medium.id, `CUL-${suffix}`, 'charge-medium', 'CD-CHO', 1400, 'L');
    harvest = (await produce(`CUL-${suffix}`, 'MAB1-HARVEST', `HAR-${suffix}`, 1650, 'L')).lot;
  });

  test('backward: what went into a lot, to any depth, with quantities', async () => {
    const r = await api.request('GET', `/lots/${harvest.lotNumber}/genealogy?direction=backward`, undefined, as('qa'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ direction: 'backward', lots: 5, batches: 2 });
    const root = r.body.root;
    expect(root).toMatchObject({
      lotNumber: harvest.lotNumber,
      producedBy: [{ batchId: `CUL-${suffix}`, produced: { value: 1650, unit: 'L' } }],
    });
    const inputs = root.producedBy[0].inputs;
    expect(inputs.map((i: { material: string; consumed: unknown }) => [i.material, i.consumed])).toEqual(
      expect.arrayContaining([
        ['CD-CHO', { value: 1400, unit: 'L' }],
        ['PBS-1X', { value: 50, unit: 'L' }],
      ]),
    );
    const bufferNode = inputs.find((i: { material: string }) => i.material === 'PBS-1X');
    expect(bufferNode.producedBy[0]).toMatchObject({ batchId: `BUF-${suffix}`, produced: { value: 1000, unit: 'L' } });
    expect(
      bufferNode.producedBy[0].inputs
        .map((i: { lotNumber: string; consumed: unknown }) => [i.lotNumber, i.consumed])
        .sort(),
    ).toEqual(
      [
        [salt.lotNumber, { value: 8, unit: 'kg' }],
        [potash.lotNumber, { value: 0.2, unit: 'kg' }],
      ].sort(),
    );
  });

  test('forward and recall impact: everything a raw material lot reached', async () => {
    const r = await api.request('GET', `/lots/${salt.id}/genealogy?direction=forward`, undefined, as('qa'));
    expect(r.body.root.consumedBy[0]).toMatchObject({
      batchId: `BUF-${suffix}`,
      consumed: { value: 8, unit: 'kg' },
      outputs: [{ lotNumber: buffer.lotNumber, produced: { value: 1000, unit: 'L' } }],
    });
    expect(r.body.root.consumedBy[0].outputs[0].consumedBy[0]).toMatchObject({
      batchId: `CUL-${suffix}`,
      consumed: { value: 50, unit: 'L' },
      outputs: [{ lotNumber: harvest.lotNumber }],
    });

    const impact = await api.request('GET', `/lots/${salt.lotNumber}/recall-impact`, undefined, as('qa'));
    expect(impact.body).toMatchObject({ batches: [`BUF-${suffix}`, `CUL-${suffix}`], stillAvailable: 2 });
    expect(
      impact.body.affectedLots.map((l: { lotNumber: string; depth: number; viaBatches: string[] }) => [
        l.lotNumber,
        l.depth,
        l.viaBatches,
      ]),
    ).toEqual([
      [buffer.lotNumber, 1, [`BUF-${suffix}`]],
      [harvest.lotNumber, 2, [`CUL-${suffix}`]],
    ]);
    const none = await api.request('GET', `/lots/${harvest.id}/recall-impact`, undefined, as('qa'));
    expect(none.body.affectedLots).toEqual([]);
    const bad = await api.request('GET', `/lots/${harvest.id}/genealogy?direction=sideways`, undefined, as('qa'));
    expect(bad.status).toBe(400);
  });

  test('a lot reached twice is expanded once, where it first appears in order; the other is marked repeated', async () => {
    // The buffer lot went into two washes (two lots), and both into one pool: backward from the pool, the buffer
    // lot is reached through each wash lot.
    const d = `${suffix}-D`;
    const washA = (await produce(`WA-${d}`, 'PBS-1X', `WA-${d}`, 10, 'L')).lot;
    await consume(buffer.id, `WA-${d}`, 'wash', 'PBS-1X', 10, 'L');
    const washB = (await produce(`WB-${d}`, 'PBS-1X', `WB-${d}`, 10, 'L')).lot;
    await consume(buffer.id, `WB-${d}`, 'wash', 'PBS-1X', 5, 'L');
    for (const w of [washA, washB])
      await api.request(
        'POST',
        `/lots/${w.id}/status`,
        { status: 'released', reason: 'QC passed', signature: sig('qa', 'released') },
        as('qa'),
      );
    const pool = (await produce(`PO-${d}`, 'PBS-1X', `PO-${d}`, 15, 'L')).lot;
    await consume(washB.id, `PO-${d}`, 'pool', 'PBS-1X', 10, 'L');
    await consume(washA.id, `PO-${d}`, 'pool', 'PBS-1X', 5, 'L');

    const r = await api.request('GET', `/lots/${pool.lotNumber}/genealogy?direction=backward`, undefined, as('qa'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ lots: 6, batches: 4 }); // pool, two washes, buffer, two salts
    const [a, b] = r.body.root.producedBy[0].inputs;
    // Inputs in lot-number order: WA before WB.
    expect([a.lotNumber, a.consumed, b.lotNumber, b.consumed]).toEqual([
      washA.lotNumber,
      { value: 5, unit: 'L' },
      washB.lotNumber,
      { value: 10, unit: 'L' },
    ]);
    const first = a.producedBy[0].inputs[0];
    expect(first).toMatchObject({ lotNumber: buffer.lotNumber, consumed: { value: 10, unit: 'L' } });
    expect(first.repeated).toBeUndefined();
    expect(first.producedBy[0].batchId).toBe(`BUF-${suffix}`);
    const again = b.producedBy[0].inputs[0];
    expect(again).toMatchObject({ lotNumber: buffer.lotNumber, repeated: true, consumed: { value: 5, unit: 'L' } });
    expect(again.producedBy).toEqual([]);
  });

  // Walking in halves needs two connections at once: PostgreSQL, not PGlite's one.
  (POSTGRES_URL ? test : test.skip)(
    'walked in halves on two connections, a genealogy has the same edges as walked whole, a lot reached from both halves counted once',
    async () => {
      // A raw lot X made into A; A went into the final lot R directly and through C (made from A): backward from R,
      // the edge X → A is reached from each of R's two inputs, which the walk in halves puts one in each half.
      const d = `${suffix}-H`;
      const x = await release((await receive('NACL', 10, 'kg')).id);
      const a = (await produce(`HA-${d}`, 'PBS-1X', `HA-${d}`, 100, 'L')).lot;
      await consume(x.id, `HA-${d}`, 'add-nacl', 'NACL', 3, 'kg');
      await release(a.id);
      const c = (await produce(`HC-${d}`, 'PBS-1X', `HC-${d}`, 50, 'L')).lot;
      await consume(a.id, `HC-${d}`, 'wash', 'PBS-1X', 20, 'L');
      await release(c.id);
      const r = (await produce(`HR-${d}`, 'PBS-1X', `HR-${d}`, 70, 'L')).lot;
      await consume(a.id, `HR-${d}`, 'wash', 'PBS-1X', 30, 'L');
      await consume(c.id, `HR-${d}`, 'pool', 'PBS-1X', 40, 'L');

      const lots = api.services.stores.lots;
      const db = api.services.db;
      const byKey = (e: { id: string; parentLotId: string | null; batchId: string | null }) =>
        `${e.id} ${e.parentLotId} ${e.batchId}`;
      const sorted = <T extends { id: string; parentLotId: string | null; batchId: string | null }>(edges: T[]) =>
        [...edges].sort((p, q) => (byKey(p) < byKey(q) ? -1 : 1));
      // Split: backward from R (into A and C), forward from A (into C and R); whole: forward from X (into A only).
      for (const [from, direction] of [
        [r.id, 'backward'],
        [a.id, 'forward'],
        [x.id, 'forward'],
      ] as const) {
        const whole = await lots.genealogyTree(db, from, direction);
        const halves = await lots.genealogyTree(db, from, direction, true);
        expect(sorted(halves)).toEqual(sorted(whole));
      }
      const backward = sorted(await lots.genealogyTree(db, r.id, 'backward', true));
      // R; A and C under R; A under C; X under each A: the edge X → A once, with its 3 kg.
      expect(backward.map((e) => [e.lotNumber, e.consumed])).toEqual(
        sorted([
          { id: r.id, parentLotId: null, batchId: null, n: r.lotNumber, q: 0 },
          { id: a.id, parentLotId: r.id, batchId: `HR-${d}`, n: a.lotNumber, q: 30 },
          { id: c.id, parentLotId: r.id, batchId: `HR-${d}`, n: c.lotNumber, q: 40 },
          { id: a.id, parentLotId: c.id, batchId: `HC-${d}`, n: a.lotNumber, q: 20 },
          { id: x.id, parentLotId: a.id, batchId: `HA-${d}`, n: x.lotNumber, q: 3 },
        ]).map((e) => [e.n, e.q]),
      );
    },
  );

  test('a lot consumed in two steps of a batch is one input with the sum; a batch reworking its own lot ends', async () => {
    const d = `${suffix}-R`;
    // A buffer batch takes medium in two steps, and part of its own output lot back (rework): a cycle.
    const own = (await produce(`RW-${d}`, 'PBS-1X', `RW-${d}`, 100, 'L')).lot;
    await consume(medium.id, `RW-${d}`, 'charge-1', 'CD-CHO', 30.1, 'L');
    await consume(medium.id, `RW-${d}`, 'charge-2', 'CD-CHO', 12.2, 'L'); // 30.1 + 12.2 is 42.300000000000004 in binary
    await api.request(
      'POST',
      `/lots/${own.id}/status`,
      { status: 'released', reason: 'QC passed', signature: sig('qa', 'released') },
      as('qa'),
    );
    await consume(own.id, `RW-${d}`, 'rework', 'PBS-1X', 4, 'L');

    const r = await api.request('GET', `/lots/${own.lotNumber}/genealogy?direction=backward`, undefined, as('qa'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ lots: 2, batches: 1 });
    const inputs = r.body.root.producedBy[0].inputs;
    expect(
      inputs.map((i: { lotNumber: string; consumed: unknown; repeated?: boolean }) => [
        i.lotNumber,
        i.consumed,
        i.repeated,
      ]),
    ).toEqual(
      [
        [medium.lotNumber, { value: 42.3, unit: 'L' }, undefined],
        [own.lotNumber, { value: 4, unit: 'L' }, true],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    const impact = await api.request('GET', `/lots/${medium.lotNumber}/recall-impact`, undefined, as('qa'));
    expect(impact.body.affectedLots).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ lotNumber: own.lotNumber, depth: 1, viaBatches: [`RW-${d}`] }),
      ]),
    );
  });
});
