/**
 * Units of measure: UCUM codes (the Unified Code for Units of Measure), checked and converted with the
 * NLM's reference library, and the quantity kinds a recipe parameter may have. A unit must be valid UCUM
 * and commensurable with its kind: a temperature in `mL` is refused.
 */
import { UcumLhcUtils, UnitTables } from '@lhncbc/ucum-lhc';

const ucum = UcumLhcUtils.getInstance();

/**
 * The kinds of quantity a parameter can be, each with a reference unit that any unit of the kind converts
 * to. Extensive kinds (how much) scale with the batch size; intensive ones (how hot, how fast) never do.
 */
export const QUANTITY_KINDS = {
  mass: { unit: 'g', extensive: true, example: 'kg' },
  volume: { unit: 'L', extensive: true, example: 'mL' },
  amount: { unit: 'mol', extensive: true, example: 'mmol' },
  temperature: { unit: 'K', extensive: false, example: 'Cel' },
  time: { unit: 's', extensive: false, example: 'min' },
  pressure: { unit: 'Pa', extensive: false, example: 'bar' },
  rotationalSpeed: { unit: '/s', extensive: false, example: '/min' },
  pH: { unit: '[pH]', extensive: false, example: '[pH]' },
  massConcentration: { unit: 'g/L', extensive: false, example: 'mg/mL' },
  molarConcentration: { unit: 'mol/L', extensive: false, example: 'mmol/L' },
  numberConcentration: { unit: '/L', extensive: false, example: '10*6/mL' },
  volumetricFlow: { unit: 'L/s', extensive: false, example: 'L/min' },
  massFlow: { unit: 'g/s', extensive: false, example: 'kg/h' },
  conductivity: { unit: 'S/m', extensive: false, example: 'mS/cm' },
  fraction: { unit: '%', extensive: false, example: '%' },
  length: { unit: 'm', extensive: false, example: 'mm' },
} as const;

export type QuantityKind = keyof typeof QUANTITY_KINDS;
export const QUANTITY_KIND_NAMES = Object.keys(QUANTITY_KINDS) as QuantityKind[];

/** Why a UCUM code is not acceptable, or undefined if it is valid. */
export function ucumProblem(unit: string): string | undefined {
  if (unit.trim() !== unit || unit === '') return `"${unit}" is not a UCUM code`;
  const r = ucum.validateUnitString(unit, false);
  if (r.status !== 'valid') return `"${unit}" is not a valid UCUM code`;
  // An annotation alone ({rpm}) is valid UCUM but means "1": it says nothing about the quantity.
  if (/^\{[^}]*\}$/.test(unit)) return `"${unit}" is only an annotation; use a unit such as /min`;
  return undefined;
}

/** Converts `value` from one unit to another; undefined if they are not commensurable (or not valid). */
export function convert(value: number, from: string, to: string): number | undefined {
  if (from === to) return value;
  if (ucumProblem(from) || ucumProblem(to)) return undefined;
  const r = ucum.convertUnitTo(from, value, to);
  return r.status === 'succeeded' && r.toVal !== null && Number.isFinite(r.toVal) ? r.toVal : undefined;
}

/** Whether two units measure the same kind of quantity. */
export function commensurable(a: string, b: string): boolean {
  // Convert 1 rather than 0: a special unit (°C, pH) may map 0 to something meaningless.
  return convert(1, a, b) !== undefined;
}

/** Why `unit` cannot express a quantity of `kind`, or undefined if it can. */
export function unitKindProblem(unit: string, kind: QuantityKind): string | undefined {
  const invalid = ucumProblem(unit);
  if (invalid) return invalid;
  // UCUM counts moles as numbers, so [pH] converts to any concentration: pH is [pH], and [pH] only pH.
  if ((kind === 'pH') !== (unit === '[pH]'))
    return kind === 'pH' ? `a pH is given in [pH], not "${unit}"` : `"${unit}" is only for a pH`;
  const reference = QUANTITY_KINDS[kind].unit;
  if (!commensurable(unit, reference))
    return `"${unit}" is not a unit of ${kind} (for example ${QUANTITY_KINDS[kind].example})`;
  return undefined;
}

/** The quantity kind a unit belongs to, among the known ones (the first that fits). */
export function kindOf(unit: string): QuantityKind | undefined {
  return QUANTITY_KIND_NAMES.find((k) => !unitKindProblem(unit, k));
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};
const superscript = (digits: string) => [...digits].map((c) => SUPERSCRIPT[c] ?? c).join('');

/**
 * A UCUM code as people write it (`Cel` → °C, `[pH]` → pH, `10*6/mL` → 10⁶/mL, `m2` → m², `kg.m/s2` → kg·m/s²):
 * each atom by UCUM's own print symbol where it has one, exponents raised. For reading only — records keep codes.
 */
export function displayUnit(code: string): string {
  if (code === '' || ucumProblem(code)) return code;
  const tables = UnitTables.getInstance();
  const atom = (a: string) => {
    const symbol = tables.getUnitByCode(a)?.printSymbol_;
    // Some print symbols are HTML (m<sup>2</sup>).
    return symbol
      ? symbol.replace(/<sup>(-?\d+)<\/sup>/g, (_s, d: string) => superscript(d)).replace(/<[^>]+>/g, '')
      : a;
  };
  return code
    .replace(
      /10\*(-?\d+)|([A-Za-z%'_]*(?:\[[^\]]*\])?)(-?\d+)?/g,
      (whole, power?: string, name?: string, exp?: string) => {
        if (power !== undefined) return `10${superscript(power)}`;
        if (!name) return whole;
        return exp ? `${atom(name)}${superscript(exp)}` : atom(name);
      },
    )
    .replace(/\./g, '·');
}
