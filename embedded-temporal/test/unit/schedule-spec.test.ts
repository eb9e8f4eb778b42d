/** A schedule's times (engine/schedule-spec.ts): calendars, cron strings, intervals, skips, bounds, zones, jitter. */
import Long from 'long';
import { compileSpec, nextNominal, nextTime, parseCronString, timesBetween } from '../../engine/schedule-spec';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const secs = (s: number) => ({ seconds: Long.fromNumber(s) });
const times = (spec: Parameters<typeof compileSpec>[0], from: string, count: number) => {
  const compiled = compileSpec(spec);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < count; i++) {
    const next = nextNominal(compiled, t);
    if (next === undefined) break;
    out.push(iso(next)!);
    t = next;
  }
  return out;
};

test('a structured calendar: unset second/minute/hour are 0, the rest every value; day of month AND day of week', () => {
  // Every Monday the 1st at 08:30 — cron would take the 1st OR Mondays.
  const spec = {
    structuredCalendar: [
      { hour: [{ start: 8 }], minute: [{ start: 30 }], dayOfMonth: [{ start: 1 }], dayOfWeek: [{ start: 1 }] },
    ],
  };
  expect(times(spec, '2026-01-01T00:00:00Z', 3)).toEqual([
    '2026-06-01T08:30:00.000Z',
    '2027-02-01T08:30:00.000Z',
    '2027-03-01T08:30:00.000Z',
  ]);
  // Strictly after: a time equal to `after` is not taken again.
  expect(times(spec, '2026-06-01T08:30:00Z', 1)).toEqual(['2027-02-01T08:30:00.000Z']);
});

test('cron strings compile to calendars (5, 6 and 7 fields, names, steps, shorthands, comment) and @every to intervals', () => {
  expect(times({ cronString: ['*/20 9-10 * * MON-FRI'] }, '2026-12-04T09:50:00Z', 4)).toEqual([
    '2026-12-04T10:00:00.000Z',
    '2026-12-04T10:20:00.000Z',
    '2026-12-04T10:40:00.000Z',
    '2026-12-07T09:00:00.000Z', // Friday, then Monday
  ]);
  expect(times({ cronString: ['30 15 0 1 JAN * 2027 # new year'] }, '2026-01-01T00:00:00Z', 2)).toEqual([
    '2027-01-01T00:15:30.000Z',
  ]);
  expect(times({ cronString: ['0 0 29 FEB * 2028-2040'] }, '2026-01-01T00:00:00Z', 3)).toEqual([
    '2028-02-29T00:00:00.000Z',
    '2032-02-29T00:00:00.000Z',
    '2036-02-29T00:00:00.000Z',
  ]);
  expect(times({ cronString: ['@daily'] }, '2026-03-01T12:00:00Z', 1)).toEqual(['2026-03-02T00:00:00.000Z']);
  expect(parseCronString('@every 90m/15m').interval).toEqual({ interval: 5_400_000, phase: 900_000 });
  expect(parseCronString('0 12 * * * # noon').calendar?.comment).toBe('noon');
  for (const bad of [
    '* * *',
    '61 * * * *',
    '0 25 * * *',
    '0 0 32 * *',
    '0 0 * 13 *',
    '0 0 * * 8',
    '0 0 * * XYZ',
    '*/0 * * * *',
  ])
    expect(() => compileSpec({ cronString: [bad] })).toThrow(/Invalid cron string/);
});

test('describe shows the compiled form: cron strings as structured calendars and intervals, the zone copied', () => {
  const compiled = compileSpec({ cronString: ['CRON_TZ=Europe/Zurich 0 6 * * *', '@every 1h'] });
  expect(compiled.canonical.timezoneName).toBe('Europe/Zurich');
  expect(compiled.canonical.structuredCalendar).toHaveLength(1);
  expect(compiled.canonical.structuredCalendar![0].hour).toEqual([{ start: 6, end: 6, step: 1 }]);
  expect(compiled.canonical.interval).toHaveLength(1);
});

test('intervals count from the epoch with their phase; several specs take the earliest; skips and bounds hold', () => {
  expect(times({ interval: [{ interval: secs(3600), phase: secs(900) }] }, '2026-05-01T10:20:00Z', 2)).toEqual([
    '2026-05-01T11:15:00.000Z',
    '2026-05-01T12:15:00.000Z',
  ]);
  const both = { interval: [{ interval: secs(7200) }], cronString: ['30 * * * *'] };
  expect(times(both, '2026-05-01T10:00:00Z', 4)).toEqual([
    '2026-05-01T10:30:00.000Z',
    '2026-05-01T11:30:00.000Z',
    '2026-05-01T12:00:00.000Z',
    '2026-05-01T12:30:00.000Z',
  ]);
  // Hourly, but not at noon; from 10:00 (inclusive) to 14:00 (inclusive).
  const bounded = {
    cronString: ['0 * * * *'],
    excludeStructuredCalendar: [{ hour: [{ start: 12 }] }],
    startTime: { seconds: Long.fromNumber(at('2026-05-01T10:00:00Z') / 1000) },
    endTime: { seconds: Long.fromNumber(at('2026-05-01T14:00:00Z') / 1000) },
  };
  expect(times(bounded, '2026-01-01T00:00:00Z', 10)).toEqual([
    '2026-05-01T10:00:00.000Z',
    '2026-05-01T11:00:00.000Z',
    '2026-05-01T13:00:00.000Z',
    '2026-05-01T14:00:00.000Z',
  ]);
  expect(() => compileSpec({ interval: [{ interval: secs(0) }] })).toThrow(/interval/);
  expect(() => compileSpec({ structuredCalendar: [{ hour: [{ start: 24 }] }] })).toThrow(/hour/);
  expect(() => compileSpec({ timezoneName: 'Mars/Olympus', cronString: ['@daily'] })).toThrow(/time zone/);
});

test('a time zone: wall-clock times across daylight saving', () => {
  // 02:30 in Zurich does not exist on 29 March 2026: it is taken after the gap, at 03:30 local (01:30Z).
  const spec = { cronString: ['30 2 * * *'], timezoneName: 'Europe/Zurich' };
  expect(times(spec, '2026-03-27T12:00:00Z', 3)).toEqual([
    '2026-03-28T01:30:00.000Z', // 02:30 CET
    '2026-03-29T01:30:00.000Z', // the gap: 03:30 CEST
    '2026-03-30T00:30:00.000Z', // 02:30 CEST
  ]);
});

test('a repeated wall-clock hour (daylight saving ends): each time at its first occurrence after the last', () => {
  // New York, 1 November 2026: 01:00–01:59 EDT, then 01:00–01:59 again in EST.
  const spec = { cronString: ['*/30 * * * *'], timezoneName: 'America/New_York' };
  expect(times(spec, '2026-11-01T04:40:00Z', 6)).toEqual([
    '2026-11-01T05:00:00.000Z', // 01:00 EDT
    '2026-11-01T05:30:00.000Z', // 01:30 EDT
    '2026-11-01T06:00:00.000Z', // 01:00 EST
    '2026-11-01T06:30:00.000Z', // 01:30 EST
    '2026-11-01T07:00:00.000Z', // 02:00 EST
    '2026-11-01T07:30:00.000Z',
  ]);
  // From inside the second 01:xx hour, the next is in it too — not lost.
  expect(times(spec, '2026-11-01T06:20:00Z', 1)).toEqual(['2026-11-01T06:30:00.000Z']);
});

test('a spec whose skips cover every time, or whose calendar never comes, has no next time (and stops looking)', () => {
  const started = Date.now();
  const everyMinuteSkipped = {
    interval: [{ interval: secs(60) }],
    excludeStructuredCalendar: [
      { second: [{ start: 0, end: 59 }], minute: [{ start: 0, end: 59 }], hour: [{ start: 0, end: 23 }] },
    ],
  };
  expect(nextNominal(compileSpec(everyMinuteSkipped), at('2026-01-01T00:00:00Z'))).toBeUndefined();
  expect(nextNominal(compileSpec({ cronString: ['0 0 30 2 *'] }), at('2026-01-01T00:00:00Z'))).toBeUndefined();
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('jitter: below the jitter and the gap to the next time, the same on every call', () => {
  const spec = compileSpec({ cronString: ['0 * * * *'], jitter: secs(600) });
  const a = timesBetween(spec, at('2026-05-01T00:00:00Z'), at('2026-05-02T00:00:00Z'), 'sched-1', 100);
  const b = timesBetween(spec, at('2026-05-01T00:00:00Z'), at('2026-05-02T00:00:00Z'), 'sched-1', 100);
  expect(a).toHaveLength(24);
  expect(a).toEqual(b);
  for (const t of a) expect(t.actual - t.nominal).toBeGreaterThanOrEqual(0);
  for (const t of a) expect(t.actual - t.nominal).toBeLessThan(600_000);
  expect(new Set(a.map((t) => t.actual - t.nominal)).size).toBeGreaterThan(10);
  // A jitter longer than the gap is cut to the gap.
  const tight = compileSpec({ interval: [{ interval: secs(60) }], jitter: secs(3600) });
  for (const t of timesBetween(tight, 0, 3_600_000, 'x', 100)) expect(t.actual - t.nominal).toBeLessThan(60_000);
  expect(nextTime(compileSpec({ cronString: ['0 0 1 1 * 2020'] }), at('2026-01-01T00:00:00Z'), 'x')).toBeUndefined();
});
