/**
 * Units of measure between an ERP and Ampoule. ERPs send their own unit codes — SAP's internal ones (`KG`, `L`),
 * the ISO codes of UN/ECE Recommendation 20 that SAP and B2MML documents also carry (`KGM`, `LTR`) — and Ampoule
 * keeps quantities in UCUM. The table below is the whole mapping: a code not in it is refused, never guessed (a
 * `T` that one plant means as tonnes and another as a "tablet" must not become either by accident).
 */

/** ERP unit code (upper case) → UCUM. */
export const ERP_TO_UCUM: Readonly<Record<string, string>> = {
  // Mass
  KG: 'kg',
  KGM: 'kg',
  G: 'g',
  GRM: 'g',
  MG: 'mg',
  MGM: 'mg',
  UG: 'ug',
  MC: 'ug',
  TO: 't',
  TNE: 't',
  // Volume
  L: 'L',
  LTR: 'L',
  ML: 'mL',
  MLT: 'mL',
  UL: 'uL',
  M3: 'm3',
  MTQ: 'm3',
};

/** UCUM → the code Ampoule sends back (SAP's internal one). */
export const UCUM_TO_ERP: Readonly<Record<string, string>> = {
  kg: 'KG',
  g: 'G',
  mg: 'MG',
  ug: 'UG',
  t: 'TO',
  L: 'L',
  mL: 'ML',
  uL: 'UL',
  m3: 'M3',
};

/** The UCUM unit of an ERP unit code, or undefined when the table does not map it (refuse it then). */
export function ucumOfErpUnit(code: string): string | undefined {
  return Object.hasOwn(ERP_TO_UCUM, code.trim().toUpperCase()) ? ERP_TO_UCUM[code.trim().toUpperCase()] : undefined;
}

/** The ERP code for a UCUM unit, or undefined when the table has none. */
export function erpUnitOfUcum(ucum: string): string | undefined {
  return Object.hasOwn(UCUM_TO_ERP, ucum) ? UCUM_TO_ERP[ucum] : undefined;
}
