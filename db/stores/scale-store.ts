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

const dateText = (d: Date | string | null): string | null =>
  d === null ? null : typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10);

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
    return (await db('scales').orderBy('unit_code')).map(toScale);
  }

  async byCode(db: Knex | Knex.Transaction, code: string, forUpdate = false): Promise<ScaleRecord | undefined> {
    const q = db('scales').where({ unit_code: code }).first();
    const row = await (forUpdate ? q.forUpdate() : q);
    return row ? toScale(row) : undefined;
  }

  /** The scale held for a batch's step, if any. */
  async heldFor(db: Knex | Knex.Transaction, batch: string, step: string): Promise<ScaleRecord | undefined> {
    const row = await db('scales').where({ held_for_batch: batch, held_for_step: step }).first();
    return row ? toScale(row) : undefined;
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
      .returning('*');
    // The latest calibration (by the day it was done) says when the scale's runs out.
    await trx.raw(
      `update scales set calibration_due = (
         select due_on from scale_calibrations where unit_code = ? order by calibrated_on desc, recorded_at desc limit 1)
       where unit_code = ?`,
      [c.unitCode, c.unitCode],
    );
    return {
      id: row.id,
      unitCode: row.unit_code,
      calibratedOn: dateText(row.calibrated_on)!,
      dueOn: dateText(row.due_on)!,
      certificate: row.certificate,
      signatureId: row.signature_id,
      recordedBy: row.recorded_by,
      recordedAt: row.recorded_at,
    };
  }

  async addCheck(trx: Knex.Transaction, c: Omit<CheckRecord, 'id' | 'checkedAt' | 'checkDate'>): Promise<CheckRecord> {
    const [row] = await trx('scale_checks')
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
      .returning('*');
    return toCheck(row);
  }

  /** A scale's daily checks of one day, oldest first. */
  async checksOn(db: Knex | Knex.Transaction, code: string, day: string): Promise<CheckRecord[]> {
    return (await db('scale_checks').where({ unit_code: code, check_date: day }).orderBy('checked_at')).map(toCheck);
  }
}
