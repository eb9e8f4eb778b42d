/**
 * Standing faults of the simulated plant, so that a demo (and OEE) sees what a real plant does: a phase whose
 * controller holds it part-way now and then (a fault an operator must clear: the batch is held, the unit checked,
 * the batch restarted) and a phase slower than its recipe plans. Written as
 *
 *   MX-201/MIX:hold-every=3; MX-201/FILL:slowdown=2
 *
 * (`hold-every=n`: every n-th run of the phase is held by its controller part-way; `slowdown=x`: the phase's work
 * goes x times slower), or `none`.
 */
import type { PhaseFaults } from './simulated-phase';

export interface PhaseFaultPlan {
  unit: string;
  phase: string;
  faults: Pick<PhaseFaults, 'holdEvery' | 'slowdown'>;
}

/** The zero-setup demo's plant: every third mix on the buffer tank is held by its controller; its fills run slow. */
export const DEMO_FAULT_PLAN = 'MX-201/MIX:hold-every=3; MX-201/FILL:slowdown=1.5';

/** Reads a fault plan; throws naming what is wrong. */
export function parseFaultPlan(text: string): PhaseFaultPlan[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  return trimmed.split(';').map((part) => {
    const m = /^\s*([^/:\s]+)\/([^:\s]+)\s*:\s*(.+?)\s*$/.exec(part);
    if (!m) throw new Error(`"${part.trim()}": expected <unit>/<phase>:<fault>=<value>[,<fault>=<value>]`);
    const [, unit, phase, list] = m;
    const faults: PhaseFaultPlan['faults'] = {};
    for (const item of list.split(',')) {
      const [name, raw] = item.split('=').map((s) => s.trim());
      const value = Number(raw);
      if (name === 'hold-every' && Number.isInteger(value) && value >= 1) faults.holdEvery = value;
      else if (name === 'slowdown' && Number.isFinite(value) && value >= 1) faults.slowdown = value;
      else
        throw new Error(
          `${unit}/${phase}: "${item.trim()}" — expected hold-every=<whole number ≥ 1> or slowdown=<number ≥ 1>`,
        );
    }
    return { unit, phase, faults };
  });
}
