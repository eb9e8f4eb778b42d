/** Workflows the benchmarks run. */
import {
  condition,
  defineSignal,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from './activities';

const { echo } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });
const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '30s' });

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

export const bump = defineUpdate<number, [number]>('bump');

/**
 * Answers updates until told to stop, each handler running `localActivities` local activities first: the
 * shape of a batch step's completion (the batch workflow writes its record in local activities).
 */
export async function updateSink(localActivities: number): Promise<number> {
  let updates = 0;
  let stopped = false;
  setHandler(bump, async (n) => {
    for (let i = 0; i < localActivities; i++) await local.echo(n);
    updates++;
    return n;
  });
  setHandler(stop, () => void (stopped = true));
  await condition(() => stopped);
  return updates;
}
