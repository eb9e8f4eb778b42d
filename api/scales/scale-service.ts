/**
 * Scales: each scale unit's weighing range and daily-check test weights (configured by administrators), its
 * qualification — calibrations recorded and signed by QA, daily checks whose test weights are read from the scale
 * itself and signed by whoever checked — and its terminal, reached over OPC UA like every unit (live reading,
 * tare, zero). A scale is usable on a day when its calibration has not run out and every test weight of its
 * daily check passed that day, none failing after its last calibration.
 */
import type { Knex } from 'knex';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { EquipmentUnitRecord } from '../../db/stores/equipment-store';
import type { CalibrationRecord, CheckRecord, ScaleRecord } from '../../db/stores/scale-store';
import { isUuid } from '../../domain/identity';
import type { UnitEndpoint } from '../../domain/equipment';
import {
  judgeCheck,
  qualificationProblem,
  readingRefusal,
  type CheckPoint,
  type ScaleQualification,
  type ScaleReading,
} from '../../domain/weighing';
import type { ScaleTerminal } from '../../equipment/driver/scale-terminal';
import { TerminalRefusal } from '../../equipment/driver/scale-terminal';
import { EquipmentUnavailable, PhaseFailure } from '../../equipment/errors';
import { AuditTrail } from '../audit/audit-trail';
import { convert } from '../../domain/units';
import { Problem, notFound } from '../http/problems';
import { Inventory } from '../lots/inventory';
import type { SignatureManifestation, SignatureService, VerifiedSigner } from '../signatures/signature-service';

export interface ScaleConfig {
  unit: 'kg' | 'g' | 'mg';
  capacity: number;
  minimumWeight: number;
  readability: number;
  checkPoints: CheckPoint[];
}

/** A scale as the API shows it: its range, its qualification today, and the dispensing that holds it. */
export interface ScaleView extends ScaleConfig {
  code: string;
  name: string;
  calibrationDue: string | null;
  checksToday: { nominal: number; net: number; passed: boolean; checkedAt: string }[];
  /** Whether it may be used today, and if not, why. */
  usable: boolean;
  problem: string | null;
  heldFor: { batch: string; step: string; since: string } | null;
  rowVersion: number;
}

export class ScaleService {
  private readonly audit: AuditTrail;
  private readonly inventory: Inventory;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly signatures: SignatureService,
    /** The way to the scales' terminals: absent in a process without OPC UA (its scale reads answer 503). */
    private readonly terminal?: ScaleTerminal,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.inventory = new Inventory(stores);
  }

  async list(): Promise<ScaleView[]> {
    const today = await this.inventory.today(this.db);
    return Promise.all((await this.stores.scales.list(this.db)).map((s) => this.view(this.db, s, today)));
  }

  async get(code: string, db: Knex | Knex.Transaction = this.db): Promise<ScaleView> {
    const scale = await this.stores.scales.byCode(db, code);
    if (!scale) throw notFound(`scale ${code}`);
    return this.view(db, scale, await this.inventory.today(db));
  }

  /** The scale's qualification as the dispensing rules take it (`domain/weighing.ts`), on `today`. */
  async qualification(db: Knex | Knex.Transaction, scale: ScaleRecord, today: string): Promise<ScaleQualification> {
    const since = await this.stores.scales.lastCalibratedAt(db, scale.code);
    const checks = await this.stores.scales.checksOn(db, scale.code, today);
    return {
      code: scale.code,
      capacity: scale.capacity,
      minimumWeight: scale.minimumWeight,
      readability: scale.readability,
      unit: scale.unit,
      calibrationDue: scale.calibrationDue,
      checkPoints: scale.checkPoints,
      // A calibration (an adjustment of the scale) makes the checks made before it count no more.
      passedToday: checks.filter((c) => c.passed && (!since || c.checkedAt > since)).map((c) => c.nominal),
    };
  }

  /**
   * Why the scale cannot be used today, or null: its calibration, its daily check — and a failed check, on any day,
   * bars it until a calibration is recorded after it.
   */
  async problemOf(db: Knex | Knex.Transaction, scale: ScaleRecord, today: string): Promise<string | null> {
    const failed = await this.stores.scales.failedSinceCalibration(db, scale.code);
    if (failed)
      return `scale ${scale.code} failed its daily check with ${failed.nominal} ${scale.unit} (read ${failed.reading.net}) at ${failed.checkedAt.toISOString()}: calibrate it before use`;
    return qualificationProblem(await this.qualification(db, scale, today), today) ?? null;
  }

  /**
   * Registers a scale unit's range and daily-check test weights, or changes them — not while a dispensing holds it.
   * Where its terminal answers, the unit configured must be the one it weighs in.
   */
  async configure(ctx: ChangeContext, code: string, c: ScaleConfig): Promise<ScaleView> {
    const unit = await this.unitOf(ctx.trx, code);
    if (!unit.binding.scale)
      throw new Problem('unprocessable', `unit ${code} has no scale in its binding: bind its terminal first`);
    if (c.minimumWeight >= c.capacity)
      throw new Problem('unprocessable', 'the minimum weight must be below the capacity');
    for (const p of c.checkPoints)
      if (p.nominal <= 0 || p.nominal > c.capacity || p.tolerance <= 0)
        throw new Problem(
          'unprocessable',
          `a test weight of ${p.nominal} ± ${p.tolerance} ${c.unit} is not within the scale's range`,
        );
    const before = await this.stores.scales.byCode(ctx.trx, code, true);
    if (before?.heldFor)
      throw new Problem(
        'scale-unusable',
        `scale ${code} is held for batch ${before.heldFor.batch}, step ${before.heldFor.step}: change it once that dispensing is done`,
      );
    const terminalUnit = this.terminal
      ? await this.terminal.read(unit).then(
          (r) => r.unit,
          () => undefined, // a terminal not installed yet, or down: configured all the same
        )
      : undefined;
    if (terminalUnit && terminalUnit !== c.unit)
      throw new Problem('unprocessable', `scale ${code}'s terminal weighs in ${terminalUnit}, not ${c.unit}`);
    if (!before) await this.stores.scales.create(ctx.trx, { code, ...c }, ctx.actor.userId);
    else
      await ctx
        .trx('scales')
        .where({ unit_code: code })
        .update({
          unit: c.unit,
          capacity: c.capacity,
          minimum_weight: c.minimumWeight,
          readability: c.readability,
          check_points: JSON.stringify(c.checkPoints),
        });
    await this.audit.record(ctx, {
      action: before ? 'update' : 'create',
      entityType: 'scale',
      entityId: code,
      oldValue: before ? configOf(before) : undefined,
      newValue: c,
    });
    return this.get(code, ctx.trx);
  }

  /** Records a calibration, signed by QA: the scale may be used until `dueOn`. */
  async calibrate(
    ctx: ChangeContext,
    code: string,
    c: { calibratedOn: string; dueOn: string; certificate: string },
    signer: VerifiedSigner,
  ): Promise<{ calibration: CalibrationRecord; scale: ScaleView; signature: SignatureManifestation }> {
    const scale = await this.scaleOf(ctx.trx, code, true);
    if (c.dueOn <= c.calibratedOn)
      throw new Problem('unprocessable', 'a calibration runs out after the day it was done');
    const today = await this.inventory.today(ctx.trx);
    if (c.calibratedOn > today)
      throw new Problem('unprocessable', 'a calibration cannot be recorded before it is done');
    const signature = await this.signatures.record(ctx, signer, {
      entityType: 'scale',
      entityId: code,
      content: { scale: code, calibration: c },
    });
    const rec = await this.stores.scales.addCalibration(ctx.trx, {
      unitCode: scale.code,
      ...c,
      signatureId: signature.id,
      recordedBy: signer.userId,
    });
    await this.audit.record(ctx, {
      action: 'calibrate',
      entityType: 'scale',
      entityId: code,
      oldValue: { calibrationDue: scale.calibrationDue },
      newValue: { calibrationId: rec.id, ...c },
    });
    return { calibration: rec, scale: await this.get(code, ctx.trx), signature };
  }

  /**
   * A daily check of one test weight: the weight on the scale is read from it (stable, Good, now) before anything is
   * locked, judged against the test weight's limits, then recorded and signed — passed or failed — in a transaction
   * of its own. Not while a dispensing holds the scale (its container is on the platform).
   */
  async check(
    who: Omit<ChangeContext, 'trx'>,
    code: string,
    nominal: number,
    signer: VerifiedSigner,
  ): Promise<{ check: CheckRecord; scale: ScaleView; signature: SignatureManifestation }> {
    const configured = await this.scaleOf(this.db, code);
    const point = configured.checkPoints.find((p) => p.nominal === nominal);
    if (!point)
      throw new Problem(
        'unprocessable',
        `scale ${code}'s daily check weighs ${configured.checkPoints.map((p) => `${p.nominal} ${configured.unit}`).join(', ')}, not ${nominal}`,
      );
    const reading = await this.takeReading(this.db, code);
    return this.db.transaction(async (trx) => {
      const ctx: ChangeContext = { ...who, trx };
      const scale = await this.scaleOf(trx, code, true);
      if (scale.heldFor)
        throw new Problem(
          'scale-unusable',
          `scale ${code} is held for batch ${scale.heldFor.batch}, step ${scale.heldFor.step}: check it once that dispensing is done`,
        );
      const net = this.inScaleUnit(reading, scale);
      const verdict = judgeCheck(point, net);
      const signature = await this.signatures.record(ctx, signer, {
        entityType: 'scale',
        entityId: code,
        content: { scale: code, check: { nominal, ...verdict, reading } },
      });
      const check = await this.stores.scales.addCheck(trx, {
        unitCode: code,
        nominal,
        low: verdict.low,
        high: verdict.high,
        reading,
        passed: verdict.passed,
        signatureId: signature.id,
        checkedBy: signer.userId,
      });
      await this.audit.record(ctx, {
        action: 'daily-check',
        entityType: 'scale',
        entityId: code,
        newValue: { checkId: check.id, nominal, net, ...verdict },
      });
      return { check, scale: await this.get(code, trx), signature };
    });
  }

  async calibration(code: string, id: string): Promise<CalibrationRecord> {
    const c = isUuid(id) ? await this.stores.scales.calibration(this.db, code, id) : undefined;
    if (!c) throw notFound(`calibration ${id} of scale ${code}`);
    return c;
  }

  async checkRecord(code: string, id: string): Promise<CheckRecord> {
    const c = isUuid(id) ? await this.stores.scales.check(this.db, code, id) : undefined;
    if (!c) throw notFound(`daily check ${id} of scale ${code}`);
    return c;
  }

  /** The terminal's reading now, as it is: for the live display, which also says why a dispensing would refuse it. */
  async reading(code: string): Promise<{ reading: ScaleReading; refusal: string | null }> {
    const reading = await this.read(await this.unitOf(this.db, code));
    return { reading, refusal: readingRefusal(reading, Date.now()) ?? null };
  }

  /**
   * A reading a record may take: Good, stable, in range and fresh — else 409 `weight-not-taken` saying why.
   */
  async takeReading(db: Knex | Knex.Transaction, code: string): Promise<ScaleReading> {
    const reading = await this.read(await this.unitOf(db, code));
    const refusal = readingRefusal(reading, Date.now());
    if (refusal) throw new Problem('weight-not-taken', refusal, { reading });
    return reading;
  }

  /** Tares the terminal: by whoever holds the scale for a dispensing, or anyone while no one does. */
  async tare(code: string, by: string): Promise<{ reading: ScaleReading; refusal: string | null }> {
    const unit = await this.operable(code, by);
    await this.onTerminal(() => this.terminal!.tare(unit));
    return this.reading(code);
  }

  /** Zeroes the empty terminal: as for a tare. */
  async zero(code: string, by: string): Promise<{ reading: ScaleReading; refusal: string | null }> {
    const unit = await this.operable(code, by);
    await this.onTerminal(() => this.terminal!.zero(unit));
    return this.reading(code);
  }

  /** Shows a dispensing's target on the terminal (0 clears it); a terminal that cannot show one is left be. */
  async showTarget(code: string, target: number): Promise<void> {
    const unit = await this.unitOf(this.db, code);
    await this.onTerminal(() => this.terminal!.showTarget(unit, target));
  }

  /** A reading's net weight in the scale's configured unit. */
  inScaleUnit(r: ScaleReading, scale: ScaleRecord): number {
    const v = convert(r.net, r.unit, scale.unit);
    if (v === undefined) throw new Problem('scale-unusable', `scale ${scale.code} weighs in ${r.unit}, not a mass`);
    return Number(v.toPrecision(12));
  }

  async scaleOf(db: Knex | Knex.Transaction, code: string, forUpdate = false): Promise<ScaleRecord> {
    const scale = await this.stores.scales.byCode(db, code, forUpdate);
    if (!scale) throw notFound(`scale ${code}`);
    return scale;
  }

  private async view(db: Knex | Knex.Transaction, s: ScaleRecord, today: string): Promise<ScaleView> {
    const unit = await this.unitOf(db, s.code);
    const checks = await this.stores.scales.checksOn(db, s.code, today);
    const problem = await this.problemOf(db, s, today);
    return {
      code: s.code,
      name: unit.name,
      ...configOf(s),
      calibrationDue: s.calibrationDue,
      checksToday: checks.map((c) => ({
        nominal: c.nominal,
        net: c.reading.net,
        passed: c.passed,
        checkedAt: c.checkedAt.toISOString(),
      })),
      usable: problem === null,
      problem,
      heldFor: s.heldFor
        ? { batch: s.heldFor.batch, step: s.heldFor.step, since: s.heldFor.since.toISOString() }
        : null,
      rowVersion: s.rowVersion,
    };
  }

  /** The scale's unit, if `by` may work its terminal: a scale held for a dispensing is its holder's. */
  private async operable(code: string, by: string): Promise<EquipmentUnitRecord> {
    const scale = await this.scaleOf(this.db, code);
    if (scale.heldFor && scale.heldFor.by !== by)
      throw new Problem(
        'scale-unusable',
        `scale ${code} is held for batch ${scale.heldFor.batch}, step ${scale.heldFor.step}, by someone else`,
      );
    return this.unitOf(this.db, code);
  }

  private async unitOf(db: Knex | Knex.Transaction, code: string): Promise<EquipmentUnitRecord> {
    const unit = await this.stores.equipment.byCode(db, code);
    if (!unit) throw notFound(`scale ${code}`);
    return unit;
  }

  private async read(unit: UnitEndpoint): Promise<ScaleReading> {
    return this.onTerminal(() => this.terminal!.read(unit));
  }

  /** A terminal call, its failures as problems: unreachable 503, refused or misbound 409. */
  private async onTerminal<T>(call: () => Promise<T>): Promise<T> {
    if (!this.terminal)
      throw new Problem('equipment-unavailable', 'this process has no access to the equipment network (OPC UA)');
    try {
      return await call();
    } catch (err) {
      if (err instanceof TerminalRefusal) throw new Problem('weight-not-taken', err.message);
      if (err instanceof PhaseFailure) throw new Problem('scale-unusable', err.message);
      if (err instanceof EquipmentUnavailable)
        throw new Problem('equipment-unavailable', err.message, {}, { 'Retry-After': '5' }).withCause(err);
      throw err;
    }
  }
}

function configOf(s: ScaleRecord): ScaleConfig {
  return {
    unit: s.unit as ScaleConfig['unit'],
    capacity: s.capacity,
    minimumWeight: s.minimumWeight,
    readability: s.readability,
    checkPoints: s.checkPoints,
  };
}
