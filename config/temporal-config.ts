/**
 * The typed `temporal.yaml`: parsed and validated once at start-up. Unknown keys and bad values fail with
 * a message naming the key, so a typo never silently falls back to a default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const SEARCH_ATTRIBUTE_TYPES = ['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;

/** A duration such as `500ms`, `10s`, `5m`, `1h`. */
const durationString = z.string().regex(/^\d+(ms|s|m|h)$/, 'expected a duration such as 500ms, 10s, 5m or 1h');

const schema = z.strictObject({
  address: z
    .string()
    .regex(/^$|^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, or empty for the embedded server')
    .default(''),
  namespace: z.string().min(1).default('default'),
  tls: z
    .strictObject({
      enabled: z.boolean().default(false),
      serverName: z.string().min(1).optional(),
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
    })
    .refine((t) => !t.certFile === !t.keyFile, 'certFile and keyFile go together')
    .default({ enabled: false }),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  taskQueues: z.strictObject({ batches: z.string().min(1) }),
  searchAttributes: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a search attribute name'),
      z.enum(SEARCH_ATTRIBUTE_TYPES),
    )
    .default({}),
  worker: z
    .strictObject({
      maxConcurrentWorkflowTaskExecutions: z.int().min(2).max(10_000).default(40),
      maxConcurrentActivityTaskExecutions: z.int().min(1).max(10_000).default(100),
      maxCachedWorkflows: z.int().min(0).max(1_000_000).default(1000),
      shutdownGraceTime: durationString.default('10s'),
    })
    .default({
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 100,
      maxCachedWorkflows: 1000,
      shutdownGraceTime: '10s',
    }),
  batches: z
    .strictObject({
      /** How long an equipment phase's activity may go without a heartbeat before another worker takes the phase over. */
      equipmentHeartbeatTimeout: durationString.default('30s'),
    })
    .default({ equipmentHeartbeatTimeout: '30s' }),
  embedded: z
    .strictObject({
      ip: z.string().min(1).default('127.0.0.1'),
      port: z.int().min(0).max(65535).default(7233),
      store: z.enum(['pglite', 'postgres', 'memory']).default('pglite'),
    })
    .default({ ip: '127.0.0.1', port: 7233, store: 'pglite' }),
});

export type TemporalConfig = z.infer<typeof schema>;

/** The configuration file is missing, is not YAML, or holds a bad key or value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses and validates temporal.yaml text; `env` supplies the TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and
 * AMPOULE_TEMPORAL_PORT (the embedded server's port) overrides.
 */
export function parseTemporalConfig(
  text: string,
  source = 'temporal.yaml',
  env: NodeJS.ProcessEnv = {},
): TemporalConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(`${source}: ${doc.errors[0].message}`);
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      if (issue.code === 'unrecognized_keys')
        return `${where === '(top level)' ? '' : `${where}: `}unknown key(s) ${issue.keys.join(', ')}`;
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`${source} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const config = result.data;
  if (env.TEMPORAL_ADDRESS !== undefined) config.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) config.namespace = env.TEMPORAL_NAMESPACE;
  if (env.AMPOULE_TEMPORAL_PORT !== undefined) {
    const port = Number(env.AMPOULE_TEMPORAL_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`AMPOULE_TEMPORAL_PORT: expected a port number, got ${env.AMPOULE_TEMPORAL_PORT}`);
    config.embedded.port = port;
  }
  return config;
}

/** Reads temporal.yaml (by default from the project root) and validates it. */
export function loadTemporalConfig(
  file = path.resolve(__dirname, '..', 'temporal.yaml'),
  env: NodeJS.ProcessEnv = process.env,
): TemporalConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseTemporalConfig(text, path.basename(file), env);
}

/** Milliseconds of a duration string such as `10s`. */
export function durationToMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new ConfigError(`invalid duration ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}
