/**
 * Weighing: what a scale's reading must be for a dispensing to take it (ALCOA's "original": the weight comes
 * from the scale, good, stable and fresh, never from a keyboard), what makes a scale usable (its range covers
 * the weight, its calibration is not overdue, its daily check passed today), and how a daily check's test
 * weight is judged. Pure: the API and the workflow both run it.
 */

/** A scale's terminal status: in range, beyond capacity, below zero, or failed. */
export type TerminalStatus = 'ok' | 'overload' | 'underload' | 'error';

/** One reading of a scale, as its terminal gave it over OPC UA. */
export interface ScaleReading {
  scale: string;
  gross: number;
  tare: number;
  net: number;
  /** UCUM unit of the three weights (from the terminal's EngineeringUnits). */
  unit: string;
  stable: boolean;
  status: TerminalStatus | string;
  /** The OPC UA StatusCode name of the net weight: Good, or an Uncertain… or Bad… name. */
  quality: string;
  /** When the terminal last changed the net weight, by its clock (ISO 8601). */
  sourceTimestamp: string;
  /** When the terminal's server read it for this request (ISO 8601): how fresh it is. */
  serverTimestamp: string;
}

/** A reading older than this (by the terminal's clock against ours) is not the weight now. */
export const READING_MAX_AGE_MS = 5_000;

/** Why a dispensing cannot take `r` as the weight, or undefined if it can. */
export function readingRefusal(r: ScaleReading, nowMs: number): string | undefined {
  if (r.quality !== 'Good')
    return `scale ${r.scale} reports its weight as ${r.quality}: only a Good weight is taken (Bad and Uncertain are refused)`;
  if (r.status !== 'ok') return `scale ${r.scale} is in ${r.status}: no weight can be taken`;
  if (!r.stable) return `the weight on scale ${r.scale} is not stable: wait for it to settle`;
  // A steady weight keeps the source timestamp of its last change (OPC UA): freshness is the server's read, and a
  // source time ahead of ours is a clock to set right.
  const age = nowMs - Date.parse(r.serverTimestamp);
  if (!(Math.abs(age) <= READING_MAX_AGE_MS))
    return `scale ${r.scale}'s reading was taken at ${r.serverTimestamp}, not now: check the terminal's clock and connection`;
  if (!(Date.parse(r.sourceTimestamp) - nowMs <= READING_MAX_AGE_MS))
    return `scale ${r.scale}'s clock is ahead of Ampoule's (${r.sourceTimestamp}): set it right before weighing`;
  return undefined;
}

/** A scale as master data: its range and its qualification. Weights in `unit`. */
export interface ScaleQualification {
  code: string;
  capacity: number;
  /** The smallest net weight the scale may weigh to its accuracy (the minimum weight of USP <41>). */
  minimumWeight: number;
  readability: number;
  unit: string;
  /** The day the calibration runs out (ISO date), null if never calibrated. */
  calibrationDue: string | null;
  /** The test weights of the daily check. */
  checkPoints: CheckPoint[];
  /** The test weights that passed today's check since the scale's latest calibration. */
  passedToday: number[];
}

/** A daily check's test weight and how far the scale may read from it. */
export interface CheckPoint {
  nominal: number;
  tolerance: number;
}

/** Why `scale` cannot be used today (ISO date `today`), or undefined. */
export function qualificationProblem(scale: ScaleQualification, today: string): string | undefined {
  if (!scale.calibrationDue) return `scale ${scale.code} has no calibration on record`;
  if (scale.calibrationDue < today) return `scale ${scale.code}'s calibration ran out on ${scale.calibrationDue}`;
  const missing = scale.checkPoints.filter((p) => !scale.passedToday.includes(p.nominal));
  if (missing.length > 0)
    return `scale ${scale.code} has no passed daily check today (${missing.map((p) => `${p.nominal} ${scale.unit}`).join(', ')} missing)`;
  return undefined;
}

/** Why the acceptance window `low`–`high` (in the scale's unit) is outside the scale's range, or undefined. */
export function rangeProblem(scale: ScaleQualification, low: number, high: number): string | undefined {
  if (low < scale.minimumWeight)
    return `scale ${scale.code} weighs from ${scale.minimumWeight} ${scale.unit}: too coarse for ${low} ${scale.unit}`;
  if (high > scale.capacity)
    return `scale ${scale.code} weighs up to ${scale.capacity} ${scale.unit}: too small for ${high} ${scale.unit}`;
  return undefined;
}

/** A daily check's reading of one test weight: within nominal ± tolerance, or failed. */
export function judgeCheck(point: CheckPoint, reading: number): { passed: boolean; low: number; high: number } {
  const low = Number((point.nominal - point.tolerance).toPrecision(12));
  const high = Number((point.nominal + point.tolerance).toPrecision(12));
  return { passed: reading >= low && reading <= high, low, high };
}

/**
 * A dispensing's weighing as the batch record keeps it: from the scale (its reading, the scale's calibration and
 * daily check), or typed where the scale was down — with a reason, and a second person's verification.
 */
export type Weighing = (
  | {
      source: 'scale';
      scale: string;
      gross: number;
      tare: number;
      net: number;
      unit: string;
      /** The terminal's time of the weight, and when its server read it for the record. */
      sourceTimestamp: string;
      serverTimestamp: string;
      /** The scale's qualification when it weighed: its calibration's due day and the day of its daily check. */
      calibrationDue: string;
      dailyCheckOn: string;
    }
  | {
      source: 'manual';
      /** The scale that was down, if one was held. */
      scale: string | null;
      net: number;
      unit: string;
      reason: string;
      /** Why no scale could weigh it, as Ampoule found when the weight was typed. */
      scaleDown: string;
    }
) & {
  /** The container dispensed into (its scanned code). */
  container: string;
  /** The net weight in the step's unit: the quantity taken from the lot. */
  inStepUnit: number;
};
