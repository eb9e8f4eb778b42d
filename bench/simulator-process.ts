/**
 * The equipment simulator as a process of its own, for the batch benchmark: on a plant, equipment is never
 * inside Ampoule's process, so its simulation should not share Ampoule's event loop either.
 *
 * Forked with IPC by `simulatorProcess()`; starts on the options it is sent and answers with what the unit
 * records need (endpoint, bindings, certificate), then trusts the certificates it is sent.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { UnitBinding } from '../domain/equipment';
import { startSimulator, type SimulatorOptions } from '../equipment/simulator/simulator';

type Start = { type: 'start'; options: Omit<SimulatorOptions, 'log'> };
type Trust = { type: 'trust'; certificate: string };
type Started = {
  type: 'started';
  endpointUrl: string;
  units: { code: string; name: string; equipmentClass: string; binding: UnitBinding }[];
  certificate: string;
};

export interface SimulatorProcess {
  readonly endpointUrl: string;
  readonly units: readonly { code: string; name: string; equipmentClass: string }[];
  readonly certificate: Buffer;
  bindingFor(code: string): UnitBinding;
  trust(certificate: Buffer): Promise<void>;
  stop(): Promise<void>;
}

/** Forks this file and starts a simulator in it. */
export async function simulatorProcess(options: Start['options']): Promise<SimulatorProcess> {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the simulator process exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const started = next<Started>('started');
  child.send({ type: 'start', options } satisfies Start);
  const s = await started;
  const bindings = new Map(s.units.map((u) => [u.code, u.binding]));
  return {
    endpointUrl: s.endpointUrl,
    units: s.units.map(({ code, name, equipmentClass }) => ({ code, name, equipmentClass })),
    certificate: Buffer.from(s.certificate, 'base64'),
    bindingFor: (code) => bindings.get(code)!,
    async trust(certificate) {
      const trusted = next('trusted');
      child.send({ type: 'trust', certificate: certificate.toString('base64') } satisfies Trust);
      await trusted;
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// In the child: serve the simulator until told to stop.
if (process.send && require.main === module) {
  let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined;
  process.on('message', async (m: Start | Trust) => {
    if (m.type === 'start') {
      simulator = await startSimulator(m.options);
      const sim = simulator;
      process.send!({
        type: 'started',
        endpointUrl: sim.endpointUrl,
        units: sim.units.map((u) => ({
          code: u.code,
          name: u.name,
          equipmentClass: u.equipmentClass,
          binding: sim.bindingFor(u.code),
        })),
        certificate: sim.pki.certificate().toString('base64'),
      } satisfies Started);
    } else if (m.type === 'trust') {
      await simulator!.pki.trust(Buffer.from(m.certificate, 'base64'));
      process.send!({ type: 'trusted' });
    }
  });
  process.on('SIGTERM', () => {
    void (simulator?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}
