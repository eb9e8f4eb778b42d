/**
 * What Temporal's own views (the Temporal UI, `temporal workflow describe`) show of a batch's activities: a summary
 * on each naming its step, so that a production cluster's UI tells the same story as Ampoule's record (the
 * workflow's own summary and details, given at launch: `static-metadata.ts`). Pure and deterministic, and light:
 * the workflow bundle imports it (no unit library here).
 */
import type { BatchCommand } from './types';

/** Temporal's UI shows a summary on one line; longer ones are cut. */
export const SUMMARY_MAX = 200;

export const cut = (text: string) => (text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`);

/** An equipment phase's activity: `fill-wfi · Fill with WFI — FILL on MX-201`. */
export function phaseSummary(step: { id: string; name: string; phase: string }, unit: string): string {
  return cut(`${step.id} · ${step.name} — ${step.phase} on ${unit}`);
}

/** A batch command passed to a running phase: `hold fill-wfi — FILL on MX-201`. */
export function phaseCommandSummary(command: BatchCommand, step: { id: string }, phase: string, unit: string): string {
  return cut(`${command} ${step.id} — ${phase} on ${unit}`);
}

/** A batch-record write: what it records, for which steps (`record: step-completed fill-wfi, step-started add-nacl`). */
export function recordWriteSummary(entries: readonly { kind: string; stepId: string | null }[]): string {
  const parts = entries.map((e) => (e.stepId ? `${e.kind} ${e.stepId}` : e.kind));
  return cut(`record: ${parts.length > 0 ? parts.join(', ') : 'step projections'}`);
}

/** Lots consumed by a material step: `add-nacl · NACL from L-0001, L-0002`. */
export function lotsConsumedSummary(step: { id: string; material: string }, lots: readonly string[]): string {
  return cut(`${step.id} · ${step.material} from ${lots.join(', ')}`);
}

/** The batch's units given back at its end. */
export function unitsReleasedSummary(units: readonly string[]): string {
  return cut(`units released: ${units.join(', ')}`);
}
