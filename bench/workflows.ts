/** Workflows the benchmarks run. */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
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


export const tick = defineSignal('tick');
export const stop = defineSignal('stop');

/** Counts signals until told to stop: the target of the signal latency benchmark. */
export async function signalSink(): Promise<number> {
  let ticks = 0;
  let stopped = false;
  setHandler(tick, () => void ticks++);
  setHandler(stop, () => void (stopped = true));
  await condition(() => stopped);
  return ticks;
}
