/** `npm run simulator`: the simulator on its own, trusting a client given on the command line, writing its bindings. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCertificate } from 'node-opcua-crypto';
import type { UnitEndpoint } from '../../domain/equipment';
import { Connections } from '../../equipment/driver/connections';
import { PhaseDriver } from '../../equipment/driver/phase-driver';
import { openPki } from '../../equipment/pki';

test('it serves the demo plant to a client it was told to trust, and runs phases', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-simulator-cli-'));
  const client = await openPki(path.join(dir, 'client'), 'ampoule');
  const bindings = path.join(dir, 'bindings.json');
  const child = spawn(
    path.resolve(__dirname, '../../node_modules/.bin/tsx'),
    [
      path.resolve(__dirname, '../../equipment/simulator/main.ts'),
      '--port',
      '0',
      '--pki',
      path.join(dir, 'simulator'),
      '--trust',
      client.certificateFile,
      '--bindings',
      bindings,
      '--time-scale',
      '7200',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const connections = new Connections(client, undefined, 5_000);
  try {
    const end = Date.now() + 30_000;
    while (!/simulator certificate/.test(out)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`the simulator did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(existsSync(bindings)).toBe(true);
    const units = JSON.parse(readFileSync(bindings, 'utf8'));
    expect(Object.keys(units).sort()).toEqual(['BR-101', 'MX-201', 'MX-202', 'SC-301', 'SC-302']);
    const certificate = JSON.parse(out.split('\n').find((l) => l.includes('simulator certificate'))!).certificate;
    await client.trust(readCertificate(certificate));
    const unit: UnitEndpoint = {
      code: 'SC-301',
      endpointUrl: units['SC-301'].endpointUrl,
      securityMode: 'SignAndEncrypt',
      securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss',
      binding: units['SC-301'].binding,
    };
    const outcome = await new PhaseDriver(connections).run({
      unit,
      phase: 'WEIGH',
      commandId: 'batch-CLI-1/weigh-nacl',
      parameters: { target: 8 },
    });
    expect(outcome.reports.net).toBeCloseTo(8, 3);
  } finally {
    await connections.close();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
