/**
 * `npm run test:faults`: Ampoule deployed as a plant runs it, faults injected while batches run. Two API processes
 * and two batch workers (`bin/ampoule api` and `bin/ampoule worker`, production mode, a restricted database login),
 * the embedded Temporal server as a process on PostgreSQL, PostgreSQL itself (a cluster of the harness's own, so
 * that it may be crashed), and the equipment over OPC UA (the simulator, one mixer per batch). Automated operators
 * drive PBS batches through whichever API answers, as a load balancer would send them. One fault per trial:
 *
 *   api       SIGKILL of an API process (restarted a second later, as a supervisor does)
 *   worker    SIGKILL of a worker process (restarted; its phases are taken over once their heartbeat is overdue)
 *   temporal  SIGKILL of the Temporal server (restarted on its store)
 *   postgres  PostgreSQL stopped with `-m immediate` (a crash: recovery replays its WAL) and started again
 *   opcua     every OPC UA connection cut, and the controller unreachable for 2–5 s
 *
 * Then, for every batch: it ends complete; its record holds exactly the entries a fault-free batch's holds (the
 * first batch runs before any fault, as the reference), entry keys unique, its hash chain whole, and each entry as
 * a replay of its archived history rebuilds it (QA's cross-check, deterministic); every step entry
 * and verification an operator was answered 200 for is in it, once; each equipment phase took effect once (the
 * simulator's counters). And, for the run: every event of the outbox reached a webhook receiver of the harness's
 * own, signed, each subject's in order (duplicates only with their own id) — the relays run in the APIs that are
 * killed; the audit chain verifies; no API or worker exits on its own (the embedded Temporal server does when
 * PostgreSQL fails under it, by design). Prints trials, faults by kind and losses; exits 1 on any loss.
 *
 *   npm run test:faults -- [--trials 10] [--at-once 3] [--seed N] [--faults api,worker,…] [--verbose]
 *
 * CI runs 10 trials (each fault twice); `--trials 200` is the large run; `--faults api --trials 100` kills the API
 * processes, and with them the webhook relays, a hundred times (issue 21's crash test).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import pino from 'pino';
import { createServices } from '../../api/services';
import { DEMO_USERS } from '../../api/users/demo-users';
import { createPlatform } from '../../composition/platform';
import { loadAppConfig } from '../../config/app-config';
import { loadTemporalConfig } from '../../config/temporal-config';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import { openDatabase } from '../../db/database';
import { convert } from '../../domain/units';
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { loadDemoData, loadDemoEquipment, qualifyDemoScales } from '../../demo/load';
import { routeOpcuaLogs } from '../../equipment/opcua';
import { openPki } from '../../equipment/pki';
import { Connections } from '../../equipment/driver/connections';
import { ScaleTerminal } from '../../equipment/driver/scale-terminal';
import { startSimulator, type EquipmentSimulator } from '../../equipment/simulator/simulator';
import {
  AMPOULE_BIN,
  portNoOneElseGets,
  spawnAmpoule,
  spawnServer,
  type AmpouleProcess,
  type ServerProcess,
} from '../support/server-process';
import { prng } from '../support/prng';
import { startEventReceiver } from './event-receiver';
import { failoverClient } from './failover-client';
import { createPostgresCluster, type PostgresCluster } from './postgres-cluster';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const PASSWORD = 'fault-harness-password-1';
/** How long batches still running when the faults are over (every process ready again) have to end; a PBS batch takes a minute or two. */
const BATCH_END_GRACE_MS = 5 * 60_000;
const FAULTS = ['api', 'worker', 'temporal', 'postgres', 'opcua'] as const;
type Fault = (typeof FAULTS)[number];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const verbose = process.argv.includes('--verbose');
/** The kinds of fault to inject, in shuffled rounds: all five unless `--faults` names some. */
const faultKinds = arg('faults', FAULTS.join(','))
  .split(',')
  .map((f) => {
    if (!(FAULTS as readonly string[]).includes(f))
      throw new Error(`--faults: ${f} is not one of ${FAULTS.join(', ')}`);
    return f as Fault;
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A process the harness keeps running, as a supervisor (systemd, Kubernetes) does: killed on purpose by a trial and
 * started again, or restarted when it exits on its own — which is counted, with what it last wrote. One start at a
 * time: a trial's crash, the restart after an exit of its own and the harness's stop wait for a start under way.
 */
class Supervised {
  private proc: AmpouleProcess | ServerProcess | undefined;
  private starting: Promise<void> | undefined;
  private stopping = false;
  exitsOnItsOwn = 0;
  constructor(
    readonly name: string,
    private readonly spawnIt: () => Promise<AmpouleProcess | ServerProcess>,
  ) {}

  /** Starts it unless it runs, trying again every second for two minutes (its database may be down). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      for (let attempt = 1; !this.proc && !this.stopping; attempt++) {
        try {
          const proc = await this.spawnIt();
          if (this.stopping) await proc.kill('SIGKILL');
          else this.watch(proc);
        } catch (err) {
          if (attempt >= 120) throw err;
          if (attempt === 1) console.log(`  ! ${this.name} did not start: ${whyNot((err as Error).message)}`);
          await sleep(1_000);
        }
      }
    })().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private watch(proc: AmpouleProcess | ServerProcess): void {
    this.proc = proc;
    proc.child.once('exit', (code, signal) => {
      if (this.stopping || this.proc !== proc) return;
      this.exitsOnItsOwn++;
      const said = 'output' in proc ? proc.output().trim().split('\n').slice(-3).join('\n  ') : '';
      console.log(`  ! ${this.name} exited on its own (${signal ?? code}); restarting it${said ? `\n  ${said}` : ''}`);
      this.proc = undefined;
      setTimeout(() => void this.start().catch((err: Error) => console.log(`  ! ${this.name}: ${err.message}`)), 1_000);
    });
  }

  /** What its current process logged at level error or above (distinct messages), for `--verbose`. */
  errorsLogged(): string[] {
    const proc = this.proc;
    if (!proc || !('output' in proc)) return [];
    const out = new Set<string>();
    for (const line of proc.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const l = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string }; causes?: unknown };
        if ((l.level ?? 0) >= 50) out.add(`${l.msg} ${JSON.stringify(l.causes ?? l.err?.message ?? '').slice(0, 300)}`);
      } catch {
        // not a log line
      }
    }
    return [...out];
  }

  /** A trial's fault: SIGKILL, then started again after `downMs`. */
  async crash(downMs: number): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (this.stopping) return;
    const proc = this.proc;
    this.proc = undefined;
    await proc?.kill('SIGKILL');
    await sleep(downMs);
    await this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.starting?.catch(() => undefined);
    const proc = this.proc;
    this.proc = undefined;
    if (proc) await Promise.race([proc.kill('SIGTERM'), sleep(10_000).then(() => proc.kill('SIGKILL'))]);
  }
}

/** Why a process did not start, from what it wrote: its fatal log line's message if it wrote one, else the first line. */
function whyNot(message: string): string {
  const fatal = message
    .split('\n')
    .filter((l) => l.includes('"level":60'))
    .map((l) => /"msg":"((?:[^"\\]|\\.)*)"/.exec(l)?.[1])
    .filter((m) => m !== undefined)
    .pop();
  return fatal ?? message.split('\n')[0];
}

/** Polls until `ready()` holds; false if it did not within `ms`. */
async function waitFor(ready: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await ready().catch(() => false)) return true;
    await sleep(200);
  }
  return false;
}

const answersReady = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;

/** A batch the harness launched, and what its operators were told. */
interface Run {
  number: string;
  unit: string;
  /** The unit's FILL and MIX start counters before the batch. */
  before: { fill: number; mix: number };
  acknowledged: { stepId: string; action: 'complete' | 'verify' }[];
  /** Lot number → the quantity its record says the batch consumed. */
  consumed: Map<string, number>;
  ended?: Promise<void>;
  problems: string[];
}

/** A quantity of the record in kilograms (the stocked lots' unit). */
function inKg(q: { value: number; unit: string }): number {
  const kg = convert(q.value, q.unit, 'kg');
  if (kg === undefined) throw new Error(`a consumption in ${q.unit}, not a mass`);
  return kg;
}

/** What a record holds, for comparing with the reference: `kind step` → how many times. */
function recordProfile(entries: Json[]): Map<string, number> {
  const profile = new Map<string, number>();
  for (const e of entries) {
    // An interruption is recorded where one happened; the archived history's hash arrives after the batch ends.
    if (e.kind === 'phase-interrupted' || e.kind === 'history-archived') continue;
    const key = `${e.kind} ${e.stepId ?? '-'}`;
    profile.set(key, (profile.get(key) ?? 0) + 1);
  }
  return profile;
}

function profileDifference(reference: Map<string, number>, actual: Map<string, number>): string[] {
  const out: string[] = [];
  for (const key of new Set([...reference.keys(), ...actual.keys()])) {
    const want = reference.get(key) ?? 0;
    const got = actual.get(key) ?? 0;
    if (want !== got) out.push(`${key}: ${got} (a fault-free batch has ${want})`);
  }
  return out;
}

async function main() {
  const trials = Number(arg('trials', '10'));
  const atOnce = Number(arg('at-once', '3'));
  const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
  const random = prng(seed);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const dir = mkdtempSync(path.join(tmpdir(), 'faults-'));
  const temporalConfig = loadTemporalConfig(undefined, {});

  // PostgreSQL: the application's database, owned by `postgres`; Temporal's store beside it; a restricted login.
  const cluster: PostgresCluster = await createPostgresCluster(await portNoOneElseGets());
  cleanups.push(
    () => cluster.destroy(),
    () => rmSync(dir, { recursive: true }),
  );
  try {
    const admin = knexFactory({ client: 'pg', connection: cluster.url('postgres'), pool: { min: 0, max: 1 } });
    await admin.raw('create database ampoule');
    await admin.raw('create database temporal');
    await admin.raw('create role ampoule_login login');
    await admin.destroy();
    const appUrl = `postgres://ampoule_login@127.0.0.1:${new URL(cluster.url('ampoule')).port}/ampoule`;

    const temporalPort = await portNoOneElseGets();
    const temporal = new Supervised('the Temporal server', () =>
      spawnServer(
        [
          '--db-url',
          cluster.url('temporal'),
          ...Object.entries(temporalConfig.searchAttributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
        ],
        temporalPort,
        120_000,
      ),
    );
    cleanups.unshift(() => temporal.stop());
    await temporal.start();
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const production = {
      AMPOULE_MODE: 'production',
      DATABASE_URL: appUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      AMPOULE_LOGIN_RATE_PER_MINUTE: '1000000',
      AMPOULE_SIGN_RATE_PER_MINUTE: '1000000',
    };
    // The schema, by its owner, as a deployment runs it before anything else.
    try {
      execFileSync(AMPOULE_BIN, ['migrate', '--grant-to', 'ampoule_login'], {
        env: { ...process.env, ...production, AMPOULE_MIGRATION_DATABASE_URL: cluster.url('ampoule') },
        encoding: 'utf8',
      });
    } catch (err) {
      throw new Error(`bin/ampoule migrate failed: ${(err as { stdout: string }).stdout}`, { cause: err });
    }

    routeOpcuaLogs(
      () => undefined,
      () => undefined,
    );
    // The plant: one mixer per batch that may run at once, and spares; a bench scale per batch for its salts.
    const simulator: EquipmentSimulator = await startSimulator({
      pkiFolder: path.join(dir, 'simulator'),
      // 30 process minutes of mixing take 2 s: long enough for faults to land inside phases.
      timeScale: 900,
      tickMs: 20,
      units: [
        ...Array.from({ length: atOnce * 2 }, (_, i) => ({
          code: `FX-${String(i + 1).padStart(2, '0')}`,
          name: `Fault-harness mixer ${i + 1}`,
          equipmentClass: 'MIXER',
        })),
        ...Array.from({ length: atOnce }, (_, i) => ({
          code: `FS-${String(i + 1).padStart(2, '0')}`,
          name: `Fault-harness bench scale ${i + 1}`,
          equipmentClass: 'SCALE',
          scale: { capacity: 6, readability: 0.0001 },
        })),
      ],
    });
    cleanups.unshift(() => simulator.stop());
    const mixers = simulator.units.filter((u) => u.equipmentClass === 'MIXER').map((u) => u.code);
    // Each process with its own OPC UA certificate, trusted by the plant (and the plant by it).
    const trustedByThePlant = async (dataDir: string) => {
      const pki = await openPki(path.join(dataDir, 'pki', 'ampoule'), 'ampoule');
      await simulator.pki.trust(pki.certificate());
      await pki.trust(simulator.pki.certificate());
      return pki;
    };

    // People (the demo's usernames, as real users: production refuses demo ones), master data, recipes, equipment.
    const database = await openDatabase({ kind: 'postgres', url: appUrl, migrate: false });
    const setupConnections = new Connections(await trustedByThePlant(path.join(dir, 'setup')));
    const services = createServices(
      createPlatform(database, loadAppConfig({ AMPOULE_DATA_DIR: path.join(dir, 'setup') }), pino({ level: 'silent' })),
      undefined,
      { scaleTerminal: new ScaleTerminal(setupConnections) },
    );
    for (const u of DEMO_USERS)
      await database.knex.transaction((trx) =>
        services.users.create(
          { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'the fault harness’s people' },
          { ...u, fullName: u.fullName.replace('(demo)', '(fault harness)'), password: PASSWORD, demo: false },
        ),
      );
    await loadDemoData(services, PASSWORD);
    await loadDemoEquipment(services, simulator);
    // Calibrated and checked for today, as the dispensary's people would before the shift.
    await qualifyDemoScales(services, simulator, PASSWORD);
    await setupConnections.close();
    await database.close();

    // Two workers, each with its own OPC UA certificate, trusted by the plant (and the plant by them).
    const workers: Supervised[] = [];
    const workerPorts: number[] = [];
    for (const n of [1, 2]) {
      const dataDir = path.join(dir, `worker-${n}`);
      await trustedByThePlant(dataDir);
      const port = await portNoOneElseGets();
      workerPorts.push(port);
      workers.push(
        new Supervised(`worker ${n}`, () =>
          spawnAmpoule(
            'worker',
            { ...production, AMPOULE_DATA_DIR: dataDir, PORT: String(port) },
            '"batch worker running"',
            120_000,
          ),
        ),
      );
    }
    // Two APIs on one data folder (a shared volume): one anchor key and log for the chains, one certificate for the
    // scales they read.
    await trustedByThePlant(path.join(dir, 'api'));
    const apis: Supervised[] = [];
    const apiPorts: number[] = [];
    for (const n of [1, 2]) {
      const port = await portNoOneElseGets();
      apiPorts.push(port);
      apis.push(
        new Supervised(`API ${n}`, () =>
          spawnAmpoule(
            'api',
            { ...production, AMPOULE_DATA_DIR: path.join(dir, 'api'), PORT: String(port), HOST: '127.0.0.1' },
            '"web pages and API ready"',
            120_000,
          ),
        ),
      );
    }
    cleanups.unshift(async () => {
      for (const p of [...apis, ...workers]) await p.stop();
    });
    for (const p of [...apis, ...workers]) await p.start();
    const supervised = [temporal, ...apis, ...workers];

    const request = failoverClient(
      apiPorts.map((p) => `http://127.0.0.1:${p}`),
      PASSWORD,
    );
    // Every event out, to a receiver of the harness's own: the relays in the APIs are killed with them. The events of
    // the set-up, before the subscription, are no one's.
    const receiver = await startEventReceiver();
    const eventsBefore = await (async () => {
      const owner = knexFactory({ client: 'pg', connection: cluster.url('ampoule'), pool: { min: 0, max: 1 } });
      try {
        return Number((await owner('outbox_events').max({ seq: 'seq' }))[0].seq ?? 0);
      } finally {
        await owner.destroy();
      }
    })();
    cleanups.unshift(() => receiver.close());
    const subscribed = await request('admin', 'POST', '/webhooks/subscriptions', {
      url: receiver.url,
      eventTypes: ['*'],
      description: 'the fault harness',
      maxAttempts: 50,
    });
    if (subscribed.status !== 201)
      throw new Error(`subscribing: ${subscribed.status} ${JSON.stringify(subscribed.body)}`);
    receiver.useSecret(subscribed.body.secret as string);
    const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), PASSWORD);
    console.log(
      `test:faults — ${trials} trials, one fault each (${faultKinds.join(', ')}), while ${atOnce} batches run at a time; 2 APIs and 2 workers (bin/ampoule, production mode), the embedded Temporal server on ${cluster.description}, equipment over OPC UA; seed ${seed}`,
    );

    // Batches: launched as units come free, driven to their end by the automated operators.
    const runs: Run[] = [];
    // Set when the faults are over: a batch not ended by then is given up (`operateBatch`'s `until`).
    let stuckAfter = Infinity;
    const busy = new Set<string>();
    let launches = 0;
    const launch = async (): Promise<Run> => {
      const unit = mixers.find((c) => !busy.has(c))!;
      busy.add(unit);
      const before = {
        fill: simulator.phase(unit, 'FILL').executed.start,
        mix: simulator.phase(unit, 'MIX').executed.start,
      };
      // The unit the last batch left dirty, cleaned (once that batch has let go of it).
      for (let tries = 0; ; tries++) {
        const cleaned = await request('operator1', 'POST', `/equipment/${unit}/status`, {
          cleanliness: 'clean',
          reason: 'cleaned after the last batch',
        });
        if (cleaned.status === 200) break;
        if (cleaned.status !== 409 || tries > 120)
          throw new Error(`cleaning ${unit}: ${cleaned.status} ${JSON.stringify(cleaned.body)}`);
        await sleep(500);
      }
      // An Idempotency-Key: a launch whose answer was lost to a fault is sent again, and is not launched twice.
      const key = `fault-harness-${seed}-${++launches}`;
      const r = await request(
        'planner',
        'POST',
        '/batches',
        { recipe: 'PBS-1X', batchSize: 400, units: { 'buffer-preparation': unit } },
        { 'Idempotency-Key': key },
      );
      if (r.status !== 201) throw new Error(`launch on ${unit}: ${r.status} ${JSON.stringify(r.body)}`);
      const run: Run = { number: r.body.number, unit, before, acknowledged: [], consumed: new Map(), problems: [] };
      runs.push(run);
      run.ended = operateBatch(request, run.number, {
        lots,
        password: PASSWORD,
        onAction: (a) => run.acknowledged.push({ stepId: a.stepId, action: a.action }),
        until: () => Date.now() > stuckAfter,
      })
        .then(
          async (status) => {
            if (status === 'interrupted') {
              run.problems.push(`it did not end within ${BATCH_END_GRACE_MS / 1000} s after the faults`);
              try {
                const live = (await request('qa1', 'GET', `/batches/${run.number}`)).body.live as Json;
                const open = (live.steps as Json[]).filter((st) => st.status !== 'done' && st.status !== 'pending');
                run.problems.push(`then ${live.status}: ${open.map((st) => `${st.id} ${st.status}`).join(', ')}`);
                // What it consumed so far, for the lots' ledger check.
                await countConsumed(run, (await request('qa1', 'GET', `/batches/${run.number}/ebr`)).body.entries);
              } catch (err) {
                run.problems.push(`reading it failed: ${(err as Error).message}`);
              }
              return;
            }
            if (status !== 'complete') run.problems.push(`ended ${status}`);
            await checkRun(run).catch((err: Error) => run.problems.push(`checking its record failed: ${err.message}`));
          },
          (err: Error) => {
            run.problems.push(`its operators gave up: ${err.message}`);
          },
        )
        .finally(() => busy.delete(unit));
      return run;
    };

    /** What the batch's record says it consumed of each lot, in kg (consumed quantities are in their step's unit). */
    const countConsumed = async (run: Run, entries: Json[]) => {
      const steps = (await request('qa1', 'GET', `/batches/${run.number}/steps`)).body as Json[];
      const unitOf = new Map(steps.map((st) => [st.id as string, st.quantity?.unit as string]));
      for (const e of entries.filter((x) => x.kind === 'lots-consumed'))
        for (const l of e.data.lots as Json[])
          run.consumed.set(
            l.lotNumber,
            (run.consumed.get(l.lotNumber) ?? 0) + inKg({ value: l.quantity, unit: unitOf.get(e.stepId)! }),
          );
    };

    let reference: Map<string, number> | undefined;
    const checkRun = async (run: Run) => {
      const ebr = (await request('qa1', 'GET', `/batches/${run.number}/ebr`)).body;
      if (!ebr.chain?.ok) run.problems.push(`its record's hash chain does not hold: ${JSON.stringify(ebr.chain)}`);
      const entries = ebr.entries as Json[];
      // The record against the history it was written from, entry by entry (a replay, as QA's investigation does),
      // once the workflow has closed and its history is archived: until then a fault may still hold back the history
      // of the batch's last write (committed by its local activity, the workflow task's completion not yet in).
      let check = await request('qa1', 'GET', `/batches/${run.number}/cross-check`);
      for (const until = Date.now() + 120_000; check.status === 200 && check.body.historyIntact === null;) {
        if (Date.now() > until) break;
        await sleep(1_000);
        check = await request('qa1', 'GET', `/batches/${run.number}/cross-check`);
      }
      if (check.status !== 200 || check.body.verdict !== 'match' || check.body.deterministic !== true)
        run.problems.push(
          `its record does not match its history: ${check.status} ${JSON.stringify(
            check.status === 200
              ? {
                  deterministic: check.body.deterministic,
                  historyIntact: check.body.historyIntact,
                  mismatches: (check.body.entries as Json[]).filter((e) => e.verdict !== 'match'),
                }
              : check.body,
          )}`,
        );
      const keys = entries.map((e) => e.entryKey);
      if (new Set(keys).size !== keys.length) run.problems.push('an entry key is in the record twice');
      await countConsumed(run, entries);
      const profile = recordProfile(entries);
      if (!reference) reference = profile;
      else run.problems.push(...profileDifference(reference, profile));
      // Every entry an operator was answered 200 for, once: the entry its signature (performed, verified) is on.
      for (const a of run.acknowledged) {
        const meanings = a.action === 'verify' ? ['verified'] : ['performed', 'approved'];
        const found = entries.filter(
          (e) => e.stepId === a.stepId && meanings.includes(e.signature?.meaning as string),
        ).length;
        if (found !== 1) run.problems.push(`the ${a.action} of ${a.stepId} acknowledged, ${found} times in the record`);
      }
      // Equipment: each phase took effect once — FILL twice (fill-wfi, qs-wfi), MIX once.
      const fill = simulator.phase(run.unit, 'FILL').executed.start - run.before.fill;
      const mix = simulator.phase(run.unit, 'MIX').executed.start - run.before.mix;
      if (fill !== 2 || mix !== 1) run.problems.push(`on ${run.unit}: FILL started ${fill} times (2), MIX ${mix} (1)`);
    };

    // The reference: one batch with no fault anywhere.
    const first = await launch();
    await first.ended;
    if (!reference)
      throw new Error(`the fault-free batch ${first.number} gave no record: ${first.problems.join('; ')}`);
    console.log(`${elapsed()}: the fault-free batch ${first.number} finished; its record is the reference`);

    // The trials: batches keep running; one fault at a time, and the deployment back up before the next.
    let faultsDone = false;
    const launchFailures: string[] = [];
    const launching = (async () => {
      while (!faultsDone) {
        if (busy.size >= atOnce) await sleep(250);
        else
          await launch().catch(async (err: Error) => {
            launchFailures.push(err.message);
            console.log(`  ! ${err.message}`);
            await sleep(1_000);
          });
      }
    })();
    const faultCounts = new Map<Fault, number>(FAULTS.map((f) => [f, 0]));
    let notReady: string | undefined;
    let order: Fault[] = [];
    const recoveries: number[] = [];
    for (let t = 1; t <= trials; t++) {
      if (order.length === 0) order = [...faultKinds].sort(() => random() - 0.5);
      const fault = order.shift()!;
      await sleep(1_000 + random() * 3_000);
      const which = random() < 0.5 ? 0 : 1;
      const t0 = Date.now();
      let what: string;
      switch (fault) {
        case 'api':
          what = apis[which].name;
          await apis[which].crash(1_000);
          break;
        case 'worker':
          what = workers[which].name;
          await workers[which].crash(1_000);
          break;
        case 'temporal':
          what = temporal.name;
          await temporal.crash(500);
          break;
        case 'postgres': {
          const downMs = 1_000 + random() * 2_000;
          what = `PostgreSQL, down ${(downMs / 1000).toFixed(1)} s`;
          await cluster.stop('immediate');
          await sleep(downMs);
          await cluster.start();
          break;
        }
        case 'opcua': {
          const downMs = 2_000 + random() * 3_000;
          what = `OPC UA, cut for ${(downMs / 1000).toFixed(1)} s`;
          await simulator.outage(downMs);
          break;
        }
      }
      faultCounts.set(fault, faultCounts.get(fault)! + 1);
      // An API's readiness includes Temporal's: every process ready means the Temporal server answers too.
      const back = await waitFor(
        async () =>
          (await Promise.all([...apiPorts, ...workerPorts].map((p) => answersReady(p).catch(() => false)))).every(
            Boolean,
          ),
        180_000,
      );
      recoveries.push(Date.now() - t0);
      console.log(
        `${elapsed()}: trial ${t}/${trials}: ${fault} (${what}); ${back ? `every process ready again ${((Date.now() - t0) / 1000).toFixed(1)} s after the fault began` : 'NOT ready after 180 s'}; ${runs.length} batches so far`,
      );
      if (!back) {
        notReady = `trial ${t}: not every process ready 180 s after the fault; ${trials - t} trials not run`;
        break;
      }
    }
    faultsDone = true;
    await launching;
    // A batch still running long after the last fault is stuck: a loss to report, not a wait without end.
    stuckAfter = Date.now() + BATCH_END_GRACE_MS;
    console.log(`${elapsed()}: faults over; waiting for the batches still running to end`);
    await Promise.all(runs.map((r) => r.ended));

    // Each lot's ledger: what was received, less what the batch records say was consumed — none taken twice.
    const ledgerProblems: string[] = [];
    for (const m of DEMO_STOCK.slice(0, 4)) {
      const lot = (await request('qa1', 'GET', `/lots/${lots[m.code]}`)).body;
      const consumed = runs.reduce((n, r) => n + (r.consumed.get(lots[m.code]) ?? 0), 0);
      if (Math.abs(lot.quantity - (m.quantity - consumed)) > 1e-9)
        ledgerProblems.push(
          `lot ${lots[m.code]} (${m.code}) holds ${lot.quantity} ${lot.unit}; received ${m.quantity}, the records consumed ${consumed}`,
        );
    }

    // Every event out delivered (the relays had up to two minutes after the last batch).
    const owner = knexFactory({ client: 'pg', connection: cluster.url('ampoule'), pool: { min: 0, max: 1 } });
    await waitFor(
      async () => Number((await owner('webhook_deliveries').where('state', 'pending').count({ n: '*' }))[0].n) === 0,
      120_000,
    );
    const events = await receiver.check(owner, eventsBefore);
    await owner.destroy();

    // The audit trail, whole, across everything that happened.
    const verdict = (await request('admin', 'GET', '/audit/verify')).body;
    const exits = supervised.reduce((n, p) => n + p.exitsOnItsOwn, 0);
    const failed = runs.filter((r) => r.problems.length > 0);
    const acknowledged = runs.reduce((n, r) => n + r.acknowledged.length, 0);
    console.log(`\nfaults: ${[...faultCounts].map(([f, n]) => `${f} ${n}`).join(', ')} (${trials} trials)`);
    console.log(
      `batches: ${runs.length} launched, ${runs.length - failed.length} ended as the fault-free one did (complete; the same record entries; chain whole; the record as its history rebuilds it; each phase started once)`,
    );
    const notOnce = runs.reduce((n, r) => n + r.problems.filter((p) => /acknowledged, \d+ times/.test(p)).length, 0);
    console.log(
      `entries acknowledged to operators: ${acknowledged}, ${notOnce === 0 ? 'each in its record once' : `${notOnce} NOT in its record once`}`,
    );
    console.log(
      `answers 500 (sent again, as a client would; each a server error to look into): ${request.serverErrors()}${request
        .serverErrorsByRequest()
        .slice(0, 6)
        .map(([what, n]) => `\n  ${n}× ${what}`)
        .join('')}`,
    );
    console.log(
      `events out (webhooks): ${events.written} written, ${events.received} received${events.duplicates ? `, ${events.duplicates} sent again with their own id` : ''}${events.problems.length === 0 ? '; signatures valid, each subject in order' : `; ${events.problems.join('; ')}`}`,
    );
    console.log(
      ledgerProblems.length === 0
        ? `lots: each ledger is its receipt less what the batch records consumed`
        : `lots: ${ledgerProblems.join('; ')}`,
    );
    console.log(
      `audit chain: ${verdict.ok ? 'whole' : `NOT whole: ${JSON.stringify(verdict.firstBreak ?? verdict.anchors)}`} (${verdict.entries} entries)`,
    );
    console.log(
      `every process ready again after a fault began: median ${(recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)] / 1000).toFixed(1)} s, longest ${(Math.max(...recoveries) / 1000).toFixed(1)} s`,
    );
    console.log(
      `processes that exited on their own and were restarted, as a supervisor does: ${
        exits === 0
          ? 'none'
          : supervised
              .filter((p) => p.exitsOnItsOwn > 0)
              .map((p) => `${p.name} ${p.exitsOnItsOwn}×`)
              .join(', ')
      }${temporal.exitsOnItsOwn > 0 ? ' (the embedded server stops when a commit to its store fails: by design, its memory would be ahead of the store)' : ''}`,
    );
    if (launchFailures.length > 0) console.log(`launches refused: ${launchFailures.length}`);
    if (notReady) console.log(notReady);
    // Ampoule's own processes must ride every fault out; the embedded Temporal server's exits are by design.
    const ownExits = [...apis, ...workers].reduce((n, p) => n + p.exitsOnItsOwn, 0);
    for (const r of failed) console.log(`  ✗ ${r.number} on ${r.unit}: ${r.problems.join('; ')}`);
    const losses =
      events.problems.length +
      failed.length +
      ledgerProblems.length +
      launchFailures.length +
      ownExits +
      (notReady ? 1 : 0) +
      (verdict.ok ? 0 : 1);
    console.log(`losses: ${losses}`);
    console.log(`${elapsed()} in all`);
    if (verbose)
      for (const p of [...apis, ...workers]) for (const e of p.errorsLogged()) console.log(`  ${p.name} logged: ${e}`);
    process.exitCode = losses > 0 ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

/** What to stop and remove at the end, newest first: processes, the simulator, the PostgreSQL cluster, files. */
const cleanups: (() => Promise<void> | void)[] = [];
async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0)) await (async () => c())().catch(() => undefined);
}
// Interrupted: leave no process or cluster behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
