/**
 * The phase driver against the equipment simulator: a real OPC UA server on loopback, SignAndEncrypt
 * with Basic256Sha256, certificates in PKI folders that trust each other explicitly. The simulator's
 * counters prove what ran, and how often.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { UnitEndpoint } from '../../domain/equipment';
import { Connections } from '../../equipment/driver/connections';
import { PhaseDriver, type StateChange } from '../../equipment/driver/phase-driver';
import { EquipmentUnavailable, PhaseFailure } from '../../equipment/errors';
import { openPki } from '../../equipment/pki';
import type { EquipmentSimulator } from '../../equipment/simulator/simulator';
import { rejectedCertificates, summarize } from '../../equipment/trust';
import { AMPOULE_BIN } from '../support/server-process';
import { startPlant, type Plant } from '../support/plant';
import { until } from '../support/wait';

let plant: Plant;
let dir: string;
let simulator: EquipmentSimulator;
let connections: Connections;
let driver: PhaseDriver;
let reactor: UnitEndpoint;
let mixer: UnitEndpoint;
let counter = 0;
const id = (what: string) => `batch-T${Date.now().toString(36)}-${++counter}/${what}`;

beforeAll(async () => {
  plant = await startPlant({ timeScale: 7200, tickMs: 20 });
  ({ dir, simulator, connections } = plant);
  driver = new PhaseDriver(connections);
  reactor = plant.endpoint('BR-101');
  mixer = plant.endpoint('MX-201');
});

afterAll(async () => plant?.close());

test('a phase runs through the handshake: parameters, Start with the command id, Complete, reports, Reset', async () => {
  const heat = simulator.phase('BR-101', 'HEAT');
  const before = { ...heat.executed };
  const changes: StateChange[] = [];
  const heartbeats: string[] = [];
  const commandId = id('heat-medium');
  const outcome = await driver.run({
    unit: reactor,
    phase: 'HEAT',
    commandId,
    parameters: { temperature: 36.5 },
    onStateChange: (c) => void changes.push(c),
    heartbeat: (d) => heartbeats.push(d.state),
  });
  expect(outcome.reconciled).toBe(false);
  expect(outcome.reports.temperature).toBeCloseTo(36.5, 0);
  expect(heat.executed.start - before.start).toBe(1);
  expect(heat.executed.reset - before.reset).toBe(1);
  expect(heat.state).toBe('idle');
  expect(heat.commandId).toBe(commandId);
  expect(changes.map((c) => c.state)).toEqual(expect.arrayContaining(['running', 'complete']));
  expect(changes.every((c) => c.commandId === commandId && c.sourceTimestamp instanceof Date)).toBe(true);
  expect(heartbeats.length).toBeGreaterThan(0);
});

test('phases on one connection share one subscription, which alone follows each phase to its end', async () => {
  const before = simulator.subscriptionsCreated();
  const started = performance.now();
  // Reads at intervals only every minute: finishing in seconds means the subscription woke each watch.
  for (let round = 0; round < 2; round++) {
    await Promise.all([
      driver.run({
        unit: reactor,
        phase: 'HEAT',
        commandId: id('shared-heat'),
        parameters: { temperature: 30 },
        pollMs: 60_000,
      }),
      driver.run({
        unit: mixer,
        phase: 'MIX',
        commandId: id('shared-mix'),
        parameters: { speed: 100, time: 60 },
        pollMs: 60_000,
      }),
    ]);
  }
  expect(performance.now() - started).toBeLessThan(15_000);
  // Four phase runs, at most one new subscription (none if an earlier test's is still open).
  expect(simulator.subscriptionsCreated() - before).toBeLessThanOrEqual(1);
});

test('a subscription the controller dropped without a word is replaced: the next phase is still followed by one', async () => {
  await driver.run({
    unit: reactor,
    phase: 'HEAT',
    commandId: id('before-drop'),
    parameters: { temperature: 30 },
    pollMs: 60_000,
  });
  const before = simulator.subscriptionsCreated();
  simulator.dropSubscriptions();
  const started = performance.now();
  // Reads at intervals only every minute, as above: finishing in seconds means a live subscription woke the watch.
  await driver.run({
    unit: reactor,
    phase: 'HEAT',
    commandId: id('after-drop'),
    parameters: { temperature: 31 },
    pollMs: 60_000,
  });
  expect(performance.now() - started).toBeLessThan(15_000);
  expect(simulator.subscriptionsCreated() - before).toBe(1);
}, 90_000);

test('a duplicate Start with the latched command id answers Good and starts nothing', async () => {
  const mix = simulator.phase('MX-201', 'MIX');
  const commandId = id('mix');
  expect(mix.download({ speed: 100, time: 60 })).toBe('good');
  expect(mix.command('start', commandId)).toBe('good');
  const starts = mix.executed.start;
  expect(mix.command('start', commandId)).toBe('good');
  expect(mix.executed.start).toBe(starts);
  // The driver, asked to run the same command id, reconciles: it watches, it never starts.
  const outcome = await driver.run({ unit: mixer, phase: 'MIX', commandId, parameters: { speed: 100, time: 60 } });
  expect(outcome).toMatchObject({ reconciled: true, reports: { time: expect.any(Number) } });
  expect(mix.executed.start).toBe(starts);
});

test('a caller that dies mid-run and retries reconciles: the phase ran once', async () => {
  const cultivate = simulator.phase('BR-101', 'CULTIVATE');
  const before = cultivate.executed.start;
  const commandId = id('growth');
  const run = {
    unit: reactor,
    phase: 'CULTIVATE',
    commandId,
    parameters: { temperature: 36.5, ph: 7, do: 40, duration: 12 },
  };
  let beats = 0;
  await expect(
    driver.run({
      ...run,
      heartbeat: () => {
        if (++beats === 2) throw new Error('the worker died');
      },
    }),
  ).rejects.toThrow('the worker died');
  expect(cultivate.state).toMatch(/running|complete/);
  const outcome = await driver.run(run);
  expect(outcome.reconciled).toBe(true);
  expect(Object.keys(outcome.reports).sort()).toEqual(['ph-mean', 'temperature-mean']);
  expect(cultivate.executed.start - before).toBe(1);
});

test('a retry after the phase completed and was reset finds it idle with its command id, and returns its reports', async () => {
  const agitate = simulator.phase('BR-101', 'AGITATE');
  const commandId = id('agitate-done');
  const before = agitate.executed.start;
  expect(agitate.download({ agitation: 70 })).toBe('good');
  expect(agitate.command('start', commandId)).toBe('good');
  await until(() => agitate.state === 'complete');
  expect(agitate.command('reset', commandId)).toBe('good'); // the first attempt got this far, then died
  const outcome = await driver.run({ unit: reactor, phase: 'AGITATE', commandId, parameters: { agitation: 70 } });
  expect(outcome).toMatchObject({ reconciled: true, reports: { agitation: expect.any(Number) } });
  expect(agitate.executed.start - before).toBe(1);
});

test('a fault can make the controller report values off by a margin (the batch records them as deviations)', async () => {
  const heat = simulator.phase('MX-201', 'HEAT');
  heat.faults.reportOffset = 5;
  try {
    const outcome = await driver.run({
      unit: mixer,
      phase: 'HEAT',
      commandId: id('heat-off'),
      parameters: { temperature: 25 },
    });
    expect(outcome.reports.temperature).toBeGreaterThan(29);
  } finally {
    heat.faults.reportOffset = undefined;
  }
});

test('a fault holds the phase; Restart passes through and the phase completes', async () => {
  const heat = simulator.phase('BR-101', 'HEAT');
  heat.faults.holdOnce = true;
  const commandId = id('temperature-shift');
  const restarts = heat.executed.restart;
  const running = driver.run({ unit: reactor, phase: 'HEAT', commandId, parameters: { temperature: 33 } });
  await until(() => heat.state === 'held');
  await driver.command(reactor, 'HEAT', 'restart', commandId);
  const outcome = await running;
  expect(outcome.reports.temperature).toBeCloseTo(33, 0);
  expect(heat.executed.restart - restarts).toBe(1);
});

test('Stop ends the run as a business failure (PhaseStopped); a refused command is CommandRefused', async () => {
  const cultivate = simulator.phase('BR-101', 'CULTIVATE');
  const commandId = id('production');
  const running = driver.run({
    unit: reactor,
    phase: 'CULTIVATE',
    commandId,
    parameters: { temperature: 33, ph: 7, do: 40, duration: 1000 },
  });
  await until(() => cultivate.state === 'running');
  await driver.command(reactor, 'CULTIVATE', 'stop', commandId);
  await expect(running).rejects.toMatchObject({ name: 'PhaseFailure', type: 'PhaseStopped' });
  expect(cultivate.state).toBe('idle'); // reset after the reports were read

  await expect(driver.command(reactor, 'CULTIVATE', 'restart', commandId)).rejects.toMatchObject({
    type: 'CommandRefused',
  });
  const transfer = simulator.phase('BR-101', 'TRANSFER');
  transfer.faults.refuseCommands = true;
  try {
    await expect(
      driver.run({ unit: reactor, phase: 'TRANSFER', commandId: id('transfer'), parameters: { volume: 10 } }),
    ).rejects.toMatchObject({ type: 'CommandRefused' });
  } finally {
    transfer.faults.refuseCommands = false;
  }
});

test('parameters the controller refuses are ParametersRefused; a phase busy with another command is EquipmentNotIdle', async () => {
  await expect(
    driver.run({ unit: reactor, phase: 'HEAT', commandId: id('bad'), parameters: { pressure: 2 } }),
  ).rejects.toMatchObject({ type: 'ParametersRefused' });
  const agitate = simulator.phase('BR-101', 'AGITATE');
  agitate.download({ agitation: 90 });
  agitate.faults.slowdown = 1e9;
  agitate.command('start', 'someone-else/agitate');
  agitate.faults.slowdown = undefined;
  try {
    await expect(
      driver.run({ unit: reactor, phase: 'AGITATE', commandId: id('agitate'), parameters: { agitation: 90 } }),
    ).rejects.toBeInstanceOf(PhaseFailure);
  } finally {
    agitate.command('abort', 'someone-else/agitate');
    await until(() => agitate.state === 'aborted');
    agitate.command('reset', 'someone-else/agitate');
  }
});

test('a cancelled caller stops the phase', async () => {
  const mix = simulator.phase('MX-201', 'MIX');
  const commandId = id('mix-cancelled');
  const controller = new AbortController();
  const running = driver.run({
    unit: mixer,
    phase: 'MIX',
    commandId,
    parameters: { speed: 100, time: 100_000 },
    signal: controller.signal,
    onCancel: 'stop',
  });
  await until(() => mix.state === 'running');
  controller.abort(new Error('activity cancelled'));
  await expect(running).rejects.toThrow('activity cancelled');
  await until(() => mix.state === 'stopped');
  expect(mix.commandId).toBe(commandId);
  mix.command('reset', commandId);
});

test('a network outage is transient: the call fails as EquipmentUnavailable, the retry reconciles, nothing runs twice', async () => {
  const fill = simulator.phase('MX-201', 'FILL');
  fill.faults.slowdown = 20;
  const before = fill.executed.start;
  const commandId = id('fill-wfi');
  const run = { unit: mixer, phase: 'FILL', commandId, parameters: { volume: 800 } };
  const first = driver.run(run);
  await until(() => fill.state === 'running');
  const outage = simulator.outage(1500);
  const failure = await first.then(
    () => undefined,
    (err: unknown) => err,
  );
  await outage;
  expect(failure).toBeInstanceOf(EquipmentUnavailable);
  fill.faults.slowdown = undefined;
  let outcome;
  for (let attempt = 0; ; attempt++) {
    try {
      outcome = await driver.run(run);
      break;
    } catch (err) {
      if (!(err instanceof EquipmentUnavailable) || attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  expect(outcome.reconciled).toBe(true);
  expect(outcome.reports.volume).toBeCloseTo(800, 0);
  expect(fill.executed.start - before).toBe(1);
}, 60_000);

test('a binding of browse paths works like one of node ids', async () => {
  const ns = (reactor.binding.phases.HEAT.state as { nodeId: string }).nodeId.match(/^ns=(\d+)/)![1];
  const at = (name: string) => ({
    browsePath: `/Objects/${ns}:Plant/${ns}:BR-101/${ns}:Phases/${ns}:AGITATE/${ns}:${name}`,
  });
  const unit: UnitEndpoint = {
    ...reactor,
    binding: {
      phases: {
        AGITATE: {
          state: at('State'),
          commandId: at('CommandId'),
          parameters: at('Parameters'),
          reports: at('Reports'),
          download: at('Download'),
          command: at('Command'),
        },
      },
    },
  };
  const outcome = await driver.run({
    unit,
    phase: 'AGITATE',
    commandId: id('agitate-by-path'),
    parameters: { agitation: 60 },
  });
  expect(outcome.reports.agitation).toBeCloseTo(60, 0);
});

describe('security', () => {
  test('an application the simulator does not trust is refused', async () => {
    const stranger = await openPki(path.join(dir, 'stranger'), 'stranger');
    await stranger.trust(simulator.pki.certificate());
    const theirs = new Connections(stranger, undefined, 5_000);
    try {
      await expect(theirs.session(reactor)).rejects.toBeInstanceOf(EquipmentUnavailable);
    } finally {
      await theirs.close();
    }
  });

  test('a controller Ampoule does not trust is refused, said in the log; trusted by its rejected thumbprint (bin/ampoule trust-certificate), it is reached', async () => {
    const dataDir = path.join(dir, 'careful-data');
    const careful = await openPki(path.join(dataDir, 'pki', 'ampoule'), 'ampoule');
    await simulator.pki.trust(careful.certificate());
    const logged: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const theirs = new Connections(careful, pino({ level: 'warn' }, sink), 5_000);
    try {
      await expect(theirs.session(reactor)).rejects.toBeInstanceOf(EquipmentUnavailable);
      expect(logged).toContainEqual(
        expect.objectContaining({
          msg: 'cannot reach the equipment controller',
          units: ['BR-101'],
          hint: expect.stringMatching(/bin\/ampoule trust-certificate/),
        }),
      );
      // node-opcua filed the controller's certificate under rejected/: listed, then trusted by a thumbprint prefix.
      const simulatorThumbprint = summarize(simulator.pki.certificate()).thumbprint;
      const bin = (args: string[]) =>
        spawnSync(AMPOULE_BIN, args, {
          env: { PATH: process.env.PATH, HOME: process.env.HOME, AMPOULE_DATA_DIR: dataDir },
          encoding: 'utf8',
          timeout: 60_000,
        });
      const listed = bin(['trust-certificate']);
      expect(listed.stdout).toContain(simulatorThumbprint);
      const unknown = bin(['trust-certificate', 'deadbeefdeadbeef']);
      expect([unknown.status, unknown.stdout]).toEqual([
        2,
        expect.stringMatching(/no rejected certificate has the thumbprint deadbeefdeadbeef/),
      ]);
      const trusted = bin(['trust-certificate', simulatorThumbprint.slice(0, 12).toUpperCase()]);
      expect([trusted.status, trusted.stdout]).toEqual([0, expect.stringMatching(/certificate trusted/)]);
      expect(rejectedCertificates(careful).map((c) => c.thumbprint)).not.toContain(simulatorThumbprint);
      await until(
        async () =>
          (await theirs.session(reactor).then(
            () => true,
            () => false,
          )) || undefined,
        20_000,
      );
    } finally {
      await theirs.close();
    }
  });

  test('security mode None is refused unless the server offers it', async () => {
    await expect(
      connections.session({
        ...reactor,
        securityMode: 'None',
        securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#None',
      }),
    ).rejects.toBeInstanceOf(EquipmentUnavailable);
  });
});
