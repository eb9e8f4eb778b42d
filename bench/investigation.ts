/**
 * `npm run bench:investigation`: what an investigation costs in CPU, per batch history of the replay corpus
 * (test/histories: PBS and mAb batches, 27–166 events). For each history, `--rounds` times: the replay against the
 * workflow code (`worker/replayer.ts`, one replay worker per replay, as the API does) with the record's entries
 * rebuilt through the sink, then the cross-check of those entries against a record holding the same entries
 * (`domain/batch/cross-check.ts`). Prints p50/p99 per history size class and over all; the bundling (once per
 * process) is printed apart. Not measured here: reading the record and the archive from the database.
 * Then the same for a long history: a batch of `--long-steps` steps (each performed and verified: a few thousand
 * events), run to completion first on the embedded server (0 leaves it out).
 * Then the impact query (`GET /api/investigations/impact`) over `--batches` seeded batches (each with its units,
 * four consumed lots out of 200, and 40 record entries by one of 20 operators), on PostgreSQL when
 * TEST_DATABASE_URL is set, else PGlite: p50/p99 per criterion and with all four.
 *
 *   npm run bench:investigation -- [--rounds 5] [--long-steps 250] [--batches 1000] [--queries 50]
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import pino from 'pino';
import { ImpactService, type ImpactCriteria } from '../api/batches/impact-service';
import { createServices } from '../api/services';
import { createPlatform } from '../composition/platform';
import { loadAppConfig } from '../config/app-config';
import { loadDemoData } from '../demo/load';
import { crossCheck, entryKeyOf, type RecordedEntry } from '../domain/batch/cross-check';
import { canonicalHash } from '../domain/canonical-hash';
import { corpusFiles, readFromCorpus } from '../test/support/replay-corpus';
import { BatchReplayer } from '../worker/replayer';
import { operateBatch } from '../demo/automated-operator';
import { DEMO_PASSWORD, startBatchEnv } from '../test/support/batch-env';
import { argValue, machine, percentile, pgliteBenchDatabase, postgresBenchDatabase } from './support';

async function main() {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const rounds = Number(argValue('rounds', '5'));
  const replayer = new BatchReplayer();
  const bundling = performance.now();
  await replayer.replay('warm-up', []);
  console.log(
    `bench:investigation — ${machine()}; bundling the workflow code: ${Math.round(performance.now() - bundling)} ms`,
  );

  const all: number[] = [];
  const byEvents = new Map<string, number[]>();
  for (const file of corpusFiles()) {
    const { workflowId, history } = readFromCorpus(file);
    const events = history.events?.length ?? 0;
    const runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId ?? 'run';
    for (let i = 0; i < rounds; i++) {
      const ms = await replayAndCrossCheck(replayer, workflowId, runId, history);
      all.push(ms);
      const size = events <= 60 ? '≤ 60 events' : events <= 120 ? '61–120 events' : '121–200 events';
      byEvents.set(size, [...(byEvents.get(size) ?? []), ms]);
    }
  }
  const report = (label: string, xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(
      `${label.padEnd(21)} n=${String(sorted.length).padStart(4)}  p50 ${percentile(sorted, 50).toFixed(0)} ms  p99 ${percentile(sorted, 99).toFixed(0)} ms`,
    );
  };
  for (const [size, xs] of [...byEvents].sort()) report(size, xs);
  report('all histories', all);
  await longHistory(replayer, rounds, report);
  await impactQuery(report);
}

/** One replay of `history` with the record rebuilt through the sink, then its cross-check: the time both took. */
async function replayAndCrossCheck(
  replayer: BatchReplayer,
  workflowId: string,
  runId: string,
  history: temporal.api.history.v1.IHistory,
): Promise<number> {
  const t = performance.now();
  const outcome = await replayer.replay(workflowId, [{ runId, history }]);
  if (!outcome.deterministic) throw new Error(`${workflowId}: ${outcome.error?.message}`);
  const rebuilt = outcome.written.flatMap((w) => w.entries.map((e) => ({ ...e, runId: w.runId })));
  // A record holding exactly what the workflow wrote: the comparison's full cost, every entry matching.
  const recorded: RecordedEntry[] = rebuilt.map((e, n) => ({
    seq: n + 1,
    entryKey: entryKeyOf(workflowId, e.no),
    kind: e.kind,
    stepId: e.stepId,
    data: JSON.parse(JSON.stringify(e.data)) as unknown,
    runId: e.runId,
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    userId: e.user?.userId ?? null,
    userName: e.user?.fullName ?? null,
    signature: e.signature
      ? {
          signerId: e.signature.userId,
          username: e.signature.username,
          printedName: e.signature.fullName,
          meaning: e.signature.meaning,
          comment: e.signature.comment,
          contentHash: canonicalHash({
            batch: workflowId.slice('batch-'.length),
            step: e.stepId,
            entry: entryKeyOf(workflowId, e.no),
            data: e.data,
          }),
        }
      : null,
  }));
  const report = crossCheck({ number: workflowId.slice('batch-'.length), workflowId }, rebuilt, recorded);
  if (report.verdict !== 'match') throw new Error(`${workflowId}: the cross-check of a record against itself failed`);
  return performance.now() - t;
}

/**
 * A long batch: a recipe of `--long-steps` instruction steps (250 by default), each performed and verified, run to
 * completion on the embedded server by automated operators through the API; its history (a few thousand events)
 * replayed and cross-checked `rounds` times.
 */
async function longHistory(replayer: BatchReplayer, rounds: number, report: (label: string, xs: number[]) => void) {
  const steps = Number(argValue('long-steps', '250'));
  if (steps <= 0) return;
  const env = await startBatchEnv();
  try {
    await env.startWorker();
    const request = async (user: string, method: string, p: string, body?: unknown) =>
      env.api.request(method, p, body, { token: await env.token(user) });
    const sign = (user: string, meaning: string) => ({ username: user, password: DEMO_PASSWORD, meaning });
    const code = `LONG-${steps}`;
    const phases = Array.from({ length: steps }, (_, i) => ({
      id: `check-${i + 1}`,
      name: `Check ${i + 1}`,
      kind: 'instruction',
      text: `Check ${i + 1}: confirm the line is as the SOP requires.`,
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
      signatures: { performed: true, verified: true },
    }));
    const file = {
      format: 'ampoule-recipe/1',
      code,
      name: `A long batch, ${steps} steps`,
      definition: {
        product: { code: 'PBS-1X', name: 'Benchmark buffer' },
        batchSize: { nominal: 100, min: 10, max: 1000, unit: 'L' },
        procedure: {
          unitProcedures: [
            {
              id: 'prep',
              name: 'Preparation',
              equipmentClass: 'MIXER',
              // Operations of 50 phases (a recipe's operation holds at most 200).
              operations: Array.from({ length: Math.ceil(steps / 50) }, (_, i) => ({
                id: `op-${i + 1}`,
                name: `Operation ${i + 1}`,
                phases: phases.slice(i * 50, i * 50 + 50),
              })),
            },
          ],
        },
      },
    };
    const steps_ = [
      () => request('planner', 'POST', '/recipes/import', { file, reason: 'bench' }),
      () =>
        request('planner', 'POST', `/recipes/${code}/versions/1/submit`, { signature: sign('planner', 'authored') }),
      () => request('qa1', 'POST', `/recipes/${code}/versions/1/approve`, { signature: sign('qa1', 'approved') }),
      () => request('qa1', 'POST', `/recipes/${code}/versions/1/make-effective`, { reason: 'bench' }),
    ];
    for (const step of steps_) {
      const r = await step();
      if (r.status >= 300) throw new Error(`preparing ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const launched = await request('planner', 'POST', '/batches', { recipe: code, batchSize: 100 });
    if (launched.status !== 201) throw new Error(`launching ${code}: ${JSON.stringify(launched.body)}`);
    const t = performance.now();
    const end = await operateBatch(request, launched.body.number, { lots: {}, password: DEMO_PASSWORD, pollMs: 20 });
    if (end !== 'complete') throw new Error(`the long batch ended ${end}`);
    const workflowId = `batch-${launched.body.number}`;
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId ?? 'run';
    console.log(
      `long batch — ${steps} steps, each performed and verified, run in ${Math.round((performance.now() - t) / 1000)} s: ${history.events?.length} events`,
    );
    const xs: number[] = [];
    for (let i = 0; i < rounds; i++) xs.push(await replayAndCrossCheck(replayer, workflowId, runId, history));
    report(`${history.events?.length} events`, xs);
  } finally {
    await env.close();
  }
}

/** The impact query over many batches, seeded straight into the tables. */
async function impactQuery(report: (label: string, xs: number[]) => void) {
  const count = Number(argValue('batches', '1000'));
  const queries = Number(argValue('queries', '50'));
  const base = process.env.TEST_DATABASE_URL;
  const bench = base ? await postgresBenchDatabase(base, 'bench_impact') : await pgliteBenchDatabase();
  try {
    const services = createServices(
      createPlatform(bench.database, loadAppConfig({ LOG_LEVEL: 'silent' }), pino({ level: 'silent' })),
    );
    await loadDemoData(services, 'bench-password');
    const db = bench.database.knex;
    const t = performance.now();
    await db.raw(
      `insert into users (username, full_name, roles, password_hash)
       select 'bench-op-' || i, 'Bench Operator ' || i, array['operator'], 'x' from generate_series(1, 20) i`,
    );
    // The units the batches ran on (the impact query refuses a unit that does not exist).
    await db.raw(
      `insert into equipment_units (code, name, class_code, endpoint_url, security_mode, security_policy, binding)
       select 'FL-' || i, 'Bench filler ' || i, (select code from equipment_classes order by code limit 1),
              'opc.tcp://127.0.0.1:4840', 'None', 'None', '{}'::jsonb
         from generate_series(0, 4) i
       union all
       select 'MX-20' || i, 'Bench mixer ' || i, (select code from equipment_classes order by code limit 1),
              'opc.tcp://127.0.0.1:4840', 'None', 'None', '{}'::jsonb
         from generate_series(1, 2) i
       on conflict (code) do nothing`,
    );
    await db.raw(
      `insert into lots (lot_number, material_code, unit, quantity, status)
       select 'BENCH-LOT-' || i, (select code from materials order by code limit 1), 'kg', 1000, 'released'
         from generate_series(1, 200) i`,
    );
    await db.raw(
      `insert into batches (number, workflow_id, recipe_id, recipe_version_id, recipe_code, recipe_version, product_code,
                            batch_size, batch_unit, output_lot_number, output_material, plan, plan_hash, units, status,
                            started_at, ended_at)
       select 'BENCH-' || i, 'batch-BENCH-' || i, v.recipe_id, v.id, r.code, v.version, m.code, 500, 'L',
              'BENCH-OUT-' || i, m.code, '{}'::jsonb, 'bench',
              jsonb_build_object('prep', jsonb_build_object('code', 'MX-20' || (1 + i % 2)),
                                 'fill', jsonb_build_object('code', 'FL-' || (i % 5))),
              'released', now() - (i || ' hours')::interval, now() - (i || ' hours')::interval + interval '3 hours'
         from generate_series(1, ${count}) i,
              (select * from recipe_versions where status = 'effective' order by created_at limit 1) v
         join recipes r on r.id = v.recipe_id
         cross join (select code from materials order by code limit 1) m`,
    );
    await db.raw(
      `insert into lot_transactions (lot_id, kind, quantity, entered_quantity, entered_unit, batch_id, step_id, user_name)
       select l.id, 'consumption', -1, 1, 'kg', 'BENCH-' || i, 'step', 'bench'
         from generate_series(1, ${count}) i
         cross join generate_series(0, 3) k
         join lots l on l.lot_number = 'BENCH-LOT-' || (1 + ((i * 7 + k * 13) % 200))`,
    );
    await db.raw(
      `insert into ebr_entries (batch_id, seq, entry_key, kind, step_id, data, workflow_id, run_id, event_id,
                                occurred_at, user_id, user_name, prev_hash, hash)
       select b.id, n, b.workflow_id || '/' || n, 'values-entered', 'step-' || n, '{}'::jsonb, b.workflow_id, 'run', n,
              b.started_at, u.id, u.full_name, 'x', 'x'
         from batches b
         cross join generate_series(1, 40) n
         join users u on u.username = 'bench-op-' || (1 + n % 20)
        where b.number like 'BENCH-%'`,
    );
    await db.raw('analyze');
    console.log(
      `impact query — ${bench.label}, ${count} batches seeded in ${Math.round(performance.now() - t)} ms; ${queries} queries each`,
    );
    const impact = new ImpactService(db, services.stores);
    const seeded = (await db('batches').where({ number: 'BENCH-1' }).first()) as {
      recipe_code: string;
      recipe_version: number;
    };
    const pick = (i: number): Record<string, Partial<ImpactCriteria>> => ({
      lot: { lot: `BENCH-LOT-${1 + (i % 200)}` },
      unit: { unit: `FL-${i % 5}` },
      recipeVersion: { recipeVersion: `${seeded.recipe_code}:${seeded.recipe_version}` },
      operator: { operator: `bench-op-${1 + (i % 20)}` },
      all: {
        lot: `BENCH-LOT-${1 + (i % 200)}`,
        unit: `FL-${i % 5}`,
        operator: `bench-op-${1 + (i % 20)}`,
        from: new Date(Date.now() - 30 * 86_400_000),
      },
    });
    for (const criterion of Object.keys(pick(0))) {
      const xs: number[] = [];
      for (let i = 0; i < queries; i++) {
        const q = performance.now();
        await impact.impact({ limit: 200, ...pick(i)[criterion] });
        xs.push(performance.now() - q);
      }
      report(`impact ${criterion}`, xs);
    }
  } finally {
    await bench.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
