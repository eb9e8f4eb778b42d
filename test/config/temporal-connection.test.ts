/**
 * How a process reaches a Temporal cluster: temporal.yaml, with Temporal's own environment configuration over it
 * (the variables the Temporal CLI and SDKs read) and TEMPORAL_API_KEY_FILE for a mounted secret.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadTemporalConfig, parseTemporalConfig } from '../../config/temporal-config';
import { temporalConnection } from '../../config/temporal-connection';

const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-temporal-conn-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
// No TOML profile of the machine's user: only what each test sets.
const base = { HOME: dir };
const shipped = () => loadTemporalConfig(undefined, {});

test('nothing set: temporal.yaml’s plain connection', () => {
  const c = temporalConnection(shipped(), base);
  expect(c).toMatchObject({ address: '', namespace: 'default', describe: { tls: false, apiKey: false } });
  expect(c.security.tls).toBeUndefined();
});

test('Temporal’s variables: address, namespace, API key (TLS on with it), client certificate and CA by path', () => {
  const cert = file('client.pem', 'CERT');
  const key = file('client.key', 'KEY');
  const ca = file('ca.pem', 'CA');
  const c = temporalConnection(shipped(), {
    ...base,
    TEMPORAL_ADDRESS: 'temporal.example:7233',
    TEMPORAL_NAMESPACE: 'plant-a',
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: 'temporal.example',
  });
  expect(c.address).toBe('temporal.example:7233');
  expect(c.namespace).toBe('plant-a');
  expect(c.security.tls).toEqual({
    serverNameOverride: 'temporal.example',
    serverRootCACertificate: Buffer.from('CA'),
    clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
  });
  expect(c.describe).toEqual({ tls: true, apiKey: false, clientCertificate: true });
  const keyed = temporalConnection(shipped(), { ...base, TEMPORAL_API_KEY: 'k-123' });
  expect(keyed.security).toMatchObject({ apiKey: 'k-123', tls: true });
});

test('TEMPORAL_API_KEY_FILE: the key from a file (trimmed), never beside TEMPORAL_API_KEY', () => {
  const secret = file('api-key', 'k-from-file\n');
  expect(temporalConnection(shipped(), { ...base, TEMPORAL_API_KEY_FILE: secret }).security.apiKey).toBe('k-from-file');
  expect(() =>
    temporalConnection(shipped(), { ...base, TEMPORAL_API_KEY_FILE: secret, TEMPORAL_API_KEY: 'x' }),
  ).toThrow(/TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set/);
  expect(() => temporalConnection(shipped(), { ...base, TEMPORAL_API_KEY_FILE: path.join(dir, 'none') })).toThrow(
    ConfigError,
  );
});

test('temporal.yaml’s TLS files and apiKeyEnv still count; an unreadable file is named', () => {
  const ca = file('yaml-ca.pem', 'YAML-CA');
  const config = parseTemporalConfig(
    `taskQueues: { batches: q }\ntls: { enabled: true, caFile: ${ca} }\napiKeyEnv: PLANT_TEMPORAL_KEY\n`,
  );
  const c = temporalConnection(config, { ...base, PLANT_TEMPORAL_KEY: 'y-1' });
  expect(c.security).toMatchObject({ apiKey: 'y-1', tls: { serverRootCACertificate: Buffer.from('YAML-CA') } });
  const missing = parseTemporalConfig(`taskQueues: { batches: q }\ntls: { enabled: true, caFile: /no/such/ca.pem }\n`);
  expect(() => temporalConnection(missing, base)).toThrow(/tls.caFile: cannot read \/no\/such\/ca.pem/);
  expect(() =>
    temporalConnection(shipped(), {
      ...base,
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/no/cert.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/no/key',
    }),
  ).toThrow(/Temporal's environment configuration: .*\/no\/cert.pem/);
});
