/**
 * OEE's one function: a hand-computed shift to four decimals, each row of the condition → ISO 22400 mapping,
 * the calendar (night shifts, summer time), and a property test — random, overlapping, out-of-order sources
 * always close into intervals that cover the window exactly, the time elements sum exactly, and availability
 * stays within [0, 1].
 */
import fc from 'fast-check';
import { calendarProblems, shiftsBetween, type SiteCalendar } from '../../domain/oee/calendar';
import { closeIntervals, type ConditionInterval } from '../../domain/oee/intervals';
import { DEFAULT_MAPPING, siteMapping, UNIT_CONDITIONS, type UnitCondition } from '../../domain/oee/mapping';
import { classifyTime, oeeFigures, type OeeBatch } from '../../domain/oee/oee';

const MIN = 60_000;
const at = (hhmm: string) => Date.parse(`2026-03-02T${hhmm}:00Z`);
const TWO_MINUTES = 2 * MIN;

test('golden: an 8-hour shift with a break, a breakdown, cleaning, a long wait, 20 small stops and one rejected batch', () => {
  const calendar: SiteCalendar = {
    timeZone: 'UTC',
    shifts: [{ name: 'early', start: '06:00', end: '14:00', breaks: [{ start: '10:00', end: '10:30' }] }],
  };
  const conditions: ConditionInterval[] = [];
  const add = (from: string, to: string, condition: UnitCondition) =>
    conditions.push({ start: at(from), end: at(to), condition });
  /** A run with small stops of 1 min every 8 min from its 10th minute: running between them. */
  const run = (from: string, to: string, stops: number, condition: UnitCondition) => {
    let t = at(from);
    for (let i = 0; i < stops; i++) {
      const stop = at(from) + (10 + i * 8) * MIN;
      conditions.push({ start: t, end: stop, condition: 'running' });
      conditions.push({ start: stop, end: stop + MIN, condition });
      t = stop + MIN;
    }
    conditions.push({ start: t, end: at(to), condition: 'running' });
  };
  run('06:20', '08:00', 10, 'waiting-operator'); // 10 small stops waiting for an operator
  add('08:00', '08:45', 'held-fault'); // 45 min breakdown
  run('08:45', '10:00', 0, 'held');
  add('10:00', '10:30', 'waiting-operator'); // the break: the unit stands
  run('10:30', '12:00', 10, 'held'); // 10 small stops held by a command
  add('12:00', '12:40', 'cleaning');
  add('12:40', '13:10', 'waiting-operator'); // 30 min: a delay, not a small stop
  add('13:10', '14:00', 'running');
  // A source that overlaps: the controller reports the breakdown's first minutes as running too (the fault wins).
  add('08:00', '08:05', 'running');
  const from = at('06:00');
  const to = at('14:00');
  const pieces = classifyTime({
    conditions: [...conditions].reverse(), // out of order
    shifts: shiftsBetween(calendar, from, to),
    from: from - TWO_MINUTES,
    to: to + TWO_MINUTES,
    mapping: DEFAULT_MAPPING,
    microStopMs: TWO_MINUTES,
  });
  const batches: OeeBatch[] = [
    { number: 'A', produced: 1000, unit: 'L', plannedRuntime: 100 * MIN, disposition: 'released' },
    { number: 'B', produced: 1000, unit: 'L', plannedRuntime: 100 * MIN, disposition: 'released' },
    { number: 'C', produced: 500, unit: 'L', plannedRuntime: 50 * MIN, disposition: 'rejected' },
  ];
  const f = oeeFigures({ pieces, from, to, batches, microStopMs: TWO_MINUTES });
  const minutes = Object.fromEntries(Object.entries(f.time).map(([k, v]) => [k, v / MIN]));
  expect(minutes).toEqual({
    calendar: 480,
    notScheduled: 0,
    POT: 480,
    PDOT: 30,
    PBT: 450,
    APT: 315, // 100 + 75 + 90 + 50, the 20 small stops in it
    AUST: 40,
    ADET: 75, // 45 breakdown + 30 wait
    ADOT: 20, // 06:00–06:20, no batch
  });
  expect(f.microStops).toEqual({ count: 20, duration: 20 * MIN });
  expect(f.stops.map((s) => [s.condition, (s.end - s.start) / MIN])).toEqual([
    ['held-fault', 45],
    ['waiting-operator', 30],
  ]);
  expect(f.quantities).toEqual([{ unit: 'L', PQ: 2500, GQ: 2000, SQ: 500, pending: 0 }]);
  expect(f.PRU! / 1000).toBe(6); // 250 min for 2,500 L: 6 s per litre
  expect(f.availability!.toFixed(4)).toBe('0.7000'); // 315 / 450
  expect(f.effectiveness!.toFixed(4)).toBe('0.7937'); // 250 / 315
  expect(f.qualityRatio!.toFixed(4)).toBe('0.8000'); // 2000 / 2500
  expect(f.oee!.toFixed(4)).toBe('0.4444');
});

describe('the mapping, row by row (a unit in one condition for a whole shift)', () => {
  const from = at('06:00');
  const to = at('14:00');
  const shifts = shiftsBetween({ timeZone: 'UTC', shifts: [{ name: 's', start: '06:00', end: '14:00' }] }, from, to);
  const element = (condition: UnitCondition, mapping = DEFAULT_MAPPING) => {
    const pieces = classifyTime({
      conditions: [{ start: from, end: to, condition }],
      shifts,
      from,
      to,
      mapping,
      microStopMs: TWO_MINUTES,
    });
    const f = oeeFigures({ pieces, from, to, batches: [], microStopMs: TWO_MINUTES });
    return (['APT', 'AUST', 'ADET', 'ADOT', 'PDOT'] as const).filter((e) => f.time[e] === to - from);
  };
  test.each([
    ['running', 'APT'],
    ['held-fault', 'ADET'],
    ['held', 'ADET'],
    ['waiting-operator', 'ADET'],
    ['idle', 'ADOT'],
    ['cleaning', 'AUST'],
    ['maintenance', 'PDOT'],
  ] as const)('%s counts as %s', (condition, expected) => {
    expect(element(condition)).toEqual([expected]);
  });
  test('a site may count cleaning as planned downtime; running is production time and nothing else is', () => {
    expect(element('cleaning', siteMapping({ cleaning: 'PDOT' }))).toEqual(['PDOT']);
    expect(() => siteMapping({ running: 'ADET' })).toThrow(/running is production time/);
    expect(() => siteMapping({ idle: 'APT' })).toThrow(/only running/);
    expect(() => siteMapping({ resting: 'ADOT' })).toThrow(/no condition resting/);
  });
  test('where sources overlap the strongest holds: maintenance over a batch, a fault hold over a run, a run over waiting', () => {
    const closed = closeIntervals(
      [
        { start: 0, end: 100, condition: 'waiting-operator' },
        { start: 10, end: 60, condition: 'running' },
        { start: 20, end: 30, condition: 'held-fault' },
        { start: 50, end: 80, condition: 'maintenance' },
      ],
      0,
      120,
    );
    expect(closed.map((c) => `${c.start}-${c.end} ${c.condition}`)).toEqual([
      '0-10 waiting-operator',
      '10-20 running',
      '20-30 held-fault',
      '30-50 running',
      '50-80 maintenance',
      '80-100 waiting-operator',
      '100-120 idle',
    ]);
  });
  test('a stop is named by the condition it spent most of its time in', () => {
    const pieces = classifyTime({
      conditions: [
        { start: at('06:00'), end: at('06:10'), condition: 'running' },
        { start: at('06:10'), end: at('06:11'), condition: 'waiting-operator' }, // a moment's wait, then the fault
        { start: at('06:11'), end: at('06:20'), condition: 'held-fault' },
        { start: at('06:00'), end: at('14:00'), condition: 'waiting-operator' },
        { start: at('06:20'), end: at('14:00'), condition: 'running' },
      ],
      shifts,
      from,
      to,
      mapping: DEFAULT_MAPPING,
      microStopMs: TWO_MINUTES,
    });
    const f = oeeFigures({ pieces, from, to, batches: [], microStopMs: TWO_MINUTES });
    expect(f.stops).toEqual([{ start: at('06:10'), end: at('06:20'), condition: 'held-fault' }]);
  });
});

describe('the site calendar', () => {
  test('a night shift crosses midnight; breaks after midnight belong to it; weekdays chosen', () => {
    const c: SiteCalendar = {
      timeZone: 'UTC',
      shifts: [
        {
          name: 'night',
          start: '22:00',
          end: '06:00',
          days: [1, 2, 3, 4, 5],
          breaks: [{ start: '02:00', end: '02:30' }],
        },
      ],
    };
    expect(calendarProblems(c)).toEqual([]);
    // Monday 2 March 2026 to Wednesday 4 March: Sunday's night is not worked, Monday's and Tuesday's are.
    const shifts = shiftsBetween(c, at('00:00'), at('00:00') + 2 * 86_400_000);
    expect(shifts.map((s) => [new Date(s.start).toISOString(), new Date(s.end).toISOString()])).toEqual([
      ['2026-03-02T22:00:00.000Z', '2026-03-03T06:00:00.000Z'],
      ['2026-03-03T22:00:00.000Z', '2026-03-04T06:00:00.000Z'],
    ]);
    expect(new Date(shifts[0].breaks[0].start).toISOString()).toBe('2026-03-03T02:00:00.000Z');
  });
  test('by wall-clock time in the site’s zone: the shift of the day summer time starts is an hour shorter', () => {
    const c: SiteCalendar = { timeZone: 'Europe/Zurich', shifts: [{ name: 'night', start: '22:00', end: '06:00' }] };
    // Summer time starts in Zurich on Sunday 29 March 2026 at 02:00.
    const shifts = shiftsBetween(c, Date.parse('2026-03-28T12:00Z'), Date.parse('2026-03-29T12:00Z'));
    expect(shifts.map((s) => (s.end - s.start) / 3_600_000)).toEqual([7]);
  });
  test('problems in words', () => {
    expect(
      calendarProblems({
        timeZone: 'Mars/Olympus',
        shifts: [{ name: 'a', start: '25:00', end: '06:00' }],
      }),
    ).toEqual(
      expect.arrayContaining(['unknown time zone Mars/Olympus', 'shift a: 25:00 is not a time of day (HH:MM)']),
    );
    expect(
      calendarProblems({
        timeZone: 'UTC',
        shifts: [
          { name: 'early', start: '06:00', end: '14:00', breaks: [{ start: '15:00', end: '15:30' }] },
          { name: 'late', start: '13:00', end: '22:00' },
        ],
      }),
    ).toEqual(['shift early: a break lies outside the shift or is empty', 'shifts early and late overlap']);
  });
});

test('property: random, overlapping, out-of-order sources — closed, exact sums, availability within [0, 1]', () => {
  const interval = fc.record({
    start: fc.integer({ min: -1_000, max: 200_000 }),
    length: fc.integer({ min: -100, max: 60_000 }),
    condition: fc.constantFrom(...UNIT_CONDITIONS),
  });
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  fc.assert(
    fc.property(
      fc.array(interval, { maxLength: 60 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 0, max: 150_000 }),
      fc.option(fc.tuple(hhmm, hhmm), { nil: undefined }),
      fc.integer({ min: 0, max: 10_000 }),
      (raw, from, span, shift, microStopMs) => {
        const base = at('00:00');
        const conditions = raw.map((r) => ({
          start: base + r.start * 10,
          end: base + (r.start + r.length) * 10,
          condition: r.condition,
        }));
        const f0 = base + from * 10;
        const t0 = f0 + span * 10;
        const closed = closeIntervals(conditions, f0, t0);
        // Closed: contiguous from the window's start to its end, never overlapping.
        if (t0 > f0) {
          expect(closed[0].start).toBe(f0);
          expect(closed.at(-1)!.end).toBe(t0);
          closed.forEach((c, i) => {
            expect(c.end).toBeGreaterThan(c.start);
            if (i > 0) expect(c.start).toBe(closed[i - 1].end);
          });
        } else expect(closed).toEqual([]);
        const calendar: SiteCalendar = shift
          ? { timeZone: 'UTC', shifts: [{ name: 's', start: shift[0], end: shift[1] }] }
          : { timeZone: 'UTC', shifts: [{ name: 's', start: '00:00', end: '00:00' }] };
        const pieces = classifyTime({
          conditions,
          shifts: shiftsBetween(calendar, f0, t0),
          from: f0,
          to: t0,
          mapping: DEFAULT_MAPPING,
          microStopMs,
        });
        const f = oeeFigures({ pieces, from: f0, to: t0, batches: [], microStopMs });
        const t = f.time;
        expect(t.notScheduled + t.POT).toBe(Math.max(0, t0 - f0));
        expect(t.POT - t.PDOT).toBe(t.PBT);
        expect(t.APT + t.AUST + t.ADET + t.ADOT).toBe(t.PBT);
        for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
        if (f.availability !== null) {
          expect(f.availability).toBeGreaterThanOrEqual(0);
          expect(f.availability).toBeLessThanOrEqual(1);
        }
      },
    ),
    { numRuns: 500 },
  );
});
