/**
 * What every Ampoule process is built from, the API and a batch worker alike: the database handle, the stores
 * (all the SQL) and the audit sealer (each process that writes audit entries seals them; sealers on one
 * database take turns on the chain head). The API's services (`api/services.ts`) and the batch activities
 * are composed on top of it, so a worker never builds the API to reach its database.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { ActivityDeps } from '../activities';
import { AuditSealer } from '../api/audit/audit-sealer';
import type { AppConfig } from '../config/app-config';
import type { Database } from '../db/database';
import { createStores, type Stores } from '../db/stores';
import type { PhaseDriver } from '../equipment/driver/phase-driver';
import { Metrics } from './metrics';

/** The metrics every process has: its own, and how far the audit trail's sealing lags (read at each scrape). */
function processMetrics(db: Knex): Metrics {
  const metrics = new Metrics();
  metrics.gauge(
    'ampoule_audit_seal_lag_seconds',
    'Age of the oldest audit entry not yet sealed into the hash chain (0 when all are sealed)',
    [],
    async (g) => {
      const { rows } = await db.raw(
        `select coalesce(extract(epoch from clock_timestamp() - min(recorded_at)), 0)::float8 as lag from audit_entries where seq is null`,
      );
      g.set(Number(rows[0].lag));
    },
  );
  return metrics;
}

export interface Platform {
  config: AppConfig;
  database: Database;
  db: Knex;
  log: Logger;
  stores: Stores;
  auditSealer: AuditSealer;
  metrics: Metrics;
}

export function createPlatform(database: Database, config: AppConfig, log: Logger): Platform {
  const stores = createStores();
  return {
    config,
    database,
    db: database.knex,
    log,
    stores,
    auditSealer: new AuditSealer(database.knex, stores.audit, log),
    metrics: processMetrics(database.knex),
  };
}

/** The batch activities' dependencies: the platform's database and stores, and the driver that reaches the equipment. */
export function activityDeps(platform: Platform, driver: PhaseDriver): ActivityDeps {
  return { db: platform.db, stores: platform.stores, driver, log: platform.log, metrics: platform.metrics };
}
