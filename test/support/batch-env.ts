/**
 * Everything a batch needs, real and on loopback: the embedded Temporal server (in process, or as its own
 * process on a persistent store when a test kills it), the database, the API with a Temporal client, the
 * equipment simulator with its units registered over SignAndEncrypt, the demo users, master data and
 * effective recipes, and a batch worker that can be stopped and started again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import { loadTemporalConfig } from '../../config/temporal-config';
import { loadDemoData, loadDemoEquipment, qualifyDemoScales } from '../../demo/load';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '@ampoule/embedded-temporal';
import { Connections } from '../../equipment/driver/connections';
import { PhaseDriver } from '../../equipment/driver/phase-driver';
import { ScaleTerminal } from '../../equipment/driver/scale-terminal';
import { openPki } from '../../equipment/pki';
import { startSimulator, type EquipmentSimulator } from '../../equipment/simulator/simulator';
import { startBatchWorker, type BatchWorker } from '../../worker/batch-worker';
import { activityDeps } from '../../composition/platform';
import type { TemporalAccess } from '../../api/batches/temporal-gateway';
import { startTestApi, type TestApi } from './api';
import { freePort, spawnServer, type ServerProcess } from './server-process';
import { workflowBundle } from './workflow-bundle';

export const DEMO_PASSWORD = 'ampoule-demo-password';

let runtimeInstalled = false;

export interface BatchEnv {
  api: TestApi;
  simulator: EquipmentSimulator;
  client: Client;
  /** The Temporal server's address, for workers in other processes. */
  address: string;
  taskQueue: string;
  /** The worker now running, if any. */
  worker: BatchWorker | undefined;
  /** The API's way to Temporal: a test may point it at another server (`temporal.client = …`). */
  temporal: TemporalAccess;
  startWorker(options?: { maxCachedWorkflows?: number }): Promise<BatchWorker>;
  stopWorker(): Promise<void>;
  /** Only with `{ temporalProcess: true }`: SIGKILLs the Temporal server and starts it again on its store. */
  restartTemporal?(): Promise<void>;
  token(user: string): Promise<string>;
  close(): Promise<void>;
}

export async function startBatchEnv(
  options: {
    temporalProcess?: boolean;
    timeScale?: number;
    env?: Record<string, string>;
    taskQueue?: string;
    equipmentHeartbeatTimeout?: string;
    /** Calibrate and check the demo scales for today (true): a test of qualification itself says false. */
    qualifyScales?: boolean;
  } = {},
): Promise<BatchEnv> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
    runtimeInstalled = true;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-batch-'));
  const temporalConfig = loadTemporalConfig(undefined, {});
  let embedded: EmbeddedTemporal | undefined;
  let process_: ServerProcess | undefined;
  let address: string;
  const storeArgs = [
    '--db-filename',
    path.join(dir, 'temporal'),
    ...Object.entries(temporalConfig.searchAttributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
  ];
  if (options.temporalProcess) {
    process_ = await spawnServer(storeArgs, await freePort());
    address = process_.address;
  } else {
    embedded = await startEmbeddedTemporal({ port: 0, searchAttributes: temporalConfig.searchAttributes });
    address = embedded.address;
  }
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = options.taskQueue ?? `batches-${Date.now().toString(36)}`;

  const temporal: TemporalAccess = {
    client,
    taskQueue,
    equipmentHeartbeatTimeout: options.equipmentHeartbeatTimeout,
    workflowBundle,
  };
  const pki = await openPki(path.join(dir, 'ampoule'), 'ampoule');
  // The worker's sessions and the API's (for the scales) apart, as in the processes of a deployment: a scale read
  // that fails closes only the API's session, never the one a running phase is watched on.
  const connections = new Connections(pki);
  const apiConnections = new Connections(pki);
  const api = await startTestApi({ env: options.env, temporal, scaleTerminal: new ScaleTerminal(apiConnections) });
  const simulator = await startSimulator({
    pkiFolder: path.join(dir, 'simulator'),
    timeScale: options.timeScale ?? 7200,
    tickMs: 20,
  });
  await simulator.pki.trust(pki.certificate());
  await pki.trust(simulator.pki.certificate());
  await loadDemoData(api.services, DEMO_PASSWORD);
  await loadDemoEquipment(api.services, simulator);
  if (options.qualifyScales ?? true) await qualifyDemoScales(api.services, simulator, DEMO_PASSWORD);
  const driver = new PhaseDriver(connections);
  const log = pino({ level: 'silent' });

  const tokens = new Map<string, string>();
  const env: BatchEnv = {
    api,
    simulator,
    client,
    address,
    taskQueue,
    worker: undefined,
    temporal,
    async startWorker(o = {}) {
      env.worker = await startBatchWorker({
        address,
        namespace: 'default',
        taskQueue,
        deps: { ...activityDeps(api.services, driver), log },
        workflowBundle: await workflowBundle(),
        maxCachedWorkflows: o.maxCachedWorkflows,
        shutdownGraceTimeMs: 2_000,
      });
      return env.worker;
    },
    async stopWorker() {
      await env.worker?.stop();
      env.worker = undefined;
    },
    async token(user) {
      if (!tokens.has(user)) tokens.set(user, await api.login(user, DEMO_PASSWORD));
      return tokens.get(user)!;
    },
    async close() {
      await env.stopWorker();
      await connections.close();
      await apiConnections.close();
      await connection.close();
      await api.close();
      await simulator.stop();
      await embedded?.stop();
      await process_?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (process_) {
    env.restartTemporal = async () => {
      const port = process_!.port;
      await process_!.kill('SIGKILL');
      process_ = await spawnServer(storeArgs, port, 60_000);
    };
  }
  return env;
}
