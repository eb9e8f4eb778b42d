/**
 * The golden shift of `test/domain/oee.test.ts`, written as Ampoule records it — the unit's state history (its
 * phase's states as a controller reports them, its cleanliness) and three batches' records (steps, a failed step and
 * holds, the output lot), through the stores the product writes with — so that the API's OEE of that shift can be
 * compared with the hand-computed figures. Nothing runs: the history is of a day in the past, written directly.
 *
 * The early shift of 2 March 2026 (06:00–14:00 UTC, a break 10:00–10:30) on one mixer:
 *   06:00–06:20 no batch (idle)
 *   A  06:20–10:00  1,000 L, plans 100 min, released. Runs 06:20–08:00 with 10 one-minute waits for an operator
 *                   (from 06:30, every 8 min); a step fails at 08:00 and the batch is held until 08:45 (the
 *                   controller still reports running until 08:05); runs 08:45–10:00.
 *   B  10:00–12:00  1,000 L, plans 100 min, released. Waits through the break; runs 10:30–12:00, held by a command
 *                   10 times for a minute (from 10:40, every 8 min).
 *      12:00–12:40  the mixer dirty (cleaning)
 *   C  12:40–14:00    500 L, plans 50 min, rejected. Waits 30 min for an operator, runs 13:10–14:00; its output
 *                   lot is recorded at 13:50.
 */
import { randomUUID } from 'node:crypto';
import type { Services } from '../../api/services';
import type { NewEbrEntry } from '../../db/stores/batch-store';
import type { AssignedUnit, BatchStatus } from '../../domain/batch/types';
import { canonicalHash } from '../../domain/canonical-hash';

export const GOLDEN_DAY = '2026-03-02';
export const GOLDEN_CALENDAR_YAML = [
  'timeZone: UTC',
  'shifts:',
  '  - name: early',
  '    start: "06:00"',
  '    end: "14:00"',
  '    breaks: [{ start: "10:00", end: "10:30" }]',
  '',
].join('\n');

const MIN = 60_000;
const at = (hhmm: string) => Date.parse(`${GOLDEN_DAY}T${hhmm}:00Z`);

interface GoldenBatch {
  number: string;
  status: BatchStatus;
  litres: number;
  plannedMinutes: number;
  start: number;
  end: number;
  /** Record entries besides the first step's start and every step's completion at the end. */
  events: { at: number; kind: string; data?: unknown }[];
  outputAt: number;
}

/** Writes the golden shift on `unitCode` (a mixer); the batches' numbers are prefixed with `prefix`. */
export async function writeGoldenShift(s: Services, unitCode: string, prefix = 'GOLD'): Promise<string[]> {
  const phase = 'MIX';
  const states: [number, string, string | null][] = []; // [time, state, phase]
  const running = (from: number, to: number, stops: number, stopState: string, end = 'complete') => {
    states.push([from, 'running', phase]);
    for (let i = 0; i < stops; i++) {
      const stop = from + (10 + i * 8) * MIN;
      states.push([stop, stopState, phase], [stop + MIN, 'running', phase]);
    }
    states.push([to, end, phase]);
  };
  running(at('06:20'), at('08:05'), 10, 'complete', 'held'); // the controller reports running into the fault
  running(at('08:45'), at('10:00'), 0, 'complete');
  running(at('10:30'), at('12:00'), 10, 'held');
  states.push([at('12:00'), 'dirty', null], [at('12:40'), 'clean', null]);
  running(at('13:10'), at('14:00'), 0, 'complete');

  const holds = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => from + (10 + i * 8) * MIN).flatMap((t) => [
      { at: t, kind: 'batch-command', data: { command: 'hold', status: 'held' } },
      { at: t + MIN, kind: 'batch-command', data: { command: 'restart', status: 'running' } },
    ]);
  const batches: GoldenBatch[] = [
    {
      number: `${prefix}-A`,
      status: 'released',
      litres: 1000,
      plannedMinutes: 100,
      start: at('06:20'),
      end: at('10:00'),
      events: [
        { at: at('08:00'), kind: 'step-failed', data: { error: 'agitator overload' } },
        { at: at('08:00'), kind: 'batch-command', data: { command: 'hold', status: 'held' } },
        { at: at('08:45'), kind: 'batch-command', data: { command: 'restart', status: 'running' } },
      ],
      outputAt: at('10:00'),
    },
    {
      number: `${prefix}-B`,
      status: 'released',
      litres: 1000,
      plannedMinutes: 100,
      start: at('10:00'),
      end: at('12:00'),
      events: holds(at('10:30'), 10),
      outputAt: at('12:00'),
    },
    {
      number: `${prefix}-C`,
      status: 'rejected',
      litres: 500,
      plannedMinutes: 50,
      start: at('12:40'),
      end: at('14:00'),
      events: [],
      outputAt: at('13:50'),
    },
  ];

  for (const [time, state, ph] of states)
    await s.stores.equipment.addStateChange(s.db, {
      unitCode,
      phase: ph,
      state,
      commandId: null,
      sourceTimestamp: new Date(time),
    });
  for (const g of batches) await writeBatch(s, unitCode, g);
  return batches.map((b) => b.number);
}

async function writeBatch(s: Services, unitCode: string, g: GoldenBatch): Promise<void> {
  const recipe = (await s.recipes.list()).find((r) => r.code === 'PBS-1X')!;
  const { versionId, plan } = await s.recipes.launchPlan('PBS-1X', recipe.effectiveVersion!, {
    value: g.litres,
    unit: 'L',
  });
  const procedures = plan.stages.flatMap((st) => st.unitProcedures);
  for (const up of procedures) up.plannedDuration = { value: g.plannedMinutes / procedures.length, unit: 'min' };
  const units = Object.fromEntries(procedures.map((up) => [up.id, { code: unitCode } as AssignedUnit]));
  const workflowId = `batch-${g.number}`;
  await s.db.transaction(async (trx) => {
    const batch = await s.stores.batches.create(trx, {
      number: g.number,
      workflowId,
      recipeId: recipe.id,
      recipeVersionId: versionId,
      recipeCode: recipe.code,
      recipeVersion: recipe.effectiveVersion!,
      productCode: plan.product.code,
      batchSize: g.litres,
      batchUnit: 'L',
      outputLotNumber: g.number,
      outputMaterial: plan.product.code,
      plannedStart: null,
      plan,
      planHash: canonicalHash(plan),
      units,
      orderId: null,
      createdBy: null,
    });
    await trx('batches')
      .where({ id: batch.id })
      .update({ status: g.status, started_at: new Date(g.start), ended_at: new Date(g.end) });
    const [first] = plan.steps;
    const events = [
      { at: g.start, kind: 'step-started', stepId: first.id, data: {} },
      ...g.events.map((e) => ({ ...e, stepId: e.kind === 'step-failed' ? first.id : null, data: e.data ?? {} })),
      { at: g.outputAt, kind: 'output-lot', stepId: null, data: { quantity: g.litres, unit: 'L' } },
      ...plan.steps.map((st) => ({ at: g.end, kind: 'step-completed', stepId: st.id, data: {} })),
      { at: g.end, kind: 'batch-ended', stepId: null, data: { status: 'complete' } },
    ].sort((a, b) => a.at - b.at);
    const entries: NewEbrEntry[] = events.map((e, i) => ({
      entryKey: `${workflowId}/${i + 1}`,
      kind: e.kind,
      stepId: e.stepId,
      data: e.data,
      workflowId,
      runId: randomUUID(),
      eventId: i + 1,
      occurredAt: new Date(e.at).toISOString(),
      userId: null,
      userName: null,
      signatureId: null,
    }));
    const start = await s.stores.batches.lockForRecord(trx, batch.id, []);
    await s.stores.batches.writeRecord(trx, start!, { signatures: [], entries });
  });
}
