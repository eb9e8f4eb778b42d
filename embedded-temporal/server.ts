/**
 * `startEmbeddedTemporal()`: the engine behind a gRPC server that speaks Temporal's WorkflowService,
 * OperatorService and Health, so the unmodified Temporal SDKs (and CLI) work against it.
 */
import * as grpc from '@grpc/grpc-js';
import { Engine, type Logger, silentLogger } from './engine/engine';
import type { Limits } from './engine/limits';
import type { SearchAttributeType } from './engine/search-attributes';
import type { Clock } from './engine/timers';
import { serviceDefinition } from './proto';
import { healthService, implement, operatorService, testService, workflowService } from './rpc/services';
import { SqlStore } from './store/sql-store';
import { MemoryStore, type Store } from './store/store';

export interface EmbeddedTemporalOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind; defaults to 127.0.0.1. */
  ip?: string;
  /** Persist in this PGlite data directory (created if missing). */
  dbFilename?: string;
  /** Persist in this PostgreSQL database (`postgres://…`), in the schema `embedded_temporal`. */
  dbUrl?: string;
  /** Namespaces to create at start (`default` always exists). */
  namespaces?: string[];
  /** Custom search attributes to register on the start-up namespaces. */
  searchAttributes?: Record<string, SearchAttributeType>;
  logger?: Logger;
  clock?: Clock;
  limits?: Partial<Limits>;
  /** Serve Temporal's TestService and skip time when nothing is outstanding (as the test server does). */
  timeSkipping?: boolean;
  /** Called if the store fails; the server has stopped serving by then. */
  onFatal?: (err: Error) => void;
}

export interface EmbeddedTemporal {
  /** `host:port` for `Connection.connect({ address })` and `NativeConnection.connect({ address })`. */
  readonly address: string;
  readonly port: number;
  readonly engine: Engine;
  readonly storeDescription: string;
  stop(): Promise<void>;
}

/** 128 MiB, as the SDK clients accept; Temporal's own limits are enforced in the engine with clear errors. */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions = {}): Promise<EmbeddedTemporal> {
  const log = options.logger ?? silentLogger;
  if (options.dbFilename && options.dbUrl) throw new Error('Use either dbFilename or dbUrl, not both.');
  const store: Store = options.dbUrl
    ? await SqlStore.openPostgres(options.dbUrl)
    : options.dbFilename
      ? await SqlStore.openPGlite(options.dbFilename)
      : new MemoryStore();

  let server: grpc.Server | undefined;
  let stopping: Promise<void> | undefined;
  const engine = new Engine({
    store,
    clock: options.clock,
    logger: log,
    namespaces: options.namespaces,
    searchAttributes: options.searchAttributes,
    limits: options.limits,
    timeSkipping: options.timeSkipping,
    onFatal: (err) => {
      // Memory is ahead of the store now: stop serving rather than acknowledge anything else.
      server?.forceShutdown();
      options.onFatal?.(err);
    },
  });
  try {
    await engine.start();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }

  server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(
    serviceDefinition('temporal.api.workflowservice.v1.WorkflowService'),
    implement(engine, log, workflowService(engine)),
  );
  server.addService(
    serviceDefinition('temporal.api.operatorservice.v1.OperatorService'),
    implement(engine, log, operatorService(engine)),
  );
  server.addService(serviceDefinition('grpc.health.v1.Health'), implement(engine, log, healthService()));
  if (options.timeSkipping) {
    server.addService(
      serviceDefinition('temporal.api.testservice.v1.TestService'),
      implement(engine, log, testService(engine)),
    );
  }

  const ip = options.ip ?? '127.0.0.1';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  } catch (err) {
    await engine.stop();
    await store.close().catch(() => undefined);
    throw err;
  }
  const address = `${ip === '0.0.0.0' || ip === '::' ? '127.0.0.1' : host}:${port}`;
  log.info({ address, store: store.description }, 'embedded Temporal server listening');

  return {
    address,
    port,
    engine,
    storeDescription: store.description,
    stop() {
      stopping ??= (async () => {
        await engine.stop();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await store.close().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
