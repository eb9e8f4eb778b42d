/**
 * The Temporal SDK's runtime in an Ampoule process, installed once before any worker: its logs and its core's
 * (forwarded) go through the process's pino logger as JSON like everything else, at warnings and above; its metrics,
 * in Prometheus's conventions (seconds, `_total`), are served by its core on a loopback port of its own that
 * `/metrics` appends (`Metrics.temporalMetricsUrl`); and it leaves the signals to Ampoule, which stops its parts in
 * order (`bin/shutdown.ts`): the SDK's own handler would stop the worker before the API has answered what is in
 * flight.
 */
import { createServer } from 'node:net';
import { Runtime, makeTelemetryFilterString, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger as PinoLogger } from 'pino';
import type { Metrics } from './metrics';

const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The SDK's Logger interface, onto pino. */
class PinoTemporalLogger {
  constructor(private readonly pino: PinoLogger) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.pino[PINO_LEVEL[level]]({ ...meta }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** A free loopback port (closed again at once: the SDK's core binds it). */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Installs the runtime; with `metrics`, the core's Prometheus exporter too, its address recorded there. */
export async function installTemporalRuntime(log: PinoLogger, metrics?: Metrics): Promise<void> {
  const bindAddress = metrics ? `127.0.0.1:${await freeLoopbackPort()}` : undefined;
  Runtime.install({
    shutdownSignals: [],
    logger: new PinoTemporalLogger(log.child({ component: 'temporal-sdk' }, { level: 'warn' })),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      ...(bindAddress
        ? {
            metrics: {
              prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          }
        : {}),
    },
  });
  if (metrics && bindAddress) metrics.temporalMetricsUrl = `http://${bindAddress}/metrics`;
}
