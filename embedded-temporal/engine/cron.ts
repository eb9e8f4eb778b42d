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

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

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
    // robfig: at least a second apart.
    return everyMs !== undefined && everyMs >= 1_000 ? { everyMs } : undefined;
  }
  const expression = DESCRIPTORS[text] ?? text;
  if (expression.split(/\s+/).length !== 5) return undefined;
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
  let next = nextCronTime(spec, startMs);
  while (next < closeMs) next = nextCronTime(spec, next);
  return next - closeMs;
}
