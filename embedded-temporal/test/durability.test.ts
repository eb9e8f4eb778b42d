/**
 * Durability: the server is killed with SIGKILL mid-workflow and restarted on the same store (a PGlite
 * directory, and PostgreSQL when TEST_DATABASE_URL is set). Running workflows, timers, signals and
 * in-flight activities must all survive; every history must still replay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './fixtures/activities';
import * as wf from './fixtures/workflows';
import {
  embeddedOnly,
  eventTypes,
  eventually,
  freePort,
  quietRuntime,
  replay,
  spawnServer,
  uid,
  workflowBundle,
  type ServerProcess,
} from './harness';
import { POSTGRES_URL, createDatabaseOn } from '../testing';

interface Store {
  name: string;
  args: string[];
  cleanup(): Promise<void>;
}

async function pgliteStore(): Promise<Store> {
  const dir = mkdtempSync(path.join(tmpdir(), 'et-durability-'));
  return {
    name: 'pglite',
    args: ['--db-filename', dir],
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresStore(): Promise<Store> {
  const db = await createDatabaseOn(POSTGRES_URL, 'et_durability');
  return { name: 'postgres', args: ['--db-url', db.url], cleanup: () => db.drop() };
}

const stores: [string, () => Promise<Store>][] = [['PGlite', pgliteStore]];
if (POSTGRES_URL) stores.push(['PostgreSQL', postgresStore]);

embeddedOnly.each(stores)('kill -9 and restart on %s', (_label, makeStore) => {
  let store: Store;
  let port: number;
  let server: ServerProcess;

  beforeAll(async () => {
    quietRuntime();
    store = await makeStore();
    port = await freePort();
    server = await spawnServer(store.args, port);
  });

  afterAll(async () => {
    await server?.kill();
    await store?.cleanup();
  });

  async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: await workflowBundle(), activities });
    try {
      return await worker.runUntil(fn);
    } finally {
      await connection.close();
    }
  }

  test('workflows, timers and signals survive; an overdue timer fires at once', async () => {
    const taskQueue = uid('tq');
    let connection = await Connection.connect({ address: server.address });
    let client = new Client({ connection });
    const sleeperId = uid('sleeper');
    const accId = uid('acc');
    await withWorker(taskQueue, async () => {
      await client.workflow.start(wf.sleeper, { taskQueue, workflowId: sleeperId, args: [1500] });
      const acc = await client.workflow.start(wf.accumulator, { taskQueue, workflowId: accId });
      await acc.signal(wf.addSignal, 5);
      await eventually(async () => (await acc.query(wf.totalQuery)) === 5);
      await eventually(async () =>
        eventTypes(await client.workflow.getHandle(sleeperId).fetchHistory()).includes('TimerStarted'),
      );
    });
    // A signal acknowledged while no worker runs must survive the crash too.
    await client.workflow.getHandle(accId).signal(wf.addSignal, 10);
    await connection.close();

    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1800)); // the sleeper's timer is now overdue
    server = await spawnServer(store.args, port);

    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    const results = await withWorker(taskQueue, async () => {
      const acc = client.workflow.getHandle(accId);
      await acc.signal(wf.doneSignal);
      return Promise.all([client.workflow.getHandle(sleeperId).result(), acc.result()]);
    });
    expect(results).toEqual(['slept', 15]);
    // The restart itself adds nothing to a history: the same events as without a crash.
    expect(eventTypes(await client.workflow.getHandle(sleeperId).fetchHistory())).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
      'TimerStarted',
      'TimerFired',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionCompleted',
    ]);
    for (const id of [sleeperId, accId]) await replay(await client.workflow.getHandle(id).fetchHistory(), id);
    await connection.close();
  });

  test('an activity running during the crash completes exactly once', async () => {
    const taskQueue = uid('tq');
    let connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const id = uid('slow');
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const running = worker.run();
    try {
      const handle = await client.workflow.start(wf.slowActivity, { taskQueue, workflowId: id, args: [1000, 'crash'] });
      await eventually(async () => (await handle.describe()).raw.pendingActivities?.[0]?.state === 2 /* STARTED */);
      await connection.close();
      await server.kill('SIGKILL');
      server = await spawnServer(store.args, port);
      connection = await Connection.connect({ address: server.address });
      const again = new Client({ connection });
      expect(await again.workflow.getHandle(id).result()).toBe('Hello slowly, crash!');
      const history = await again.workflow.getHandle(id).fetchHistory();
      expect(eventTypes(history).filter((t) => t === 'ActivityTaskCompleted')).toHaveLength(1);
      await replay(history, id);
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    }
  });

  test('state committed before the crash is all there: describe, list and history agree', async () => {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const taskQueue = uid('tq');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const h = await client.workflow.start('raw', { taskQueue, workflowId: uid('many'), args: [i] });
      await h.signal('s', i);
      ids.push(h.workflowId);
    }
    await connection.close();
    await server.kill('SIGKILL');
    server = await spawnServer(store.args, port);
    const c2 = await Connection.connect({ address: server.address });
    const client2 = new Client({ connection: c2 });
    expect((await client2.workflow.count(`TaskQueue = '${taskQueue}'`)).count).toBe(20);
    for (const id of ids) {
      expect(eventTypes(await client2.workflow.getHandle(id).fetchHistory())).toEqual([
        'WorkflowExecutionStarted',
        'WorkflowTaskScheduled',
        'WorkflowExecutionSignaled',
      ]);
    }
    await c2.close();
  });

  test('a schedule survives the crash and catches up the times it missed while the server was down', async () => {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const scheduleId = uid('every-2s');
    const handle = await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: 2000 }] },
      // No worker: each workflow stays open, and ALLOW_ALL starts the next one anyway.
      action: { type: 'startWorkflow', workflowType: 'raw', taskQueue: uid('tq') },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
      memo: { kept: true },
    });
    await eventually(async () => ((await handle.describe()).info.numActionsTaken >= 1 ? true : undefined), 10_000);
    await connection.close();
    await server.kill('SIGKILL');
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    server = await spawnServer(store.args, port);
    const c2 = await Connection.connect({ address: server.address });
    const again = new Client({ connection: c2 }).schedule.getHandle(scheduleId);
    const d = await eventually(async () => {
      const x = await again.describe();
      return x.info.recentActions.some((a) => a.takenAt.getTime() > down + 5_000) ? x : undefined;
    }, 10_000);
    expect(d.memo).toEqual({ kept: true });
    // Every 2-second time is there, those of the downtime taken at the restart.
    const times = d.info.recentActions.map((a) => a.scheduledAt.getTime());
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(2000);
    expect(times.filter((t) => t > down && t < down + 5_000).length).toBeGreaterThanOrEqual(2);
    expect(d.info.runningActions.length).toBe(d.info.numActionsTaken);
    await again.delete();
    await c2.close();
  });
});
