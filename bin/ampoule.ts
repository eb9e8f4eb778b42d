/**
 * `npm start`: Ampoule's zero-setup mode in one process. So far it brings up the embedded Temporal server
 * (persisted under $AMPOULE_DATA_DIR/temporal) as temporal.yaml describes it; the API, worker, equipment
 * simulator and demo data join it as their issues land.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { ConfigError, loadTemporalConfig } from '../config/temporal-config';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../embedded-temporal';

async function main(): Promise<void> {
  const log = pino(
    { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'ampoule' } },
    process.stdout.isTTY ? require('pino-pretty')({ sync: true, ignore: 'pid,hostname,service' }) : pino.destination(1),
  );
  let config;
  try {
    config = loadTemporalConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const dataDir = path.resolve(process.env.AMPOULE_DATA_DIR ?? 'data');
  mkdirSync(dataDir, { recursive: true });

  let temporal: EmbeddedTemporal | undefined;
  let address = config.address;
  if (!address) {
    const store = config.embedded.store;
    if (store === 'postgres' && !process.env.DATABASE_URL) {
      log.fatal('temporal.yaml asks for embedded.store: postgres but DATABASE_URL is not set');
      process.exit(2);
    }
    temporal = await startEmbeddedTemporal({
      ip: config.embedded.ip,
      port: config.embedded.port,
      namespaces: [config.namespace],
      searchAttributes: config.searchAttributes,
      dbFilename: store === 'pglite' ? path.join(dataDir, 'temporal') : undefined,
      dbUrl: store === 'postgres' ? process.env.DATABASE_URL : undefined,
      logger: log.child({ component: 'embedded-temporal' }),
      onFatal: (err) => {
        log.fatal({ err: err.message }, 'embedded Temporal store failed; stopping');
        process.exit(1);
      },
    });
    address = temporal.address;
    log.info({ address, store: temporal.storeDescription }, 'embedded Temporal server ready (zero-setup mode; not for production)');
  } else {
    log.info({ address, namespace: config.namespace }, 'using the Temporal cluster from temporal.yaml / TEMPORAL_ADDRESS');
  }

  const stop = async () => {
    log.info('stopping');
    await temporal?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`ampoule: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
