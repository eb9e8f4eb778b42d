/**
 * GS1 element strings as a keyboard-wedge scanner types them (a lot label's barcode, ending in Enter): the
 * application identifiers a lot scan needs — (01) GTIN, (10) batch/lot, (17) expiry date YYMMDD, (21) serial —
 * written with parentheses (human-readable form) or without, variable-length fields ended by the group separator
 * (ASCII 29, FNC1) or, last in the string, by its end. The page sends the scan as typed; the server parses it
 * here and checks the lot it names (one place for the rule).
 */
export interface Gs1Lot {
  gtin?: string;
  lot?: string;
  /** YYYY-MM-DD; a day of 00 is the month's last day (GS1 General Specifications 7.12). */
  expiry?: string;
  serial?: string;
}

const GS = '\u001d';
/** Fixed-length AIs (their data's length) and variable-length ones (their maximum). */
const FIXED: Record<string, number> = { '01': 14, '17': 6 };
const VARIABLE: Record<string, number> = { '10': 20, '21': 20 };

/** The scan's fields, or why it is not a GS1 string Ampoule reads. */
export function parseGs1(scan: string): Gs1Lot | { error: string } {
  let s = scan.replace(/^\][A-Za-z]\d/, '').replace(/\r?\n$/, ''); // a symbology identifier (]C1, ]d2), the Enter
  if (s.startsWith('(')) s = s.replace(/\s*(\(\d{2}\))\s*/g, '$1'); // the printed form may space its fields
  if (s.startsWith('('))
    s = s.replace(/\((\d{2})\)/g, (_m, ai: string, offset: number) => (offset === 0 ? ai : `${GS}${ai}`));
  const out: Gs1Lot = {};
  const seen = new Set<string>();
  let i = 0;
  while (i < s.length) {
    if (s[i] === GS) {
      i++;
      continue;
    }
    const ai = s.slice(i, i + 2);
    i += 2;
    if (seen.has(ai)) return { error: `AI (${ai}) appears twice` };
    seen.add(ai);
    if (ai in FIXED) {
      const value = s.slice(i, i + FIXED[ai]);
      if (!/^\d+$/.test(value) || value.length !== FIXED[ai]) return { error: `AI (${ai}) needs ${FIXED[ai]} digits` };
      i += FIXED[ai];
      if (ai === '01') out.gtin = value;
      else {
        const expiry = gs1Date(value);
        if (!expiry) return { error: `AI (17) ${value} is not a date` };
        out.expiry = expiry;
      }
    } else if (ai in VARIABLE) {
      const end = s.indexOf(GS, i);
      const value = s.slice(i, end === -1 ? undefined : end);
      if (value.length === 0 || value.length > VARIABLE[ai])
        return { error: `AI (${ai}) must have 1–${VARIABLE[ai]} characters` };
      i += value.length;
      if (ai === '10') out.lot = value;
      else out.serial = value;
    } else {
      return { error: `AI (${ai}) is not one Ampoule reads on a lot label` };
    }
  }
  if (!out.lot) return { error: 'the scan carries no lot number (AI 10)' };
  return out;
}

function gs1Date(yymmdd: string): string | undefined {
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  let dd = Number(yymmdd.slice(4, 6));
  if (mm < 1 || mm > 12) return undefined;
  // GS1: a two-digit year lies within 49 years back and 50 ahead of now; for lot labels, 2000–2099 is enough.
  const year = 2000 + yy;
  const last = new Date(Date.UTC(year, mm, 0)).getUTCDate();
  if (dd === 0) dd = last;
  if (dd > last) return undefined;
  return `${year}-${String(mm).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
}
