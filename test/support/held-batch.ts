/** OEE's tests' batch: a PBS batch run to complete by automated operators, held for a while on the way. */
import { operateBatch } from '../../demo/automated-operator';
import { DEMO_PASSWORD, type BatchEnv } from './batch-env';
import { requester } from './long-batch';
import { until } from './wait';

/** Launches, holds once it runs (for `holdMs`), restarts, and waits for the end; the batch's number and its unit. */
export async function heldBatch(
  env: BatchEnv,
  lots: Record<string, string>,
  holdMs: number,
): Promise<{ batch: string; unit: string }> {
  const request = requester(env);
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(launched.status).toBe(201);
  const batch = launched.body.number as string;
  const unit = Object.values(launched.body.units as Record<string, string>)[0];
  const operating = operateBatch(request, batch, { lots, password: DEMO_PASSWORD });
  const status = async () => (await request('qa1', 'GET', `/batches/${batch}`)).body.live.status as string;
  const command = async (command: string, reason: string) =>
    expect((await request('operator1', 'POST', `/batches/${batch}/commands`, { command, reason })).status).toBe(200);
  await until(async () => (await status()) === 'running');
  await command('hold', 'pump noise');
  await until(async () => (await status()) === 'held');
  await new Promise((r) => setTimeout(r, holdMs));
  await command('restart', 'checked');
  expect(await operating).toBe('complete');
  return { batch, unit };
}
