/**
 * The batch workflow's static summary and details, given when the API launches it: what the Temporal UI and
 * `temporal workflow describe` show of the batch (its activities' summaries: `workflow-metadata.ts`).
 */
import { displayUnit } from '../units';
import type { BatchInput } from './types';
import { cut } from './workflow-metadata';

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
