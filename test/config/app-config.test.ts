/** The environment configuration: defaults, modes, and a clear error naming a bad variable. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppConfigError, loadAppConfig, maskUrl } from '../../config/app-config';

test('defaults: zero-setup mode, port 8080, 15-minute idle and 12-hour absolute sessions, lockout after 5', () => {
  const c = loadAppConfig({});
  expect(c.mode).toBe('zero-setup');
  expect(c.http.port).toBe(8080);
  expect(c.session).toEqual({ idleSeconds: 900, absoluteSeconds: 43_200 });
  expect(c.lockout).toEqual({ failures: 5, lockSeconds: 1800 });
  expect(c.demoPassword).toBe('ampoule-demo');
  expect(c.databaseUrl).toBeUndefined();
});

test('NODE_ENV=production or AMPOULE_MODE=production selects the production mode', () => {
  expect(loadAppConfig({ NODE_ENV: 'production' }).mode).toBe('production');
  expect(loadAppConfig({ AMPOULE_MODE: 'production' }).mode).toBe('production');
  expect(loadAppConfig({ NODE_ENV: 'production', AMPOULE_MODE: 'zero-setup' }).mode).toBe('zero-setup');
});

test('bad values name their variable', () => {
  expect(() => loadAppConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', AMPOULE_DEMO_PASSWORD: 'short' })).toThrow(
    AppConfigError,
  );
  try {
    loadAppConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', AMPOULE_SESSION_IDLE_MINUTES: '-1' });
  } catch (err) {
    expect((err as Error).message).toMatch(/PORT/);
    expect((err as Error).message).toMatch(/DATABASE_URL: expected a postgres:\/\/ URL/);
    expect((err as Error).message).toMatch(/AMPOULE_SESSION_IDLE_MINUTES/);
  }
});

test('the simulator’s standing faults: the demo’s by default, none, a plan, or a refusal in words', () => {
  expect(loadAppConfig({}).opcua.simulatorFaults).toEqual([
    { unit: 'MX-201', phase: 'MIX', faults: { holdEvery: 3 } },
    { unit: 'MX-201', phase: 'FILL', faults: { slowdown: 1.5 } },
  ]);
  expect(loadAppConfig({ AMPOULE_SIMULATOR_FAULTS: 'none' }).opcua.simulatorFaults).toEqual([]);
  expect(
    loadAppConfig({ AMPOULE_SIMULATOR_FAULTS: 'BR-101/HEAT:slowdown=2,hold-every=1' }).opcua.simulatorFaults,
  ).toEqual([{ unit: 'BR-101', phase: 'HEAT', faults: { slowdown: 2, holdEvery: 1 } }]);
  expect(() => loadAppConfig({ AMPOULE_SIMULATOR_FAULTS: 'MX-201/MIX:hold-every=0' })).toThrow(
    /AMPOULE_SIMULATOR_FAULTS: MX-201\/MIX: "hold-every=0" — expected hold-every=<whole number ≥ 1>/,
  );
  expect(() => loadAppConfig({ AMPOULE_SIMULATOR_FAULTS: 'MIX slow' })).toThrow(/expected <unit>\/<phase>:/);
});

test('secrets from files (<NAME>_FILE, a mounted secret), never beside the variable itself', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-secrets-'));
  const url = path.join(dir, 'database-url');
  writeFileSync(url, 'postgres://mes_login:s3cret@db/mes\n');
  expect(loadAppConfig({ DATABASE_URL_FILE: url }).databaseUrl).toBe('postgres://mes_login:s3cret@db/mes');
  expect(() => loadAppConfig({ DATABASE_URL_FILE: url, DATABASE_URL: 'postgres://x@y/z' })).toThrow(
    /DATABASE_URL and DATABASE_URL_FILE are both set/,
  );
  expect(() => loadAppConfig({ AMPOULE_MIGRATION_DATABASE_URL_FILE: path.join(dir, 'none') })).toThrow(
    /AMPOULE_MIGRATION_DATABASE_URL_FILE: cannot read/,
  );
});

test('database URLs are masked for logs', () => {
  expect(maskUrl('postgres://app:s3cret@db.example:5432/ampoule')).toBe('postgres://app:***@db.example:5432/ampoule');
});
