/**
 * A production order (ISA-95 production request): what is asked to be made — a product, a quantity in a unit, a
 * requested window, the materials it needs — and its life: planned (the ERP may still change it) → released (to the
 * floor: the planner's launch page offers it) → launched (as one batch, which remembers it) → closed; planned or
 * released may be cancelled. The database's guard enforces the same edges (migration 20261212000000).
 */

export const ORDER_STATES = ['planned', 'released', 'launched', 'closed', 'cancelled'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/** What each state may become, and by which action. */
export const ORDER_TRANSITIONS = {
  release: { from: ['planned'], to: 'released' },
  unrelease: { from: ['released'], to: 'planned' },
  cancel: { from: ['planned', 'released'], to: 'cancelled' },
  launch: { from: ['released'], to: 'launched' },
  close: { from: ['launched'], to: 'closed' },
} as const satisfies Record<string, { from: readonly OrderState[]; to: OrderState }>;
export type OrderAction = keyof typeof ORDER_TRANSITIONS;

const DONE: Record<OrderAction, string> = {
  release: 'released',
  unrelease: 'sent back to planned',
  cancel: 'cancelled',
  launch: 'launched',
  close: 'closed',
};

/** Why `action` cannot be taken on an order in `state`, or undefined. */
export function transitionProblem(action: OrderAction, state: OrderState): string | undefined {
  const t = ORDER_TRANSITIONS[action];
  return (t.from as readonly OrderState[]).includes(state)
    ? undefined
    : `a ${state} order cannot be ${DONE[action]} (only a ${t.from.join(' or ')} one)`;
}

/** A material the order requires, in its own unit (UCUM). */
export interface RequiredMaterial {
  material: string;
  quantity: number;
  unit: string;
}

/** The batch states in which the batch has ended, so that its order may be closed. */
export const ENDED_BATCH_STATES = ['complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected'] as const;
