/**
 * `npm run bench:batches`: N batches at once of a 20-step recipe (4 equipment phases on the simulator, 15
 * operator steps of every kind, a QA approval), driven through the HTTP API by automated operators who
 * work from the work queue, as people do. The embedded Temporal server runs as its own process on
 * PostgreSQL (PGlite without a PostgreSQL URL); Ampoule's database is the same server.
 *
 * Prints batches/hour; the step latency, Update sent → the batch's next operator step ready: from the moment
 * the API sends the Update (seen by a client interceptor) to the moment the next step's projection, which the
 * work queue reads, was written (the time the queue gives for it; database and bench share this machine's
 * clock); the Update's round trip (reported by the API in its Server-Timing header: the workflow answers it
 * once the next step is recorded, the server once that answer is committed, so it bounds the step latency);
 * the same from the operator's entry sent (adding the signature's re-authentication and the API) and up to
 * the moment the operators' screens, which read the queue every `--poll-ms`, show it; the completion round
 * trip; the re-authentication alone; and batch-record entries/s. The equipment simulator runs as a process
 * of its own, as equipment does.
 *
 *   npm run bench:batches -- [--batches 100] [--operators 16] [--think-ms 0] [--poll-ms 250] [--worker process|inline] [--transitions file]
 *
 * `--worker process` (the default) runs the batch worker as `bin/ampoule worker`, a process beside the API's,
 * as a plant deploys it; `inline` runs it in the API's process, as the zero-setup start does.
 *
 * `--transitions` writes every measured transition (seconds into the run and epoch ms of the Update sent, batch,
 * step, step latency in ms) to a file as JSON lines, to see when and where the slow ones fall.
 *
 * `--think-ms` is how long an operator takes, on average (±50 %), once a step shows in the queue, before
 * sending its entry (people read, weigh and type); 0 drives the batches as fast as the machine takes them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import { createApp } from '../api/app';
import { UPDATE_TIMING } from '../api/batches/execution-service';
import { ServerTiming } from '../api/http/server-timing';
import { startApiServer } from '../api/server';
import { createServices } from '../api/services';
import { activityDeps, createPlatform } from '../composition/platform';
import { loadAppConfig } from '../config/app-config';
import { loadTemporalConfig } from '../config/temporal-config';
import { openDatabase, type Database } from '../db/database';
import { loadDemoData, loadDemoEquipment } from '../demo/load';
import { Connections } from '../equipment/driver/connections';
import { PhaseDriver } from '../equipment/driver/phase-driver';
import { openPki } from '../equipment/pki';
import { createDatabaseOn } from '../test/support/postgres';
import { freePort, spawnServer, spawnWorker, type AmpouleProcess } from '../test/support/server-process';
import { startBatchWorker } from '../worker/batch-worker';
import { simulatorProcess } from './simulator-process';
import { argValue, machine, percentile } from './support';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const PASSWORD = 'bench-password-1';

/** The benchmark recipe: 20 steps on one mixer. */
function benchRecipe() {
  const check = (id: string, n: number) => ({
    id,
    name: `Check ${n}`,
    kind: 'instruction',
    text: `Check ${n}: confirm the line is as the SOP requires.`,
    fields: [
      { type: 'passFail', id: 'ok', label: 'As required' },
      {
        type: 'number',
        id: 'reading',
        label: 'Reading',
        quantity: 'temperature',
        unit: 'Cel',
        low: 15,
        target: 20,
        high: 25,
        min: 0,
        max: 100,
      },
    ],
    signatures: { performed: true },
  });
  const add = (id: string, material: string, value: number, verified: boolean) => ({
    id,
    name: `Add ${material}`,
    kind: 'material',
    material,
    quantity: { value, unit: 'kg' },
    tolerancePercent: 2,
    // Typed, not weighed: the benchmark measures the engine with 100 batches at once, not operators queueing at a
    // plant's few scales (and keeps its figures comparable with those measured before dispensing read scales).
    weighed: false,
    signatures: { performed: true, verified },
  });
  const equipment = (id: string, phase: string, setpoints: Json[]) => ({
    id,
    name: `${phase} ${id}`,
    kind: 'equipment',
    phase,
    setpoints,
    reports: [],
  });
  const sample = (id: string) => ({
    id,
    name: `Sample ${id}`,
    kind: 'sample',
    results: [
      {
        type: 'number',
        id: 'ph',
        label: 'pH',
        quantity: 'pH',
        unit: '[pH]',
        low: 7.3,
        target: 7.4,
        high: 7.5,
        min: 0,
        max: 14,
      },
    ],
    signatures: { performed: true },
  });
  const phases = [
    equipment('fill', 'FILL', [{ id: 'volume', name: 'Volume', quantity: 'volume', unit: 'L', target: 100 }]),
    add('add-nacl', 'NACL', 0.8, true),
    add('add-kcl', 'KCL', 0.02, false),
    add('add-na2hpo4', 'NA2HPO4', 0.144, true),
    add('add-kh2po4', 'KH2PO4', 0.024, false),
    equipment('mix', 'MIX', [
      { id: 'speed', name: 'Speed', quantity: 'rotationalSpeed', unit: '/min', target: 100 },
      { id: 'time', name: 'Time', quantity: 'time', unit: 'min', target: 5 },
    ]),
    sample('ipc-1'),
    ...Array.from({ length: 8 }, (_, i) => check(`check-${i + 1}`, i + 1)),
    equipment('heat', 'HEAT', [
      { id: 'temperature', name: 'Temperature', quantity: 'temperature', unit: 'Cel', target: 22 },
    ]),
    check('check-9', 9),
    sample('ipc-2'),
    equipment('transfer', 'TRANSFER', [{ id: 'volume', name: 'Volume', quantity: 'volume', unit: 'L', target: 90 }]),
    { id: 'release', name: 'QA approval', kind: 'approval', text: 'Fit for use.', meaning: 'approved' },
  ];
  return {
    format: 'ampoule-recipe/1',
    code: 'BENCH-20',
    name: 'Benchmark buffer, 20 steps',
    definition: {
      product: { code: 'PBS-1X', name: 'Benchmark buffer' },
      batchSize: { nominal: 100, min: 10, max: 1000, unit: 'L' },
      procedure: {
        unitProcedures: [
          {
            id: 'prep',
            name: 'Preparation',
            equipmentClass: 'MIXER',
            operations: [{ id: 'all', name: 'All', phases }],
          },
        ],
      },
    },
  };
}

async function main() {
  const count = Number(argValue('batches', '100'));
  const operators = Number(argValue('operators', '16'));
  const thinkMs = Number(argValue('think-ms', '0'));
  const pollMs = Number(argValue('poll-ms', '250'));
  const transitionsFile = argValue('transitions', '');
  const base = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  const workerMode = argValue('worker', base ? 'process' : 'inline');
  if (workerMode !== 'process' && workerMode !== 'inline') throw new Error('--worker: process or inline');
  if (workerMode === 'process' && !base)
    throw new Error('--worker process needs PostgreSQL (BENCH_DATABASE_URL): PGlite is one process’s database');
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-batches-'));
  const scratch = base ? await createDatabaseOn(base, 'bench_batches') : undefined;
  const dbUrl = scratch?.url;
  const temporalConfig = loadTemporalConfig(undefined, {});
  const store = dbUrl ? ['--db-url', dbUrl] : ['--db-filename', path.join(dir, 'temporal')];
  const server = await spawnServer(
    [
      ...store,
      ...Object.entries(temporalConfig.searchAttributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ],
    await freePort(),
  );
  const database: Database = dbUrl
    ? await openDatabase({ kind: 'postgres', url: dbUrl, poolSize: 20 })
    : await openDatabase({ kind: 'pglite' });
  const connection = await Connection.connect({ address: server.address });
  // The moment the API sends each batch's Update (after the re-authentication), seen by a client interceptor:
  // the start of the step latency the issue asks for.
  const updateSentAt = new Map<string, number>();
  const client = new Client({
    connection,
    interceptors: {
      workflow: [
        {
          async startUpdate(input, next) {
            updateSentAt.set(input.workflowExecution.workflowId, Date.now());
            return next(input);
          },
        },
      ],
    },
  });
  // The product's own worker settings and task queue (temporal.yaml), whichever process the worker runs in.
  const taskQueue = temporalConfig.taskQueues.batches;
  const config = loadAppConfig({
    LOG_LEVEL: 'silent',
    AMPOULE_DATA_DIR: path.join(dir, 'api'),
    AMPOULE_LOGIN_RATE_PER_MINUTE: '1000000',
    AMPOULE_SIGN_RATE_PER_MINUTE: '1000000',
  });
  const services = createServices(createPlatform(database, config, pino({ level: 'silent' })), { client, taskQueue });
  services.auditSealer.start();
  const api = await startApiServer(createApp(services).app, '127.0.0.1', 0);

  const simulator = await simulatorProcess({
    pkiFolder: path.join(dir, 'simulator'),
    timeScale: 36_000,
    tickMs: 50,
    units: Array.from({ length: count }, (_, i) => ({
      code: `BM-${String(i + 1).padStart(3, '0')}`,
      name: `Bench mixer ${i + 1}`,
      equipmentClass: 'MIXER',
    })),
  });
  await loadDemoData(services, PASSWORD);
  await loadDemoEquipment(services, simulator);
  // The worker talks to the equipment with its own certificate, which the simulator trusts (and the reverse).
  const workerDir = path.join(dir, 'worker');
  const workerPki = await openPki(path.join(workerDir, 'pki', 'ampoule'), 'ampoule');
  await simulator.trust(workerPki.certificate());
  await workerPki.trust(simulator.certificate);
  let stopWorker: () => Promise<void>;
  if (workerMode === 'process') {
    const w: AmpouleProcess = await spawnWorker({
      DATABASE_URL: dbUrl!,
      TEMPORAL_ADDRESS: server.address,
      AMPOULE_DATA_DIR: workerDir,
    });
    stopWorker = () => w.kill('SIGTERM');
  } else {
    const connections = new Connections(workerPki);
    const { maxConcurrentWorkflowTaskExecutions, maxConcurrentActivityTaskExecutions, maxCachedWorkflows } =
      temporalConfig.worker;
    const w = await startBatchWorker({
      address: server.address,
      namespace: 'default',
      taskQueue,
      deps: activityDeps(services, new PhaseDriver(connections)),
      maxConcurrentActivityTaskExecutions,
      maxConcurrentWorkflowTaskExecutions,
      maxCachedWorkflows,
    });
    stopWorker = async () => {
      await w.stop();
      await connections.close();
    };
  }

  // Clients of the API, one token per person.
  const tokens = new Map<string, string>();
  const request = async (user: string, method: string, p: string, body?: unknown) => {
    if (!tokens.has(user)) {
      const r = await fetch(`${api.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: user, password: PASSWORD }),
      });
      tokens.set(user, ((await r.json()) as Json).token);
    }
    const r = await fetch(`${api.url}/api${p}`, {
      method,
      headers: { Authorization: `Bearer ${tokens.get(user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: r.status,
      body: (await r.json().catch(() => ({}))) as Json,
      timing: r.headers.get('server-timing'),
    };
  };
  const sign = (user: string, meaning: string) => ({ username: user, password: PASSWORD, meaning });

  // The recipe, authored by the planner and approved by QA; lots for every material.
  const file = benchRecipe();
  const imported = await request('planner', 'POST', '/recipes/import', { file, reason: 'benchmark' });
  if (imported.status !== 201) throw new Error(JSON.stringify(imported.body));
  await request('planner', 'POST', '/recipes/BENCH-20/versions/1/submit', { signature: sign('planner', 'authored') });
  await request('qa1', 'POST', '/recipes/BENCH-20/versions/1/approve', { signature: sign('qa1', 'approved') });
  await request('qa1', 'POST', '/recipes/BENCH-20/versions/1/make-effective', { reason: 'benchmark' });
  const lots: Record<string, string> = {};
  for (const m of ['NACL', 'KCL', 'NA2HPO4', 'KH2PO4']) {
    const r = await request('operator1', 'POST', '/lots', {
      material: m,
      quantity: 100_000,
      unit: 'kg',
      expiryDate: '2099-12-31',
      supplier: 'Bench',
      supplierLot: 'B1',
    });
    await request('qa1', 'POST', `/lots/${r.body.id}/status`, {
      status: 'released',
      reason: 'benchmark',
      signature: sign('qa1', 'released'),
    });
    lots[m] = r.body.lotNumber;
  }
  const plan = new Map<string, Json>(
    ((await request('qa1', 'GET', '/recipes/BENCH-20/versions/1/plan')).body.plan.steps as Json[]).map((s) => [
      s.id,
      s,
    ]),
  );

  console.log(
    `bench:batches — ${count} concurrent batches of a 20-step recipe, ${operators} operators at work${thinkMs ? `, each taking ${thinkMs} ms per entry` : ' as fast as they can'}; Temporal and Ampoule on ${database.description.split(' ')[0]}, the batch worker ${workerMode === 'process' ? 'in a process of its own' : 'in the API’s process'}; ${machine()}`,
  );
  const started = performance.now();
  const startedWall = Date.now();
  const batches: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await request('planner', 'POST', '/batches', {
      recipe: 'BENCH-20',
      batchSize: 100,
      units: { prep: `BM-${String(i + 1).padStart(3, '0')}` },
    });
    if (r.status !== 201) throw new Error(`launch ${i}: ${JSON.stringify(r.body)}`);
    batches.push(r.body.number);
  }
  const launchSeconds = (performance.now() - started) / 1000;

  // The operators: they read the work queue and take what is theirs, several at a time.
  const roundTrips: number[] = [];
  const updateLatencies: number[] = [];
  const signatureTimes: number[] = [];
  const readyLatencies: number[] = [];
  const transitions: { at: number; sentAt: number; batch: string; step: string; ms: number }[] = [];
  const stepLatencies: number[] = [];
  const seenLatencies: number[] = [];
  // batch → when its last operator update was sent, and the work item it should make appear next (only when
  // that is an operator step: a transition through an equipment phase measures the phase, not Ampoule).
  const sentAt = new Map<string, { t: number; wall: number; next: string | null }>();
  const order = [...plan.values()].sort((a, b) => a.number - b.number);
  const nextAfter = (stepId: string, awaiting: string): string | null => {
    const step = plan.get(stepId)!;
    if (awaiting === 'input' && step.signatures.verified) return `${stepId}/verification`;
    const next = order[order.findIndex((x) => x.id === stepId) + 1];
    return next && next.kind !== 'equipment' && next.kind !== 'hold' ? `${next.id}/input` : null;
  };
  const inFlight = new Set<string>();
  const handled = new Set<string>();
  const seen = new Set<string>();
  let done = 0;
  const finished = new Set<string>();
  const act = async (w: Json) => {
    const key = `${w.batch}/${w.stepId}/${w.awaiting}`;
    const step = plan.get(w.stepId)!;
    // People do not act in step: each entry takes them between half and one and a half times the think time.
    if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs * (0.5 + Math.random())));
    const t0 = performance.now();
    const next = nextAfter(w.stepId, w.awaiting);
    sentAt.set(w.batch, { t: t0, wall: Date.now(), next });
    let r;
    if (w.awaiting === 'input') {
      const user = step.kind === 'approval' ? 'qa2' : 'operator1';
      const fields: Json[] = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
      const values = Object.fromEntries(fields.map((f) => [f.id, f.type === 'number' ? f.target : true]));
      r = await request(user, 'POST', `/batches/${w.batch}/steps/${w.stepId}/complete`, {
        values,
        ...(step.kind === 'material' ? { lots: [{ lot: lots[step.material], quantity: step.quantity.value }] } : {}),
        signature: sign(user, step.kind === 'approval' ? 'approved' : 'performed'),
      });
    } else {
      r = await request('operator2', 'POST', `/batches/${w.batch}/steps/${w.stepId}/verify`, {
        signature: sign('operator2', 'verified'),
      });
    }
    if (r.status !== 200) throw new Error(`${key}: ${r.status} ${JSON.stringify(r.body)}`);
    roundTrips.push(performance.now() - t0);
    const signing = ServerTiming.durationOf(r.timing, 'signature');
    const update = ServerTiming.durationOf(r.timing, UPDATE_TIMING);
    if (signing !== undefined) signatureTimes.push(signing);
    if (next && update !== undefined) updateLatencies.push(update);
  };
  const loop = async () => {
    while (done < count) {
      // operator1 performs, operator2 verifies (a performer never sees their own step to verify), qa2 approves.
      const queues = await Promise.all(
        ['operator1', 'operator2', 'qa2'].map((u) => request(u, 'GET', '/work-queue?limit=1000')),
      );
      const queue = [
        ...new Map(
          queues.flatMap((q) => q.body.items as Json[]).map((w) => [`${w.batch}/${w.stepId}/${w.awaiting}`, w]),
        ).values(),
      ];
      // The moment a step shows up in the queue is when it is ready, whether or not an operator is free.
      for (const w of queue) {
        const key = `${w.batch}/${w.stepId}/${w.awaiting}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const last = sentAt.get(w.batch);
        if (last?.next === `${w.stepId}/${w.awaiting}`) {
          // Ready when its projection was written (the database's clock, this machine's); seen when a screen shows it.
          stepLatencies.push(Date.parse(w.since) - last.wall);
          const updateSent = updateSentAt.get(`batch-${w.batch}`);
          if (updateSent !== undefined && updateSent >= last.wall) {
            readyLatencies.push(Date.parse(w.since) - updateSent);
            transitions.push({
              at: (updateSent - startedWall) / 1000,
              sentAt: updateSent,
              batch: w.batch,
              step: `${w.stepId}/${w.awaiting}`,
              ms: Date.parse(w.since) - updateSent,
            });
          }
          seenLatencies.push(performance.now() - last.t);
        }
      }
      const items = queue.filter(
        (w) =>
          !inFlight.has(`${w.batch}/${w.stepId}/${w.awaiting}`) && !handled.has(`${w.batch}/${w.stepId}/${w.awaiting}`),
      );
      for (const w of items.slice(0, operators - inFlight.size)) {
        const key = `${w.batch}/${w.stepId}/${w.awaiting}`;
        inFlight.add(key);
        void act(w)
          .catch((err) => {
            console.error(err);
            process.exit(1);
          })
          .finally(() => {
            inFlight.delete(key);
            handled.add(key);
          });
      }
      const complete = await services
        .db('batches')
        .whereIn('number', batches)
        .andWhere('status', 'complete')
        .pluck('number');
      for (const b of complete) finished.add(b);
      done = finished.size;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  await loop();
  const seconds = (performance.now() - started) / 1000;
  const [{ n: entries }] = await services
    .db('ebr_entries')
    .whereIn('batch_id', services.db('batches').select('id').whereIn('number', batches))
    .count({ n: '*' });

  if (transitionsFile) writeFileSync(transitionsFile, transitions.map((t) => JSON.stringify(t)).join('\n') + '\n');
  for (const list of [roundTrips, updateLatencies, signatureTimes, readyLatencies, stepLatencies, seenLatencies])
    list.sort((a, b) => a - b);
  console.log(
    `${count} batches complete in ${seconds.toFixed(1)} s (launching took ${launchSeconds.toFixed(1)} s): ${((count / seconds) * 3600).toFixed(0)} batches/hour`,
  );
  const p = (list: number[]) => `p50 ${percentile(list, 50).toFixed(0)} ms, p99 ${percentile(list, 99).toFixed(0)} ms`;
  console.log(
    `step latency (Update sent → next operator step ready): ${p(readyLatencies)} (${readyLatencies.length} transitions)`,
  );
  console.log(
    `  the Update's round trip (the workflow answers once the next step is recorded, the server once that is committed): ${p(updateLatencies)}`,
  );
  console.log(
    `  from the operator's entry sent (+ re-authentication and API): ${p(stepLatencies)} (${stepLatencies.length} transitions)`,
  );
  console.log(`  … → shown in a work queue read every ${pollMs} ms: ${p(seenLatencies)}`);
  console.log(
    `completion round trip (re-authentication, Update, batch-record write): ${p(roundTrips)} (${roundTrips.length} entries)`,
  );
  console.log(`re-authentication (argon2id) alone: ${p(signatureTimes)}`);
  console.log(`batch record: ${Number(entries)} entries, ${(Number(entries) / seconds).toFixed(0)} entries/s`);

  await stopWorker();
  await api.stop();
  await services.auditSealer.stop();
  await simulator.stop();
  await connection.close();
  await database.close();
  await server.kill('SIGTERM');
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
