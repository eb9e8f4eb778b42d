/**
 * `npm run bench:temporal`: the embedded Temporal server with the real SDK, one worker, the server in its
 * own process. For each store it prints:
 *   - N workflows of one activity: workflows/s, activities/s, p50/p99 start-to-result latency;
 *   - N workflows of three sequential activities: the same figures;
 *   - signal round trip: p50/p99 of SignalWorkflowExecution against a running workflow, one at a time;
 *   - update round trip: p50/p99 of an Update (sent → its result) against a running workflow, one at a
 *     time, with a handler that runs no local activity, and one that runs three (as a batch step does).
 *
 *   npm run bench:temporal -- [--workflows 2000] [--concurrency 100] [--signals 1000] [--updates 200] [--stores memory,postgres]
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import * as activities from './activities';
import { argValue, machine, percentile, runBounded, startServer } from './support';

type Store = 'memory' | 'pglite' | 'postgres';

function line(label: string, store: string, parts: string[]): void {
  console.log([`${label.padEnd(16)} ${store.padEnd(26)}`, ...parts].join('  '));
}

async function workflowsRun(
  client: Client,
  taskQueue: string,
  type: string,
  activitiesPerWorkflow: number,
  total: number,
  concurrency: number,
  store: string,
) {
  const started = performance.now();
  const latencies = await runBounded(total, concurrency, async (i) => {
    const r = await client.workflow.execute(type, { taskQueue, workflowId: `${type}-${i}-${taskQueue}`, args: [i] });
    const expected = i + activitiesPerWorkflow - 1;
    if (r !== expected) throw new Error(`wrong result ${r} for ${i}`);
  });
  const seconds = (performance.now() - started) / 1000;
  line(`${type}`, store, [
    `${(total / seconds).toFixed(0).padStart(5)} workflows/s`,
    `${((total * activitiesPerWorkflow) / seconds).toFixed(0).padStart(5)} activities/s`,
    `p50 ${percentile(latencies, 50).toFixed(1)} ms`,
    `p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    `(${total} in ${seconds.toFixed(1)} s)`,
  ]);
}

async function signalRun(client: Client, connection: Connection, taskQueue: string, count: number, store: string) {
  const handle = await client.workflow.start('signalSink', { taskQueue, workflowId: `sink-${taskQueue}` });
  const latencies: number[] = [];
  for (let i = 0; i < count + 50; i++) {
    const t0 = performance.now();
    await connection.workflowService.signalWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId },
      signalName: 'tick',
      requestId: randomUUID(),
    });
    if (i >= 50) latencies.push(performance.now() - t0); // the first 50 warm up
  }
  await handle.signal('stop');
  const received = await handle.result();
  if (received !== count + 50) throw new Error(`the workflow saw ${received} signals of ${count + 50}`);
  latencies.sort((a, b) => a - b);
  line('signal', store, [
    `round trip p50 ${percentile(latencies, 50).toFixed(2)} ms`,
    `p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    `(${count} signals, one at a time)`,
  ]);
}

async function updateRun(client: Client, taskQueue: string, localActivities: number, count: number, store: string) {
  const handle = await client.workflow.start('updateSink', {
    taskQueue,
    workflowId: `update-sink-${localActivities}-${taskQueue}`,
    args: [localActivities],
  });
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < count + 20; i++) {
    const t0 = performance.now();
    if ((await handle.executeUpdate('bump', { args: [i] })) !== i) throw new Error(`update ${i} answered wrongly`);
    if (i >= 20) latencies.push(performance.now() - t0); // the first 20 warm up
  }
  const cpu = process.cpuUsage(cpuBefore);
  await handle.signal('stop');
  if ((await handle.result()) !== count + 20) throw new Error('the workflow missed updates');
  latencies.sort((a, b) => a - b);
  line(`update (${localActivities} LA)`, store, [
    `round trip p50 ${percentile(latencies, 50).toFixed(1)} ms`,
    `p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    // The client and worker's process (SDK core and the workflow thread included), not the server's.
    `${((cpu.user + cpu.system) / 1000 / (count + 20)).toFixed(1)} ms CPU each in the worker's process`,
    `(${count} updates, one at a time)`,
  ]);
}

async function main() {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const total = Number(argValue('workflows', '2000'));
  const concurrency = Number(argValue('concurrency', '100'));
  const signals = Number(argValue('signals', '1000'));
  const updates = Number(argValue('updates', '200'));
  const defaultStores =
    process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
      ? 'memory,postgres'
      : 'memory,pglite';
  const stores = argValue('stores', defaultStores).split(',') as Store[];
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('ERROR'),
  });

  console.log(`bench:temporal — ${total} workflows per workload, ${concurrency} in flight, one worker; ${machine()}`);
  for (const store of stores) {
    const server = await startServer(store);
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const taskQueue = `bench-${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle,
      activities,
      maxConcurrentWorkflowTaskExecutions: 100,
      maxConcurrentActivityTaskExecutions: 200,
    });
    await worker.runUntil(async () => {
      // Warm up (bundle load, connections) before measuring.
      await runBounded(50, 25, async (i) => {
        await client.workflow.execute('oneActivity', { taskQueue, workflowId: `warm-${i}-${taskQueue}`, args: [i] });
      });
      await workflowsRun(client, taskQueue, 'oneActivity', 1, total, concurrency, server.label);
      await workflowsRun(client, taskQueue, 'threeActivities', 3, total, concurrency, server.label);
      await signalRun(client, connection, taskQueue, signals, server.label);
      await updateRun(client, taskQueue, 0, updates, server.label);
      await updateRun(client, taskQueue, 3, updates, server.label);
    });
    await nativeConnection.close();
    await connection.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
