/**
 * OEE by ISO 22400-2, in one pure function that every view, export and page uses (two screens computing it apart
 * disagree at the edges: SysOEE #35). In two steps:
 *
 * 1. `classifyTime` turns what the unit did (closed condition intervals) and the site calendar into pieces of
 *    time, each counted as one ISO time element. A stop between two runs shorter than the micro-stop threshold
 *    is a small stop: production time (APT) with a performance loss, needing no reason; a longer one is delay
 *    (ADET) and needs a reason. It is judged on the stop's whole length, so classify a window wider than the
 *    periods reported by the threshold (the API does), and every period agrees with every other.
 * 2. `oeeFigures` sums a period's pieces (clipped to it) and the batches produced in it: the time elements, which
 *    sum exactly to the period's planned busy time (integer milliseconds), and the KPIs — availability APT/PBT,
 *    effectiveness PRU×PQ/APT (the recipes' planned runtime for what was produced, over the production time),
 *    quality ratio GQ/PQ over the batches QA has disposed of (pending ones are reported, not guessed), and OEE.
 */
import type { ShiftPeriod } from './calendar';
import { clip, closeIntervals, type ConditionInterval } from './intervals';
import type { OeeMapping, TimeElement, UnitCondition } from './mapping';

/** A piece of time counted as one element; `micro`: a small stop counted as production time. */
export interface TimePiece {
  start: number;
  end: number;
  condition: UnitCondition;
  element: TimeElement | 'not-scheduled';
  micro?: true;
  /** In a planned break (planned downtime unless the unit ran through it). */
  inBreak?: true;
}

/** Conditions that stop a running batch without a failure: short ones are small stops. */
const STOP_CONDITIONS: ReadonlySet<UnitCondition> = new Set(['waiting-operator', 'held']);

export function classifyTime(o: {
  conditions: readonly ConditionInterval[];
  shifts: readonly ShiftPeriod[];
  from: number;
  to: number;
  mapping: OeeMapping;
  microStopMs: number;
}): TimePiece[] {
  const closed = closeIntervals(o.conditions, o.from, o.to);
  // Small stops: a run of stop conditions with a run on either side, shorter than the threshold.
  const micro = new Set<number>();
  for (let i = 0; i < closed.length;) {
    if (!STOP_CONDITIONS.has(closed[i].condition)) {
      i++;
      continue;
    }
    let j = i;
    while (j < closed.length && STOP_CONDITIONS.has(closed[j].condition)) j++;
    const bounded = closed[i - 1]?.condition === 'running' && closed[j]?.condition === 'running';
    if (bounded && closed[j - 1].end - closed[i].start < o.microStopMs) for (let k = i; k < j; k++) micro.add(k);
    i = j;
  }
  // Against the calendar: outside shifts not scheduled; in a break planned downtime unless running.
  const pieces: TimePiece[] = [];
  const shifts = clip(o.shifts, o.from, o.to).sort((a, b) => a.start - b.start);
  closed.forEach((c, index) => {
    let at = c.start;
    const push = (end: number, inShift: boolean, inBreak: boolean) => {
      if (!(end > at)) return;
      const isMicro = inShift && micro.has(index);
      const running = c.condition === 'running' || isMicro;
      const element: TimePiece['element'] = !inShift
        ? 'not-scheduled'
        : running
          ? 'APT'
          : inBreak
            ? 'PDOT'
            : o.mapping[c.condition];
      pieces.push({
        start: at,
        end,
        condition: c.condition,
        element,
        ...(isMicro ? { micro: true as const } : {}),
        ...(inShift && inBreak ? { inBreak: true as const } : {}),
      });
      at = end;
    };
    for (const s of shifts) {
      if (s.end <= at) continue;
      if (s.start >= c.end) break;
      push(Math.min(s.start, c.end), false, false);
      for (const b of clip(s.breaks, Math.max(s.start, at), Math.min(s.end, c.end)).sort((x, y) => x.start - y.start)) {
        push(b.start, true, false);
        push(b.end, true, true);
      }
      push(Math.min(s.end, c.end), true, false);
    }
    push(c.end, false, false);
  });
  return pieces;
}

/** A batch produced in the period (counted where its output was produced). */
export interface OeeBatch {
  number: string;
  produced: number;
  unit: string;
  /** The recipe's planned runtime for what was produced (PRU × PQ), in milliseconds. */
  plannedRuntime: number;
  disposition: 'released' | 'rejected' | 'pending';
}

/** A stop long enough to need a reason. */
export interface Stop {
  start: number;
  end: number;
  condition: UnitCondition;
}

export interface OeeFigures {
  from: number;
  to: number;
  /** Milliseconds. `PBT = POT − PDOT = APT + AUST + ADET + ADOT` exactly; `calendar = notScheduled + POT`. */
  time: {
    calendar: number;
    notScheduled: number;
    POT: number;
    PDOT: number;
    PBT: number;
    APT: number;
    AUST: number;
    ADET: number;
    ADOT: number;
  };
  microStops: { count: number; duration: number };
  /** Delay (ADET) at or over the micro-stop threshold, each needing a reason. */
  stops: Stop[];
  /** Planned runtime of what was produced (Σ PRU × PQ), ms; and PRU per unit of quantity where one unit is used. */
  plannedRuntime: number;
  PRU: number | null;
  /** Quantities by unit of measure; GQ released, SQ rejected, pending not yet disposed of by QA. */
  quantities: { unit: string; PQ: number; GQ: number; SQ: number; pending: number }[];
  batches: { produced: number; released: number; rejected: number; pending: number };
  availability: number | null;
  effectiveness: number | null;
  qualityRatio: number | null;
  oee: number | null;
}

/**
 * The stops of classified time: runs of delay (ADET), on their whole length, at or over the threshold. A stop is
 * named by the condition it spent most of its time in (a breakdown that began with a moment's wait is a breakdown).
 */
export function stopsOf(pieces: readonly TimePiece[], microStopMs: number): Stop[] {
  const stops: (Stop & { time: Map<UnitCondition, number> })[] = [];
  for (const p of pieces) {
    if (p.element !== 'ADET') continue;
    let last = stops.at(-1);
    if (last && last.end === p.start) last.end = p.end;
    else stops.push((last = { start: p.start, end: p.end, condition: p.condition, time: new Map() }));
    last.time.set(p.condition, (last.time.get(p.condition) ?? 0) + p.end - p.start);
  }
  return stops
    .filter((s) => s.end - s.start >= microStopMs)
    .map(({ time, ...s }) => {
      const [condition] = [...time].reduce((most, c) => (c[1] > most[1] ? c : most));
      return { ...s, condition };
    });
}

/**
 * A period's figures. `pieces` may be only those overlapping the period when `stops` (of all the classified time,
 * `stopsOf`) is given: many periods of one classification are then summed without each scanning all of it.
 */
export function oeeFigures(o: {
  pieces: readonly TimePiece[];
  from: number;
  to: number;
  batches: readonly OeeBatch[];
  microStopMs: number;
  stops?: readonly Stop[];
}): OeeFigures {
  const t = { notScheduled: 0, PDOT: 0, APT: 0, AUST: 0, ADET: 0, ADOT: 0 };
  const pieces = clip(o.pieces, o.from, o.to);
  const microRuns = new Set<number>();
  for (const p of pieces) {
    const ms = p.end - p.start;
    if (p.element === 'not-scheduled') t.notScheduled += ms;
    else t[p.element] += ms;
  }
  // Small stops counted once per run; delays merged into stops (a run of ADET pieces).
  let microDuration = 0;
  for (const p of pieces.filter((x) => x.micro)) {
    microDuration += p.end - p.start;
    if (!pieces.some((q) => q.micro && q.end === p.start)) microRuns.add(p.start);
  }
  // Stops judged on their whole length (of all the classified time, not clipped to the period), listed where they
  // overlap it.
  const stops = o.stops ?? stopsOf(o.pieces, o.microStopMs);
  const calendar = o.to - o.from;
  const POT = calendar - t.notScheduled;
  const PBT = POT - t.PDOT;
  const plannedRuntime = o.batches.reduce((n, b) => n + b.plannedRuntime, 0);
  const byUnit = new Map<string, { unit: string; PQ: number; GQ: number; SQ: number; pending: number }>();
  for (const b of o.batches) {
    const q = byUnit.get(b.unit) ?? { unit: b.unit, PQ: 0, GQ: 0, SQ: 0, pending: 0 };
    q.PQ += b.produced;
    if (b.disposition === 'released') q.GQ += b.produced;
    else if (b.disposition === 'rejected') q.SQ += b.produced;
    else q.pending += b.produced;
    byUnit.set(b.unit, q);
  }
  const quantities = [...byUnit.values()];
  // GQ / PQ over what QA has disposed of; with several units of measure, weighted by planned runtime.
  const disposed = o.batches.filter((b) => b.disposition !== 'pending');
  const weight = (b: OeeBatch) => (quantities.length === 1 ? b.produced : b.plannedRuntime);
  const disposedWeight = disposed.reduce((n, b) => n + weight(b), 0);
  const qualityRatio =
    disposedWeight > 0
      ? disposed.filter((b) => b.disposition === 'released').reduce((n, b) => n + weight(b), 0) / disposedWeight
      : null;
  const availability = PBT > 0 ? t.APT / PBT : null;
  // Without every batch's planned runtime (a recipe that gives no plannedDuration) there is no rate to hold APT to.
  const effectiveness = t.APT > 0 && o.batches.every((b) => b.plannedRuntime > 0) ? plannedRuntime / t.APT : null;
  return {
    from: o.from,
    to: o.to,
    time: {
      calendar,
      notScheduled: t.notScheduled,
      POT,
      PDOT: t.PDOT,
      PBT,
      APT: t.APT,
      AUST: t.AUST,
      ADET: t.ADET,
      ADOT: t.ADOT,
    },
    microStops: { count: microRuns.size, duration: microDuration },
    stops: stops.filter((s) => s.end > o.from && s.start < o.to),
    plannedRuntime,
    PRU: quantities.length === 1 && quantities[0].PQ > 0 ? plannedRuntime / quantities[0].PQ : null,
    quantities,
    batches: {
      produced: o.batches.length,
      released: o.batches.filter((b) => b.disposition === 'released').length,
      rejected: o.batches.filter((b) => b.disposition === 'rejected').length,
      pending: o.batches.filter((b) => b.disposition === 'pending').length,
    },
    availability,
    effectiveness,
    qualityRatio,
    oee:
      availability !== null && effectiveness !== null && qualityRatio !== null
        ? availability * effectiveness * qualityRatio
        : null,
  };
}
