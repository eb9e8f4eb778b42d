/**
 * `npm run bench:oee`: one OEE query by shift over a year of state history. Seeds `--units` units (20) with a year of
 * history each, straight into the table: every two hours a phase runs 90 minutes, the unit is left dirty and cleaned
 * 15 minutes later (4 rows per cycle: about 17,500 rows a unit, 350,000 in all), with a three-shift calendar and
 * breaks; then asks `--queries` times for one unit's OEE by shift over the year (`OeeService.report`, as the API does:
 * its sources read, closed, classified against about 1,100 shifts, each shift's figures). Not seeded: batches (their
 * records are read per batch: see the note the report prints). On PostgreSQL when TEST_DATABASE_URL is set, else PGlite.
 *
 *   TEST_DATABASE_URL=postgres://… npm run bench:oee -- [--units 20] [--queries 10]
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createServices } from '../api/services';
import { createPlatform } from '../composition/platform';
import { loadAppConfig } from '../config/app-config';
import type { OeeConfig } from '../config/oee-config';
import { DEFAULT_MAPPING } from '../domain/oee/mapping';
import { OeeService } from '../api/oee/oee-service';
import { loadDemoData } from '../demo/load';
import { argValue, machine, percentile, pgliteBenchDatabase, postgresBenchDatabase } from './support';

const YEAR_START = '2025-01-01T00:00:00Z';

async function main() {
  const units = Number(argValue('units', '20'));
  const queries = Number(argValue('queries', '10'));
  const base = process.env.TEST_DATABASE_URL;
  const bench = base ? await postgresBenchDatabase(base, 'bench_oee') : await pgliteBenchDatabase();
  try {
    const services = createServices(
      createPlatform(bench.database, loadAppConfig({ LOG_LEVEL: 'silent' }), pino({ level: 'silent' })),
    );
    await loadDemoData(services, 'bench-password');
    const db = bench.database.knex;
    const t0 = performance.now();
    await db.raw(
      `insert into equipment_units (code, name, class_code, endpoint_url, security_mode, security_policy, binding)
       select 'OEE-' || i, 'Bench unit ' || i, (select code from equipment_classes order by code limit 1),
              'opc.tcp://127.0.0.1:4840', 'None', 'None', '{}'::jsonb
         from generate_series(1, ?) i`,
      [units],
    );
    // Every two hours: MIX running → complete 90 min later; the unit dirty 5 min after, clean 15 min after that.
    await db.raw(
      `insert into equipment_state_history (unit_code, phase, state, source_timestamp)
       select 'OEE-' || u, x.phase, x.state, c + x.offset_
         from generate_series(1, ?) u,
              generate_series(?::timestamptz, ?::timestamptz + interval '1 year' - interval '2 hours', interval '2 hours') c,
              (values ('MIX', 'running', interval '0'), ('MIX', 'complete', interval '90 minutes'),
                      (null, 'dirty', interval '95 minutes'), (null, 'clean', interval '110 minutes')) x(phase, state, offset_)`,
      [units, YEAR_START, YEAR_START],
    );
    await db.raw('analyze equipment_state_history');
    const rows = Number((await db('equipment_state_history').count<{ count: string }[]>('* as count'))[0].count);
    console.log(
      `bench:oee — ${machine()}; ${bench.label}; ${units} units, ${rows} state rows seeded in ${Math.round(performance.now() - t0)} ms`,
    );
    const config: OeeConfig = {
      calendar: {
        timeZone: 'Europe/Zurich',
        shifts: [
          { name: 'early', start: '06:00', end: '14:00', breaks: [{ start: '10:00', end: '10:30' }] },
          { name: 'late', start: '14:00', end: '22:00', breaks: [{ start: '18:00', end: '18:30' }] },
          { name: 'night', start: '22:00', end: '06:00', days: [1, 2, 3, 4, 5] },
        ],
      },
      mapping: DEFAULT_MAPPING,
      microStopMs: 2 * 60_000,
      unitMicroStopMs: {},
    };
    const oee = new OeeService(db, services.stores, config);
    const from = new Date(YEAR_START);
    const to = new Date(Date.parse(YEAR_START) + 365 * 86_400_000);
    const times: number[] = [];
    let periods = 0;
    for (let i = 0; i < queries; i++) {
      const t = performance.now();
      const r = await oee.report({ unit: `OEE-${(i % units) + 1}`, from, to, by: 'shift', now: to });
      times.push(performance.now() - t);
      periods = r.periods.length;
      if (i === 0)
        console.log(
          `  a year of OEE-1 by shift: ${periods} shifts; availability ${r.total.availability?.toFixed(4)}, APT ${(r.total.time.APT / 3_600_000).toFixed(0)} h, AUST ${(r.total.time.AUST / 3_600_000).toFixed(0)} h`,
        );
    }
    times.sort((a, b) => a - b);
    console.log(
      `  one OEE query by shift over a year (${queries} queries): p50 ${Math.round(percentile(times, 0.5))} ms, p99 ${Math.round(percentile(times, 0.99))} ms, max ${Math.round(times.at(-1)!)} ms (target < 500 ms)`,
    );
  } finally {
    await bench.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
