/**
 * A batch survives its worker: the worker goes away while an equipment phase runs and another takes over (stopped
 * in this process). The batch finishes, every batch-record entry is written once, and the simulator's counters show
 * that no equipment phase was started twice — or, where the controller lost the phase, that it ran again and the
 * record says so. The histories are kept as the replay corpus. (Worker processes and the Temporal server killed:
 * durability-processes.test.ts.)
 */
import { startBatchEnv, type BatchEnv } from '../support/batch-env';
import { assertClean, longMixBatch, requester } from '../support/long-batch';
import { keepInCorpus, replayBatch } from '../support/replay-corpus';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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
