/**
 * A worker with `maxCachedWorkflows: 0` evicts every run after each task, so every task replays the full
 * history the server sends: any inconsistency in history or SDK flags would surface as non-determinism.
 */
import * as wf from './fixtures/workflows';
import { replay, startHarness, uid, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ maxCachedWorkflows: 0 });
});
afterAll(async () => {
  await h?.stop();
});

test('activities, timers, retries, signals and queries with no workflow cache', async () => {
  const client = h.env.client.workflow;
  const greet = await client.start(wf.greet, { taskQueue: h.taskQueue, workflowId: uid('greet'), args: ['cacheless'] });
  const timer = await client.start(wf.sleeper, { taskQueue: h.taskQueue, workflowId: uid('sleep'), args: [100] });
  const flaky = await client.start(wf.flaky, { taskQueue: h.taskQueue, workflowId: uid('flaky'), args: [2, uid('k')] });
  const acc = await client.start(wf.accumulator, { taskQueue: h.taskQueue, workflowId: uid('acc') });
  for (let i = 1; i <= 5; i++) await acc.signal(wf.addSignal, i);
  expect(await acc.query(wf.totalQuery)).toBe(15);
  await acc.signal(wf.doneSignal);
  const patch = await client.start(wf.patchedWorkflow, { taskQueue: h.taskQueue, workflowId: uid('patch') });

  expect(await greet.result()).toBe('Hello, cacheless!');
  expect(await timer.result()).toBe('slept');
  expect(await flaky.result()).toBe(3);
  expect(await acc.result()).toBe(15);
  expect(await patch.result()).toBe('new');
  for (const handle of [greet, timer, flaky, acc, patch]) await replay(await handle.fetchHistory(), handle.workflowId);
});
