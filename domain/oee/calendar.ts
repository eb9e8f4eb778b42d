/**
 * The site calendar: shifts by local wall-clock time in the site's time zone (a shift may cross midnight; a
 * change to or from summer time makes that day's shift an hour shorter or longer, as on the floor), on chosen
 * weekdays, each with its planned breaks. Shifts are the planned operation time (POT); breaks are planned
 * downtime. The default runs round the clock — batch processes do — with no breaks.
 */
import { DateTime } from 'luxon';

export interface ShiftDefinition {
  name: string;
  /** `HH:MM`, local time. An end at or before the start ends the next day (`00:00`–`00:00` is 24 hours). */
  start: string;
  end: string;
  /** ISO weekdays the shift starts on (1 Monday … 7 Sunday); every day if absent. */
  days?: number[];
  breaks?: { start: string; end: string }[];
}

export interface SiteCalendar {
  /** An IANA time zone, e.g. `Europe/Zurich`. */
  timeZone: string;
  shifts: ShiftDefinition[];
}

export const ROUND_THE_CLOCK: SiteCalendar = {
  timeZone: 'UTC',
  shifts: [{ name: 'day', start: '00:00', end: '00:00' }],
};

/** One occurrence of a shift: [start, end) in milliseconds, with its breaks. */
export interface ShiftPeriod {
  name: string;
  start: number;
  end: number;
  breaks: { start: number; end: number }[];
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minutesOf = (hhmm: string) => {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
};

/** What is wrong with a calendar, in words (empty: nothing). */
export function calendarProblems(c: SiteCalendar): string[] {
  const problems: string[] = [];
  if (!DateTime.now().setZone(c.timeZone).isValid) problems.push(`unknown time zone ${c.timeZone}`);
  if (c.shifts.length === 0) problems.push('a calendar needs at least one shift');
  for (const s of c.shifts) {
    for (const t of [s.start, s.end, ...(s.breaks ?? []).flatMap((b) => [b.start, b.end])])
      if (!HHMM.test(t)) problems.push(`shift ${s.name}: ${t} is not a time of day (HH:MM)`);
    for (const d of s.days ?? [])
      if (!Number.isInteger(d) || d < 1 || d > 7) problems.push(`shift ${s.name}: ${d} is not an ISO weekday (1–7)`);
  }
  if (problems.length > 0) return problems;
  // Within a shift, breaks inside it; shifts not overlapping one another (looked at over two weeks).
  const from = DateTime.fromISO('2026-01-05T00:00', { zone: c.timeZone }).toMillis();
  const periods = shiftsBetween(c, from, from + 14 * 86_400_000).sort((a, b) => a.start - b.start);
  for (const p of periods)
    for (const b of p.breaks)
      if (b.start < p.start || b.end > p.end || !(b.end > b.start))
        problems.push(`shift ${p.name}: a break lies outside the shift or is empty`);
  for (let i = 1; i < periods.length; i++)
    if (periods[i].start < periods[i - 1].end)
      problems.push(`shifts ${periods[i - 1].name} and ${periods[i].name} overlap`);
  return [...new Set(problems)];
}

/** The shift occurrences that overlap [from, to), oldest first (not clipped to the window). */
export function shiftsBetween(c: SiteCalendar, from: number, to: number): ShiftPeriod[] {
  const out: ShiftPeriod[] = [];
  // From the day before (a night shift started then may reach into the window) to the window's last day.
  let day = DateTime.fromMillis(from, { zone: c.timeZone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromMillis(to, { zone: c.timeZone }).startOf('day');
  for (; day <= last; day = day.plus({ days: 1 })) {
    for (const s of c.shifts) {
      if (s.days && !s.days.includes(day.weekday)) continue;
      const at = (hhmm: string, after?: number) => {
        // Wall-clock time on that day (not minutes after midnight: a summer-time change day has 23 or 25 hours).
        const m = minutesOf(hhmm);
        let t = day.set({ hour: Math.floor(m / 60), minute: m % 60 });
        if (after !== undefined && t.toMillis() <= after) t = t.plus({ days: 1 });
        return t.toMillis();
      };
      const start = at(s.start);
      const end = at(s.end, start);
      if (!(end > from && start < to)) continue;
      const breaks = (s.breaks ?? []).map((b) => {
        const bStart = at(b.start, start - 1);
        return { start: bStart, end: at(b.end, bStart) };
      });
      out.push({ name: s.name, start, end, breaks });
    }
  }
  return out;
}
