/** temporal.yaml: the shipped file is valid; typos and bad values fail with the key named. */
import { ConfigError, durationToMs, loadTemporalConfig, parseTemporalConfig } from '../../config/temporal-config';

test('the shipped temporal.yaml loads', () => {
  const config = loadTemporalConfig(undefined, {});
  expect(config.address).toBe('');
  expect(config.taskQueues.batches).toBe('ampoule-batches');
  expect(config.searchAttributes.AmpouleBatch).toBe('Keyword');
  expect(config.embedded.store).toBe('pglite');
  expect(durationToMs(config.worker.shutdownGraceTime)).toBe(10_000);
  expect(durationToMs(config.batches.equipmentHeartbeatTimeout)).toBe(30_000);
});

test('defaults fill what is left out', () => {
  const config = parseTemporalConfig('taskQueues: { batches: q }');
  expect(config.namespace).toBe('default');
  expect(config.worker.maxCachedWorkflows).toBe(1000);
  expect(config.embedded.port).toBe(7233);
  expect(config.batches.equipmentHeartbeatTimeout).toBe('30s');
});

test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE override the file', () => {
  const config = parseTemporalConfig('taskQueues: { batches: q }', 'x', {
    TEMPORAL_ADDRESS: 'temporal.example:7233',
    TEMPORAL_NAMESPACE: 'prod',
  });
  expect(config.address).toBe('temporal.example:7233');
  expect(config.namespace).toBe('prod');
});

test.each([
  ['taskQueues: { batches: q }\nadress: x:1', /unknown key\(s\) adress/],
  ['taskQueues: { batches: q }\nworker: { maxCachedWorkflow: 5 }', /worker: unknown key\(s\) maxCachedWorkflow/],
  ['taskQueues: { batches: q }\nworker: { maxCachedWorkflows: -1 }', /worker.maxCachedWorkflows/],
  ['taskQueues: { batches: q }\nworker: { shutdownGraceTime: soon }', /worker.shutdownGraceTime: expected a duration/],
  [
    'taskQueues: { batches: q }\nbatches: { equipmentHeartbeatTimeout: later }',
    /batches.equipmentHeartbeatTimeout: expected a duration/,
  ],
  ['taskQueues: { batches: q }\nembedded: { store: sqlite }', /embedded.store/],
  ['taskQueues: { batches: q }\nembedded: { port: 70000 }', /embedded.port/],
  ['taskQueues: { batches: q }\nsearchAttributes: { Batch: Colour }', /searchAttributes.Batch/],
  ['taskQueues: { batches: q }\naddress: "no port"', /address: expected host:port/],
  ['taskQueues: { batches: q }\ntls: { enabled: true, certFile: a.pem }', /certFile and keyFile/],
  ['namespace: x', /taskQueues/],
  ['taskQueues: [', /temporal.yaml/],
  ['taskQueues: { batches: q }\ntaskQueues: { batches: r }', /unique|duplicate/i],
])('refuses %j', (text, message) => {
  expect(() => parseTemporalConfig(text)).toThrow(ConfigError);
  expect(() => parseTemporalConfig(text)).toThrow(message);
});

test('a missing file is a clear error', () => {
  expect(() => loadTemporalConfig('/nonexistent/temporal.yaml')).toThrow(/cannot read/);
});

test('AMPOULE_TEMPORAL_PORT overrides the embedded server’s port, and must be a port', () => {
  expect(parseTemporalConfig('taskQueues: { batches: q }', 'x', { AMPOULE_TEMPORAL_PORT: '0' }).embedded.port).toBe(0);
  expect(() => parseTemporalConfig('taskQueues: { batches: q }', 'x', { AMPOULE_TEMPORAL_PORT: 'seventy' })).toThrow(
    /AMPOULE_TEMPORAL_PORT/,
  );
});
