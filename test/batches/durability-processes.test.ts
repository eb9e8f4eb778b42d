/**
 * A batch survives its processes: a `bin/ampoule worker` process is SIGKILLed mid-phase and another process takes
 * over (on PostgreSQL), and the embedded Temporal server is SIGKILLed mid-batch and restarted on its store. Each
 * time the batch finishes, every batch-record entry is written once, and the simulator's counters show that no
 * equipment phase was started twice. The histories are kept as the replay corpus.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTemporalConfig } from '../../config/temporal-config';
import { openPki } from '../../equipment/pki';
import { startBatchEnv, type BatchEnv } from '../support/batch-env';
import { assertClean, longMixBatch, requester } from '../support/long-batch';
import { POSTGRES_URL } from '../support/postgres';
import { keepInCorpus } from '../support/replay-corpus';
import { spawnWorker, type AmpouleProcess } from '../support/server-process';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// A second process cannot open an in-memory PGlite database, so this runs on PostgreSQL only (as in CI).
(POSTGRES_URL ? describe : describe.skip)(
  'a worker process is SIGKILLed mid-phase and another process takes over',
  () => {
    let env: BatchEnv;
    let dataDir: string;
    const workers: AmpouleProcess[] = [];
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
