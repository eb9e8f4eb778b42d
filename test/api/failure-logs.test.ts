/**
 * A 5xx is logged once, with its request id and its cause: a launch on a Temporal namespace that lacks Ampoule's
 * search attributes answers 503 "could not be started", and the log says why (the server's own words), where before
 * it said only "Failed to start Workflow".
 */
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '@ampoule/embedded-temporal';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDemoData, loadDemoEquipment } from '../../demo/load';
import { startSimulator, type EquipmentSimulator } from '../../equipment/simulator/simulator';
import { startTestApi, type TestApi } from '../support/api';
import { toProblem } from '../../api/http/errors';

const PASSWORD = 'failure-logs-password';
const lines: Record<string, unknown>[] = [];
let api: TestApi;
let cluster: EmbeddedTemporal;
let connection: Connection;
let simulator: EquipmentSimulator;
const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-failure-logs-'));

beforeAll(async () => {
  cluster = await startEmbeddedTemporal({ port: 0, searchAttributes: {} });
  connection = await Connection.connect({ address: cluster.address });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  api = await startTestApi({
    temporal: { client: new Client({ connection }), taskQueue: 'nobody-polls' },
    log: pino({ level: 'info' }, sink),
  });
  await loadDemoData(api.services, PASSWORD);
  // The units the launch allocates (nothing reaches them: the workflow never starts).
  simulator = await startSimulator({ pkiFolder: path.join(dir, 'simulator') });
  await loadDemoEquipment(api.services, simulator);
}, 60_000);
afterAll(async () => {
  await api?.close();
  await connection?.close();
  await cluster?.stop();
  await simulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a launch Temporal refuses: 503 to the client, the cause in the log once, with the request id', async () => {
  const token = await api.login('planner', PASSWORD);
  const r = await api.request('POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 }, { token });
  expect(r.status).toBe(503);
  expect(r.body.detail).toMatch(/could not be started, so nothing was recorded/);
  const failures = lines.filter((l) => l.requestId === r.body.requestId && l.level === 50);
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({
    problem: 'temporal-unavailable',
    msg: expect.stringMatching(/^POST \/api\/batches failed/),
  });
  expect((failures[0].causes as string[]).join(' | ')).toMatch(/Search attribute AmpouleBatch is not defined/);
  // Nothing was recorded.
  expect((await api.request('GET', '/batches', undefined, { token })).body).toEqual({ items: [], next: null });
});

test('PostgreSQL out of reach is a 503 to send again (Retry-After), with its cause — not an unexpected 500', () => {
  for (const err of [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('connection failure'), { code: '08006' }),
    new Error('Connection terminated unexpectedly'),
    new Error('select * from "batch_steps" where "batch_id" = $1 - Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }),
  ]) {
    const p = toProblem(err)!;
    expect([p.slug, p.status, p.headers['Retry-After'], p.cause]).toEqual(['database-unavailable', 503, '2', err]);
  }
  expect(toProblem(Object.assign(new Error('syntax error'), { code: '42601' }))).toBeUndefined();
});
