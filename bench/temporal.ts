/**
 * `npm run bench:temporal`: throughput and latency of the embedded Temporal server with the real SDK.
 * Starts N workflows of one activity each on one worker and prints workflows/s, activities/s and the
 * p50/p99 start-to-result latency, in memory and on PostgreSQL (PGlite when no PostgreSQL is configured).
 *
 *   npm run bench:temporal -- [--workflows 2000] [--concurrency 100] [--stores memory,postgres]
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, makeTelemetryFilterString } from '@temporalio/worker';
import * as activities from './activities';
import { argValue, machine, percentile, runBounded, startServer } from './support';

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
  const total = Number(argValue('workflows', '2000'));
  const concurrency = Number(argValue('concurrency', '100'));
  const defaultStores = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL ? 'memory,postgres' : 'memory,pglite';
  const stores = argValue('stores', defaultStores).split(',') as ('memory' | 'pglite' | 'postgres')[];
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('ERROR') });

  console.log(`bench:temporal — ${total} workflows of one activity, ${concurrency} in flight, one worker; ${machine()}`);
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
      const started = performance.now();
      const latencies = await runBounded(total, concurrency, async (i) => {
        const r = await client.workflow.execute('oneActivity', { taskQueue, workflowId: `wf-${i}-${taskQueue}`, args: [i] });
        if (r !== i) throw new Error(`wrong result ${r} for ${i}`);
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(
        [
          `store ${server.label.padEnd(28)}`,
          `${(total / seconds).toFixed(0).padStart(5)} workflows/s`,
          `${(total / seconds).toFixed(0).padStart(5)} activities/s`,
          `latency p50 ${percentile(latencies, 50).toFixed(1)} ms`,
          `p99 ${percentile(latencies, 99).toFixed(1)} ms`,
          `(${total} in ${seconds.toFixed(1)} s)`,
        ].join('  '),
      );
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
