/** Scales' SQL: their range and qualification, their calibrations and daily checks, and which dispensing holds each. */
import type { Knex } from 'knex';
import type { CheckPoint, ScaleReading } from '../../domain/weighing';

export interface ScaleRecord {
  code: string;
  unit: string;
  capacity: number;
  minimumWeight: number;
  readability: number;
  checkPoints: CheckPoint[];
  calibrationDue: string | null;
  /** The dispensing that holds the scale: batch number and step, by whom, since when. */
  heldFor: { batch: string; step: string; by: string | null; since: Date } | null;
  rowVersion: number;
}

export interface CalibrationRecord {
  id: string;
  unitCode: string;
  calibratedOn: string;
  dueOn: string;
  certificate: string;
  signatureId: string;
  recordedBy: string;
  recordedAt: Date;
}

export interface CheckRecord {
  id: string;
  unitCode: string;
  checkDate: string;
  nominal: number;
  low: number;
  high: number;
  reading: ScaleReading;
  passed: boolean;
  signatureId: string;
  checkedBy: string;
  checkedAt: Date;
}

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Dates as the database says them: node-postgres would make a DATE a local midnight, a day off east of UTC. */
const dateText = (d: Date | string | null): string | null => (d === null ? null : String(d).slice(0, 10));
/** Every column of a table, its DATE columns as text. */
const withDates = (db: Knex | Knex.Transaction, table: string, dates: string[]) => [
  `${table}.*`,
  ...dates.map((c) => db.raw(`${table}.${c}::text as ${c}`)),
];

function toScale(r: Row): ScaleRecord {
  return {
    code: r.unit_code,
    unit: r.unit,
    capacity: Number(r.capacity),
    minimumWeight: Number(r.minimum_weight),
    readability: Number(r.readability),
    checkPoints: r.check_points,
    calibrationDue: dateText(r.calibration_due),
    heldFor: r.held_for_batch
      ? { batch: r.held_for_batch, step: r.held_for_step, by: r.held_by, since: r.held_since }
      : null,
    rowVersion: r.row_version,
  };
}

function toCheck(r: Row): CheckRecord {
  return {
    id: r.id,
    unitCode: r.unit_code,
    checkDate: dateText(r.check_date)!,
    nominal: Number(r.nominal),
    low: Number(r.low),
    high: Number(r.high),
    reading: r.reading,
    passed: r.passed,
    signatureId: r.signature_id,
    checkedBy: r.checked_by,
    checkedAt: r.checked_at,
  };
}

export class ScaleStore {
  async create(
    trx: Knex.Transaction,
    s: Pick<ScaleRecord, 'code' | 'unit' | 'capacity' | 'minimumWeight' | 'readability' | 'checkPoints'>,
    createdBy: string | null,
  ): Promise<ScaleRecord> {
    const [row] = await trx('scales')
      .insert({
        unit_code: s.code,
        unit: s.unit,
        capacity: s.capacity,
        minimum_weight: s.minimumWeight,
        readability: s.readability,
        check_points: JSON.stringify(s.checkPoints),
        created_by: createdBy,
      })
      .returning('*');
    return toScale(row);
  }

  async list(db: Knex | Knex.Transaction): Promise<ScaleRecord[]> {
    return (
      await db('scales')
        .select(withDates(db, 'scales', ['calibration_due']))
        .orderBy('unit_code')
    ).map(toScale);
  }

  async byCode(db: Knex | Knex.Transaction, code: string, forUpdate = false): Promise<ScaleRecord | undefined> {
    const q = db('scales')
      .select(withDates(db, 'scales', ['calibration_due']))
      .where({ unit_code: code })
      .first();
    const row = await (forUpdate ? q.forUpdate() : q);
    return row ? toScale(row) : undefined;
  }

  /** The scale held for a batch's step, if any (a unique index: one at most). */
  async heldFor(db: Knex | Knex.Transaction, batch: string, step: string): Promise<ScaleRecord | undefined> {
    const row = await db('scales')
      .select(withDates(db, 'scales', ['calibration_due']))
      .where({ held_for_batch: batch, held_for_step: step })
      .first();
    return row ? toScale(row) : undefined;
  }

  /** When the scale's latest calibration was recorded, if ever. */
  async lastCalibratedAt(db: Knex | Knex.Transaction, code: string): Promise<Date | null> {
    const row = await db('scale_calibrations').where({ unit_code: code }).max('recorded_at as at').first();
    return row?.at ? new Date(row.at as string | Date) : null;
  }

  /** The latest failed daily check since the scale's latest calibration (on any day), if any. */
  async failedSinceCalibration(db: Knex | Knex.Transaction, code: string): Promise<CheckRecord | undefined> {
    const row = await db('scale_checks')
      .select(withDates(db, 'scale_checks', ['check_date']))
      .where({ unit_code: code, passed: false })
      .andWhere(
        'checked_at',
        '>',
        db.raw(`coalesce((select max(recorded_at) from scale_calibrations where unit_code = ?), '-infinity')`, [code]),
      )
      .orderBy('checked_at', 'desc')
      .first();
    return row ? toCheck(row) : undefined;
  }

  async hold(trx: Knex.Transaction, code: string, holder: { batch: string; step: string; by: string } | null) {
    await trx('scales')
      .where({ unit_code: code })
      .update(
        holder
          ? { held_for_batch: holder.batch, held_for_step: holder.step, held_by: holder.by, held_since: trx.fn.now() }
          : { held_for_batch: null, held_for_step: null, held_by: null, held_since: null },
      );
  }

  async addCalibration(
    trx: Knex.Transaction,
    c: Omit<CalibrationRecord, 'id' | 'recordedAt'>,
  ): Promise<CalibrationRecord> {
    const [row] = await trx('scale_calibrations')
      .insert({
        unit_code: c.unitCode,
        calibrated_on: c.calibratedOn,
        due_on: c.dueOn,
        certificate: c.certificate,
        signature_id: c.signatureId,
        recorded_by: c.recordedBy,
      })
      .returning(['id', 'recorded_at']);
    // The latest calibration (by the day it was done) says when the scale's runs out.
    await trx.raw(
      `update scales set calibration_due = (
         select due_on from scale_calibrations where unit_code = ? order by calibrated_on desc, recorded_at desc limit 1)
       where unit_code = ?`,
      [c.unitCode, c.unitCode],
    );
    return { ...c, id: row.id, recordedAt: row.recorded_at };
  }

  async addCheck(trx: Knex.Transaction, c: Omit<CheckRecord, 'id' | 'checkedAt' | 'checkDate'>): Promise<CheckRecord> {
    const [{ id }] = await trx('scale_checks')
      .insert({
        unit_code: c.unitCode,
        check_date: trx.raw(`(now() at time zone 'UTC')::date`), // the day as Inventory.today counts it
        nominal: c.nominal,
        low: c.low,
        high: c.high,
        reading: JSON.stringify(c.reading),
        passed: c.passed,
        signature_id: c.signatureId,
        checked_by: c.checkedBy,
      })
      .returning('id');
    return toCheck(
      await trx('scale_checks')
        .select(withDates(trx, 'scale_checks', ['check_date']))
        .where({ id })
        .first(),
    );
  }

  async calibration(db: Knex | Knex.Transaction, code: string, id: string): Promise<CalibrationRecord | undefined> {
    const r = await db('scale_calibrations')
      .select(withDates(db, 'scale_calibrations', ['calibrated_on', 'due_on']))
      .where({ unit_code: code, id })
      .first();
    return r
      ? {
          id: r.id,
          unitCode: r.unit_code,
          calibratedOn: r.calibrated_on,
          dueOn: r.due_on,
          certificate: r.certificate,
          signatureId: r.signature_id,
          recordedBy: r.recorded_by,
          recordedAt: r.recorded_at,
        }
      : undefined;
  }

  async check(db: Knex | Knex.Transaction, code: string, id: string): Promise<CheckRecord | undefined> {
    const r = await db('scale_checks')
      .select(withDates(db, 'scale_checks', ['check_date']))
      .where({ unit_code: code, id })
      .first();
    return r ? toCheck(r) : undefined;
  }

  /** A scale's daily checks of one day, oldest first. */
  async checksOn(db: Knex | Knex.Transaction, code: string, day: string): Promise<CheckRecord[]> {
    return (
      await db('scale_checks')
        .select(withDates(db, 'scale_checks', ['check_date']))
        .where({ unit_code: code, check_date: day })
        .orderBy('checked_at')
    ).map(toCheck);
  }
}
