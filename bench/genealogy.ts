/**
 * `npm run bench:genealogy`: how long a genealogy trace over ten thousand lots takes. It builds two
 * four-generation trees of 11,111 lots each (every lot made from, or made into, ten lots by a batch),
 * then times the query alone (the recursive walk, its lots and quantities; whole, and in halves on two connections as
 * the API walks it on PostgreSQL) and the whole answer of GET /api/lots/:id/genealogy (walk, lots,
 * tree), backward from the top of one tree and forward from the root of the other, and the recall impact.
 *
 *   npm run bench:genealogy -- [--fanout 10] [--levels 4] [--runs 7] [--stores postgres,pglite] [--keep]
 *
 * `--keep` leaves the PostgreSQL database in place and prints its name, for EXPLAIN and pgbench on the same trees.
 */
import pino from 'pino';
import { createServices } from '../api/services';
import { createPlatform } from '../composition/platform';
import { loadAppConfig } from '../config/app-config';
import { createApp } from '../api/app';
import { connectionsFreeNow } from '../db/database';
import { startApiServer } from '../api/server';
import { NO_STATION, SYSTEM_ACTOR } from '../db/change-context';
import { timedGets } from './timed-get';
import { argValue, machine, percentile, pgliteBenchDatabase, postgresBenchDatabase } from './support';

/**
 * Two trees in SQL (as the owner, in bulk): `GB-<level>-<i>` where each lot of a level was produced by a
 * batch from ten lots of the next level; `GF-<level>-<i>` where each lot was consumed by a batch that made
 * ten lots of the next level.
 */
function buildTrees(fanout: number, levels: number): string[] {
  const statements = [
    `insert into materials (code, name, type, base_unit) values ('BENCH', 'Benchmark material', 'raw', 'kg')`,
  ];
  for (const tree of ['GB', 'GF']) {
    for (let level = 0; level <= levels; level++) {
      statements.push(
        `insert into lots (lot_number, material_code, unit, status) select '${tree}-${level}-' || i, 'BENCH', 'kg', 'released' from generate_series(0, ${fanout ** level - 1}) i`,
      );
    }
    // Every lot is produced by a batch, or received if none made it; the links are batches `<tree>-B-<level>-<i>`.
    // Levels go in the order that makes each lot's production come before the check for a receipt.
    const order = Array.from({ length: levels }, (_, l) => l);
    for (const level of tree === 'GB' ? order.reverse() : order) {
      const upper = `'${tree}-${level}-' || i`;
      const lower = `'${tree}-${level + 1}-' || (i * ${fanout} + k)`;
      const batch = `'${tree}-B-${level}-' || i`;
      // Backward tree: the upper lot is produced from the lower ones; forward tree: the upper lot is consumed into them.
      const [made, used] = tree === 'GB' ? [upper, lower] : [lower, upper];
      const madeSeries =
        tree === 'GB'
          ? `generate_series(0, ${fanout ** level - 1}) i`
          : `generate_series(0, ${fanout ** level - 1}) i cross join generate_series(0, ${fanout - 1}) k`;
      const usedSeries =
        tree === 'GB'
          ? `generate_series(0, ${fanout ** level - 1}) i cross join generate_series(0, ${fanout - 1}) k`
          : `generate_series(0, ${fanout ** level - 1}) i`;
      statements.push(
        `insert into lot_transactions (lot_id, kind, quantity, entered_quantity, entered_unit, batch_id, user_name)
         select l.id, 'production', 100, 100, 'kg', ${batch}, 'bench' from ${madeSeries} join lots l on l.lot_number = ${made}`,
        `insert into lot_transactions (lot_id, kind, quantity, entered_quantity, entered_unit, batch_id, user_name)
         select l.id, 'receipt', 1000, 1000, 'kg', null, 'bench' from ${usedSeries} join lots l on l.lot_number = ${used}
         where not exists (select 1 from lot_transactions t where t.lot_id = l.id)`,
        `insert into lot_transactions (lot_id, kind, quantity, entered_quantity, entered_unit, batch_id, user_name)
         select l.id, 'consumption', -10, -10, 'kg', ${batch}, 'bench' from ${usedSeries} join lots l on l.lot_number = ${used}`,
      );
    }
  }
  statements.push('analyze lots', 'analyze lot_transactions');
  return statements;
}

const PASSWORD = 'bench-password-1';

async function time(runs: number, fn: () => Promise<unknown>): Promise<{ p50: number; max: number }> {
  await fn(); // warm up
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return summary(ms);
}

function summary(ms: number[]): { p50: number; max: number } {
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), max: ms[ms.length - 1] };
}

async function main() {
  const fanout = Number(argValue('fanout', '10'));
  const levels = Number(argValue('levels', '4'));
  const runs = Number(argValue('runs', '7'));
  const keep = process.argv.includes('--keep');
  const base = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  const stores = argValue('stores', base ? 'postgres,pglite' : 'pglite').split(',');
  const perTree = Array.from({ length: levels + 1 }, (_, l) => fanout ** l).reduce((a, b) => a + b, 0);
  console.log(
    `bench:genealogy — two trees of ${perTree} lots (${levels} generations, ${fanout} lots per batch), ${runs} runs each; ${machine()}`,
  );
  for (const store of stores) {
    const target =
      store === 'postgres' ? await postgresBenchDatabase(base!, 'bench_genealogy') : await pgliteBenchDatabase();
    try {
      const t0 = performance.now();
      await target.asOwner(buildTrees(fanout, levels));
      const built = ((performance.now() - t0) / 1000).toFixed(1);
      const services = createServices(createPlatform(target.database, loadAppConfig({}), pino({ level: 'silent' })));
      const top = (await services.stores.lots.byNumber(services.db, 'GB-0-0'))!;
      const root = (await services.stores.lots.byNumber(services.db, 'GF-0-0'))!;
      const figures: [string, { p50: number; max: number }, number][] = [];
      const backwardWalk = await services.stores.lots.genealogyTree(services.db, top.id, 'backward');
      figures.push([
        'backward tree query (SQL)',
        await time(runs, () => services.stores.lots.genealogyTree(services.db, top.id, 'backward')),
        backwardWalk.length,
      ]);
      // Two connections at once: not on PGlite's one.
      if (connectionsFreeNow(services.db) >= 2)
        figures.push([
          'backward tree query in halves',
          await time(runs, () => services.stores.lots.genealogyTree(services.db, top.id, 'backward', true)),
          backwardWalk.length,
        ]);
      const backward = await services.lots.genealogy(top.lotNumber, 'backward');
      figures.push([
        'backward tree (API answer)',
        await time(runs, () => services.lots.genealogy(top.lotNumber, 'backward')),
        backward.lots,
      ]);
      const forward = await services.lots.genealogy(root.lotNumber, 'forward');
      figures.push([
        'forward tree (API answer)',
        await time(runs, () => services.lots.genealogy(root.lotNumber, 'forward')),
        forward.lots,
      ]);
      // Through HTTP: the session, routing, and the 2.5 MB of JSON serialized and sent, to its last byte.
      await services.db.transaction((trx) =>
        services.users.create(
          { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'benchmark' },
          { username: 'bench-qa', fullName: 'Bench QA', roles: ['qa'], password: PASSWORD },
        ),
      );
      const server = await startApiServer(createApp(services).app, '127.0.0.1', 0);
      try {
        const login = await fetch(`${server.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: 'bench-qa', password: PASSWORD }),
        });
        const { token } = (await login.json()) as { token: string };
        // By a client in a process of its own, as a browser or an ERP is.
        const ms = await timedGets(
          `${server.url}/api/lots/${top.lotNumber}/genealogy?direction=backward`,
          { Authorization: `Bearer ${token}` },
          runs,
        );
        figures.push(['backward tree over HTTP', summary(ms), backward.lots]);
      } finally {
        await server.stop();
      }
      const impact = await services.lots.recallImpact(root.lotNumber);
      figures.push([
        'recall impact (API answer)',
        await time(runs, () => services.lots.recallImpact(root.lotNumber)),
        impact.affectedLots.length + 1,
      ]);
      console.log(`${target.label}: built in ${built} s`);
      for (const [what, t, lots] of figures)
        console.log(
          `  ${what.padEnd(28)} ${String(lots).padStart(6)} lots  p50 ${t.p50.toFixed(0).padStart(5)} ms  max ${t.max.toFixed(0).padStart(5)} ms`,
        );
    } finally {
      if (keep && store === 'postgres') {
        console.log(`  kept: ${(await target.database.knex.raw('select current_database() as d')).rows[0].d}`);
        await target.database.close();
      } else await target.cleanup();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
