/**
 * Production orders through the API: created (a bad unit, product or number refused, nothing written), released,
 * launched as a batch that remembers its order (the order's recipe and quantity), closed once the batch has ended;
 * every change audited with who and why; the database's guard holds the order's life whoever writes.
 */
import { XMLParser } from 'fast-xml-parser';
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { startBrowser, type TestBrowser } from '../support/browser';
import { requester } from '../support/long-batch';
import { mesaSchemaErrors } from '../../api/integration/mesa-schemas';
import { expectAccessible, logIn } from '../support/pages';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
let browser: TestBrowser | undefined;
beforeAll(async () => {
  env = await startBatchEnv();
  await env.startWorker();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

const as = async (
  user: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> => env.api.request(method, path, body, { token: await env.token(user) });
const suffix = Date.now().toString(36).toUpperCase();

const order = (number: string, extra: Json = {}) => ({
  number,
  product: 'PBS-1X',
  quantity: 400,
  unit: 'L',
  requestedStart: '2026-12-08T06:00:00Z',
  requestedEnd: '2026-12-08T18:00:00Z',
  recipe: 'PBS-1X',
  materials: [
    { material: 'NACL', quantity: 3.2, unit: 'kg' },
    { material: 'KCL', quantity: 80, unit: 'g' },
  ],
  ...extra,
});

test('an order is created planned, with its place; a bad unit, product or a number taken is refused and nothing is written', async () => {
  const created = await as('planner', 'POST', '/orders', {
    ...order(`PO-${suffix}-1`),
    reason: 'from the weekly plan',
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    number: `PO-${suffix}-1`,
    source: 'api',
    product: 'PBS-1X',
    quantity: { value: 400, unit: 'L' },
    state: 'planned',
    batch: null,
    materials: [{ material: 'NACL', quantity: 3.2, unit: 'kg' }, expect.anything()],
  });
  expect((await as('operator1', 'GET', `/orders/PO-${suffix}-1`)).body.id).toBe(created.body.id);

  const count = async () => (await as('planner', 'GET', '/orders?limit=1000')).body.items.length;
  const before = await count();
  for (const [bad, detail] of [
    [{ unit: 'kilolitre' }, /kilolitre/],
    [{ unit: 'kg' }, /not a unit of PBS-1X's kind/],
    [{ product: 'NO-SUCH' }, /no material NO-SUCH/],
    [{ materials: [{ material: 'NACL', quantity: 1, unit: 'L' }] }, /required material NACL/],
    [{ requestedEnd: '2026-12-07T00:00:00Z' }, /end comes before/],
  ] as const) {
    const r = await as('planner', 'POST', '/orders', order(`PO-${suffix}-BAD`, bad));
    expect([r.status, r.body.detail]).toEqual([422, expect.stringMatching(detail)]);
  }
  const taken = await as('planner', 'POST', '/orders', order(`PO-${suffix}-1`));
  expect([taken.status, taken.body.type]).toEqual([409, '/api/problems/code-taken']);
  expect((await as('operator1', 'POST', '/orders', order(`PO-${suffix}-OP`))).status).toBe(403);
  expect(await count()).toBe(before);
});

test('released, launched as a batch that remembers it, closed once the batch has ended; each step audited', async () => {
  const request = requester(env);
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const number = `PO-${suffix}-2`;
  const { body: created } = await as('planner', 'POST', '/orders', order(number));
  // Only a released order launches.
  const early = await as('planner', 'POST', '/batches', { order: number });
  expect([early.status, early.body.detail]).toEqual([409, expect.stringMatching(/a planned order cannot be launched/)]);
  const released = await as('planner', 'POST', `/orders/${number}/release`, { reason: 'materials staged' });
  expect([released.status, released.body.state]).toEqual([200, 'released']);
  expect((await as('planner', 'GET', '/orders?state=released')).body.items.map((o: Json) => o.number)).toContain(
    number,
  );

  // The order's recipe and quantity.
  const launched = await as('planner', 'POST', '/batches', { order: number });
  expect(launched.status).toBe(201);
  expect(launched.body).toMatchObject({
    orderId: created.id,
    recipe: { code: 'PBS-1X' },
    batchSize: { value: 400, unit: 'L' },
  });
  const batch: string = launched.body.number;
  expect((await as('planner', 'GET', `/orders/${number}`)).body).toMatchObject({ state: 'launched', batch });
  const again = await as('planner', 'POST', '/batches', { order: number });
  expect([again.status, again.body.detail]).toEqual([
    409,
    expect.stringMatching(/a launched order cannot be launched/),
  ]);

  // Not closed while its batch runs; closed once it has ended.
  const tooSoon = await as('planner', 'POST', `/orders/${number}/close`, {});
  expect([tooSoon.status, tooSoon.body.detail]).toEqual([
    409,
    expect.stringMatching(/closes once its batch has ended/),
  ]);
  expect(await operateBatch(request, batch, { lots, password: DEMO_PASSWORD })).toBe('complete');
  const closed = await as('planner', 'POST', `/orders/${number}/close`, { reason: 'batch complete' });
  expect([closed.status, closed.body.state]).toEqual([200, 'closed']);
  expect((await as('planner', 'POST', `/orders/${number}/cancel`, { reason: 'too late' })).status).toBe(409);

  const trail = (await as('qa1', 'GET', `/audit?entity=production-order&entityId=${created.id}`)).body.items;
  expect(
    trail
      .map((e: Json) => [e.action, e.username, e.reason, e.newValue.state])
      .sort((a: string[], b: string[]) => a[0].localeCompare(b[0])),
  ).toEqual([
    ['order-close', 'planner', 'batch complete', 'closed'],
    ['order-create', 'planner', null, 'planned'],
    ['order-launch', 'planner', null, 'launched'],
    ['order-release', 'planner', 'materials staged', 'released'],
  ]);
}, 180_000);

test('a launch refuses a recipe that does not make the order’s product, and writes nothing', async () => {
  const number = `PO-${suffix}-3`;
  await as('planner', 'POST', '/orders', order(number, { product: 'MAB1-HARVEST', unit: 'L', recipe: undefined }));
  await as('planner', 'POST', `/orders/${number}/release`, {});
  const noRecipe = await as('planner', 'POST', '/batches', { order: number });
  expect([noRecipe.status, noRecipe.body.detail]).toEqual([422, expect.stringMatching(/names no recipe/)]);
  const wrong = await as('planner', 'POST', '/batches', { order: number, recipe: 'PBS-1X' });
  expect([wrong.status, wrong.body.detail]).toEqual([
    422,
    expect.stringMatching(/makes PBS-1X.*asks for MAB1-HARVEST/),
  ]);
  expect((await as('planner', 'GET', `/orders/${number}`)).body).toMatchObject({ state: 'released', batch: null });
  const cancelled = await as('planner', 'POST', `/orders/${number}/cancel`, { reason: 'recipe not validated' });
  expect([cancelled.status, cancelled.body.state]).toEqual([200, 'cancelled']);
});

test('the database holds an order’s life whoever writes: a released order’s quantity, a skipped step, a closed or cancelled one', async () => {
  const number = `PO-${suffix}-5`;
  await as('planner', 'POST', '/orders', order(number));
  await env.api.asOwner(async (owner) => {
    const planned = await owner('production_orders').where('number', number).first();
    await expect(owner('production_orders').where('id', planned.id).update({ state: 'launched' })).rejects.toThrow(
      /cannot go from planned to launched|launched as a batch|check constraint/,
    );
    await owner('production_orders').where('id', planned.id).update({ quantity: 450 }); // planned: the ERP may change it
    await owner('production_orders').where('id', planned.id).update({ state: 'released' });
    await expect(owner('production_orders').where('id', planned.id).update({ quantity: 500 })).rejects.toThrow(
      /what it asks for changes only while it is planned/,
    );
    await expect(owner('production_orders').where('id', planned.id).update({ number: 'OTHER' })).rejects.toThrow(
      /what production order .* is cannot change/,
    );
    const launched = await owner('production_orders').where('number', `PO-${suffix}-2`).first();
    await expect(owner('production_orders').where('id', launched.id).update({ quantity: 1 })).rejects.toThrow(
      /is closed: it is final/,
    );
    const cancelled = await owner('production_orders').where('number', `PO-${suffix}-3`).first();
    await expect(owner('production_orders').where('id', cancelled.id).update({ state: 'released' })).rejects.toThrow(
      /is cancelled: it is final/,
    );
    await expect(owner('production_orders').where('id', cancelled.id).delete()).rejects.toThrow();
  });
});

test('the planner’s launch page offers the released orders, and launches one as a batch of its recipe and size', async () => {
  const number = `PO-${suffix}-4`;
  await as('planner', 'POST', '/orders', order(number, { quantity: 300 }));
  await as('planner', 'POST', `/orders/${number}/release`, {});
  // The mixers earlier batches left dirty, cleaned (they hold none now).
  for (const unit of ['MX-201', 'MX-202'])
    await as('operator1', 'POST', `/equipment/${unit}/status`, { cleanliness: 'clean', reason: 'cleaned' });
  browser = await startBrowser();
  const { page } = await browser.newPage();
  await logIn(page, env.api.url, 'planner');
  await page.goto(`${env.api.url}/batches`);
  const form = page.getByRole('form', { name: 'Launch a released production order' });
  await form.getByLabel('Order (its recipe and quantity)').selectOption(number);
  await expectAccessible(page);
  await form.getByRole('button', { name: 'Launch the order' }).click();
  await page.waitForURL(/\/batches\/[^/?]+\?launched=1$/);
  const batch = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  expect((await as('planner', 'GET', `/orders/${number}`)).body).toMatchObject({ state: 'launched', batch });
  expect((await as('planner', 'GET', `/batches/${batch}`)).body.batchSize).toEqual({ value: 300, unit: 'L' });
}, 120_000);

test('the orders page: a planner creates an order (a bad unit refused in words), releases it, cancels one with a reason', async () => {
  browser ??= await startBrowser();
  const { page } = await browser.newPage();
  await logIn(page, env.api.url, 'planner');
  await page.goto(`${env.api.url}/orders`);
  const form = page.getByRole('form', { name: 'New production order' });
  const fill = async (unit: string) => {
    await form.getByLabel('Order number').fill(`PO-${suffix}-W`);
    await form.getByLabel('Product (material code)').fill('PBS-1X');
    await form.getByLabel('Quantity').fill('250');
    await form.getByLabel('Unit (UCUM, e.g. L or kg)').fill(unit);
    await form.getByLabel('Recipe (code, optional)').fill('PBS-1X');
    await form.getByRole('button', { name: 'Create the order' }).click();
  };
  await fill('kg');
  expect(await page.getByRole('alert').textContent()).toContain("not a unit of PBS-1X's kind");
  await fill('L');
  await page.waitForURL(/\/orders\?done=created$/);
  const row = page.locator(`tr[data-order="PO-${suffix}-W"]`);
  expect(await row.textContent()).toContain('Planned');
  await expectAccessible(page);
  await row.getByRole('button', { name: `Release PO-${suffix}-W` }).click();
  await page.waitForURL(/done=release$/);
  expect(await page.locator(`tr[data-order="PO-${suffix}-W"]`).textContent()).toContain('Released to the floor');
  const cancel = page.locator(`tr[data-order="PO-${suffix}-W"]`);
  await cancel.getByLabel('Reason', { exact: true }).fill('customer withdrew the order');
  await cancel.getByRole('button', { name: `Cancel PO-${suffix}-W` }).click();
  await page.waitForURL(/done=cancel$/);
  expect((await as('planner', 'GET', `/orders/PO-${suffix}-W`)).body).toMatchObject({
    state: 'cancelled',
    quantity: { value: 250, unit: 'L' },
  });
  const trail = (await as('qa1', 'GET', `/audit?entity=production-order&action=order-cancel`)).body.items as Json[];
  expect(trail.at(-1)).toMatchObject({ username: 'planner', reason: 'customer withdrew the order' });
}, 120_000);

describe('B2MML: a ProcessProductionSchedule from the ERP', () => {
  const NS = 'http://www.mesa.org/xml/B2MML-V0600';
  const requestXml = (id: string, o: { unit?: string; produced?: boolean; consumedUnit?: string } = {}) => `
      <b2mml:ProductionRequest>
        <b2mml:ID>${id}</b2mml:ID>
        <b2mml:ProductProductionRuleID>PBS-1X</b2mml:ProductProductionRuleID>
        <b2mml:StartTime>2026-12-09T06:00:00Z</b2mml:StartTime>
        <b2mml:EndTime>2026-12-09T14:00:00+01:00</b2mml:EndTime>
        <b2mml:SegmentRequirement>
          <b2mml:ID>PREP</b2mml:ID>
          ${
            o.produced === false
              ? ''
              : `<b2mml:MaterialProducedRequirement>
            <b2mml:MaterialDefinitionID>PBS-1X</b2mml:MaterialDefinitionID>
            <b2mml:Quantity><b2mml:QuantityString>1000</b2mml:QuantityString><b2mml:DataType>double</b2mml:DataType><b2mml:UnitOfMeasure>${o.unit ?? 'LTR'}</b2mml:UnitOfMeasure></b2mml:Quantity>
          </b2mml:MaterialProducedRequirement>`
          }
          <b2mml:MaterialConsumedRequirement>
            <b2mml:MaterialDefinitionID>NACL</b2mml:MaterialDefinitionID>
            <b2mml:Quantity><b2mml:QuantityString>8.0</b2mml:QuantityString><b2mml:UnitOfMeasure>${o.consumedUnit ?? 'KG'}</b2mml:UnitOfMeasure></b2mml:Quantity>
          </b2mml:MaterialConsumedRequirement>
          <b2mml:MaterialConsumedRequirement>
            <b2mml:MaterialDefinitionID>KCL</b2mml:MaterialDefinitionID>
            <b2mml:Quantity><b2mml:QuantityString>200</b2mml:QuantityString><b2mml:UnitOfMeasure>GRM</b2mml:UnitOfMeasure></b2mml:Quantity>
          </b2mml:MaterialConsumedRequirement>
        </b2mml:SegmentRequirement>
      </b2mml:ProductionRequest>`;
  const schedule = (requests: string, ns = NS) => `<?xml version="1.0" encoding="UTF-8"?>
    <b2mml:ProcessProductionSchedule xmlns:b2mml="${ns}" releaseID="6.0">
      <b2mml:ApplicationArea><b2mml:CreationDateTime>2026-12-07T08:00:00Z</b2mml:CreationDateTime></b2mml:ApplicationArea>
      <b2mml:DataArea>
        <b2mml:Process/>
        <b2mml:ProductionSchedule>
          <b2mml:ID>WEEK-50-${suffix}</b2mml:ID>
          ${requests}
        </b2mml:ProductionSchedule>
      </b2mml:DataArea>
    </b2mml:ProcessProductionSchedule>`;
  const send = async (xml: string, contentType = 'application/xml') =>
    env.api.request('POST', '/integration/b2mml', undefined, {
      token: await env.token('planner'),
      raw: xml,
      headers: { 'Content-Type': contentType },
    });
  const count = async () => (await as('planner', 'GET', '/orders?limit=1000')).body.items.length;

  test('each ProductionRequest becomes a planned order, ERP units in UCUM; answered with an AcknowledgeProductionSchedule', async () => {
    const sent = schedule(requestXml(`ERP-${suffix}-1`) + requestXml(`ERP-${suffix}-2`, { unit: 'L' }));
    // What the ERP sends here, and what Ampoule answers, are valid against MESA's V0600 schema.
    expect(await mesaSchemaErrors(sent, 'B2MML-V0600-ProductionSchedule.xsd')).toEqual([]);
    const r = await send(sent);
    expect(r.status).toBe(200);
    expect(await mesaSchemaErrors(r.text, 'B2MML-V0600-ProductionSchedule.xsd')).toEqual([]);
    expect(r.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(r.text).toContain(`<AcknowledgeProductionSchedule xmlns="${NS}"`);
    expect(r.text).toMatch(new RegExp(`<ID>ERP-${suffix}-1</ID>\\s*<RequestState>Forecast</RequestState>`));
    expect(r.text).toContain(`<ID>WEEK-50-${suffix}</ID>`);
    const o = (await as('planner', 'GET', `/orders/ERP-${suffix}-1`)).body;
    expect(o).toMatchObject({
      source: 'b2mml',
      product: 'PBS-1X',
      quantity: { value: 1000, unit: 'L' },
      recipe: 'PBS-1X',
      requestedStart: '2026-12-09T06:00:00.000Z',
      requestedEnd: '2026-12-09T13:00:00.000Z',
      materials: [
        { material: 'NACL', quantity: 8, unit: 'kg' },
        { material: 'KCL', quantity: 200, unit: 'g' },
      ],
      state: 'planned',
    });
    const trail = (await as('qa1', 'GET', `/audit?entity=production-order&entityId=${o.id}`)).body.items;
    expect(trail[0]).toMatchObject({
      action: 'order-create',
      username: 'planner',
      reason: expect.stringContaining(`WEEK-50-${suffix}`),
    });
  });

  test('a document wrong anywhere is refused naming where (XPath), and no order of it is created', async () => {
    const before = await count();
    const refused = async (xml: string, xpath: string | RegExp, detail: RegExp) => {
      const r = await send(xml);
      expect([r.status, r.body.type, r.body.xpath, r.body.detail]).toEqual([
        422,
        '/api/problems/invalid-document',
        typeof xpath === 'string' ? xpath : expect.stringMatching(xpath),
        expect.stringMatching(detail),
      ]);
    };
    const second = '/ProcessProductionSchedule/DataArea/ProductionSchedule[1]/ProductionRequest[2]';
    // The first request is fine; the second has no product: neither is created.
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`) + requestXml(`ERP-${suffix}-4`, { produced: false })),
      second,
      /exactly one MaterialProducedRequirement/,
    );
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`) + requestXml(`ERP-${suffix}-4`, { consumedUnit: 'T' })),
      `${second}/SegmentRequirement[1]/MaterialConsumedRequirement[1]/Quantity[1]/UnitOfMeasure`,
      /the unit T is not in Ampoule's table.*not guessed/,
    );
    await refused(
      schedule(
        requestXml(`ERP-${suffix}-3`)
          .replace('<b2mml:ID>ERP', '<b2mml:Other>ERP')
          .replace(`-3</b2mml:ID>`, '-3</b2mml:Other>'),
      ),
      '/ProcessProductionSchedule/DataArea/ProductionSchedule[1]/ProductionRequest[1]/ID',
      /is missing/,
    );
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`).replace('>1000<', '>1 000<')),
      /QuantityString$/,
      /not a decimal/,
    );
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`), 'http://www.mesa.org/xml/B2MML-V0401'),
      '/ProcessProductionSchedule',
      /namespace/,
    );
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`)).replace('</b2mml:DataArea>', ''),
      '/',
      /not well-formed XML at line/,
    );
    await refused(`<!DOCTYPE x [<!ENTITY a "aaaa">]>${schedule('')}`, '/', /DOCTYPE is not accepted/);
    await refused(
      schedule(
        requestXml(`ERP-${suffix}-3`)
          .replace('<b2mml:Priority/>', '')
          .replace('</b2mml:ProductionRequest>', '<b2mml:__proto__>x</b2mml:__proto__></b2mml:ProductionRequest>'),
      ),
      '/',
      /not a document Ampoule reads/,
    );
    // What Ampoule reads is fine, but MESA's schema refuses the rest: the root's releaseID missing, an element in
    // the wrong place. Named by element and line.
    await refused(
      schedule(requestXml(`ERP-${suffix}-3`)).replace(' releaseID="6.0"', ''),
      '//ProcessProductionSchedule',
      /^\/\/ProcessProductionSchedule: not valid against MESA's B2MML V0600 schema at line 2: .*releaseID.* is required/,
    );
    const misplaced = await send(
      schedule(requestXml(`ERP-${suffix}-3`)).replace(
        '<b2mml:Process/>',
        '<b2mml:Process/><b2mml:Colour>red</b2mml:Colour>',
      ),
    );
    expect([misplaced.status, misplaced.body.xpath, misplaced.body.line]).toEqual([422, '//Colour', 5]);
    // What the orders themselves refuse, in its place: an order number taken, a unit not of the material's kind.
    const taken = await send(schedule(requestXml(`ERP-${suffix}-3`) + requestXml(`ERP-${suffix}-1`)));
    expect([taken.status, taken.body.type, taken.body.xpath]).toEqual([409, '/api/problems/code-taken', second]);
    const kind = await send(schedule(requestXml(`ERP-${suffix}-3`, { unit: 'KG' })));
    expect([kind.status, kind.body.xpath, kind.body.detail]).toEqual([
      422,
      '/ProcessProductionSchedule/DataArea/ProductionSchedule[1]/ProductionRequest[1]',
      expect.stringMatching(/kg is not a unit of PBS-1X's kind/),
    ]);
    expect(await count()).toBe(before);
  });

  test('round trip: an order from the ERP, its batch run, its ProductionPerformance — quantities and units as they went in', async () => {
    const number = `ERP-${suffix}-RT`;
    expect((await send(schedule(requestXml(number, { unit: 'L' })))).status).toBe(200);
    await as('planner', 'POST', `/orders/${number}/release`, {});
    for (const unit of ['MX-201', 'MX-202'])
      await as('operator1', 'POST', `/equipment/${unit}/status`, { cleanliness: 'clean', reason: 'cleaned' });
    const launched = await as('planner', 'POST', '/batches', { order: number });
    expect([launched.status, launched.body.batchSize]).toEqual([201, { value: 1000, unit: 'L' }]);
    const batch: string = launched.body.number;
    const lots = await stockMaterials(requester(env), DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
    expect(await operateBatch(requester(env), batch, { lots, password: DEMO_PASSWORD })).toBe('complete');

    const r = await as('qa1', 'GET', `/batches/${batch}/b2mml/production-performance`);
    expect(r.status).toBe(200);
    const raw = await (
      await fetch(`${env.api.url}/api/batches/${batch}/b2mml/production-performance`, {
        headers: { Authorization: `Bearer ${await env.token('qa1')}` },
      })
    ).text();
    expect(await mesaSchemaErrors(raw, 'B2MML-V0600-ProductionPerformance.xsd')).toEqual([]);
    const doc = new XMLParser({
      parseTagValue: false,
      ignoreAttributes: false,
      isArray: (n) => n.endsWith('Actual'),
    }).parse(raw);
    const response = doc.ProductionPerformance.ProductionResponse;
    expect(doc.ProductionPerformance['@_xmlns']).toBe('http://www.mesa.org/xml/B2MML-V0600');
    expect(response).toMatchObject({ ID: batch, ProductionRequestID: number, ResponseState: 'Completed' });
    const output = (await as('qa1', 'GET', `/lots/${launched.body.outputLot}`)).body;
    expect(response.SegmentResponse.MaterialProducedActual).toEqual([
      {
        MaterialDefinitionID: 'PBS-1X',
        MaterialLotID: launched.body.outputLot,
        Quantity: { QuantityString: String(output.transactions[0].quantity), DataType: 'double', UnitOfMeasure: 'L' },
      },
    ]);
    // What the record says each lot gave, in the ERP's codes: NaCl in KG as the order asked for it.
    const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries as Json[];
    const nacl = ebr.find((e) => e.kind === 'lots-consumed' && e.data.material === 'NACL')!.data.lots[0];
    expect(response.SegmentResponse.MaterialConsumedActual).toContainEqual({
      MaterialDefinitionID: 'NACL',
      MaterialLotID: nacl.lotNumber,
      Quantity: { QuantityString: String(nacl.quantity), DataType: 'double', UnitOfMeasure: 'KG' },
    });
    expect(response.SegmentResponse.MaterialConsumedActual).toHaveLength(4);
  }, 120_000);

  test('a document goes to the document endpoint only: JSON there, or XML elsewhere, is 415', async () => {
    const json = await env.api.request('POST', '/integration/b2mml', { a: 1 }, { token: await env.token('planner') });
    expect(json.status).toBe(415);
    const xmlToJson = await env.api.request('POST', '/orders', undefined, {
      token: await env.token('planner'),
      raw: '<order/>',
      headers: { 'Content-Type': 'application/xml' },
    });
    expect(xmlToJson.status).toBe(415);
    expect((await send(schedule(requestXml(`ERP-${suffix}-9`)), 'text/plain')).status).toBe(415);
  });
});

test('orders page newest first, a page at a time, none skipped or repeated', async () => {
  for (let i = 0; i < 3; i++) await as('planner', 'POST', '/orders', order(`PO-${suffix}-P${i}`));
  const all = (await as('planner', 'GET', '/orders?limit=1000')).body.items.map((o: Json) => o.number);
  const paged: string[] = [];
  for (let cursor: string | null = null, pages = 0; pages < 100; pages++) {
    const r: { body: Json } = await as('planner', 'GET', `/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    paged.push(...r.body.items.map((o: Json) => o.number));
    cursor = r.body.next;
    if (!cursor) break;
  }
  expect(paged).toEqual(all);
  expect(all.slice(0, 3)).toEqual([`PO-${suffix}-P2`, `PO-${suffix}-P1`, `PO-${suffix}-P0`]);
});
