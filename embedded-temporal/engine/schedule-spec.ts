/**
 * A schedule's times (`temporal.api.schedule.v1.ScheduleSpec`), as Temporal's scheduler computes them: calendars
 * (structured, or cron strings compiled into them), intervals with a phase, calendars to skip, a start and an end,
 * jitter, and a time zone. Pure: the engine's schedules (engine/schedules.ts) and its tests use it.
 *
 * What Temporal documents and this follows:
 *  - a calendar matches when every field matches (day of month AND day of week — not cron's OR); a field left
 *    empty in a structured calendar matches every value, except second, minute and hour, whose SDK default is 0;
 *  - a cron string takes 5, 6 or 7 fields (`[second] minute hour day-of-month month day-of-week [year]`), names of
 *    months and days, `@yearly`-style shorthands, a `CRON_TZ=`/`TZ=` prefix (copied to the time zone) and a
 *    trailing `# comment`; `@every <n><s|m|h|d>[/<phase>]` becomes an interval;
 *  - an interval's times are `phase + k × interval` since the epoch;
 *  - the start time is inclusive, the end time inclusive; times are whole seconds, none after 2100;
 *  - jitter delays each action by a deterministic pseudo-random amount below both the jitter and the gap to the
 *    next nominal time, so that a schedule's future times stay the same from one describe to the next.
 * Describe shows the compiled form: cron strings as structured calendars and intervals (as the real server does).
 */
import { createHash } from 'node:crypto';
import { DateTime, IANAZone } from 'luxon';
import { invalidArgument } from '../errors';
import type { temporal } from '../proto';
import { duration, durationMs, timestamp, timestampMs } from '../util/time';
import { CRON_DESCRIPTORS } from './cron';

type ISpec = temporal.api.schedule.v1.IScheduleSpec;
type ICalendar = temporal.api.schedule.v1.IStructuredCalendarSpec;
type IRange = temporal.api.schedule.v1.IRange;

interface Field {
  name: keyof Omit<ICalendar, 'comment'>;
  min: number;
  max: number;
  /** A structured calendar's empty field: every value, or (second, minute, hour) 0. */
  emptyIsZero: boolean;
  names?: string[];
}

const SECOND: Field = { name: 'second', min: 0, max: 59, emptyIsZero: true };
const MINUTE: Field = { name: 'minute', min: 0, max: 59, emptyIsZero: true };
const HOUR: Field = { name: 'hour', min: 0, max: 23, emptyIsZero: true };
const DAY_OF_MONTH: Field = { name: 'dayOfMonth', min: 1, max: 31, emptyIsZero: false };
const MONTH: Field = {
  name: 'month',
  min: 1,
  max: 12,
  emptyIsZero: false,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
const YEAR: Field = { name: 'year', min: 1970, max: 9999, emptyIsZero: false };
const DAY_OF_WEEK: Field = {
  name: 'dayOfWeek',
  min: 0,
  max: 6,
  emptyIsZero: false,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
const FIELDS = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, YEAR, DAY_OF_WEEK];

/** No time after this year (Temporal's scheduler stops at 2100 too): a 30 February never comes. */
const LAST_YEAR = 2100;
const END_OF_LAST_YEAR = Date.UTC(LAST_YEAR + 1, 0, 1);
/** Times skipped one after another before a spec is taken to have no more (a skip that covers every time). */
const MAX_SKIPPED = 10_000;

/** A calendar as sorted lists of the values each field takes (`years` undefined: every year). */
interface CompiledCalendar {
  seconds: number[];
  minutes: number[];
  hours: number[];
  days: number[];
  months: number[];
  years?: number[];
  weekdays: Set<number>;
}

interface CompiledInterval {
  everyMs: number;
  phaseMs: number;
}

export interface CompiledSpec {
  /** The canonical spec describe shows (cron strings compiled, defaults filled). */
  canonical: ISpec;
  calendars: CompiledCalendar[];
  intervals: CompiledInterval[];
  skip: CompiledCalendar[];
  startMs?: number;
  endMs?: number;
  jitterMs: number;
  zone: string;
}

/** A time a schedule acts: its nominal time, and the moment it is due (the nominal time plus jitter). */
export interface ScheduleTime {
  nominal: number;
  actual: number;
}

/** Compiles and checks a spec; a spec Temporal would refuse is INVALID_ARGUMENT. */
export function compileSpec(spec: ISpec | null | undefined): CompiledSpec {
  const calendars: ICalendar[] = [...(spec?.structuredCalendar ?? [])];
  const intervals: { interval: number; phase: number }[] = (spec?.interval ?? []).map((i) => ({
    interval: durationMs(i.interval) ?? 0,
    phase: durationMs(i.phase) ?? 0,
  }));
  let zone = spec?.timezoneName ?? '';
  for (const cron of spec?.cronString ?? []) {
    const parsed = parseCronString(cron);
    if (parsed.zone) {
      if (zone && zone !== parsed.zone)
        throw invalidArgument(`Invalid schedule spec: a cron string's time zone ${parsed.zone} differs from ${zone}`);
      zone = parsed.zone;
    }
    if (parsed.calendar) calendars.push(parsed.calendar);
    if (parsed.interval) intervals.push(parsed.interval);
  }
  if ((spec?.calendar ?? []).length > 0 || (spec?.excludeCalendar ?? []).length > 0)
    throw invalidArgument(
      'Invalid schedule spec: the deprecated calendar fields are not supported; use structured calendars',
    );
  if (zone && zone !== 'UTC' && !IANAZone.isValidZone(zone))
    throw invalidArgument(`Invalid schedule spec: unknown time zone ${zone}`);
  for (const i of intervals) {
    if (i.interval < 1000 || i.interval % 1000 !== 0)
      throw invalidArgument('Invalid schedule spec: an interval must be a whole number of seconds, at least 1 s');
    if (i.phase < 0 || i.phase % 1000 !== 0)
      throw invalidArgument(
        "Invalid schedule spec: an interval's phase must be a whole number of seconds, not negative",
      );
  }
  const jitterMs = durationMs(spec?.jitter) ?? 0;
  if (jitterMs < 0) throw invalidArgument('Invalid schedule spec: negative jitter');
  const startMs = timestampMs(spec?.startTime);
  const endMs = timestampMs(spec?.endTime);
  const skip = spec?.excludeStructuredCalendar ?? [];
  return {
    canonical: {
      structuredCalendar: calendars.map(canonicalCalendar),
      interval: intervals.map((i) => ({ interval: duration(i.interval), phase: duration(i.phase % i.interval) })),
      excludeStructuredCalendar: skip.map(canonicalCalendar),
      startTime: startMs !== undefined ? timestamp(startMs) : null,
      endTime: endMs !== undefined ? timestamp(endMs) : null,
      jitter: jitterMs > 0 ? duration(jitterMs) : null,
      timezoneName: zone,
    },
    calendars: calendars.map(compileCalendar),
    intervals: intervals.map((i) => ({ everyMs: i.interval, phaseMs: i.phase % i.interval })),
    skip: skip.map(compileCalendar),
    startMs,
    endMs,
    jitterMs,
    zone: zone || 'UTC',
  };
}

/** The first nominal time strictly after `afterMs` (and not before the start, not past the end). */
export function nextNominal(spec: CompiledSpec, afterMs: number): number | undefined {
  let after = spec.startMs !== undefined ? Math.max(afterMs, spec.startMs - 1) : afterMs;
  for (let skipped = 0; skipped < MAX_SKIPPED; skipped++) {
    let best: number | undefined;
    for (const c of spec.calendars) {
      const t = nextCalendarTime(c, after, spec.zone);
      if (t !== undefined && (best === undefined || t < best)) best = t;
    }
    for (const i of spec.intervals) {
      const t = i.phaseMs + (Math.floor((after - i.phaseMs) / i.everyMs) + 1) * i.everyMs;
      if (best === undefined || t < best) best = t;
    }
    if (best === undefined || (spec.endMs !== undefined && best > spec.endMs) || best >= END_OF_LAST_YEAR)
      return undefined;
    if (!spec.skip.some((c) => calendarMatches(c, best, spec.zone))) return best;
    after = best;
  }
  return undefined;
}

/** The next time after `afterMs` (nominal), with its jitter. */
export function nextTime(spec: CompiledSpec, afterMs: number, seed: string): ScheduleTime | undefined {
  const nominal = nextNominal(spec, afterMs);
  if (nominal === undefined) return undefined;
  if (spec.jitterMs === 0) return { nominal, actual: nominal };
  const following = nextNominal(spec, nominal);
  const limit = Math.min(spec.jitterMs, following !== undefined ? following - nominal : spec.jitterMs);
  const hash = createHash('sha256').update(`${seed}\u0000${nominal}`).digest();
  const fraction = hash.readUInt32BE(0) / 2 ** 32;
  return { nominal, actual: nominal + Math.floor(fraction * limit) };
}

/** Every time whose nominal time is in (afterMs, untilMs] (at most `max`). */
export function timesBetween(
  spec: CompiledSpec,
  afterMs: number,
  untilMs: number,
  seed: string,
  max: number,
): ScheduleTime[] {
  const out: ScheduleTime[] = [];
  let t = afterMs;
  while (out.length < max) {
    const next = nextTime(spec, t, seed);
    if (!next || next.nominal > untilMs) break;
    out.push(next);
    t = next.nominal;
  }
  return out;
}

// ---- calendars --------------------------------------------------------------------------------------------------

function canonicalCalendar(c: ICalendar): ICalendar {
  const out: ICalendar = { comment: c.comment ?? '' };
  for (const f of FIELDS) {
    const ranges = c[f.name] ?? [];
    (out[f.name] as IRange[]) = ranges.map((r) => {
      const start = r.start ?? 0;
      const end = r.end != null && r.end > start ? r.end : start;
      return { start, end, step: r.step && r.step > 0 ? r.step : 1 };
    });
  }
  return out;
}

function compileCalendar(c: ICalendar): CompiledCalendar {
  const values = (f: Field): number[] | undefined => {
    const ranges = c[f.name] ?? [];
    if (ranges.length === 0) return f.emptyIsZero ? [0] : undefined;
    const set = new Set<number>();
    for (const r of ranges) {
      const start = r.start ?? 0;
      const end = r.end != null && r.end > start ? r.end : start;
      const step = r.step && r.step > 0 ? r.step : 1;
      const max = f === DAY_OF_WEEK ? 7 : f.max; // 7 is Sunday too, as in cron
      if (start < f.min || end > max)
        throw invalidArgument(`Invalid schedule spec: ${f.name} ${start}-${end} is outside ${f.min}-${f.max}`);
      for (let v = start; v <= end; v += step) set.add(f === DAY_OF_WEEK ? v % 7 : v);
    }
    return [...set].sort((a, b) => a - b);
  };
  const all = (f: Field) => Array.from({ length: f.max - f.min + 1 }, (_, i) => f.min + i);
  return {
    seconds: values(SECOND)!,
    minutes: values(MINUTE)!,
    hours: values(HOUR)!,
    days: values(DAY_OF_MONTH) ?? all(DAY_OF_MONTH),
    months: values(MONTH) ?? all(MONTH),
    years: values(YEAR),
    weekdays: new Set(values(DAY_OF_WEEK) ?? all(DAY_OF_WEEK)),
  };
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallOf(ms: number, zone: string): Wall {
  const d = DateTime.fromMillis(ms, { zone });
  return { year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, second: d.second };
}

function calendarMatches(c: CompiledCalendar, ms: number, zone: string): boolean {
  if (ms % 1000 !== 0) return false;
  const w = wallOf(ms, zone);
  return (
    c.seconds.includes(w.second) &&
    c.minutes.includes(w.minute) &&
    c.hours.includes(w.hour) &&
    c.days.includes(w.day) &&
    c.months.includes(w.month) &&
    (c.years === undefined || c.years.includes(w.year)) &&
    c.weekdays.has(weekday(w.year, w.month, w.day))
  );
}

function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * The first whole second after `afterMs` whose wall-clock time in `zone` the calendar matches: a search field by
 * field (year, month, day, hour, minute, second) from the wall-clock time of the next second. A wall-clock time a
 * daylight-saving change repeats is taken at its first occurrence after `afterMs`; one the change skips, at the
 * instant after the gap.
 */
function nextCalendarTime(c: CompiledCalendar, afterMs: number, zone: string): number | undefined {
  const fromMs = Math.floor(afterMs / 1000) * 1000 + 1000;
  const at = nextFromWall(c, afterMs, wallOf(fromMs, zone), zone);
  if (at === undefined) return undefined;
  // The clocks went back between the two (daylight saving ended): the wall-clock times from here repeat, so look
  // again from this moment's wall-clock time in the later offset.
  const later = offsetMinutes(at, zone);
  if (later >= offsetMinutes(fromMs, zone)) return at;
  const repeated = nextFromWall(c, afterMs, wallOf(fromMs, fixedOffsetZone(later)), zone);
  return repeated !== undefined && repeated < at ? repeated : at;
}

function nextFromWall(c: CompiledCalendar, afterMs: number, fromWall: Wall, zone: string): number | undefined {
  let from = fromWall;
  for (let guard = 0; guard < 8; guard++) {
    const wall = firstMatchingWall(c, from);
    if (!wall) return undefined;
    const at = instantsOf(wall, zone).find((ms) => ms > afterMs);
    if (at !== undefined) return at;
    from = wallPlusSecond(wall); // each of its instants is before `afterMs`: the next matching wall time
  }
  return undefined;
}

/** luxon's name of a fixed offset (`UTC-5:00`, `UTC+5:30`). */
function fixedOffsetZone(minutes: number): string {
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, '0')}`;
}

function offsetMinutes(ms: number, zone: string): number {
  return DateTime.fromMillis(ms, { zone }).offset;
}

/** The instants a wall-clock time names in a zone, earliest first: one, two (a repeated hour), or the gap's end. */
function instantsOf(wall: Wall, zone: string): number[] {
  // luxon resolves an ambiguous time by its own guess of the offset: look an hour either side for the other.
  const guess = DateTime.fromObject(wall, { zone }).toMillis();
  const exact = [guess - 3_600_000, guess, guess + 3_600_000].filter((ms) => sameWall(wallOf(ms, zone), wall));
  return exact.length > 0 ? exact : [guess];
}

function sameWall(a: Wall, b: Wall): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

function wallPlusSecond(w: Wall): Wall {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) + 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

function firstMatchingWall(c: CompiledCalendar, from: Wall): Wall | undefined {
  const lastYear = Math.min(c.years ? c.years[c.years.length - 1] : LAST_YEAR, LAST_YEAR);
  for (let year = from.year; year <= lastYear; year++) {
    if (c.years && !c.years.includes(year)) continue;
    const yearTight = year === from.year;
    for (const month of c.months) {
      if (yearTight && month < from.month) continue;
      const monthTight = yearTight && month === from.month;
      const days = daysIn(year, month);
      for (const day of c.days) {
        if (day > days) break;
        if (monthTight && day < from.day) continue;
        if (!c.weekdays.has(weekday(year, month, day))) continue;
        const dayTight = monthTight && day === from.day;
        for (const hour of c.hours) {
          if (dayTight && hour < from.hour) continue;
          const hourTight = dayTight && hour === from.hour;
          for (const minute of c.minutes) {
            if (hourTight && minute < from.minute) continue;
            const minuteTight = hourTight && minute === from.minute;
            for (const second of c.seconds) {
              if (minuteTight && second < from.second) continue;
              return { year, month, day, hour, minute, second };
            }
          }
        }
      }
    }
  }
  return undefined;
}

// ---- cron strings ----------------------------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** One of a spec's cron strings, as Temporal's scheduler compiles it. */
export function parseCronString(raw: string): {
  calendar?: ICalendar;
  interval?: { interval: number; phase: number };
  zone?: string;
} {
  let text = raw.trim();
  let comment = '';
  const hash = text.indexOf('#');
  if (hash >= 0) {
    comment = text.slice(hash + 1).trim();
    text = text.slice(0, hash).trim();
  }
  let zone: string | undefined;
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    zone = tz[1];
    text = tz[2].trim();
  }
  const every = /^@every\s+(\d+)([smhd])(?:\/(\d+)([smhd]))?$/.exec(text);
  if (every) {
    const interval = Number(every[1]) * UNIT_MS[every[2]];
    const phase = every[3] ? Number(every[3]) * UNIT_MS[every[4]] : 0;
    if (interval <= 0)
      throw invalidArgument(`Invalid cron string ${JSON.stringify(raw)}: @every needs a positive interval`);
    return { interval: { interval, phase }, zone };
  }
  const fields = (CRON_DESCRIPTORS[text.toLowerCase()] ?? text).split(/\s+/);
  let order: Field[];
  if (fields.length === 5) order = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
  else if (fields.length === 6) order = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR];
  else if (fields.length === 7) order = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR];
  else throw invalidArgument(`Invalid cron string ${JSON.stringify(raw)}: it needs 5, 6 or 7 fields`);
  const calendar: ICalendar = { comment, second: [{ start: 0, end: 0, step: 1 }] };
  order.forEach((f, i) => {
    (calendar[f.name] as IRange[]) = parseCronField(fields[i], f, raw);
  });
  return { calendar, zone };
}

function parseCronField(text: string, f: Field, raw: string): IRange[] {
  const bad = () =>
    invalidArgument(`Invalid cron string ${JSON.stringify(raw)}: ${f.name} ${JSON.stringify(text)} is not valid`);
  const max = f === DAY_OF_WEEK ? 7 : f.max;
  const value = (s: string): number => {
    const named = f.names?.indexOf(s.toUpperCase().slice(0, 3)) ?? -1;
    if (named >= 0 && /^[a-z]+$/i.test(s)) return f === MONTH ? named + 1 : named;
    if (!/^\d+$/.test(s)) throw bad();
    const n = Number(s);
    if (n < f.min || n > max) throw bad();
    return n;
  };
  // "*" (or "?") in a cron string: every value — for the year, no range at all.
  if (text === '*' || text === '?') return f === YEAR ? [] : [{ start: f.min, end: f.max, step: 1 }];
  return text.split(',').map((part) => {
    const [span, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad();
    if (span === '*') return { start: f.min, end: f.max, step };
    const [a, b] = span.split('-');
    const start = value(a);
    const end = b !== undefined ? value(b) : stepText !== undefined ? f.max : start;
    if (end < start) throw bad();
    return { start, end, step };
  });
}
