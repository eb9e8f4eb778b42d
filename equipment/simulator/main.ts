/**
 * `npm run simulator`: the equipment simulator on its own.
 *
 *   npm run simulator -- [--host 127.0.0.1] [--port 4840] [--pki ./data/pki/simulator] [--time-scale 3600]
 *                        [--allow-security-none] [--trust client-certificate.pem]... [--bindings out.json]
 *                        [--faults "MX-201/MIX:hold-every=3; MX-201/FILL:slowdown=2"]
 *
 * Clients must be trusted: pass their certificate with --trust, or move it from <pki>/rejected to
 * <pki>/trusted/certs after a first refused attempt. --bindings writes each unit's binding, ready for
 * POST /api/equipment. --faults sets standing faults of the plant's phases (`fault-plan.ts`); none by default.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { readCertificate } from 'node-opcua-crypto';
import { routeOpcuaLogs } from '../opcua';
import { parseFaultPlan } from './fault-plan';
import { startSimulator } from './simulator';

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}` && process.argv[i + 1]) out.push(process.argv[i + 1]);
  });
  return out;
}

async function main(): Promise<void> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'equipment-simulator' } });
  routeOpcuaLogs(
    (m) => log.debug(m),
    (m) => log.error(m),
  );
  const port = Number(args('port')[0] ?? 4840);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: expected a port number, got ${args('port')[0]}`);
  const timeScale = Number(args('time-scale')[0] ?? 3600);
  if (!(timeScale > 0)) throw new Error('--time-scale: expected a positive number');
  const simulator = await startSimulator({
    // Loopback unless asked: a plant's network reaches it only when an operator says so.
    host: args('host')[0] ?? '127.0.0.1',
    port,
    pkiFolder: path.resolve(args('pki')[0] ?? path.join(process.env.AMPOULE_DATA_DIR ?? 'data', 'pki', 'simulator')),
    timeScale,
    allowSecurityNone: process.argv.includes('--allow-security-none'),
    faults: parseFaultPlan(args('faults')[0] ?? 'none'),
    log,
  });
  for (const file of args('trust')) {
    await simulator.pki.trust(readCertificate(file));
    log.info({ file }, 'trusted a client certificate');
  }
  const bindingsFile = args('bindings')[0];
  if (bindingsFile) {
    writeFileSync(
      bindingsFile,
      JSON.stringify(
        Object.fromEntries(
          simulator.units.map((u) => [
            u.code,
            {
              equipmentClass: u.equipmentClass,
              endpointUrl: simulator.endpointUrl,
              binding: simulator.bindingFor(u.code),
            },
          ]),
        ),
        null,
        2,
      ),
    );
    log.info({ file: bindingsFile }, 'wrote the units’ bindings');
  }
  log.info(
    { certificate: simulator.pki.certificateFile, timeScale },
    'simulator certificate (trust it in Ampoule’s PKI); process time runs this many times faster than real time',
  );
  const stop = async () => {
    await simulator.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`simulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
