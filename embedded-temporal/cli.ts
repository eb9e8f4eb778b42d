/**
 * Command line of `bin/embedded-temporal`, accepting what the Temporal CLI's `server start-dev` accepts
 * (so `TestWorkflowEnvironment.createLocal` can spawn it), plus `--db-url` for PostgreSQL.
 */
import pino from 'pino';
import type { Logger } from './engine/engine';
import { type SearchAttributeType, parseSearchAttributeType } from './engine/search-attributes';
import { startEmbeddedTemporal, type EmbeddedTemporalOptions } from './server';

export interface CliOptions extends EmbeddedTemporalOptions {
  headless: boolean;
  uiPort?: number;
  logFormat: 'json' | 'pretty';
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'never';
  dynamicConfig: Record<string, string>;
  timeSkipping: boolean;
}

export class UsageError extends Error {}

const USAGE = `Usage:
  embedded-temporal server start-dev [flags]
  embedded-temporal <port> [--enable-time-skipping]     (the form of Temporal's test server)

Flags (as the Temporal CLI's "server start-dev"):
  -p, --port N                    gRPC port (default 7233)
      --ip ADDRESS                address to bind (default 127.0.0.1)
  -n, --namespace NAME            namespace to create; repeatable ("default" always exists)
  -f, --db-filename PATH          persist in this PGlite data directory (default: in memory)
      --db-url postgres://…       persist in PostgreSQL instead
      --search-attribute N=TYPE   register a custom search attribute; repeatable
                                  (Text, Keyword, Int, Double, Bool, Datetime, KeywordList)
      --log-format json|pretty    (default pretty)
      --log-level debug|info|warn|error|never   (default info)
      --dynamic-config-value K=V  accepted; unknown keys are ignored
      --headless, --ui-port N     accepted; there is no web UI
`;

const VALUE_FLAGS: Record<string, string> = {
  '-p': 'port',
  '--port': 'port',
  '--ip': 'ip',
  '-n': 'namespace',
  '--namespace': 'namespace',
  '-f': 'db-filename',
  '--db-filename': 'db-filename',
  '--db-url': 'db-url',
  '--search-attribute': 'search-attribute',
  '--log-format': 'log-format',
  '--log-level': 'log-level',
  '--dynamic-config-value': 'dynamic-config-value',
  '--ui-port': 'ui-port',
  '--ui-ip': 'ui-ip',
  '--ui-public-path': 'ui-public-path',
  '--http-port': 'http-port',
  '--metrics-port': 'metrics-port',
  '--sqlite-pragma': 'sqlite-pragma',
  '--config': 'config',
};
const BOOLEAN_FLAGS: Record<string, string> = {
  '--headless': 'headless',
  '--enable-time-skipping': 'enable-time-skipping',
  '--ui-asset-path': 'ui-asset-path',
};

function parsePort(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be a port number (0-65535), got "${raw}"`);
  return n;
}

export function parseArgs(argv: string[]): CliOptions {
  const opts: CliOptions = {
    port: 7233,
    headless: false,
    logFormat: 'pretty',
    logLevel: 'info',
    dynamicConfig: {},
    namespaces: [],
    searchAttributes: {},
    timeSkipping: false,
  };
  let args = [...argv];
  if (args[0] === 'server' && args[1] === 'start-dev') {
    args = args.slice(2);
  } else if (args[0] && /^\d+$/.test(args[0])) {
    // The test-server form, `<port> [--enable-time-skipping]`: like Temporal's test server, time skipping is on.
    opts.port = parsePort(args[0], 'port');
    opts.timeSkipping = true;
    opts.logLevel = 'warn';
    args = args.slice(1);
  } else if (args[0] === '--help' || args[0] === '-h') {
    throw new UsageError(USAGE);
  } else {
    throw new UsageError(`expected "server start-dev" or a port number\n\n${USAGE}`);
  }

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') throw new UsageError(USAGE);
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS[flag]) {
      if (BOOLEAN_FLAGS[flag] === 'headless') opts.headless = true;
      if (BOOLEAN_FLAGS[flag] === 'enable-time-skipping') opts.timeSkipping = true;
      continue;
    }
    const name = VALUE_FLAGS[flag];
    if (!name) throw new UsageError(`unknown flag ${flag}\n\n${USAGE}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`flag ${flag} needs a value`);
    switch (name) {
      case 'port':
        opts.port = parsePort(value, flag);
        break;
      case 'ui-port':
        opts.uiPort = parsePort(value, flag);
        break;
      case 'ip':
        opts.ip = value === 'localhost' ? '127.0.0.1' : value;
        break;
      case 'namespace':
        opts.namespaces!.push(value);
        break;
      case 'db-filename':
        opts.dbFilename = value;
        break;
      case 'db-url':
        if (!/^postgres(ql)?:\/\//.test(value))
          throw new UsageError(`--db-url must be a postgres:// URL, got "${value}"`);
        opts.dbUrl = value;
        break;
      case 'search-attribute': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(value);
        const type = m && parseSearchAttributeType(m[2]);
        if (!m || !type)
          throw new UsageError(
            `--search-attribute must be Name=Type (Text, Keyword, Int, Double, Bool, Datetime, KeywordList), got "${value}"`,
          );
        (opts.searchAttributes as Record<string, SearchAttributeType>)[m[1]] = type;
        break;
      }
      case 'log-format':
        if (value !== 'json' && value !== 'pretty' && value !== 'text')
          throw new UsageError(`--log-format must be json or pretty, got "${value}"`);
        opts.logFormat = value === 'json' ? 'json' : 'pretty';
        break;
      case 'log-level':
        if (!['debug', 'info', 'warn', 'error', 'never'].includes(value)) {
          throw new UsageError(`--log-level must be debug, info, warn, error or never, got "${value}"`);
        }
        opts.logLevel = value as CliOptions['logLevel'];
        break;
      case 'dynamic-config-value': {
        const m = /^([^=]+)=(.*)$/.exec(value);
        if (!m) throw new UsageError(`--dynamic-config-value must be KEY=VALUE, got "${value}"`);
        opts.dynamicConfig[m[1]] = m[2];
        break;
      }
      default:
        break; // accepted for compatibility; nothing to configure here
    }
  }
  if (opts.dbFilename && opts.dbUrl) throw new UsageError('use either --db-filename or --db-url, not both');
  return opts;
}

export function createLogger(format: CliOptions['logFormat'], level: CliOptions['logLevel']): Logger {
  const pinoLevel = level === 'never' ? 'silent' : level;
  if (format === 'json') return pino({ level: pinoLevel, base: { service: 'embedded-temporal' } }, pino.destination(2));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
  return pino({ level: pinoLevel }, pretty({ destination: 2, sync: true, ignore: 'pid,hostname' }));
}

export async function main(argv: string[]): Promise<void> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`embedded-temporal: ${err.message}\n`);
      process.exit(err.message === USAGE ? 0 : 2);
    }
    throw err;
  }
  const logger = createLogger(opts.logFormat, opts.logLevel);
  const server = await startEmbeddedTemporal({
    ...opts,
    logger,
    onFatal: (err) => {
      process.stderr.write(`embedded-temporal: store failure, stopping: ${err.message}\n`);
      process.exit(1);
    },
  });
  process.stdout.write(`Temporal Server (embedded): ${server.address}  store: ${server.storeDescription}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
