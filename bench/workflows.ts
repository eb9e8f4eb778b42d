/** Workflows the benchmarks run. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { echo } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

export async function oneActivity(n: number): Promise<number> {
  return await echo(n);
}

export async function threeActivities(n: number): Promise<number> {
  const a = await echo(n);
  const b = await echo(a + 1);
  return await echo(b + 1);
}
