/**
 * Judging a batch's yield: what was measured, against what the batch should have given, within the limits
 * the recipe allows. Pure and deterministic: the batch workflow runs it at the batch's end.
 */
import type { PlanYield } from '../recipe/plan';
import type { Deviation } from './types';

export interface YieldJudgement {
  /** The batch record's `yield` entry. */
  entry: {
    measured: { value: number; unit: string } | null;
    theoretical: { value: number; unit: string };
    /** Measured in percent of the theoretical; null when nothing was measured. */
    percent: number | null;
    limits: { low: number; high: number };
    source: { step: string; report?: string; field?: string };
    /** What the output lot carries: the measured yield, or (when nothing was measured) the theoretical one. */
    outputLot: 'measured' | 'theoretical';
  };
  deviations: Deviation[];
  /** The output lot's quantity. */
  quantity: { value: number; unit: string };
}

export function judgeYield(y: PlanYield, measured: number | null): YieldJudgement {
  const source = { step: y.stepId, ...y.source };
  const from: Deviation['source'] = 'report' in y.source ? 'equipment' : 'operator';
  if (measured === null || !Number.isFinite(measured)) {
    return {
      entry: {
        measured: null,
        theoretical: y.theoretical,
        percent: null,
        limits: y.limits,
        source,
        outputLot: 'theoretical',
      },
      deviations: [
        {
          stepId: y.stepId,
          field: 'yield',
          value: null,
          unit: '%',
          low: y.limits.low,
          high: y.limits.high,
          comment: 'the yield was not measured: the output lot carries the theoretical quantity',
          source: from,
        },
      ],
      quantity: y.theoretical,
    };
  }
  const percent = Math.round(((measured * y.toTheoretical) / y.theoretical.value) * 100 * 100) / 100;
  const outside = percent < y.limits.low || percent > y.limits.high;
  return {
    entry: {
      measured: { value: measured, unit: y.unit },
      theoretical: y.theoretical,
      percent,
      limits: y.limits,
      source,
      outputLot: 'measured',
    },
    deviations: outside
      ? [
          {
            stepId: y.stepId,
            field: 'yield',
            value: percent,
            unit: '%',
            low: y.limits.low,
            high: y.limits.high,
            comment: null,
            source: from,
          },
        ]
      : [],
    quantity: { value: measured, unit: y.unit },
  };
}
