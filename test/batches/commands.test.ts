/**
 * Batch commands and failures on the fed-batch recipe (two unit procedures side by side): a controller
 * refusing Start fails the step and holds the batch; Restart runs the phase again under a new command id;
 * Stop ends the batch, stopping its running phase; Abort ends a batch waiting for operators. Every
 * history produced joins the replay corpus when RECORD_HISTORIES is set.
 */
import { DEMO_STOCK, operateBatch, stockMaterials, type Request } from '../../demo/automated-operator';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { REFUSALS } from '../../domain/batch/failures';
import { afterCommand, type PhaseState } from '../../domain/isa88';
import { batchCommandUpdate } from '../../workflows/batch/messages';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { keepInCorpus, replayBatch } from '../support/replay-corpus';
import { until } from '../support/wait';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
let request: Request;
let lots: Record<string, string>;

beforeAll(async () => {
  // A hundred process hours a second: the fed-batch's two-week cultivation takes a few seconds.
  env = await startBatchEnv({ timeScale: 360_000 });
  await env.startWorker();
  request = async (user, method, p, body) => env.api.request(method, p, body, { token: await env.token(user) });
  lots = await stockMaterials(request, DEMO_STOCK, DEMO_PASSWORD);
}, 120_000);
afterAll(async () => env?.close());

const live = async (batch: string) => (await request('qa1', 'GET', `/batches/${batch}`)).body;
const stepStatus = async (batch: string, stepId: string) =>
  (await live(batch)).live.steps.find((s: Json) => s.id === stepId)?.status;

async function finish(batch: string, name: string): Promise<Json> {
  keepInCorpus(name, await replayBatch(env.client, batch));
  return (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
}

test('a refused Start fails the step and holds the batch; Restart runs the phase again; Stop ends the batch', async () => {
  const heat = env.simulator.phase('BR-101', 'HEAT');
  heat.faults.refuseCommands = true;
  const launched = await request('planner', 'POST', '/batches', { recipe: 'MAB1-FB-2000', batchSize: 1500 });
  expect(launched.status).toBe(201);
  const batch: string = launched.body.number;
  expect(launched.body.units).toEqual({ production: 'BR-101', 'harvest-vessel': 'MX-201' });
  let stop = false;
  const operating = operateBatch(request, batch, { lots, password: DEMO_PASSWORD, until: () => stop });

  await until(async () => (await live(batch)).status === 'held');
  expect(await stepStatus(batch, 'heat-medium')).toBe('failed');
  const whileHeld = await request('operator1', 'POST', `/batches/${batch}/commands`, {
    command: 'hold',
    reason: 'again',
  });
  expect(whileHeld.status).toBe(409);
  expect(whileHeld.body).toMatchObject({
    type: '/api/problems/invalid-transition',
    detail: 'a batch that is held cannot be given hold',
  });
  heat.faults.refuseCommands = false;
  const restarted = await request('operator1', 'POST', `/batches/${batch}/commands`, {
    command: 'restart',
    reason: 'controller reset by maintenance',
  });
  expect(restarted.body.status).toBe('running');

  // On to the production phase, then stop the batch while it runs.
  const cultivate = env.simulator.phase('BR-101', 'CULTIVATE');
  await until(async () => (await stepStatus(batch, 'production-phase')) === 'active' && cultivate.state === 'running');
  cultivate.faults.slowdown = 1000;
  // The batch shows the phase's state as the controller reports it; Restart while Running is a conflict.
  await until(
    async () =>
      (await live(batch)).live.steps.find((s: Json) => s.id === 'production-phase').equipment?.state === 'running',
  );
  expect((await live(batch)).live.steps.find((s: Json) => s.id === 'production-phase').equipment).toEqual({
    unit: 'BR-101',
    phase: 'CULTIVATE',
    state: 'running',
    commandId: `batch-${batch}/production-phase`,
    since: expect.stringMatching(/Z$/),
  });
  const restartWhileRunning = await request('operator1', 'POST', `/batches/${batch}/commands`, {
    command: 'restart',
    reason: 'nothing to restart',
  });
  expect(restartWhileRunning.status).toBe(409);
  expect(restartWhileRunning.body.type).toBe('/api/problems/invalid-transition');
  const stopped = await request('qa1', 'POST', `/batches/${batch}/commands`, {
    command: 'stop',
    reason: 'contamination suspected',
  });
  expect(stopped.status).toBe(200);
  await until(async () => (await live(batch)).status === 'stopped');
  stop = true;
  await operating;
  cultivate.faults.slowdown = undefined;
  expect(cultivate.state).toBe('idle'); // stopped, its reports read, reset

  const ebr = await finish(batch, 'mab-failure-restart-stop');
  expect(ebr.chain.ok).toBe(true);
  const heatRuns = ebr.entries
    .filter((e: Json) => e.stepId === 'heat-medium' && ['step-failed', 'equipment-parameters'].includes(e.kind))
    .map((e: Json) => [e.kind, e.data.type ?? e.data.commandId]);
  expect(heatRuns).toEqual([
    ['step-failed', 'CommandRefused'],
    ['equipment-parameters', `batch-${batch}/heat-medium/rerun-1`],
  ]);
  expect(
    ebr.entries.filter((e: Json) => e.kind === 'batch-command' && e.data.command).map((e: Json) => e.data.command),
  ).toEqual(['restart', 'stop']);
  expect(ebr.entries[ebr.entries.length - 1]).toMatchObject({ kind: 'batch-ended', data: { status: 'stopped' } });
  // The harvest vessel's steps ran alongside the production bioreactor's.
  expect(ebr.entries.some((e: Json) => e.stepId === 'vessel-check' && e.kind === 'step-completed')).toBe(true);
  const units = (await request('qa1', 'GET', '/equipment')).body.items.filter((u: Json) =>
    ['BR-101', 'MX-201'].includes(u.code),
  );
  expect(units.map((u: Json) => [u.code, u.status, u.cleanliness])).toEqual([
    ['BR-101', 'available', 'dirty'],
    ['MX-201', 'available', 'dirty'],
  ]);
  expect(
    (await request('qa1', 'POST', `/batches/${batch}/commands`, { command: 'restart', reason: 'too late' })).status,
  ).toBe(409);
}, 120_000);

test('Abort ends a batch that waits for operators; nothing more can be done to it', async () => {
  await request('operator1', 'POST', '/equipment/MX-201/status', {
    cleanliness: 'dirty',
    reason: 'test: left dirty by the last batch',
  });
  const dirty = await request('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 1000,
    units: { 'buffer-preparation': 'MX-201' },
  });
  expect(dirty.status).toBe(409); // a dirty unit is not given to a batch
  await request('operator1', 'POST', '/equipment/MX-201/status', {
    cleanliness: 'clean',
    reason: 'cleaned after the last batch',
  });
  const launched = await request('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 1000,
    units: { 'buffer-preparation': 'MX-201' },
  });
  const batch: string = launched.body.number;
  await until(async () => (await stepStatus(batch, 'add-nacl')) === 'awaiting-input');
  const noReason = await request('operator1', 'POST', `/batches/${batch}/commands`, { command: 'abort' });
  expect(noReason.status).toBe(400);
  expect(
    (
      await request('operator1', 'POST', `/batches/${batch}/commands`, {
        command: 'abort',
        reason: 'wrong water system',
      })
    ).status,
  ).toBe(200);
  await until(async () => (await live(batch)).status === 'aborted');
  const late = await request('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    lots: [{ lot: lots.NACL, quantity: 8 }],
    signature: { username: 'operator1', password: DEMO_PASSWORD, meaning: 'performed' },
  });
  expect(late.status).toBe(409);
  expect(late.body).toMatchObject({
    type: '/api/problems/step-not-awaited',
    detail: `batch ${batch} is aborted: its steps take no more entries`,
  });
  const ebr = await finish(batch, 'pbs-abort');
  expect(ebr.entries[ebr.entries.length - 1]).toMatchObject({ kind: 'batch-ended', data: { status: 'aborted' } });
  expect(
    (await request('qa1', 'GET', `/batches/${batch}/steps`)).body.find((s: Json) => s.id === 'add-nacl').live.status,
  ).toBe('cancelled');
  expect(
    (
      await request('qa1', 'POST', `/batches/${batch}/review`, {
        auditTrailReviewed: true,
        signature: { username: 'qa1', password: DEMO_PASSWORD, meaning: 'reviewed' },
      })
    ).status,
  ).toBe(409);
}, 120_000);

test('commands sent together are carried out one at a time: the record shows only sequences the ISA-88 table allows', async () => {
  await request('operator1', 'POST', '/equipment/MX-201/status', {
    status: 'available',
    cleanliness: 'clean',
    reason: 'cleaned after the last batch',
  });
  const launched = await request('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 1000,
    units: { 'buffer-preparation': 'MX-201' },
  });
  expect(launched.status).toBe(201);
  const batch: string = launched.body.number;
  await until(async () => (await stepStatus(batch, 'add-nacl')) === 'awaiting-input');
  const command = (c: string) =>
    request('operator1', 'POST', `/batches/${batch}/commands`, { command: c, reason: `test: ${c}` });
  // Straight to the workflow as well: Updates that reach it within a millisecond of each other.
  const handle = env.client.workflow.getHandle(`batch-${batch}`);
  const operator = {
    userId: (await request('operator1', 'GET', '/me')).body.id,
    fullName: 'Olivia Operator (demo)',
    roles: ['operator' as const],
  };
  const direct = (c: 'hold' | 'restart') =>
    handle
      .executeUpdate(batchCommandUpdate, { args: [{ command: c, reason: `test: ${c}, sent directly`, by: operator }] })
      .then(
        () => 'done',
        (err: Error) =>
          err instanceof WorkflowUpdateFailedError &&
          (err.cause as ApplicationFailure)?.type === REFUSALS.invalidTransition
            ? 'refused'
            : `failed: ${err.message}`,
      );
  for (const round of [
    ['hold', 'hold'],
    ['restart', 'restart'],
    ['hold', 'hold'],
    ['restart', 'restart'],
  ] as const) {
    expect(await Promise.all(round.map(direct))).toEqual(expect.arrayContaining(['done', 'refused']));
  }
  // Both in flight at once, for certain: sent while no worker runs, they reach the workflow in one activation.
  await env.stopWorker();
  const pair = Promise.all([direct('hold'), direct('hold')]);
  await new Promise((r) => setTimeout(r, 500));
  await env.startWorker();
  expect(await pair).toEqual(expect.arrayContaining(['done', 'refused']));
  expect((await command('restart')).status).toBe(200);
  const rounds = [
    ['hold', 'hold'],
    ['restart', 'restart'],
    ['hold', 'hold'],
    ['restart', 'restart'],
    ['hold', 'restart'],
    ['hold', 'restart'],
    ['restart', 'hold'],
  ];
  for (const round of rounds) {
    const answers = await Promise.all(round.map(command));
    // Each refused one is a conflict with the state, never an error; something of each round is done.
    expect(
      answers.every(
        (a) => a.status === 200 || (a.status === 409 && a.body.type === '/api/problems/invalid-transition'),
      ),
    ).toBe(true);
    if (round[0] === round[1]) expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
  }

  // While held: the step awaiting input is not offered, and shows its batch's status; completing it is a conflict.
  const held = (await live(batch)).status === 'held' ? true : (await command('hold')).status === 200;
  expect(held).toBe(true);
  const queue = (await request('operator1', 'GET', '/work-queue')).body.items.filter((w: Json) => w.batch === batch);
  expect(queue).toEqual([]);
  const whileHeld = await request('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    lots: [{ lot: lots.NACL, quantity: 8 }],
    signature: { username: 'operator1', password: DEMO_PASSWORD, meaning: 'performed' },
  });
  expect(whileHeld.status).toBe(409);
  expect(whileHeld.body.type).toBe('/api/problems/step-not-awaited');
  expect((await command('restart')).status).toBe(200);
  expect(
    (await request('operator1', 'GET', '/work-queue')).body.items
      .filter((w: Json) => w.batch === batch)
      .map((w: Json) => [w.stepId, w.batchStatus]),
  ).toEqual([['add-nacl', 'running']]);
  await Promise.all([command('stop'), command('hold')]);
  await until(async () => (await live(batch)).status === 'stopped');

  // The record, read back: each command from the state the one before left, and allowed from it.
  const ebr = await finish(batch, 'pbs-serialised-commands');
  let state = 'running';
  for (const e of ebr.entries.filter((x: Json) => x.kind === 'batch-command' && x.data.command)) {
    expect({ seq: e.seq, command: e.data.command, from: e.data.from }).toEqual({
      seq: e.seq,
      command: e.data.command,
      from: state,
    });
    expect(afterCommand(state as PhaseState, e.data.command)).toBeDefined();
    state = { hold: 'held', restart: 'running', stop: 'stopped', abort: 'aborted' }[e.data.command as string]!;
  }
  expect(state).toBe('stopped');
}, 120_000);
