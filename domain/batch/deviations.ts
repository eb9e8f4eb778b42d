/**
 * A deviation's life (21 CFR 211.192: every unexplained discrepancy investigated, with a written record of its
 * conclusions and follow-up). A deviation is raised — by the batch record, when a value, a lot quantity, an
 * equipment report or the yield falls outside its limits, or by a person — and then goes
 * Open → Under investigation → Pending approval → Closed, the close signed by QA. Its severity (minor, major,
 * critical) is set when QA takes it up. A batch is not released while one of its deviations is not Closed.
 * Pure rules: the service applies them in the change's transaction, the database's guard enforces the same edges.
 */
import { limitsText, quantityText, unitText } from './record-text';
import type { Deviation } from './types';

export const DEVIATION_STATES = ['open', 'under-investigation', 'pending-approval', 'closed'] as const;
export type DeviationState = (typeof DEVIATION_STATES)[number];

export const SEVERITIES = ['minor', 'major', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Where a deviation comes from: `limit-excursion` — raised by the batch record from a `deviation` entry;
 * `reported` — raised by a person (an observation the record cannot see); `history-unavailable` — a batch whose
 * workflow history was never archived and is gone from Temporal, so its record cannot be held against it:
 * closed, signed, it stands in for the investigation at review and release.
 */
export const DEVIATION_CATEGORIES = ['limit-excursion', 'reported', 'history-unavailable'] as const;
export type DeviationCategory = (typeof DEVIATION_CATEGORIES)[number];

/** What moves a deviation on, from which state to which. */
export const DEVIATION_ACTIONS = {
  investigate: { from: 'open', to: 'under-investigation' },
  submit: { from: 'under-investigation', to: 'pending-approval' },
  return: { from: 'pending-approval', to: 'under-investigation' },
  close: { from: 'pending-approval', to: 'closed' },
} as const satisfies Record<string, { from: DeviationState; to: DeviationState }>;
export type DeviationAction = keyof typeof DEVIATION_ACTIONS;

/** What the investigation must have found before a deviation goes for approval. */
export interface Findings {
  severity: Severity | null;
  rootCause: string | null;
  correctiveAction: string | null;
  preventiveAction: string | null;
}

/** Why `action` cannot be taken on a deviation in `state` (undefined: it can). */
export function transitionRefusal(state: DeviationState, action: DeviationAction): string | undefined {
  const { from, to } = DEVIATION_ACTIONS[action];
  if (state === from) return undefined;
  return `the deviation is ${state}: it cannot be ${to === 'closed' ? 'closed' : `moved to ${to}`} (only from ${from})`;
}

/** What is missing before a deviation can go for approval (empty: nothing). */
export function missingFindings(f: Findings): string[] {
  const missing: string[] = [];
  if (!f.severity) missing.push('severity');
  if (!f.rootCause?.trim()) missing.push('rootCause');
  if (!f.correctiveAction?.trim()) missing.push('correctiveAction');
  if (!f.preventiveAction?.trim()) missing.push('preventiveAction');
  return missing;
}

/** Whether a deviation's findings may still be edited: while it is open or under investigation, not once submitted. */
export function editable(state: DeviationState): boolean {
  return state === 'open' || state === 'under-investigation';
}

/** The deviation's number: the batch's, then its own count within the batch (`B2026-00001-D01`). */
export function deviationNumber(batchNumber: string, ordinal: number): string {
  return `${batchNumber}-D${String(ordinal).padStart(2, '0')}`;
}

/** A limit excursion in words, as the deviation's title: what was found against what was allowed. */
export function describeExcursion(d: Deviation): string {
  const limits = limitsText(d.low, d.high);
  const unit = unitText(d.unit);
  const found = d.value === null ? 'not measured' : quantityText(d.value, d.unit);
  const by = d.source === 'equipment' ? 'reported by the equipment' : 'entered';
  return `${d.stepId}: ${d.field} ${found} (${by}), outside ${limits ? `${limits}${unit ? ` ${unit}` : ''}` : 'its limits'}`;
}
