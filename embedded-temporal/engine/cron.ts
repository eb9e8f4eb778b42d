/**
 * Cron schedules of workflows (`cron_schedule` on start), as Temporal reads them: robfig/cron's standard parser —
 * five fields (minute hour day-of-month month day-of-week), the descriptors `@yearly` (`@annually`), `@monthly`,
 * `@weekly`, `@daily` (`@midnight`), `@hourly` and `@every <duration>` — in UTC unless a `CRON_TZ=` (or `TZ=`)
 * prefix names a time zone. The fields themselves are `cron-parser`'s to interpret.
 *
 * When the next run starts follows srv `backoff.GetBackoffForNextSchedule`: the first schedule time after the run's
 * own start that is not before the moment it closed (so a run that overran skips the times it missed), as a
 * backoff from that moment. The first run waits for the first schedule time after the start.
 */
import { CronExpressionParser } from 'cron-parser';

export interface CronSpec {
  /** Milliseconds of an `@every` schedule; otherwise a five-field expression and its zone. */
  everyMs?: number;
  expression?: string;
  tz?: string;
}

/** `@daily` and the like, as five cron fields (schedules' cron strings take them too). */
export const CRON_DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * The five fields as robfig/cron's standard parser takes them: `*` or `?`, numbers or names in range, ranges,
 * steps and lists — not cron-parser's extensions (`L`, `W`, `#`, `H`, a day-of-week 7), which Temporal refuses.
 */
const FIELDS: { min: number; max: number; names?: string[] }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

function robfigField(field: string, f: (typeof FIELDS)[number]): boolean {
  const value = (v: string): number | undefined => {
    const named = f.names?.indexOf(v.toUpperCase()) ?? -1;
    if (named >= 0) return f.min + named;
    return /^\d+$/.test(v) && Number(v) >= f.min && Number(v) <= f.max ? Number(v) : undefined;
  };
  return field.split(',').every((part) => {
    const [range, step, ...rest] = part.split('/');
    if (rest.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step))) return false;
    if (range === '*' || range === '?') return true;
    const [low, high, ...more] = range.split('-');
    if (more.length > 0 || value(low) === undefined) return false;
    return high === undefined || (value(high) !== undefined && value(high)! >= value(low)!);
  });
}

/** Go's duration units, as `@every` takes them (`1h30m`, `90s`, `500ms`). */
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function goDurationMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * GO_UNITS[unit], 0);
}

/** The schedule a `cron_schedule` names, or undefined when it is not one Temporal would take. */
export function parseCron(schedule: string): CronSpec | undefined {
  let text = schedule.trim();
  let tz: string | undefined;
  const zone = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (zone) {
    [, tz, text] = zone;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      return undefined;
    }
  }
  if (text.startsWith('@every ')) {
    const everyMs = goDurationMs(text.slice('@every '.length).trim());
    if (everyMs === undefined || everyMs <= 0) return undefined;
    // robfig: whole seconds, at least one.
    return { everyMs: Math.max(1_000, Math.floor(everyMs / 1_000) * 1_000) };
  }
  const expression = CRON_DESCRIPTORS[text] ?? text;
  const fields = expression.split(/\s+/);
  if (fields.length !== 5 || !fields.every((f, i) => robfigField(f, FIELDS[i]))) return undefined;
  try {
    CronExpressionParser.parse(expression, { tz: tz ?? 'UTC', strict: false });
  } catch {
    return undefined;
  }
  return { expression, tz: tz ?? 'UTC' };
}

/** The first schedule time strictly after `afterMs`. */
export function nextCronTime(spec: CronSpec, afterMs: number): number {
  // robfig works in whole seconds: an `@every` schedule counts from the second `afterMs` falls in.
  if (spec.everyMs !== undefined) return Math.floor(afterMs / 1000) * 1000 + spec.everyMs;
  return CronExpressionParser.parse(spec.expression!, { tz: spec.tz, currentDate: new Date(afterMs) })
    .next()
    .getTime();
}

/** How long after `closeMs` the next run of a cron chain starts, for a run whose schedule time was `startMs`. */
export function cronBackoffMs(spec: CronSpec, startMs: number, closeMs: number): number {
  // Closed before its own schedule time (a run that never got to run): the next run keeps that time.
  if (closeMs < startMs) return startMs - closeMs;
  // The first schedule time after the start that is not before the close, in one step (a run that closed a week
  // late does not walk a minute-by-minute schedule): `@every` times are the start's second plus whole intervals.
  if (spec.everyMs !== undefined) {
    const base = Math.floor(startMs / 1000) * 1000;
    return base + Math.max(1, Math.ceil((closeMs - base) / spec.everyMs)) * spec.everyMs - closeMs;
  }
  return nextCronTime(spec, Math.max(startMs, closeMs - 1)) - closeMs;
}
