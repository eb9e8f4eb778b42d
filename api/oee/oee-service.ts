/**
 * OEE of a unit over a window, from what Ampoule already records: the unit's state history (its phases' states
 * as the controller reported them, its status and cleanliness), the batches that held it (each unit procedure's
 * steps, the batch's holds, a hold after a failed step being a breakdown) and QA's disposition of what they
 * produced. The sources become condition intervals; the one OEE function (`domain/oee/oee.ts`) does the rest.
 */
import type { Knex } from 'knex';
import type { OeeConfig } from '../../config/oee-config';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { StateHistoryEntry } from '../../db/stores/equipment-store';
import { shiftsBetween } from '../../domain/oee/calendar';
import type { ConditionInterval } from '../../domain/oee/intervals';
import { classifyTime, oeeFigures, stopsOf, type OeeBatch, type OeeFigures } from '../../domain/oee/oee';
import { convert } from '../../domain/units';
import { Problem, notFound } from '../http/problems';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext, UserActor } from '../../db/change-context';
import type { StopReasonRecord } from '../../db/stores/oee-store';
import type { RecordEntry } from '../../domain/batch/record-blocks';
import { lossPareto, stopReasonProblem, type QualifiedStop } from '../../domain/oee/losses';

export type OeePeriods = 'shift' | 'day' | 'batch' | 'whole';

export interface OeeReport {
  unit: string;
  from: Date;
  to: Date;
  by: OeePeriods;
  microStopMs: number;
  /** One period per shift, day or batch (the window itself for `whole`), each labelled. */
  periods: (OeeFigures & { label: string })[];
  total: OeeFigures;
  /** The planned runtime of the batches QA rejected (quality loss, as time). */
  rejectedRuntime: number;
}

const DAY = 86_400_000;

export class OeeService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly config: OeeConfig,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** The period's losses as a Pareto, and its stops with the reasons given (unqualified ones without). */
  async losses(q: { unit: string; from: Date; to: Date }) {
    const r = await this.report({ ...q, by: 'whole' });
    const reasons = await this.stores.oee.latestReasons(
      this.db,
      r.unit,
      new Date(r.total.from - 366 * DAY),
      new Date(r.total.to),
    );
    const stops: QualifiedStop[] = r.total.stops.map((st) => {
      const given = reasons.get(st.start);
      return given ? { ...st, reason: given.reason } : st;
    });
    return { report: r, stops, lines: lossPareto(r.total, stops, r.rejectedRuntime) };
  }

  /**
   * Gives a stop of a unit (one that needs a reason) its reason from the loss tree; audited. The stop is looked up
   * first, then the reason written in a transaction of its own (PGlite has one connection).
   */
  async qualify(
    who: Omit<ChangeContext, 'trx'> & { actor: UserActor },
    q: { unit: string; start: Date; reason: string; comment?: string },
  ): Promise<StopReasonRecord> {
    const problem = stopReasonProblem(q.reason);
    if (problem) throw new Problem('unprocessable', problem);
    const unit = await this.stores.equipment.byCode(this.db, q.unit);
    if (!unit) throw notFound(`equipment unit ${q.unit}`);
    const threshold = this.config.unitMicroStopMs[unit.code] ?? this.config.microStopMs;
    // Looked at over a window that holds the stop's whole length (at least its threshold, an hour at least).
    const r = await this.report({
      unit: unit.code,
      from: q.start,
      to: new Date(q.start.getTime() + Math.max(threshold, 3_600_000)),
      by: 'whole',
    });
    const stop = r.total.stops.find((st) => st.start === q.start.getTime());
    if (!stop)
      throw new Problem(
        'not-found',
        `unit ${unit.code} has no stop starting at ${q.start.toISOString()} that needs a reason (one of at least ${threshold / 60_000} min)`,
      );
    return this.db.transaction(async (trx) => {
      const ctx = { ...who, trx };
      const before = (
        await this.stores.oee.latestReasons(trx, unit.code, new Date(stop.start), new Date(stop.start + 1))
      ).get(stop.start);
      const record = await this.stores.oee.addReason(trx, {
        unitCode: unit.code,
        stopStart: new Date(stop.start),
        stopEnd: new Date(stop.end),
        reason: q.reason,
        comment: q.comment ?? null,
        userId: ctx.actor.userId,
        userName: ctx.actor.fullName,
      });
      await this.audit.record(ctx, {
        action: 'qualify-stop',
        entityType: 'oee-stop',
        entityId: `${unit.code}@${q.start.toISOString()}`,
        ...(before ? { oldValue: { reason: before.reason, comment: before.comment } } : {}),
        newValue: {
          reason: q.reason,
          comment: q.comment ?? null,
          end: new Date(stop.end).toISOString(),
          condition: stop.condition,
        },
      });
      return record;
    });
  }

  async report(q: { unit: string; from: Date; to: Date; by: OeePeriods; now?: Date }): Promise<OeeReport> {
    const unit = await this.stores.equipment.byCode(this.db, q.unit);
    if (!unit) throw notFound(`equipment unit ${q.unit}`);
    const from = q.from.getTime();
    const to = Math.min(q.to.getTime(), (q.now ?? new Date()).getTime());
    if (!(to > from))
      throw new Problem('unprocessable', 'the window has not begun yet: OEE is of time that has passed');
    const microStopMs = this.config.unitMicroStopMs[unit.code] ?? this.config.microStopMs;
    // Wider by the threshold: a stop at the window's edge is judged on its whole length.
    const wideFrom = from - microStopMs;
    const wideTo = to + microStopMs;
    const history = await this.stores.equipment.historyForWindow(
      this.db,
      unit.code,
      new Date(wideFrom),
      new Date(wideTo),
    );
    const batches = await this.stores.batches.onUnitBetween(this.db, unit.code, new Date(wideFrom), new Date(wideTo));
    // What is still under way ends now, not at the window's end: a hold of 30 s so far is not yet a long stop.
    const until = Math.min(wideTo, (q.now ?? new Date()).getTime());
    const conditions: ConditionInterval[] = [];
    const commandedHolds: Window[] = [];
    const produced: (OeeBatch & { at: number; start: number; end: number })[] = [];
    const records = await this.stores.batches.ebrOfBatches(
      this.db,
      batches.map((b) => b.id),
    );
    for (const b of batches) {
      const entries = records.get(b.id)!;
      conditions.push(...batchConditions(b, unit.code, entries, until));
      commandedHolds.push(...holdCommands(entries, b.endedAt?.getTime() ?? until));
      const output = entries.find((e) => e.kind === 'output-lot');
      if (output) {
        const data = output.data as { quantity: number; unit: string };
        produced.push({
          number: b.number,
          produced: data.quantity,
          unit: data.unit,
          plannedRuntime: plannedRuntime(b, unit.code),
          disposition: b.status === 'released' ? 'released' : b.status === 'rejected' ? 'rejected' : 'pending',
          at: Date.parse(output.occurredAt),
          start: b.startedAt!.getTime(),
          end: (b.endedAt ?? new Date(to)).getTime(),
        });
      }
    }
    conditions.push(...unitConditions(history, until, commandedHolds));
    const shifts = shiftsBetween(this.config.calendar, wideFrom, wideTo);
    const pieces = classifyTime({
      conditions,
      shifts,
      from: wideFrom,
      to: wideTo,
      mapping: this.config.mapping,
      microStopMs,
    });
    // Classified once; each period sums the pieces that overlap it (found by binary search: pieces are in order).
    const stops = stopsOf(pieces, microStopMs);
    const overlapping = (pFrom: number, pTo: number) => {
      let lo = 0;
      let hi = pieces.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (pieces[mid].end <= pFrom) lo = mid + 1;
        else hi = mid;
      }
      let end = lo;
      while (end < pieces.length && pieces[end].start < pTo) end++;
      return pieces.slice(lo, end);
    };
    const figures = (
      pFrom: number,
      pTo: number,
      label: string,
      batchesIn = produced.filter((p) => p.at >= pFrom && p.at < pTo),
    ) => ({
      label,
      ...oeeFigures({ pieces: overlapping(pFrom, pTo), stops, from: pFrom, to: pTo, batches: batchesIn, microStopMs }),
    });
    const total = figures(from, to, 'whole');
    let periods: OeeReport['periods'];
    if (q.by === 'shift')
      periods = shiftsBetween(this.config.calendar, from, to).map((s) =>
        figures(Math.max(s.start, from), Math.min(s.end, to), `${s.name} ${new Date(s.start).toISOString()}`),
      );
    else if (q.by === 'day') {
      periods = [];
      for (let d = Math.floor(from / DAY) * DAY; d < to; d += DAY)
        periods.push(figures(Math.max(d, from), Math.min(d + DAY, to), new Date(d).toISOString().slice(0, 10)));
    } else if (q.by === 'batch')
      periods = produced
        .filter((p) => p.end > from && p.start < to)
        .map((p) => figures(Math.max(p.start, from), Math.min(p.end, to), p.number, [p]));
    else periods = [total];
    const rejectedRuntime = produced
      .filter((p) => p.disposition === 'rejected' && p.at >= from && p.at < to)
      .reduce((n, p) => n + p.plannedRuntime, 0);
    return {
      unit: unit.code,
      from: new Date(from),
      to: new Date(to),
      by: q.by,
      microStopMs,
      periods,
      total,
      rejectedRuntime,
    };
  }
}

interface Window {
  start: number;
  end: number;
}

/** How far a controller's clock may lag Ampoule's and a phase held by a Hold still count as commanded. */
const CLOCK_SKEW_MS = 250;

/** The phase states of a phase held (by its controller, or by a command passed to it) until it runs again. */
const PHASE_HELD = new Set(['holding', 'held', 'restarting']);

/**
 * The unit's own sources: its phases running; a phase held — by its controller on a fault (a breakdown), or by a
 * batch's Hold passed to it (held) when it began to hold after a Hold command (up to 250 ms before it: the controller’s
 * clock may lag) and before the Restart; its status (maintenance); its cleanliness (dirty: to be cleaned).
 */
function* unitConditions(
  history: readonly StateHistoryEntry[],
  end: number,
  commandedHolds: readonly Window[],
): Generator<ConditionInterval> {
  const open = new Map<string, { since: number; state: string }>();
  const close = function* (key: string, until: number): Generator<ConditionInterval> {
    const o = open.get(key);
    if (!o) return;
    const condition =
      key === ':status'
        ? o.state === 'maintenance'
          ? 'maintenance'
          : undefined
        : key === ':cleanliness'
          ? o.state === 'dirty'
            ? 'cleaning'
            : undefined
          : o.state === 'running'
            ? 'running'
            : PHASE_HELD.has(o.state)
              ? commandedHolds.some((w) => o.since >= w.start - CLOCK_SKEW_MS && o.since <= w.end)
                ? 'held'
                : 'held-fault'
              : undefined;
    if (condition) yield { start: o.since, end: until, condition };
  };
  for (const h of history) {
    const key = h.phase ?? (h.state === 'clean' || h.state === 'dirty' ? ':cleanliness' : ':status');
    const at = h.sourceTimestamp.getTime();
    // Holding, held and restarting are one hold, from its first state to the phase's next.
    if (PHASE_HELD.has(h.state) && PHASE_HELD.has(open.get(key)?.state ?? '')) continue;
    yield* close(key, at);
    open.set(key, { since: at, state: h.state });
  }
  for (const key of open.keys()) yield* close(key, end);
}

type Entry = Omit<RecordEntry<unknown>, 'userName' | 'signature'>;

/**
 * A batch's use of the unit: from the first step of its unit procedures on the unit to their last step's end,
 * waiting for people where nothing runs; its holds (a breakdown when the hold followed a failed step).
 */
function batchConditions(
  b: BatchRecord,
  unitCode: string,
  entries: readonly Entry[],
  end: number,
): ConditionInterval[] {
  const procedures = new Set(
    Object.entries(b.units)
      .filter(([, u]) => u.code === unitCode)
      .map(([up]) => up),
  );
  const steps = new Set(b.plan.steps.filter((s) => procedures.has(s.unitProcedureId)).map((s) => s.id));
  const mine = entries.filter((e) => e.stepId !== null && steps.has(e.stepId));
  const out: ConditionInterval[] = [];
  const batchEnd = b.endedAt?.getTime() ?? end;
  if (mine.length === 0) return out;
  const first = Date.parse(mine[0].occurredAt);
  const finished = [...steps].every((id) => mine.some((e) => e.stepId === id && e.kind === 'step-completed'));
  const last = finished ? mine.reduce((n, e) => Math.max(n, Date.parse(e.occurredAt)), first) : batchEnd;
  out.push({ start: first, end: last, condition: 'waiting-operator' });
  // Holds, while the batch uses this unit (a hold in another unit procedure's time is not this unit's); a hold
  // after a step failed since the last change of status is a breakdown.
  let held: { since: number; fault: boolean } | undefined;
  let failed = false;
  const hold = (until: number) => {
    if (!held) return;
    const start = Math.max(held.since, first);
    const stop = Math.min(until, last);
    if (stop > start) out.push({ start, end: stop, condition: held.fault ? 'held-fault' : 'held' });
  };
  for (const e of entries) {
    if (e.kind === 'step-failed') failed = true;
    const status = (e.data as { status?: string } | null)?.status;
    if ((e.kind !== 'batch-command' && e.kind !== 'batch-ended') || !status) continue;
    const at = Date.parse(e.occurredAt);
    hold(at);
    held = status === 'held' ? { since: at, fault: failed } : undefined;
    failed = false;
  }
  hold(batchEnd);
  return out;
}

/** A batch's Hold commands, each until the command after it (restart, stop, abort) or the batch's end. */
function holdCommands(entries: readonly Entry[], end: number): Window[] {
  const out: Window[] = [];
  let since: number | undefined;
  for (const e of entries) {
    const command = e.kind === 'batch-command' ? (e.data as { command?: string } | null)?.command : undefined;
    if (!command) continue;
    const at = Date.parse(e.occurredAt);
    if (since !== undefined) out.push({ start: since, end: at });
    since = command === 'hold' ? at : undefined;
  }
  if (since !== undefined) out.push({ start: since, end });
  return out;
}

/** The recipe's planned runtime of the batch's unit procedures on the unit, in milliseconds (0 where it says none). */
function plannedRuntime(b: BatchRecord, unitCode: string): number {
  let ms = 0;
  for (const stage of b.plan.stages)
    for (const up of stage.unitProcedures)
      if (b.units[up.id]?.code === unitCode && up.plannedDuration)
        ms += (convert(up.plannedDuration.value, up.plannedDuration.unit, 's') ?? 0) * 1000;
  return ms;
}
