/**
 * What Temporal's own views (the Temporal UI, `temporal workflow describe`) show of a batch: the workflow's static
 * summary and details, given at launch, and a summary on each activity naming its step — so that a production
 * cluster's UI tells the same story as Ampoule's record. Pure, deterministic: the workflow uses it too.
 */
import { displayUnit } from '../units';
import type { BatchCommand, BatchInput } from './types';

/** Temporal's UI shows a summary on one line; longer ones are cut. */
const SUMMARY_MAX = 200;

const cut = (text: string) => (text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`);

/** `PBS-1X v3 · 500 L · B2026-00001`: recipe and version, size, batch number. */
export function batchStaticSummary(input: Pick<BatchInput, 'plan' | 'batchNumber'>): string {
  const { recipe, scaling } = input.plan;
  return cut(
    `${recipe.code} v${recipe.version} · ${scaling.batchSize.value} ${displayUnit(scaling.batchSize.unit)} · ${input.batchNumber}`,
  );
}

/** The batch's details in Markdown, as the Temporal UI renders them. */
export function batchStaticDetails(
  input: Pick<BatchInput, 'plan' | 'batchNumber' | 'planHash' | 'units' | 'launchedBy'>,
): string {
  const { recipe, product, scaling, steps } = input.plan;
  const units = Object.values(input.units).map((u) => u.code);
  return [
    `**Batch ${input.batchNumber}** of ${product.name} (${product.code})`,
    '',
    `- Recipe: ${recipe.name} (${recipe.code} v${recipe.version})`,
    `- Size: ${scaling.batchSize.value} ${displayUnit(scaling.batchSize.unit)} (×${scaling.factor} of the master recipe)`,
    `- Steps: ${steps.length}; units: ${units.length > 0 ? units.join(', ') : 'none'}`,
    `- Plan SHA-256: \`${input.planHash}\``,
    `- Launched by: ${input.launchedBy.fullName}`,
  ].join('\n');
}

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
