/** The crash harness's mixed workload: activities with retries, timers, signals, updates and a child. */
import {
  condition,
  defineSignal,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from './activities';

const acts = proxyActivities<typeof activities>({
  startToCloseTimeout: '3s',
  retry: { initialInterval: '100ms', backoffCoefficient: 1.5, maximumInterval: '1s' },
});

export const add = defineSignal<[number]>('add');
export const finish = defineSignal('finish');
export const bump = defineUpdate<number, [number]>('bump');

export interface MixResult {
  sum: number;
  signals: number;
  updates: number;
  activity: string;
  child: string;
}

export async function crashMix(key: string, timerMs: number): Promise<MixResult> {
  let sum = 0;
  let signals = 0;
  let updates = 0;
  let finished = false;
  setHandler(add, (n) => {
    sum += n;
    signals++;
  });
  setHandler(bump, (n) => {
    updates += n;
    return updates;
  });
  setHandler(finish, () => {
    finished = true;
  });
  const activity = await acts.flaky(key, 2);
  await sleep(timerMs);
  const child = await executeChild(crashChild, { workflowId: `${key}-child`, args: [key] });
  await condition(() => finished);
  return { sum, signals, updates, activity, child };
}

export async function crashChild(key: string): Promise<string> {
  const a = await acts.flaky(`${key}-child`, 1);
  await sleep(50);
  return `child ${a}`;
}
