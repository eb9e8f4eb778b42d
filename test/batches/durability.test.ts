/**
 * A batch survives its worker and its Temporal server: the worker goes away while an equipment phase
 * runs and another takes over (stopped in this process; on PostgreSQL also a `bin/ampoule worker` process
 * SIGKILLed); the embedded server is SIGKILLed mid-batch and restarted on its store.
 * Each time the batch finishes, every batch-record entry is written once, and the simulator's counters
 * show that no equipment phase was started twice. The histories are kept as the replay corpus.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTemporalConfig } from '../../config/temporal-config';
import { DEMO_STOCK, operateBatch, stockMaterials, type Request } from '../../demo/automated-operator';
import { openPki } from '../../equipment/pki';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { POSTGRES_URL } from '../support/postgres';
import { keepInCorpus, replayBatch } from '../support/replay-corpus';
import { spawnWorker, type WorkerProcess } from '../support/server-process';
import { until } from '../support/wait';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function requester(env: BatchEnv): Request {
  return async (user, method, p, body) => env.api.request(method, p, body, { token: await env.token(user) });
}

/** Launches a PBS batch whose mixing runs long enough to be interrupted, and drives it with automated operators. */
async function longMixBatch(env: BatchEnv, request: Request) {
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
async function assertClean(env: BatchEnv, request: Request, batch: string, starts: { mix: number; fill: number }) {
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

describe('the worker goes away mid-phase and another takes over', () => {
  let env: BatchEnv;
  beforeAll(async () => {
    env = await startBatchEnv();
    await env.startWorker();
  }, 120_000);
  afterAll(async () => env?.close());

  test('the batch finishes; the phase was watched again, never started again', async () => {
    const request = requester(env);
    const { batch, operating, mix, starts } = await longMixBatch(env, request);
    await env.stopWorker();
    expect(mix.state).toBe('running'); // a worker shutting down leaves the phase alone
    // With no worker to answer the live-state query, the batch's screen shows the recorded state after a
    // short wait (3 s), not after the server's one-minute query timeout.
    const asked = Date.now();
    const screen = await request('qa1', 'GET', `/batches/${batch}`);
    expect(Date.now() - asked).toBeLessThan(15_000);
    expect(screen.body.live.status).toBe('running');
    expect(screen.body.live.steps.find((s: Json) => s.id === 'mix').status).toBe('active');
    await env.startWorker();
    expect(await operating).toBe('complete');
    mix.faults.slowdown = undefined;
    const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
    expect(ebr.entries.find((e: Json) => e.kind === 'equipment-parameters' && e.stepId === 'mix').data.reconciled).toBe(
      true,
    );
    // The record says the phase was interrupted, and taken up again by watching it on.
    expect(
      ebr.entries
        .filter((e: Json) => e.kind === 'phase-interrupted')
        .map((e: Json) => [e.stepId, e.data.attempt, e.data.resumed]),
    ).toEqual([['mix', 2, 'reconciled']]);
    keepInCorpus('pbs-worker-restart', await assertClean(env, request, batch, starts));
  }, 180_000);

  test('a controller that lost the phase while no worker watched: the phase runs again from the start, and the record and the review say so', async () => {
    const request = requester(env);
    expect(
      (
        await request('operator1', 'POST', '/equipment/MX-201/status', {
          cleanliness: 'clean',
          reason: 'cleaned after the last batch',
        })
      ).status,
    ).toBe(200);
    const { batch, operating, mix, starts } = await longMixBatch(env, request);
    await env.stopWorker();
    // The whole process went down, simulator included: the controller comes back Idle, with nothing latched.
    mix.powerCycle();
    await env.startWorker();
    expect(await operating).toBe('complete');
    mix.faults.slowdown = undefined;
    expect(mix.executed.start - starts.mix).toBe(2);
    const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
    expect(ebr.chain.ok).toBe(true);
    const interrupted = ebr.entries.filter((e: Json) => e.kind === 'phase-interrupted');
    expect(interrupted).toEqual([
      expect.objectContaining({
        stepId: 'mix',
        data: {
          unit: 'MX-201',
          phase: 'MIX',
          commandId: `batch-${batch}/mix`,
          attempt: 2,
          resumed: 'restarted',
          earlierRuns: 1,
        },
      }),
    ]);
    // Its state history shows it running twice under one command id.
    const history = (await request('qa1', 'GET', '/equipment/MX-201/state?limit=1000')).body.history;
    expect(history.filter((h: Json) => h.commandId === `batch-${batch}/mix` && h.state === 'running')).toHaveLength(2);
    expect((await request('qa1', 'GET', `/batches/${batch}/review`)).body.interruptedPhases).toEqual([
      expect.objectContaining({ stepId: 'mix', attempt: 2, resumed: 'restarted' }),
    ]);
    keepInCorpus('pbs-phase-restarted', await replayBatch(env.client, batch));
  }, 180_000);
});

// A second process cannot open an in-memory PGlite database, so this runs on PostgreSQL only (as in CI).
(POSTGRES_URL ? describe : describe.skip)(
  'a worker process is SIGKILLed mid-phase and another process takes over',
  () => {
    let env: BatchEnv;
    let dataDir: string;
    const workers: WorkerProcess[] = [];
    /** `bin/ampoule worker` on the test's database and Temporal server, with its own OPC UA certificate. */
    const spawnProcessWorker = async () => {
      const w = await spawnWorker({
        DATABASE_URL: env.api.databaseUrl!,
        TEMPORAL_ADDRESS: env.address,
        AMPOULE_DATA_DIR: dataDir,
      });
      workers.push(w);
      return w;
    };
    beforeAll(async () => {
      // bin/ampoule worker polls the task queue temporal.yaml names.
      // A dead worker's phase is taken over once its heartbeat is 5 s overdue (30 s by default): the test waits that long.
      env = await startBatchEnv({
        taskQueue: loadTemporalConfig(undefined, {}).taskQueues.batches,
        equipmentHeartbeatTimeout: '5s',
      });
      dataDir = mkdtempSync(path.join(tmpdir(), 'ampoule-worker-'));
      const pki = await openPki(path.join(dataDir, 'pki', 'ampoule'), 'ampoule');
      await env.simulator.pki.trust(pki.certificate());
      await pki.trust(env.simulator.pki.certificate());
    }, 120_000);
    afterAll(async () => {
      for (const w of workers) await w.kill('SIGTERM');
      await env?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('the batch finishes once the activity times out; the phase was watched again, never started again', async () => {
      const request = requester(env);
      const first = await spawnProcessWorker();
      const { batch, operating, mix, starts } = await longMixBatch(env, request);
      await first.kill('SIGKILL'); // no shutdown, no activity cancelled: the server learns only from the heartbeat timeout (5 s here)
      expect(mix.state).toBe('running');
      await spawnProcessWorker();
      expect(await operating).toBe('complete');
      mix.faults.slowdown = undefined;
      const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
      expect(
        ebr.entries.find((e: Json) => e.kind === 'equipment-parameters' && e.stepId === 'mix').data.reconciled,
      ).toBe(true);
      keepInCorpus('pbs-worker-killed', await assertClean(env, request, batch, starts));
    }, 240_000);
  },
);

describe('the Temporal server is killed mid-batch and restarted on its store', () => {
  let env: BatchEnv;
  beforeAll(async () => {
    env = await startBatchEnv({ temporalProcess: true });
    await env.startWorker();
  }, 120_000);
  afterAll(async () => env?.close());

  test('the batch finishes with a clean record and no phase started twice', async () => {
    const request = requester(env);
    const { batch, operating, mix, starts } = await longMixBatch(env, request);
    await env.restartTemporal!();
    expect(await operating).toBe('complete');
    mix.faults.slowdown = undefined;
    keepInCorpus('pbs-server-restart', await assertClean(env, request, batch, starts));
  }, 180_000);
});
