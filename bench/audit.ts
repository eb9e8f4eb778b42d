/**
 * `npm run bench:audit`: what the hash-chained audit trail costs. In one run and one database it times
 * N transactions that insert a record (plain), and N that insert a record and its audit entry (audited),
 * with 1 and with 8 concurrent writers, on PostgreSQL (when BENCH_DATABASE_URL or TEST_DATABASE_URL is
 * set) and on PGlite. The audited figure includes sealing the entries into the hash chain: the sealer runs
 * as in the product (every 250 ms) and the clock stops only once the last entry is sealed. Then it
 * verifies the chain.
 *
 *   npm run bench:audit -- [--writes 2000] [--stores postgres,pglite]
 */
import type { Knex } from 'knex';
import pino from 'pino';
import { AuditSealer } from '../api/audit/audit-sealer';
import { AuditStore } from '../db/stores/audit-store';
import { argValue, machine, percentile, pgliteBenchDatabase, postgresBenchDatabase, runBounded } from './support';

const audit = new AuditStore();
const sealers = new Map<Knex, AuditSealer>();
function sealer(db: Knex): AuditSealer {
  if (!sealers.has(db)) sealers.set(db, new AuditSealer(db, audit, pino({ level: 'error' })));
  return sealers.get(db)!;
}
let counter = 0;

function payload() {
  counter++;
  return { code: `MAT-${counter}`, name: `Material ${counter}`, quantity: counter % 1000, unit: 'kg' };
}

async function plainWrite(db: Knex): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('bench_records').insert({ data: JSON.stringify(payload()) });
  });
}

async function auditedWrite(db: Knex): Promise<void> {
  await db.transaction(async (trx) => {
    const p = payload();
    const [row] = await trx('bench_records')
      .insert({ data: JSON.stringify(p) })
      .returning('id');
    await audit.append(trx, {
      userId: null,
      username: 'bench',
      userName: 'Benchmark',
      action: 'create',
      entityType: 'bench-record',
      entityId: String(row.id),
      newValue: p,
      reason: 'benchmark',
      clientAddress: '127.0.0.1',
      requestId: null,
    });
  });
}

async function measure(db: Knex, writes: number, concurrency: number, write: (db: Knex) => Promise<void>) {
  await runBounded(50, concurrency, () => write(db)); // warm up
  await sealer(db).sealNow();
  const started = performance.now();
  const latencies = await runBounded(writes, concurrency, () => write(db));
  await sealer(db).sealNow(); // the chain has caught up
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: writes / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main() {
  const writes = Number(argValue('writes', '2000'));
  const base = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  const stores = argValue('stores', base ? 'postgres,pglite' : 'pglite').split(',');
  console.log(`bench:audit — ${writes} transactions per figure; ${machine()}`);
  for (const store of stores) {
    const target =
      store === 'postgres' ? await postgresBenchDatabase(base!, 'bench_audit', 10) : await pgliteBenchDatabase();
    try {
      await target.asOwner([
        `create table bench_records (id bigint generated always as identity primary key, data jsonb not null)`,
        `grant select, insert on bench_records to "${target.database.appRoleName}"`,
      ]);
      const db = target.database.knex;
      sealer(db).start();
      for (const concurrency of [1, 8]) {
        const plain = await measure(db, writes, concurrency, plainWrite);
        const audited = await measure(db, writes, concurrency, auditedWrite);
        const ratio = audited.perSecond / plain.perSecond;
        console.log(
          [
            `${target.label.padEnd(28)} ${String(concurrency).padStart(2)} writer(s)`,
            `plain ${plain.perSecond.toFixed(0).padStart(6)}/s (p50 ${plain.p50.toFixed(2)} ms, p99 ${plain.p99.toFixed(2)} ms)`,
            `audited ${audited.perSecond.toFixed(0).padStart(6)}/s (p50 ${audited.p50.toFixed(2)} ms, p99 ${audited.p99.toFixed(2)} ms)`,
            `audited/plain ${(ratio * 100).toFixed(0)}%`,
          ].join('  '),
        );
      }
      await sealer(db).stop();
      const chain = await audit.verify(db);
      console.log(
        `${target.label.padEnd(28)} chain verified: ${chain.ok ? 'intact' : `BROKEN at ${chain.firstBreak?.seq}`}, ${chain.entries} entries`,
      );
    } finally {
      await target.cleanup();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
