/**
 * What a batch-record write tells the systems around Ampoule (ERP, LIMS, historians), as integration events: each
 * phase's state as it starts, completes or fails (SAP PP-PI's phase time events, `PI_PHST`), and each sample's
 * results as entered and signed (its inspection results, `PI_QMSMR`). Derived from the entries written, so that
 * they go out in the same transaction as the record — never an event the record does not hold, never the reverse.
 */
import type { StoredEbrEntry } from '../batch/ebr';
import { outsideLimits } from '../batch/completion';
import type { FieldValue } from '../batch/types';
import type { PlanStep } from '../recipe/plan';

export interface RecordEvent {
  type: 'phase.state' | 'sample.result';
  payload: Record<string, unknown>;
}

/** The state a phase is in once the record holds an entry of this kind. */
const PHASE_STATES: Record<string, 'running' | 'complete' | 'failed'> = {
  'step-started': 'running',
  'step-completed': 'complete',
  'step-failed': 'failed',
};

export function recordEvents(
  batch: { number: string; plan: { steps: PlanStep[] }; units: Record<string, { code: string }> },
  written: readonly Pick<StoredEbrEntry, 'kind' | 'stepId' | 'data' | 'occurredAt' | 'userName'>[],
): RecordEvent[] {
  const events: RecordEvent[] = [];
  for (const e of written) {
    const step = e.stepId ? batch.plan.steps.find((s) => s.id === e.stepId) : undefined;
    if (!step) continue;
    const where = {
      batch: batch.number,
      step: step.id,
      stepNumber: step.number,
      name: step.name,
      operation: step.operation.id,
      unit: batch.units[step.unitProcedureId]?.code ?? null,
      at: e.occurredAt,
    };
    const state = PHASE_STATES[e.kind];
    if (state) {
      const data = (e.data ?? {}) as { rerun?: number; type?: string; message?: string };
      events.push({
        type: 'phase.state',
        payload: {
          ...where,
          kind: step.kind,
          ...(step.kind === 'equipment' ? { phase: step.phase } : {}),
          state,
          ...(state === 'running' && data.rerun ? { rerun: data.rerun } : {}),
          ...(state === 'failed' ? { failure: { type: data.type ?? null, message: data.message ?? null } } : {}),
        },
      });
    } else if (e.kind === 'values-entered' && step.kind === 'sample') {
      const values = (e.data as { values?: Record<string, FieldValue> }).values ?? {};
      events.push({
        type: 'sample.result',
        payload: {
          ...where,
          sampleType: step.sampleType ?? null,
          enteredBy: e.userName,
          results: step.results.map((f) => {
            const id = f.id;
            const value = values[id] ?? null;
            if (f.type !== 'number') return { id, label: f.label, type: f.type, value };
            const inLimits = typeof value === 'number' ? !outsideLimits(value, f) : null;
            return {
              id,
              label: f.label,
              type: f.type,
              value,
              unit: f.unit,
              ...(f.low !== undefined ? { low: f.low } : {}),
              ...(f.high !== undefined ? { high: f.high } : {}),
              withinLimits: inLimits,
            };
          }),
        },
      });
    }
  }
  return events;
}
