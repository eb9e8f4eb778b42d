/**
 * `npm start`: Ampoule in one process. In the zero-setup mode (the default) it brings up the embedded
 * Temporal server and PGlite under $AMPOULE_DATA_DIR, loads the demo data (users, master data, two
 * effective example recipes) and serves the API; in the
 * production mode (AMPOULE_MODE=production or NODE_ENV=production) it needs DATABASE_URL and a Temporal
 * cluster, and refuses to run while a demo user is active.
 *
 *   bin/ampoule                      start (all in one process)
 *   bin/ampoule migrate [--grant-to LOGIN]...
 *                                    bring the PostgreSQL schema up to date, as its owner (the only process that
 *                                    needs the owner's credentials: AMPOULE_MIGRATION_DATABASE_URL or DATABASE_URL),
 *                                    and make the application's logins members of the database's application role
 *   bin/ampoule api                  the API and web pages alone (PostgreSQL and a Temporal address required)
 *   bin/ampoule worker               a batch worker alone, beside a running Ampoule (PostgreSQL and a
 *                                    Temporal address required): more capacity, or a worker per site
 *   bin/ampoule create-user --username NAME --full-name "Printed Name" --roles admin[,qa…]
 *                                    create a user (password from AMPOULE_NEW_PASSWORD or standard input)
 *   bin/ampoule trust-certificate [FILE|THUMBPRINT]
 *                                    trust a controller's OPC UA certificate (a file, or one rejected so far by its
 *                                    thumbprint); without an argument, list the rejected ones
 *   bin/ampoule investigate <batch> [--history FILE]
 *                                    replay a batch's history and cross-check its record (bin/investigate.ts)
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { createApp } from '../api/app';
import { NO_STATION, SYSTEM_ACTOR } from '../db/change-context';
import { Problem } from '../api/http/problems';
import { startApiServer } from '../api/server';
import { Readiness, databaseReadiness, opsRouter, type ReadinessCheck } from '../api/system/ops-routes';
import { installTemporalRuntime } from '../composition/temporal-runtime';
import { createServices } from '../api/services';
import { activityDeps, createPlatform, type Platform } from '../composition/platform';
import { AppConfigError, loadAppConfig, maskUrl, type AppConfig } from '../config/app-config';
import { ConfigError, durationToMs, loadTemporalConfig, type TemporalConfig } from '../config/temporal-config';
import { temporalConnection } from '../config/temporal-connection';
import {
  checkSearchAttributes,
  createCommand,
  registerSearchAttributes,
  searchAttributeProblem,
} from '../composition/temporal-search-attributes';
import { SchemaNotCurrent, migrateDatabase, openDatabase, type Database } from '../db/database';
import { UserStore } from '../db/stores/user-store';
import { loadDemoData, loadDemoEquipment, qualifyDemoScales } from '../demo/load';
import { routeOpcuaLogs } from '../equipment/opcua';
import { Connections } from '../equipment/driver/connections';
import { PhaseDriver } from '../equipment/driver/phase-driver';
import { openPki, type ApplicationPki } from '../equipment/pki';
import { ScaleTerminal } from '../equipment/driver/scale-terminal';
import { rejectedCertificates, trustCertificate } from '../equipment/trust';
import { startSimulator, type EquipmentSimulator } from '../equipment/simulator/simulator';
import { ROLES } from '../domain/identity';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '@ampoule/embedded-temporal';
import { startBatchWorker } from '../worker/batch-worker';
import { PREBUILT_BUNDLE_PATH } from '../worker/workflows-path';
import { investigate } from './investigate';
import { stopOnSignals } from './shutdown';

function fail(log: Logger, message: string): never {
  log.fatal(message);
  process.exit(2);
}

/**
 * temporal.yaml, validated, with Temporal's own environment configuration over it (`config/temporal-connection.ts`;
 * a bad file or setting exits with its message).
 */
function loadTemporalConfigOrFail(log: Logger): TemporalConfig {
  try {
    const config = loadTemporalConfig();
    const { address, namespace } = temporalConnection(config);
    return { ...config, address, namespace };
  } catch (err) {
    if (err instanceof ConfigError) fail(log, err.message);
    throw err;
  }
}

/** TLS, API key and gRPC metadata for a Temporal cluster (checked already by `loadTemporalConfigOrFail`). */
function temporalSecurity(temporalConfig: TemporalConfig) {
  return temporalConnection(temporalConfig).security;
}

/**
 * On a Temporal cluster of its own (not the embedded server, which registers them itself): stops the start when the
 * namespace lacks Ampoule's search attributes, naming them. A cluster that will not list them is left to fail later.
 */
async function requireSearchAttributes(connection: Connection, temporalConfig: TemporalConfig, log: Logger) {
  const wanted = temporalConfig.searchAttributes;
  let problem: string | undefined;
  try {
    problem = searchAttributeProblem(
      await checkSearchAttributes(connection, temporalConfig.namespace, wanted),
      temporalConfig.namespace,
      wanted,
    );
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      `could not list the search attributes of namespace ${temporalConfig.namespace}; Ampoule needs ${Object.keys(wanted).join(', ')}`,
    );
    return;
  }
  if (problem) fail(log, problem);
}

/** Ampoule's OPC UA application certificate, shared by every process on this data directory. */
async function openAmpoulePki(config: AppConfig, log: Logger): Promise<ApplicationPki> {
  routeOpcuaLogs(
    (m) => log.debug({ component: 'node-opcua' }, m),
    (m) => log.error({ component: 'node-opcua' }, m),
  );
  const pki = await openPki(path.join(config.dataDir, 'pki', 'ampoule'), 'ampoule');
  log.info(
    { certificate: pki.certificateFile, trusted: path.join(config.dataDir, 'pki', 'ampoule', 'trusted', 'certs') },
    'OPC UA certificate of Ampoule (trust it on each controller; put each controller’s certificate in the trusted folder)',
  );
  return pki;
}

/** The batch worker: batch workflows and their activities, equipment reached through `pki`. Exits the process if it fails. */
async function runBatchWorker(
  temporalConfig: TemporalConfig,
  address: string,
  platform: Platform,
  pki: ApplicationPki,
  log: Logger,
) {
  const connections = new Connections(pki, log.child({ component: 'opcua' }));
  platform.metrics.gauge(
    'ampoule_opcua_sessions_up',
    'Whether this worker’s OPC UA session to a unit’s controller is up (1) or not (0), per unit it has driven',
    ['unit'],
    (g) => {
      for (const { unit, up } of connections.sessionsByUnit()) g.set({ unit }, up ? 1 : 0);
    },
  );
  const worker = await startBatchWorker({
    address,
    connection: temporalSecurity(temporalConfig),
    namespace: temporalConfig.namespace,
    taskQueue: temporalConfig.taskQueues.batches,
    deps: { ...activityDeps(platform, new PhaseDriver(connections)), log },
    maxConcurrentWorkflowTaskExecutions: temporalConfig.worker.maxConcurrentWorkflowTaskExecutions,
    maxConcurrentActivityTaskExecutions: temporalConfig.worker.maxConcurrentActivityTaskExecutions,
    maxCachedWorkflows: temporalConfig.worker.maxCachedWorkflows,
    shutdownGraceTimeMs: durationToMs(temporalConfig.worker.shutdownGraceTime),
  });
  worker.running.catch((err) => {
    log.fatal({ err: (err as Error).message }, 'the batch worker failed; stopping');
    process.exit(1);
  });
  log.info(
    {
      taskQueue: temporalConfig.taskQueues.batches,
      namespace: temporalConfig.namespace,
      // The compiled Ampoule's bundle (`npm run build`), or the workflows bundled at this start.
      workflowCode: existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : 'bundled at start',
    },
    'batch worker running',
  );
  return { worker, connections };
}

/**
 * The database. Only the zero-setup mode migrates as it opens; in production `bin/ampoule migrate` does, with the
 * owner's credentials, and every other process refuses a schema that is not current.
 */
async function openAppDatabase(config: AppConfig, log: Logger): Promise<Database> {
  if (config.databaseUrl) {
    log.info({ database: maskUrl(config.databaseUrl) }, 'opening PostgreSQL');
    try {
      return await openDatabase({
        kind: 'postgres',
        url: config.databaseUrl,
        migrationUrl: config.migrationDatabaseUrl,
        migrate: config.mode === 'zero-setup',
      });
    } catch (err) {
      if (err instanceof SchemaNotCurrent) fail(log, err.message);
      throw err;
    }
  }
  if (config.mode === 'production')
    fail(log, 'production mode needs DATABASE_URL (PostgreSQL); PGlite is for the zero-setup mode');
  return openDatabase({ kind: 'pglite', dataDir: path.join(config.dataDir, 'db') });
}

/**
 * `bin/ampoule` (API, worker and, in the zero-setup mode, the embedded Temporal server and the simulator, in one
 * process) or `bin/ampoule api` (the API alone, beside workers of its own: PostgreSQL and a Temporal cluster).
 */
async function start(config: AppConfig, log: Logger, processes: 'all-in-one' | 'api'): Promise<void> {
  const temporalConfig = loadTemporalConfigOrFail(log);
  if (processes === 'api') {
    if (!config.databaseUrl)
      fail(log, 'bin/ampoule api needs DATABASE_URL (PostgreSQL): its workers run in processes of their own');
    if (!temporalConfig.address)
      fail(log, 'bin/ampoule api needs a Temporal cluster: set TEMPORAL_ADDRESS (or address in temporal.yaml)');
  }
  mkdirSync(config.dataDir, { recursive: true });

  const database = await openAppDatabase(config, log);
  log.info({ database: database.description, appRole: database.appRoleName }, 'database ready');
  if (!database.appRole)
    log.warn(
      `the database login cannot assume the application role ${database.appRoleName}: the append-only tables rely on their triggers alone (GRANT "${database.appRoleName}" TO <login>)`,
    );
  if (config.mode === 'production') {
    const demo = await new UserStore().countActiveDemoUsers(database.knex);
    if (demo > 0)
      fail(
        log,
        `production mode refuses to start: ${demo} demo user(s) are active. Deactivate them (PATCH /api/users/:id {active:false}) from a zero-setup start on this database, or use a database without demo data.`,
      );
  }
  let temporal: EmbeddedTemporal | undefined;
  if (!temporalConfig.address) {
    if (config.mode === 'production')
      fail(log, 'production mode needs a Temporal cluster: set TEMPORAL_ADDRESS or address in temporal.yaml');
    const store = temporalConfig.embedded.store;
    if (store === 'postgres' && !config.databaseUrl)
      fail(log, 'temporal.yaml asks for embedded.store: postgres but DATABASE_URL is not set');
    temporal = await startEmbeddedTemporal({
      ip: temporalConfig.embedded.ip,
      port: temporalConfig.embedded.port,
      namespaces: [temporalConfig.namespace],
      searchAttributes: temporalConfig.searchAttributes,
      dbFilename: store === 'pglite' ? path.join(config.dataDir, 'temporal') : undefined,
      dbUrl: store === 'postgres' ? config.databaseUrl : undefined,
      logger: log.child({ component: 'embedded-temporal' }),
      onFatal: (err) => {
        log.fatal({ err: err.message }, 'embedded Temporal store failed; stopping');
        process.exit(1);
      },
    });
    log.info(
      { address: temporal.address, store: temporal.storeDescription },
      'embedded Temporal server ready (zero-setup mode; not for production)',
    );
  } else {
    log.info(
      { address: temporalConfig.address, namespace: temporalConfig.namespace },
      'using the Temporal cluster from temporal.yaml / TEMPORAL_ADDRESS',
    );
  }

  // A Temporal client for the API (launch, updates, queries) and the batch worker's connection.
  const address = temporal?.address ?? temporalConfig.address;
  const security = temporalSecurity(temporalConfig);
  const connection = await Connection.connect({ address, ...security });
  if (!temporal) await requireSearchAttributes(connection, temporalConfig, log);
  const client = new Client({ connection, namespace: temporalConfig.namespace });

  // Equipment: Ampoule's OPC UA application certificate — the API reads and tares scales, the worker drives phases.
  const pki = await openAmpoulePki(config, log);
  const apiConnections = new Connections(pki, log.child({ component: 'opcua-scales' }));
  const services = createServices(
    createPlatform(database, config, log.child({ component: 'api' })),
    {
      client,
      taskQueue: temporalConfig.taskQueues.batches,
      equipmentHeartbeatTimeout: temporalConfig.batches.equipmentHeartbeatTimeout,
    },
    { scaleTerminal: new ScaleTerminal(apiConnections) },
  );
  // Before any worker: the SDK's logs through pino, its metrics (with a worker here) appended to /metrics.
  await installTemporalRuntime(log, processes === 'all-in-one' ? services.metrics : undefined);
  services.auditSealer.start();
  services.anchors.start();
  // The outbox's events to the webhook subscribers (README: Integration).
  services.webhookRelay.start();
  // Closed batches' histories are archived with their record a few seconds after they close.
  services.batches.histories.start();
  // Limit excursions recorded before deviations were records with a life become such records, once.
  const raised = await services.deviations.raiseUnraised();
  if (raised > 0) log.info({ raised }, 'deviations raised from batch records written before deviations had a life');
  log.info(
    {
      key: config.anchors.signerModule ?? config.anchors.keyFile,
      log: config.anchors.logFile,
      everySeconds: config.anchors.intervalSeconds,
    },
    'the hash chains are anchored outside the database (keep the key and the log off the database host)',
  );

  if (config.mode === 'zero-setup') {
    const loaded = await loadDemoData(services, config.demoPassword);
    if (Object.values(loaded).some((l) => l.length > 0)) log.info(loaded, 'loaded demo data (zero-setup mode only)');
  }

  // In the zero-setup mode, the simulated plant, its units registered and its scales qualified for today.
  let simulator: EquipmentSimulator | undefined;
  if (processes === 'all-in-one' && config.mode === 'zero-setup') {
    simulator = await startSimulator({
      port: config.opcua.simulatorPort,
      pkiFolder: path.join(config.dataDir, 'pki', 'simulator'),
      timeScale: 3600,
      faults: config.opcua.simulatorFaults,
      log: log.child({ component: 'simulator' }),
    });
    // Both ends are this process's own: each trusts the other's certificate explicitly, nothing unknown is accepted.
    await simulator.pki.trust(pki.certificate());
    await pki.trust(simulator.pki.certificate());
    const units = await loadDemoEquipment(services, simulator);
    if (units.length > 0) log.info({ units }, 'registered the simulator’s units as demo equipment');
    const scales = await qualifyDemoScales(services, simulator, config.demoPassword);
    if (scales.length > 0) log.info({ scales }, 'the demo scales calibrated and checked for today (demo data)');
  }

  // The batch worker, in this process (more of them may run beside it: `bin/ampoule worker`).
  const batchWorker =
    processes === 'all-in-one' ? await runBatchWorker(temporalConfig, address, services, pki, log) : undefined;

  const { app, readiness } = createApp(services);
  if (batchWorker) readiness.checks.push(workerReadiness(batchWorker.worker.worker));
  const server = await startApiServer(app, config.http.host, config.http.port);
  log.info(
    { pages: `${server.url}/`, url: `${server.url}/api`, docs: `${server.url}/api/docs` },
    'web pages and API ready',
  );
  if (config.mode === 'zero-setup') {
    log.info(
      `demo login: POST ${server.url}/api/auth/login {"username":"qa1","password":"${config.demoPassword === 'ampoule-demo' ? 'ampoule-demo' : '$AMPOULE_DEMO_PASSWORD'}"} — users admin, planner, operator1, operator2, qa1, qa2 (demo data, never for production)`,
    );
  }

  stopOnSignals(log, [
    // First: no new requests; those in flight answered (their workflows' updates need the worker, stopped after).
    {
      name: 'the API server',
      stop: () => {
        readiness.stopping = true;
        return server.stop(config.http.shutdownGraceMs);
      },
    },
    { name: 'the history archive', stop: () => services.batches.histories.stop() },
    { name: 'the scales’ OPC UA sessions', stop: () => apiConnections.close() },
    ...(batchWorker ? stopWorkerSteps(batchWorker.worker, batchWorker.connections) : []),
    { name: 'the Temporal client', stop: () => connection.close() },
    ...sealSteps(services),
    { name: 'the anchor timer', stop: () => services.anchors.stop() },
    { name: 'the webhook relay', stop: () => services.webhookRelay.stop() },
    {
      name: 'the shutdown anchor',
      // As ever: a failed anchor is logged, and does not make the stop unclean (the next start anchors again).
      stop: () =>
        services.anchors
          .anchorNow('shutdown')
          .catch((err: unknown) => log.error({ err }, 'anchoring the hash chains at shutdown failed')),
    },
    simulator && { name: 'the equipment simulator', stop: () => simulator.stop() },
    temporal && { name: 'the embedded Temporal server', stop: () => temporal.stop() },
    { name: 'the database', stop: () => database.close() },
  ]);
}

/** A batch worker stops before its equipment connections: its running phases get their grace time first. */
function stopWorkerSteps(worker: { stop(): Promise<void> }, connections: Connections) {
  return [
    { name: 'the batch worker', stop: () => worker.stop() },
    { name: 'the OPC UA connections', stop: () => connections.close() },
  ];
}

/** The audit sealer's last seal, so that no entry written before the stop is left out of the chain. */
function sealSteps(platform: Platform) {
  return [
    { name: 'the audit sealer', stop: () => platform.auditSealer.stop() },
    { name: 'the last audit seal', stop: () => platform.auditSealer.sealNow() },
  ];
}

/**
 * `worker`: a batch worker alone. It joins the Temporal cluster (or the embedded server of a running
 * `bin/ampoule`) and the PostgreSQL database of the Ampoule it serves; PGlite belongs to one process.
 * It seals audit entries too: sealers on one database take turns on the chain head.
 */
async function runWorker(config: AppConfig, log: Logger): Promise<void> {
  const temporalConfig = loadTemporalConfigOrFail(log);
  if (!temporalConfig.address)
    fail(
      log,
      'bin/ampoule worker joins a running Temporal: set TEMPORAL_ADDRESS (or address in temporal.yaml); the embedded server of `bin/ampoule` listens on 127.0.0.1:7233',
    );
  if (!config.databaseUrl)
    fail(
      log,
      'bin/ampoule worker needs DATABASE_URL (PostgreSQL): an embedded PGlite database belongs to the one process that opened it',
    );
  mkdirSync(config.dataDir, { recursive: true });
  const check = await Connection.connect({ address: temporalConfig.address, ...temporalSecurity(temporalConfig) });
  try {
    await requireSearchAttributes(check, temporalConfig, log);
  } finally {
    await check.close();
  }
  const database = await openAppDatabase(config, log);
  const platform = createPlatform(database, config, log.child({ component: 'worker' }));
  await installTemporalRuntime(log, platform.metrics);
  platform.auditSealer.start();
  const pki = await openAmpoulePki(config, log);
  const { worker, connections } = await runBatchWorker(temporalConfig, temporalConfig.address, platform, pki, log);
  // Its own /healthz, /readyz (the database, its pollers) and /metrics, on PORT.
  const readiness = new Readiness([databaseReadiness(platform.db), workerReadiness(worker.worker)]);
  const ops = express();
  ops.disable('x-powered-by');
  ops.use(opsRouter({ metrics: platform.metrics, readiness }));
  const opsServer = await startApiServer(ops, config.http.host, config.http.port);
  log.info({ url: opsServer.url }, 'worker health and metrics: /healthz, /readyz, /metrics');
  stopOnSignals(log, [
    {
      name: 'readiness',
      stop: () => {
        readiness.stopping = true;
      },
    },
    ...stopWorkerSteps(worker, connections),
    ...sealSteps(platform),
    { name: 'the health and metrics server', stop: () => opsServer.stop(1_000) },
    { name: 'the database', stop: () => database.close() },
  ]);
}

/** A worker is ready while it runs (polls its task queue). */
function workerReadiness(worker: { getState(): string }): ReadinessCheck {
  return {
    name: 'worker',
    check: async () => {
      const state = worker.getState();
      if (state !== 'RUNNING') throw new Error(`the batch worker is ${state.toLowerCase()}`);
    },
  };
}

/**
 * `migrate`: the database's schema brought up to this Ampoule, as its owner (AMPOULE_MIGRATION_DATABASE_URL, else
 * DATABASE_URL), and its application role named for it; the one process that needs the owner's credentials.
 */
async function migrate(config: AppConfig, log: Logger, args: string[]): Promise<void> {
  // --grant-to LOGIN (repeatable): the application's logins made members of the database's application role.
  const grantTo = args.flatMap((a, i) => (args[i - 1] === '--grant-to' ? [a] : []));
  const unknown = args.filter((a, i) => a !== '--grant-to' && args[i - 1] !== '--grant-to');
  if (unknown.length > 0 || args.at(-1) === '--grant-to')
    fail(
      log,
      `usage: bin/ampoule migrate [--grant-to LOGIN]... (not understood: ${unknown.join(' ') || '--grant-to'})`,
    );
  const ownerUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
  if (!ownerUrl)
    fail(
      log,
      'bin/ampoule migrate needs the owner’s PostgreSQL URL: AMPOULE_MIGRATION_DATABASE_URL (or DATABASE_URL); a zero-setup start migrates its PGlite itself',
    );
  log.info({ database: maskUrl(ownerUrl) }, 'migrating PostgreSQL as its owner');
  try {
    const { applied, appRole } = await migrateDatabase(ownerUrl, grantTo);
    log.info(
      { applied, appRole, grantedTo: grantTo },
      `${applied.length === 0 ? 'the schema was current' : `applied ${applied.length} migration(s)`}; the application logs in as a member of ${appRole} (GRANT "${appRole}" TO <login>, or --grant-to <login>)`,
    );
  } catch (err) {
    fail(log, `migrating failed: ${(err as Error).message}`);
  }
  // The Temporal cluster's share: Ampoule's search attributes, where the cluster lets Ampoule add them.
  const temporalConfig = loadTemporalConfigOrFail(log);
  if (!temporalConfig.address) return;
  const { namespace, searchAttributes: wanted } = temporalConfig;
  const connection = await Connection.connect({
    address: temporalConfig.address,
    ...temporalSecurity(temporalConfig),
  }).catch((err: Error) => fail(log, `could not reach Temporal at ${temporalConfig.address}: ${err.message}`));
  try {
    const added = await registerSearchAttributes(connection, namespace, wanted);
    log.info(
      { namespace, added },
      added.length > 0 ? 'registered Ampoule’s search attributes' : 'Ampoule’s search attributes were registered',
    );
  } catch (err) {
    const check = await checkSearchAttributes(connection, namespace, wanted).catch(() => undefined);
    const missing = check?.missing ?? Object.keys(wanted);
    log.warn(
      { err: (err as Error).message, namespace, missing },
      `the cluster did not let Ampoule register its search attributes: have them created (${createCommand(namespace, missing, wanted)}, or in Temporal Cloud's console)`,
    );
  } finally {
    await connection.close();
  }
}

/**
 * `trust-certificate [file|thumbprint]`: a controller's certificate trusted in this data directory's OPC UA PKI
 * (every process on it); without an argument, the certificates rejected so far, with their thumbprints.
 */
async function trustCertificateCommand(config: AppConfig, log: Logger, args: string[]): Promise<void> {
  const pki = await openPki(path.join(config.dataDir, 'pki', 'ampoule'), 'ampoule');
  const [which] = args;
  if (!which) {
    const rejected = rejectedCertificates(pki);
    log.info(
      { rejected },
      rejected.length === 0
        ? 'no certificate has been rejected'
        : `${rejected.length} rejected certificate(s): bin/ampoule trust-certificate <thumbprint> trusts one`,
    );
    return;
  }
  try {
    const trusted = await trustCertificate(pki, which);
    log.info({ certificate: trusted, trusted: pki.certificateManager.trustedFolder }, 'certificate trusted');
  } catch (err) {
    fail(log, (err as Error).message);
  }
}

/** `create-user`: the way to the first administrator of a production database, without default passwords. */
async function createUser(config: AppConfig, log: Logger, args: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const input = z
    .object({ username: z.string().min(3), fullName: z.string().min(1), roles: z.array(z.enum(ROLES)).min(1) })
    .safeParse({ username: flag('username'), fullName: flag('full-name'), roles: flag('roles')?.split(',') });
  if (!input.success)
    fail(
      log,
      `usage: bin/ampoule create-user --username NAME --full-name "Printed Name" --roles ${ROLES.join(',')}\n${input.error.message}`,
    );
  const password = process.env.AMPOULE_NEW_PASSWORD ?? readFileSync(0, 'utf8').trim();
  const database = await openAppDatabase(config, log);
  const services = createServices(createPlatform(database, config, log));
  try {
    const user = await services.db.transaction((trx) =>
      services.users.create(
        { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'created with bin/ampoule create-user' },
        { ...input.data, password },
      ),
    );
    await services.auditSealer.sealNow();
    log.info({ id: user.id, username: user.username, roles: user.roles }, 'user created');
  } catch (err) {
    await database.close();
    if (err instanceof Problem) fail(log, err.message);
    fail(log, `creating the user failed: ${(err as Error).message}`);
  }
  await database.close();
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  // `investigate` prints its verdict on standard output: its log goes to standard error.
  const out = command === 'investigate' ? process.stderr : process.stdout;
  const log = pino(
    // ISO 8601 times (UTC), one JSON object a line: what log shippers and people read alike.
    { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'ampoule' }, timestamp: pino.stdTimeFunctions.isoTime },
    out.isTTY
      ? require('pino-pretty')({ sync: true, ignore: 'pid,hostname,service', destination: out.fd })
      : pino.destination(out.fd),
  );
  let config: AppConfig;
  try {
    config = loadAppConfig();
  } catch (err) {
    if (err instanceof AppConfigError) fail(log, err.message);
    throw err;
  }
  log.level = config.logLevel;
  if (command === undefined || command === 'start') await start(config, log, 'all-in-one');
  else if (command === 'api') await start(config, log, 'api');
  else if (command === 'migrate') await migrate(config, log, args);
  else if (command === 'worker') await runWorker(config, log);
  else if (command === 'create-user') await createUser(config, log, args);
  else if (command === 'trust-certificate') await trustCertificateCommand(config, log, args);
  else if (command === 'investigate') {
    const temporalConfig = loadTemporalConfigOrFail(log);
    await installTemporalRuntime(log);
    process.exitCode = await investigate(args, {
      config,
      temporalConfig,
      log,
      openDatabase: () => openAppDatabase(config, log),
      temporalSecurity: temporalSecurity(temporalConfig),
      fail: (message) => fail(log, message),
    });
  } else
    fail(
      log,
      `unknown command ${command}; expected start, api, worker, migrate, create-user, trust-certificate or investigate`,
    );
}

main().catch((err) => {
  process.stderr.write(`ampoule: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
