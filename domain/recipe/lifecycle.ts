/**
 * The recipe version lifecycle: Draft → In review → Approved → Effective → Superseded or Retired. Only a
 * Draft is edited; a rejected review goes back to Draft; making a version effective supersedes the one
 * that was; only an Effective version launches batches.
 */

export const RECIPE_STATUSES = ['draft', 'in-review', 'approved', 'effective', 'superseded', 'retired'] as const;
export type RecipeStatus = (typeof RECIPE_STATUSES)[number];

export const RECIPE_ACTIONS = ['edit', 'submit', 'approve', 'reject', 'make-effective', 'retire'] as const;
export type RecipeAction = (typeof RECIPE_ACTIONS)[number];

const TRANSITIONS: Record<RecipeAction, { from: readonly RecipeStatus[]; to: RecipeStatus }> = {
  edit: { from: ['draft'], to: 'draft' },
  submit: { from: ['draft'], to: 'in-review' },
  approve: { from: ['in-review'], to: 'approved' },
  reject: { from: ['in-review'], to: 'draft' },
  'make-effective': { from: ['approved'], to: 'effective' },
  retire: { from: ['draft', 'approved', 'effective', 'superseded'], to: 'retired' },
};

/** The status after `action`, or why the action is not possible from `status`. */
export function transition(
  status: RecipeStatus,
  action: RecipeAction,
): { ok: true; to: RecipeStatus } | { ok: false; reason: string } {
  const t = TRANSITIONS[action];
  if (t.from.includes(status)) return { ok: true, to: t.to };
  return { ok: false, reason: `a version that is ${status} cannot be ${PAST[action]} (only ${t.from.join(' or ')})` };
}

const PAST: Record<RecipeAction, string> = {
  edit: 'edited',
  submit: 'submitted for review',
  approve: 'approved',
  reject: 'rejected',
  'make-effective': 'made effective',
  retire: 'retired',
};

/** Statuses in which a version is still being worked on: a recipe has at most one such version. */
export const OPEN_STATUSES: readonly RecipeStatus[] = ['draft', 'in-review'];

/** Whether batches may be launched from a version in this status (only Effective ones). */
export function launchable(status: RecipeStatus): boolean {
  return status === 'effective';
}
