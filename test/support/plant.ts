/**
 * The equipment simulator on loopback with Ampoule's own PKI beside it, each trusting the other's certificate
 * explicitly (SignAndEncrypt, Basic256Sha256), and the connections the tests drive it through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { UnitEndpoint } from '../../domain/equipment';
import { Connections } from '../../equipment/driver/connections';
import { openPki, type ApplicationPki } from '../../equipment/pki';
import { startSimulator, type EquipmentSimulator, type SimulatorOptions } from '../../equipment/simulator/simulator';

export interface Plant {
  /** A folder of the test's own (more PKIs may live there). */
  dir: string;
  simulator: EquipmentSimulator;
  pki: ApplicationPki;
  connections: Connections;
  /** A unit of the simulator as Ampoule registers it. */
  endpoint(code: string): UnitEndpoint;
  close(): Promise<void>;
}

export async function startPlant(options: Omit<SimulatorOptions, 'pkiFolder'> = {}): Promise<Plant> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ampoule-equipment-'));
  const simulator = await startSimulator({ pkiFolder: path.join(dir, 'simulator'), ...options });
  const pki = await openPki(path.join(dir, 'ampoule'), 'ampoule');
  await simulator.pki.trust(pki.certificate());
  await pki.trust(simulator.pki.certificate());
  const connections = new Connections(pki);
  return {
    dir,
    simulator,
    pki,
    connections,
    endpoint: (code) => ({
      code,
      endpointUrl: simulator.endpointUrl,
      securityMode: 'SignAndEncrypt',
      securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256',
      binding: simulator.bindingFor(code),
    }),
    async close() {
      await connections.close();
      await simulator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
