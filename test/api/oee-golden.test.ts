/**
 * The golden shift through the API: the hand-computed 8-hour shift of `test/domain/oee.test.ts` (a break, a
 * breakdown, cleaning, a long wait for an operator, 20 small stops, one rejected batch of three), written as Ampoule
 * records it (`test/support/golden-shift.ts`), asked of `GET /api/oee` by shift and by batch and of
 * `GET /api/oee/losses`: the same figures, to four decimals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDemoData, loadDemoEquipment } from '../../demo/load';
import { startSimulator, type EquipmentSimulator } from '../../equipment/simulator/simulator';
import { startTestApi, type TestApi } from '../support/api';
import { GOLDEN_CALENDAR_YAML, GOLDEN_DAY, writeGoldenShift } from '../support/golden-shift';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PASSWORD = 'golden-shift-password';
let api: TestApi;
let simulator: EquipmentSimulator;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ampoule-oee-golden-'));
  writeFileSync(path.join(dir, 'oee.yaml'), GOLDEN_CALENDAR_YAML);
  api = await startTestApi({ env: { AMPOULE_OEE_CONFIG: path.join(dir, 'oee.yaml') } });
  simulator = await startSimulator({ pkiFolder: path.join(dir, 'simulator'), timeScale: 7200, tickMs: 20 });
  await loadDemoData(api.services, PASSWORD);
  await loadDemoEquipment(api.services, simulator);
  await writeGoldenShift(api.services, 'MX-201');
  token = await api.login('operator1', PASSWORD);
}, 120_000);
afterAll(async () => {
  await api?.close();
  await simulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const from = `${GOLDEN_DAY}T06:00:00.000Z`;
const to = `${GOLDEN_DAY}T14:00:00.000Z`;
const get = async (p: string) => {
  const r = await api.request('GET', p, undefined, { token });
  expect(r.status).toBe(200);
  return r.body as Json;
};
const minutes = (time: Json) => Object.fromEntries(Object.entries(time).map(([k, v]) => [k, (v as number) / 60]));

test('the shift’s time elements, ratios and quantities are the hand-computed ones, to four decimals', async () => {
  const r = await get(`/oee?unit=MX-201&from=${from}&to=${to}&by=shift`);
  expect(r.periods.map((p: Json) => p.label)).toEqual([`early ${from}`]);
  const [shift] = r.periods as Json[];
  expect(shift).toEqual({ ...r.total, label: shift.label });
  expect(minutes(shift.time)).toEqual({
    calendar: 480,
    notScheduled: 0,
    POT: 480,
    PDOT: 30, // the break
    PBT: 450,
    APT: 315, // 100 + 75 + 90 + 50 running, the 20 small stops in it
    AUST: 40, // cleaning
    ADET: 75, // the 45-min breakdown, the 30-min wait
    ADOT: 20, // no batch
  });
  expect(shift.microStops).toEqual({ count: 20, duration: 20 * 60 });
  expect(shift.stops.map((s: Json) => [s.condition, s.duration / 60])).toEqual([
    ['held-fault', 45],
    ['waiting-operator', 30],
  ]);
  expect(shift.quantities).toEqual([{ unit: 'L', PQ: 2500, GQ: 2000, SQ: 500, pending: 0 }]);
  expect(shift.plannedRuntime / 60).toBe(250);
  expect(shift.PRU).toBe(6); // 250 min for 2,500 L: 6 s a litre
  expect(shift.availability.toFixed(4)).toBe('0.7000'); // 315 / 450
  expect(shift.effectiveness.toFixed(4)).toBe('0.7937'); // 250 / 315
  expect(shift.qualityRatio.toFixed(4)).toBe('0.8000'); // 2,000 / 2,500
  expect(shift.oee.toFixed(4)).toBe('0.4444');
});

test('by batch: each batch’s own time, and the rejected one’s quality ratio 0', async () => {
  const r = await get(`/oee?unit=MX-201&from=${from}&to=${to}&by=batch`);
  const rows = (r.periods as Json[]).map((p) => [p.label, p.time.calendar / 60, p.qualityRatio]);
  expect(rows).toEqual([
    ['GOLD-A', 220, 1],
    ['GOLD-B', 120, 1],
    ['GOLD-C', 80, 0],
  ]);
  const a = (r.periods as Json[])[0];
  expect(minutes(a.time)).toMatchObject({ APT: 175, ADET: 45 }); // its 10 small stops are in its production time
  expect(a.effectiveness.toFixed(4)).toBe('0.5714'); // 100 / 175
});

test('the losses: the breakdown and the wait unqualified, the Pareto by reason, largest first', async () => {
  const r = await get(`/oee/losses?unit=MX-201&from=${from}&to=${to}`);
  expect((r.stops as Json[]).map((s) => [s.condition, s.duration / 60, s.reason])).toEqual([
    ['held-fault', 45, null],
    ['waiting-operator', 30, null],
  ]);
  expect((r.lines as Json[]).map((l) => [l.reason, l.duration / 60, l.count])).toEqual([
    ['unqualified', 75, 2],
    ['production-rejects/batch-rejected', 50, 1], // the rejected batch's planned runtime
    ['setup-adjustments', 40, 1],
    ['small-stops', 20, 20],
  ]);
});

test('the batches page one at a time through their cursor, newest first, each once', async () => {
  const seen: string[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const page = await get(`/batches?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...(page.items as Json[]).map((b) => b.number as string));
    cursor = page.next as string | null;
  }
  expect(seen).toEqual(['GOLD-C', 'GOLD-B', 'GOLD-A']);
});
