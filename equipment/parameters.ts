/**
 * Values between the recipe and the controller: setpoints go down in the units the phase interface
 * declares; reports come back and are put in the recipe's units. Without an interface, values pass as
 * the recipe has them.
 */
import type { PhaseInterface } from '../domain/equipment';
import type { PlanNumber } from '../domain/recipe/plan';
import { convert } from '../domain/units';

/** A value that cannot be converted: the recipe and the equipment class disagree. */
export class UnitConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitConversionError';
  }
}

function change(value: number, from: string, to: string, what: string): number {
  const v = convert(value, from, to);
  if (v === undefined) throw new UnitConversionError(`${what}: ${from} cannot be converted to ${to}`);
  return Number(v.toPrecision(12));
}

/** The setpoints' targets, in the controller's units. */
export function toController(setpoints: readonly PlanNumber[], contract?: PhaseInterface): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sp of setpoints) {
    if (sp.target === undefined) continue;
    const unit = contract?.parameters[sp.id]?.unit ?? sp.unit;
    out[sp.id] = change(sp.target, sp.unit, unit, `setpoint ${sp.id}`);
  }
  return out;
}

/** The reports the recipe expects, from the controller's values, in the recipe's units (raw values kept alongside). */
export function fromController(
  reports: Record<string, unknown>,
  expected: readonly PlanNumber[],
  contract?: PhaseInterface,
): { id: string; value: number | null; unit: string; raw: unknown; rawUnit: string }[] {
  return expected.map((r) => {
    const rawUnit = contract?.reports[r.id]?.unit ?? r.unit;
    const raw = reports[r.id];
    const value =
      typeof raw === 'number' && Number.isFinite(raw) ? change(raw, rawUnit, r.unit, `report ${r.id}`) : null;
    return { id: r.id, value, unit: r.unit, raw: raw ?? null, rawUnit };
  });
}
