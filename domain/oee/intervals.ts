/**
 * Closed interval sets. The sources that say what a unit did — the batch workflow's phases, holds and commands, the
 * controller's states, the unit's status — overlap, arrive out of order, and leave gaps. Closing them gives one
 * sequence of intervals that never overlap and cover the window exactly: where sources overlap the strongest
 * condition holds (`UNIT_CONDITIONS` order), where none speaks the unit is idle. A sweep over the sources' ends,
 * O(n log n): a year of a unit's history closes in milliseconds.
 */
import { UNIT_CONDITIONS, type UnitCondition } from './mapping';

/** [start, end) in milliseconds since the epoch. */
export interface ConditionInterval {
  start: number;
  end: number;
  condition: UnitCondition;
}

const RANK = new Map(UNIT_CONDITIONS.map((c, i) => [c, i]));

/** Sorted, non-overlapping, contiguous intervals covering [from, to) exactly (empty if to ≤ from). */
export function closeIntervals(raw: readonly ConditionInterval[], from: number, to: number): ConditionInterval[] {
  if (!(to > from)) return [];
  // +1 where an interval starts, −1 where it ends, clipped to the window; invalid intervals say nothing.
  const edges: { at: number; rank: number; delta: 1 | -1 }[] = [];
  for (const r of raw) {
    const start = Math.max(r.start, from);
    const end = Math.min(r.end, to);
    if (!(end > start) || !RANK.has(r.condition)) continue;
    const rank = RANK.get(r.condition)!;
    edges.push({ at: start, rank, delta: 1 }, { at: end, rank, delta: -1 });
  }
  edges.sort((a, b) => a.at - b.at);
  const open = new Array<number>(UNIT_CONDITIONS.length).fill(0);
  const strongest = (): UnitCondition => {
    const i = open.findIndex((n) => n > 0);
    return i < 0 ? 'idle' : UNIT_CONDITIONS[i];
  };
  const out: ConditionInterval[] = [];
  const emit = (start: number, end: number, condition: UnitCondition) => {
    if (!(end > start)) return;
    const last = out.at(-1);
    if (last && last.condition === condition && last.end === start) last.end = end;
    else out.push({ start, end, condition });
  };
  let at = from;
  for (let i = 0; i < edges.length;) {
    const t = edges[i].at;
    emit(at, t, strongest());
    for (; i < edges.length && edges[i].at === t; i++) open[edges[i].rank] += edges[i].delta;
    at = t;
  }
  emit(at, to, strongest());
  return out;
}

/** The parts of closed intervals inside [from, to). */
export function clip<T extends { start: number; end: number }>(intervals: readonly T[], from: number, to: number): T[] {
  const out: T[] = [];
  for (const i of intervals) {
    const start = Math.max(i.start, from);
    const end = Math.min(i.end, to);
    if (end > start) out.push({ ...i, start, end });
  }
  return out;
}
