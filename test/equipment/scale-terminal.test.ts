/**
 * A scale's weighing terminal against the simulator's, over OPC UA with SignAndEncrypt: the reading's weights,
 * unit (from the EngineeringUnits property), stability, StatusCode and source timestamp; tare and zero, refused in
 * motion; the target a dispensing shows; a failed load cell read as Bad and refused by the dispensing's rules.
 */
import type { UnitEndpoint } from '../../domain/equipment';
import { readingRefusal } from '../../domain/weighing';
import { ScaleTerminal, TerminalRefusal, uneceCode } from '../../equipment/driver/scale-terminal';
import type { EquipmentSimulator } from '../../equipment/simulator/simulator';
import { startPlant, type Plant } from '../support/plant';
import { until } from '../support/wait';

let plant: Plant;
let simulator: EquipmentSimulator;
let terminal: ScaleTerminal;
let floor: UnitEndpoint;
let bench: UnitEndpoint;

beforeAll(async () => {
  plant = await startPlant({ tickMs: 20 });
  simulator = plant.simulator;
  terminal = new ScaleTerminal(plant.connections);
  floor = plant.endpoint('SC-301');
  bench = plant.endpoint('SC-302');
});

afterAll(async () => plant?.close());

const stableReading = (unit: UnitEndpoint) =>
  until(async () => {
    const r = await terminal.read(unit);
    return r.stable ? r : undefined;
  }, 5_000);

test('UNECE codes unpack from an EUInformation unitId', () => {
  expect(uneceCode(('K'.charCodeAt(0) << 16) | ('G'.charCodeAt(0) << 8) | 'M'.charCodeAt(0))).toBe('KGM');
});

test('a reading: gross, tare and net in kg from the EngineeringUnits, stable once settled, Good, timestamped now', async () => {
  const sim = simulator.scale('SC-301');
  sim.autoPour = false;
  sim.place(12.34);
  const moving = await terminal.read(floor);
  expect(moving.stable).toBe(false);
  expect(readingRefusal(moving, Date.now())).toMatch(/not stable/);
  const r = await stableReading(floor);
  expect(r).toMatchObject({
    scale: 'SC-301',
    unit: 'kg',
    gross: 12.34,
    tare: 0,
    net: 12.34,
    status: 'ok',
    quality: 'Good',
  });
  expect(Math.abs(Date.parse(r.sourceTimestamp) - Date.now())).toBeLessThan(2_000);
  expect(readingRefusal(r, Date.now())).toBeUndefined();
  // A reading held past its time is not the weight now.
  expect(readingRefusal(r, Date.parse(r.sourceTimestamp) + 60_000)).toMatch(/not now/);
});

test('tare: refused while the weight moves, then the gross becomes the tare and the net counts from it', async () => {
  const sim = simulator.scale('SC-301');
  sim.place(5); // a second container, put down just now
  await expect(terminal.tare(floor)).rejects.toThrow(TerminalRefusal);
  await stableReading(floor);
  await terminal.tare(floor);
  sim.place(2.5);
  const r = await stableReading(floor);
  expect(r).toMatchObject({ gross: 19.84, tare: 17.34, net: 2.5 });
  sim.place(-19.84);
  await stableReading(floor);
  await terminal.zero(floor);
  expect(await stableReading(floor)).toMatchObject({ gross: 0, tare: 0, net: 0 });
});

test('a target shown on the terminal: the simulated operator puts a container on, and pours to it once tared', async () => {
  const sim = simulator.scale('SC-302');
  sim.autoPour = true;
  await terminal.showTarget(bench, 0.2);
  expect(sim.target).toBe(0.2);
  expect(await stableReading(bench)).toMatchObject({ gross: 0.3, net: 0.3 }); // the container: 1/20 of 6 kg
  await terminal.tare(bench);
  const r = await until(async () => {
    const x = await terminal.read(bench);
    return x.stable && x.net > 0 ? x : undefined;
  }, 5_000);
  expect(r.net).toBeCloseTo(0.2, 4);
  expect(r.tare).toBeCloseTo(0.3, 4);
  // The dispensing over, the platform is cleared.
  await terminal.showTarget(bench, 0);
  expect(await stableReading(bench)).toMatchObject({ gross: 0, tare: 0, net: 0 });
  await expect(terminal.showTarget(bench, 7)).rejects.toThrow(/BadOutOfRange/);
});

test('a vibrating platform never settles; a failed load cell is Bad; an overload is Uncertain — each refused', async () => {
  const sim = simulator.scale('SC-301');
  sim.vibrating = true;
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 5; i++) expect((await terminal.read(floor)).stable).toBe(false);
  sim.vibrating = false;
  sim.failed = true;
  const bad = await terminal.read(floor);
  expect(bad.quality).toBe('BadSensorFailure');
  expect(readingRefusal(bad, Date.now())).toMatch(/BadSensorFailure.*refused/);
  sim.failed = false;
  sim.autoPour = false;
  sim.place(400);
  const over = await until(async () => {
    const x = await terminal.read(floor);
    return x.status === 'overload' && x.stable ? x : undefined;
  }, 5_000);
  expect(over.quality).toMatch(/^Uncertain/);
  expect(readingRefusal(over, Date.now())).toMatch(/Uncertain/);
  await expect(terminal.tare(floor)).rejects.toThrow(/out of range/);
  sim.place(-400);
});
