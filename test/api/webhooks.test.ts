/**
 * Events out through the API, to a real HTTP receiver on loopback: an admin subscribes (the secret shown once,
 * audited); production orders' changes are written to the outbox in their transaction (a refused change writes
 * none) and delivered in order, signed per Standard Webhooks (verified here with the `standardwebhooks` package);
 * a receiver that fails is retried with backoff — duplicates only ever with the same webhook-id — and after the
 * subscription's maximum a delivery is dead until an admin sends it again.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { WebhookRelay } from '../../api/integration/webhook-relay';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import { DEMO_MATERIALS } from '../../demo/master-data';
import { startTestApi, uname, type TestApi } from '../support/api';
import { DEMO_PASSWORD } from '../support/batch-env';
import { startBrowser } from '../support/browser';
import { expectAccessible, logIn } from '../support/pages';
import { until } from '../support/wait';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on loopback: answers 500 while `failing` is above 0 (counting down) or `always500`, else 200. */
function startReceiver() {
  const received: Received[] = [];
  const state = { failing: 0, always500: false };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const fail = state.always500 || state.failing > 0;
      if (state.failing > 0) state.failing--;
      res.writeHead(fail ? 500 : 200).end();
    });
  });
  return new Promise<{ url: string; received: Received[]; state: typeof state; close: () => Promise<void> }>(
    (resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
          received,
          state,
          close: () => new Promise((r) => server.close(() => r())),
        }),
      ),
  );
}

let api: TestApi;
let relay: WebhookRelay;
let admin: string;
let planner: string;
const suffix = Date.now().toString(36).toUpperCase();

beforeAll(async () => {
  api = await startTestApi();
  await api.services.db.transaction(async (trx) => {
    const ctx = { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test master data' };
    for (const m of DEMO_MATERIALS.filter((m) => ['PBS-1X', 'NACL'].includes(m.code)))
      await api.services.masterData.createMaterial(ctx, m);
  });
  const a = uname('admin');
  const p = uname('planner');
  await api.createUser(a, ['admin']);
  await api.createUser(p, ['planner']);
  admin = await api.login(a);
  planner = await api.login(p);
  // Quick retries, so that the test sees backoff and dead letters in moments.
  relay = new WebhookRelay(api.services.db, api.services.stores, pino({ level: 'silent' }), {
    pollMs: 50,
    timeoutMs: 2_000,
    backoffMs: 100,
    maxBackoffMs: 400,
  });
  relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await api?.close();
});

const order = (n: string) => ({ number: n, product: 'PBS-1X', quantity: 100, unit: 'L' });
const subscribe = async (url: string, eventTypes: string[], extra: Json = {}) => {
  const r = await api.request('POST', '/webhooks/subscriptions', { url, eventTypes, ...extra }, { token: admin });
  expect(r.status).toBe(201);
  return r.body as Json;
};
const deliveries = async (subscription: string, state?: string) =>
  (
    await api.request(
      'GET',
      `/webhooks/subscriptions/${subscription}/deliveries?limit=1000${state ? `&state=${state}` : ''}`,
      undefined,
      { token: admin },
    )
  ).body.items as Json[];

test('subscribed events arrive in order, signed, each id once; the secret is shown once; a refused change emits nothing', async () => {
  const receiver = await startReceiver();
  try {
    const sub = await subscribe(receiver.url, ['order.created', 'order.released'], { description: 'ERP' });
    expect(sub.secret).toMatch(/^whsec_/);
    const read = await api.request('GET', `/webhooks/subscriptions/${sub.id}`, undefined, { token: admin });
    expect(read.body.secret).toBeUndefined();
    const trail = (
      await api.request('GET', `/audit?entity=webhook-subscription&entityId=${sub.id}`, undefined, { token: admin })
    ).body.items;
    expect(JSON.stringify(trail)).not.toContain(sub.secret);
    expect(trail[0]).toMatchObject({ action: 'webhook-subscribe' });

    const numbers = [1, 2, 3].map((i) => `WH-${suffix}-${i}`);
    for (const n of numbers) {
      expect((await api.request('POST', '/orders', order(n), { token: planner })).status).toBe(201);
      expect((await api.request('POST', `/orders/${n}/release`, {}, { token: planner })).status).toBe(200);
    }
    // Refused (a unit of another kind): no order, no event.
    expect(
      (await api.request('POST', '/orders', { ...order(`WH-${suffix}-X`), unit: 'kg' }, { token: planner })).status,
    ).toBe(422);
    await api.request('POST', `/orders/${numbers[0]}/cancel`, { reason: 'not subscribed to' }, { token: planner });

    await until(() => receiver.received.length >= 6 || undefined, 20_000, 'six deliveries');
    await new Promise((r) => setTimeout(r, 300)); // nothing more comes
    const hook = new Webhook(sub.secret);
    const events = receiver.received.map((r) => {
      const verified = hook.verify(r.body, {
        'webhook-id': r.headers['webhook-id'] as string,
        'webhook-timestamp': r.headers['webhook-timestamp'] as string,
        'webhook-signature': r.headers['webhook-signature'] as string,
      }) as Json;
      return {
        id: r.headers['webhook-id'],
        type: verified.type,
        order: verified.data.order,
        state: verified.data.state,
      };
    });
    expect(events.map((e) => [e.type, e.order])).toEqual(
      numbers.flatMap((n) => [
        ['order.created', n],
        ['order.released', n],
      ]),
    );
    expect(new Set(events.map((e) => e.id)).size).toBe(6);
    // A signature with another secret does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.from('another secret of 32 bytes......').toString('base64')}`).verify(
        receiver.received[0].body,
        receiver.received[0].headers as Record<string, string>,
      ),
    ).toThrow();
    expect((await deliveries(sub.id, 'delivered')).length).toBe(6);
  } finally {
    await receiver.close();
  }
});

test('a failing receiver is retried with backoff, the same webhook-id each time; the log keeps every attempt', async () => {
  const receiver = await startReceiver();
  try {
    receiver.state.failing = 2;
    const sub = await subscribe(receiver.url, ['*']);
    const n = `WH-${suffix}-R`;
    await api.request('POST', '/orders', order(n), { token: planner });
    await until(async () => (await deliveries(sub.id, 'delivered')).length === 1 || undefined, 20_000, 'delivered');
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(
      Array(3).fill(receiver.received[0].headers['webhook-id']),
    );
    const [d] = await deliveries(sub.id);
    expect(d).toMatchObject({
      state: 'delivered',
      attempts: 3,
      lastStatus: 200,
      event: { type: 'order.created', subject: n },
    });
  } finally {
    await receiver.close();
  }
});

test('after its attempts a delivery is dead, later events go on; sent again by an admin, it arrives (audited)', async () => {
  const receiver = await startReceiver();
  try {
    receiver.state.always500 = true;
    const sub = await subscribe(receiver.url, ['order.created'], { maxAttempts: 2 });
    await api.request('POST', '/orders', order(`WH-${suffix}-D1`), { token: planner });
    await until(async () => (await deliveries(sub.id, 'dead')).length === 1 || undefined, 20_000, 'a dead letter');
    const [dead] = await deliveries(sub.id, 'dead');
    expect(dead).toMatchObject({ attempts: 2, lastStatus: 500, lastError: 'answered 500' });

    receiver.state.always500 = false;
    await api.request('POST', '/orders', order(`WH-${suffix}-D2`), { token: planner });
    await until(
      async () => (await deliveries(sub.id, 'delivered')).length === 1 || undefined,
      20_000,
      'the next event',
    );
    expect((await api.request('POST', `/webhooks/deliveries/${dead.id}/redeliver`, {}, { token: admin })).status).toBe(
      422,
    ); // a reason
    const again = await api.request(
      'POST',
      `/webhooks/deliveries/${dead.id}/redeliver`,
      { reason: 'receiver fixed' },
      { token: admin },
    );
    expect([again.status, again.body.state]).toEqual([200, 'pending']);
    await until(async () => (await deliveries(sub.id, 'delivered')).length === 2 || undefined, 20_000, 'redelivered');
    expect(
      (await api.request('POST', `/webhooks/deliveries/${dead.id}/redeliver`, { reason: 'twice' }, { token: admin }))
        .status,
    ).toBe(409);
    const trail = (
      await api.request(
        'GET',
        `/audit?entity=webhook-subscription&entityId=${sub.id}&action=webhook-redeliver`,
        undefined,
        { token: admin },
      )
    ).body.items;
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({ reason: 'receiver fixed' });
    // Only admins manage subscriptions.
    expect((await api.request('GET', '/webhooks/subscriptions', undefined, { token: planner })).status).toBe(403);
  } finally {
    await receiver.close();
  }
});

test('two relays (two API processes) never send a subscription’s events at once or out of order', async () => {
  // A receiver that takes its time, and notes whether a delivery arrived while another was still being answered.
  const received: { id: string; order: string }[] = [];
  let inFlight = 0;
  let overlapped = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    inFlight++;
    if (inFlight > 1) overlapped++;
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      setTimeout(() => {
        received.push({ id: String(req.headers['webhook-id']), order: (JSON.parse(body) as Json).data.order });
        inFlight--;
        res.writeHead(200).end();
      }, 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  // The production timeout: a delivery is sent again only if this busy machine stalls for seconds.
  const second = new WebhookRelay(api.services.db, api.services.stores, pino({ level: 'silent' }), {
    pollMs: 37,
    timeoutMs: 10_000,
    backoffMs: 100,
    maxBackoffMs: 400,
  });
  second.start();
  try {
    await subscribe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, ['order.created']);
    const numbers = Array.from({ length: 15 }, (_, i) => `WH-${suffix}-T${String(i).padStart(2, '0')}`);
    for (const n of numbers) await api.request('POST', '/orders', order(n), { token: planner });
    const distinct = () => received.filter((r, i) => i === 0 || r.id !== received[i - 1].id);
    await until(() => distinct().length >= numbers.length || undefined, 30_000, 'every event');
    await new Promise((r) => setTimeout(r, 300));
    // At least once: a delivery whose outcome was not recorded in time is sent again — with its own id, before any
    // later one (the subscription's next delivery waits for it).
    expect(distinct().map((r) => r.order)).toEqual(numbers);
    expect(new Set(received.map((r) => r.id)).size).toBe(numbers.length);
    expect(overlapped).toBe(0);
  } finally {
    await second.stop();
    await new Promise((r) => server.close(() => r(undefined)));
  }
});

test('a subscription URL with credentials is refused (it would be kept in the audit trail)', async () => {
  const r = await api.request(
    'POST',
    '/webhooks/subscriptions',
    { url: 'https://erp:secret@erp.example/hook', eventTypes: ['*'] },
    { token: admin },
  );
  expect(r.status).toBe(400);
});

test('the webhooks page: an admin subscribes (the secret shown once), follows the deliveries, sends a dead one again, deactivates with a reason', async () => {
  const receiver = await startReceiver();
  const browser = await startBrowser();
  try {
    const name = uname('webadmin');
    await api.createUser(name, ['admin'], DEMO_PASSWORD);
    const { page } = await browser.newPage();
    await logIn(page, api.url, name);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expectAccessible(page);
    // A bad address is refused in words, and what was entered is kept.
    await page.getByLabel('Address (http or https, no user or password in it)').fill('https://erp:pw@erp.example/hook');
    await page.getByLabel('order.created').check();
    await page.getByLabel('order.released').check();
    await page.getByLabel('Attempts before a delivery is dead (1–50, 8 if empty)').fill('1');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/no credentials in the URL/);
    expect(await page.getByLabel('order.created').isChecked()).toBe(true);
    expect(await page.getByLabel('order.released').isChecked()).toBe(true);
    await page.getByLabel('Address (http or https, no user or password in it)').fill(receiver.url);
    await page.getByLabel('Description (optional)').fill('ERP test receiver');
    receiver.state.always500 = true;
    await page.getByRole('button', { name: 'Subscribe' }).click();
    const secretBox = page.locator('section.secret');
    const secret = (await secretBox.locator('code.secret-value').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    const id = (await secretBox.getAttribute('data-secret-for'))!;
    await expectAccessible(page);
    // Shown once: the list never shows it again.
    await page.goto(`${api.url}/webhooks`);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator(`tr[data-subscription="${id}"]`).textContent()).toMatch(
      /ERP test receiver.*order\.created, order\.released/,
    );

    // One attempt, answered 500: dead. Sent again from its log, once the receiver answers.
    await api.request('POST', '/orders', order(`WH-${suffix}-P1`), { token: planner });
    await until(async () => (await deliveries(id, 'dead')).length === 1 || undefined, 20_000, 'a dead letter');
    await page.locator(`tr[data-subscription="${id}"] a`).click();
    const dead = page.locator('tr[data-delivery]').first();
    expect(await dead.textContent()).toMatch(/order\.created · WH-.*-P1.*⚠ Dead.*1 · HTTP 500/);
    await expectAccessible(page);
    receiver.state.always500 = false;
    await dead.getByLabel('Reason').fill('receiver fixed');
    await dead.getByRole('button', { name: 'Send again' }).click();
    expect(await page.getByRole('status').textContent()).toMatch(/Pending again/);
    await until(async () => (await deliveries(id, 'delivered')).length === 1 || undefined, 20_000, 'redelivered');
    await page.reload();
    expect(await page.locator('tr[data-delivery]').first().textContent()).toMatch(/✓ Delivered.*HTTP 200/);
    const body = JSON.parse(receiver.received[receiver.received.length - 1].body);
    expect(body).toMatchObject({ type: 'order.created', data: { order: `WH-${suffix}-P1` } });
    new Webhook(secret).verify(
      receiver.received[receiver.received.length - 1].body,
      receiver.received[receiver.received.length - 1].headers as Record<string, string>,
    );

    // Deactivated with a reason (required), audited.
    await page.getByRole('link', { name: '← Webhook subscriptions' }).click();
    const row = page.locator(`tr[data-subscription="${id}"]`);
    await row.getByLabel('Reason').fill('ERP moved to the new receiver');
    await row.getByRole('button', { name: 'Deactivate' }).click();
    expect(await page.getByRole('status').textContent()).toMatch(/Deactivated/);
    expect(await page.locator(`tr[data-subscription="${id}"]`).textContent()).toMatch(/Inactive/);
    const trail = (
      await api.request('GET', `/audit?entity=webhook-subscription&entityId=${id}`, undefined, { token: admin })
    ).body.items as Json[];
    expect(trail.map((a) => [a.action, a.reason])).toEqual([
      ['webhook-subscribe', null],
      ['webhook-redeliver', 'receiver fixed'],
      ['webhook-deactivate', 'ERP moved to the new receiver'],
    ]);
  } finally {
    await browser.close();
    await receiver.close();
  }
}, 60_000);
