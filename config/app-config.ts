/**
 * Ampoule's typed runtime configuration, read from the environment once at start-up. A bad value stops
 * the start with a message naming the variable, so a typo never silently falls back to a default.
 */
import { DEMO_FAULT_PLAN, parseFaultPlan, type PhaseFaultPlan } from '../equipment/simulator/fault-plan';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadOeeConfig, type OeeConfig } from './oee-config';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  /** `zero-setup` (everything embedded, demo users) or `production` (no demo users, no embedded server). */
  AMPOULE_MODE: z.enum(['zero-setup', 'production']).optional(),
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  AMPOULE_DATA_DIR: z.string().min(1).default('data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  /** A URL of the owning role for migrations, when DATABASE_URL is a login role with only the app's privileges. */
  AMPOULE_MIGRATION_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  AMPOULE_DEMO_PASSWORD: z.string().min(12, 'at least 12 characters').default('ampoule-demo'),
  AMPOULE_SESSION_IDLE_MINUTES: positiveInt(15),
  AMPOULE_SESSION_ABSOLUTE_HOURS: positiveInt(12),
  AMPOULE_LOCKOUT_FAILURES: positiveInt(5),
  /** The site's OEE calendar, mapping and thresholds (a YAML file: `config/oee-config.ts`). */
  AMPOULE_OEE_CONFIG: z.string().min(1).optional(),
  AMPOULE_LOCKOUT_MINUTES: positiveInt(30),
  AMPOULE_LOGIN_RATE_PER_MINUTE: positiveInt(30),
  AMPOULE_SIGN_RATE_PER_MINUTE: positiveInt(30),
  AMPOULE_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/, 'expected a size such as 256kb')
    .default('256kb'),
  /** Express's `trust proxy`: the number of proxies in front of Ampoule (0: use the socket address). */
  AMPOULE_TRUST_PROXY: z.coerce.number().int().min(0).default(0),
  /** On SIGTERM: how long requests in flight have to finish before their connections are closed. */
  AMPOULE_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(10),
  /** Allow equipment units whose OPC UA endpoint is configured with security mode None. */
  AMPOULE_OPCUA_ALLOW_SECURITY_NONE: z.enum(['true', 'false']).default('false'),
  /** The zero-setup mode's equipment simulator; 0 picks a free port. */
  AMPOULE_SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(4840),
  /** The zero-setup simulator's standing faults (`equipment/simulator/fault-plan.ts`), or `none`. */
  AMPOULE_SIMULATOR_FAULTS: z
    .string()
    .default(DEMO_FAULT_PLAN)
    .transform((text, ctx) => {
      try {
        return parseFaultPlan(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The Ed25519 key that signs the hash chains' anchors (created if missing); default under the data directory. */
  AMPOULE_ANCHOR_KEY_FILE: z.string().min(1).optional(),
  /** A module exporting createAnchorSigner(): a KMS or HSM signs the anchors instead of the key file. */
  AMPOULE_ANCHOR_SIGNER_MODULE: z.string().min(1).optional(),
  /** The anchor log (JSON lines), outside the database; default under the data directory. */
  AMPOULE_ANCHOR_LOG: z.string().min(1).optional(),
  AMPOULE_ANCHOR_INTERVAL_SECONDS: positiveInt(300),
  /** Public keys (PEM) of earlier anchor keys, whose anchors still verify. */
  AMPOULE_ANCHOR_TRUSTED_KEYS_DIR: z.string().min(1).optional(),
});

export interface AppConfig {
  mode: 'zero-setup' | 'production';
  http: { host: string; port: number; bodyLimit: string; trustProxy: number; shutdownGraceMs: number };
  dataDir: string;
  /** PostgreSQL; when absent, PGlite under the data directory. */
  databaseUrl?: string;
  migrationDatabaseUrl?: string;
  demoPassword: string;
  session: { idleSeconds: number; absoluteSeconds: number };
  lockout: { failures: number; lockSeconds: number };
  rateLimits: { loginPerMinute: number; signPerMinute: number };
  opcua: { allowSecurityNone: boolean; simulatorPort: number; simulatorFaults: PhaseFaultPlan[] };
  /** Where the hash chains are anchored outside the database (`api/audit/anchors.ts`). */
  anchors: { keyFile: string; signerModule?: string; logFile: string; intervalSeconds: number; trustedKeysDir: string };
  oee: OeeConfig;
  logLevel: string;
}

/** An environment variable holds a value Ampoule cannot use. */
export class AppConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppConfigError';
  }
}

/** Reads and validates the configuration from `env` (by default the process environment). */
/** Secrets that may come from a file instead (`<NAME>_FILE`: a mounted secret), never from both. */
const SECRET_VARIABLES = ['DATABASE_URL', 'AMPOULE_MIGRATION_DATABASE_URL', 'AMPOULE_DEMO_PASSWORD'] as const;

/** The environment with each `<NAME>_FILE` read into `<NAME>` (trimmed). */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined) continue;
    if (env[name] !== undefined) problems.push(`${name} and ${name}_FILE are both set: set one`);
    else
      try {
        out[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        problems.push(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
      }
  }
  if (problems.length > 0) throw new AppConfigError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  return out;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const result = schema.safeParse(withSecretFiles(env));
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new AppConfigError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  }
  const e = result.data;
  const mode = e.AMPOULE_MODE ?? (e.NODE_ENV === 'production' ? 'production' : 'zero-setup');
  const dataDir = path.resolve(e.AMPOULE_DATA_DIR);
  return {
    mode,
    http: {
      host: e.HOST,
      port: e.PORT,
      bodyLimit: e.AMPOULE_BODY_LIMIT,
      trustProxy: e.AMPOULE_TRUST_PROXY,
      shutdownGraceMs: e.AMPOULE_SHUTDOWN_GRACE_SECONDS * 1000,
    },
    dataDir,
    databaseUrl: e.DATABASE_URL,
    migrationDatabaseUrl: e.AMPOULE_MIGRATION_DATABASE_URL,
    demoPassword: e.AMPOULE_DEMO_PASSWORD,
    session: {
      idleSeconds: e.AMPOULE_SESSION_IDLE_MINUTES * 60,
      absoluteSeconds: e.AMPOULE_SESSION_ABSOLUTE_HOURS * 3600,
    },
    lockout: { failures: e.AMPOULE_LOCKOUT_FAILURES, lockSeconds: e.AMPOULE_LOCKOUT_MINUTES * 60 },
    rateLimits: { loginPerMinute: e.AMPOULE_LOGIN_RATE_PER_MINUTE, signPerMinute: e.AMPOULE_SIGN_RATE_PER_MINUTE },
    opcua: {
      allowSecurityNone: e.AMPOULE_OPCUA_ALLOW_SECURITY_NONE === 'true',
      simulatorPort: e.AMPOULE_SIMULATOR_PORT,
      simulatorFaults: e.AMPOULE_SIMULATOR_FAULTS,
    },
    anchors: {
      keyFile: path.resolve(e.AMPOULE_ANCHOR_KEY_FILE ?? path.join(dataDir, 'anchors', 'anchor-key.pem')),
      signerModule: e.AMPOULE_ANCHOR_SIGNER_MODULE,
      logFile: path.resolve(e.AMPOULE_ANCHOR_LOG ?? path.join(dataDir, 'anchors', 'anchors.jsonl')),
      intervalSeconds: e.AMPOULE_ANCHOR_INTERVAL_SECONDS,
      trustedKeysDir: path.resolve(e.AMPOULE_ANCHOR_TRUSTED_KEYS_DIR ?? path.join(dataDir, 'anchors', 'trusted-keys')),
    },
    oee: oeeConfigFrom(e.AMPOULE_OEE_CONFIG),
    logLevel: e.LOG_LEVEL,
  };
}

function oeeConfigFrom(file: string | undefined): OeeConfig {
  try {
    return loadOeeConfig(file);
  } catch (err) {
    throw new AppConfigError(`invalid environment:\n  - AMPOULE_OEE_CONFIG: ${(err as Error).message}`);
  }
}

/** A secret-free rendering of a database URL for logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
