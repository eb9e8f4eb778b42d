/**
 * How Ampoule's processes reach a Temporal cluster: temporal.yaml's address, namespace, TLS and API key, overridden
 * by Temporal's own environment configuration (`@temporalio/envconfig`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH / _DATA, TEMPORAL_TLS_CLIENT_KEY_PATH / _DATA,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH / _DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*, and the TOML profile of
 * TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE), as the Temporal CLI and SDKs read them — plus TEMPORAL_API_KEY_FILE, the
 * key read from a file (a mounted secret), never both.
 */
import { readFileSync } from 'node:fs';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { ConnectionOptions } from '@temporalio/client';
import { ConfigError, type TemporalConfig } from './temporal-config';

export interface TemporalConnection {
  address: string;
  namespace: string;
  /** TLS and API key (the address aside) for `Connection.connect` and the worker's `NativeConnection.connect`. */
  security: Pick<ConnectionOptions, 'tls' | 'metadata'> & { apiKey?: string };
  /** For logs: which settings came from where, no secrets. */
  describe: { tls: boolean; apiKey: boolean; clientCertificate: boolean };
}

export function temporalConnection(config: TemporalConfig, env: NodeJS.ProcessEnv = process.env): TemporalConnection {
  const vars: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  if (env.TEMPORAL_API_KEY_FILE !== undefined) {
    if (env.TEMPORAL_API_KEY !== undefined)
      throw new ConfigError('TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: set one');
    vars.TEMPORAL_API_KEY = readSecret('TEMPORAL_API_KEY_FILE', env.TEMPORAL_API_KEY_FILE);
    delete vars.TEMPORAL_API_KEY_FILE;
  }
  let fromEnv: ReturnType<typeof loadClientConnectConfig>;
  try {
    fromEnv = loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw new ConfigError(`Temporal's environment configuration: ${(err as Error).message}`);
  }
  const yamlTls = config.tls.enabled
    ? {
        serverNameOverride: config.tls.serverName,
        serverRootCACertificate: config.tls.caFile ? readFile('tls.caFile', config.tls.caFile) : undefined,
        clientCertPair:
          config.tls.certFile && config.tls.keyFile
            ? { crt: readFile('tls.certFile', config.tls.certFile), key: readFile('tls.keyFile', config.tls.keyFile) }
            : undefined,
      }
    : undefined;
  const fromEnvKey = fromEnv.connectionOptions.apiKey;
  const apiKey =
    (typeof fromEnvKey === 'string' ? fromEnvKey : undefined) ?? (config.apiKeyEnv ? env[config.apiKeyEnv] : undefined);
  const tls = fromEnv.connectionOptions.tls ?? yamlTls ?? (apiKey ? true : undefined);
  return {
    address: fromEnv.connectionOptions.address ?? config.address,
    namespace: fromEnv.namespace ?? config.namespace,
    security: { tls, apiKey, metadata: fromEnv.connectionOptions.metadata },
    describe: {
      tls: Boolean(tls),
      apiKey: Boolean(apiKey),
      clientCertificate: typeof tls === 'object' && tls !== null && Boolean(tls.clientCertPair),
    },
  };
}

function readFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function readSecret(variable: string, file: string): string {
  return readFile(variable, file).toString('utf8').trim();
}
