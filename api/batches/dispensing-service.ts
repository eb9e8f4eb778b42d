/**
 * Dispensing a weighed material step: the operator begins it at a scale — Ampoule holds a usable scale whose range
 * suits the step's acceptance window (the one named, or the finest free one) for that step alone and shows the
 * target on its terminal — scans the source lot and the container, tares, pours; the completion then takes the
 * stable net weight from the held scale, never a typed one. Where the scale is down, a manual weighing is the one
 * way round: a typed weight with a reason, which the workflow sends to a second person's verification.
 */
import type { Knex } from 'knex';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { ScaleRecord } from '../../db/stores/scale-store';
import type { PlanStep } from '../../domain/recipe/plan';
import { convert, kindOf } from '../../domain/units';
import { rangeProblem, type ScaleReading, type Weighing } from '../../domain/weighing';
import { AuditTrail } from '../audit/audit-trail';
import { renderDispensingLabel } from './dispensing-label';
import { Problem, notFound } from '../http/problems';
import { Inventory } from '../lots/inventory';
import type { ScaleService, ScaleView } from '../scales/scale-service';

type WeighedStep = Extract<PlanStep, { kind: 'material' }>;

/** What a weighed step's completion says about its weighing (the weight itself comes from the scale). */
export interface WeighingInput {
  /** The container dispensed into, as scanned. */
  container?: string;
  /** Only where the scale is down: the weight typed, and why. */
  manualWeighing?: { quantity: number; unit: string; reason: string };
}

/** A dispensing as the station shows it: the step's target and window, and the scale held for it. */
export interface DispensingView {
  batch: string;
  stepId: string;
  material: string;
  target: { value: number; unit: string };
  acceptance: { low: number; high: number; unit: string };
  scale: ScaleView | null;
  /** Target and window in the held scale's unit (what its terminal shows), once a scale is held. */
  onScale: { target: number; low: number; high: number; unit: string } | null;
}

export class DispensingService {
  private readonly audit: AuditTrail;
  private readonly inventory: Inventory;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly scales: ScaleService,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.inventory = new Inventory(stores);
  }

  /** The batch, read in `db` (a route's transaction holds PGlite's one connection). */
  async batch(db: Knex | Knex.Transaction, idOrNumber: string): Promise<BatchRecord> {
    const b = await this.stores.batches.find(db, idOrNumber);
    if (!b) throw notFound(`batch ${idOrNumber}`);
    return b;
  }

  async view(batch: BatchRecord, stepId: string, db: Knex | Knex.Transaction = this.db): Promise<DispensingView> {
    const step = weighedStep(batch, stepId);
    const held = await this.stores.scales.heldFor(db, batch.number, stepId);
    const inScaleUnit = (v: number) => Number((convert(v, step.quantity.unit, held!.unit) ?? NaN).toPrecision(12));
    return {
      batch: batch.number,
      stepId,
      material: step.material,
      target: step.quantity,
      acceptance: { ...step.acceptance, unit: step.quantity.unit },
      scale: held ? await this.scales.get(held.code, db) : null,
      onScale: held
        ? {
            target: inScaleUnit(step.quantity.value),
            low: inScaleUnit(step.acceptance.low),
            high: inScaleUnit(step.acceptance.high),
            unit: held.unit,
          }
        : null,
    };
  }

  /**
   * Holds a scale for the step, which must await its input: the one named, or the usable free scale with the
   * smallest capacity that covers the window. A hold left by a step that no longer awaits input is taken over.
   */
  async begin(ctx: ChangeContext, batch: BatchRecord, stepId: string, scaleCode?: string): Promise<DispensingView> {
    const step = weighedStep(batch, stepId);
    await this.requireAwaited(ctx.trx, batch, stepId);
    const already = await this.stores.scales.heldFor(ctx.trx, batch.number, stepId);
    if (already && (!scaleCode || scaleCode === already.code)) return this.view(batch, stepId, ctx.trx);
    const today = await this.inventory.today(ctx.trx);
    const candidates = scaleCode
      ? [await this.scales.scaleOf(ctx.trx, scaleCode, true)]
      : (await this.stores.scales.list(ctx.trx)).sort((a, b) => a.capacity - b.capacity);
    const refusals: string[] = [];
    let chosen: ScaleRecord | undefined;
    for (const candidate of candidates) {
      const scale = (await this.stores.scales.byCode(ctx.trx, candidate.code, true))!;
      const problem = await this.unsuitable(ctx.trx, scale, step, today, batch.number, stepId);
      if (problem) refusals.push(problem);
      else {
        chosen = scale;
        break;
      }
    }
    if (!chosen)
      throw new Problem('scale-unusable', candidates.length === 0 ? 'no scale is registered' : refusals.join('; '), {
        refusals,
      });
    if (already) await this.stores.scales.hold(ctx.trx, already.code, null);
    await this.stores.scales.hold(ctx.trx, chosen.code, { batch: batch.number, step: stepId, by: ctx.actor.userId! });
    await this.audit.record(ctx, {
      action: 'hold',
      entityType: 'scale',
      entityId: chosen.code,
      oldValue: { heldFor: chosen.heldFor ? `${chosen.heldFor.batch}/${chosen.heldFor.step}` : null },
      newValue: { heldFor: `${batch.number}/${stepId}` },
    });
    return this.view(batch, stepId, ctx.trx);
  }

  /** Lets the step's scale go (the operator moves to another, or the step is done). */
  async end(ctx: ChangeContext, batch: BatchRecord, stepId: string): Promise<void> {
    const held = await this.stores.scales.heldFor(ctx.trx, batch.number, stepId);
    if (!held) return;
    await this.stores.scales.hold(ctx.trx, held.code, null);
    await this.audit.record(ctx, {
      action: 'release',
      entityType: 'scale',
      entityId: held.code,
      oldValue: { heldFor: `${batch.number}/${stepId}` },
      newValue: { heldFor: null },
    });
  }

  /** The step's target in the held scale's unit, for its terminal. */
  targetOn(step: WeighedStep, scale: Pick<ScaleRecord, 'unit'>): number {
    return Number((convert(step.quantity.value, step.quantity.unit, scale.unit) ?? 0).toPrecision(12));
  }

  /**
   * The weighing a completion records, and the quantity it takes from the lot in the step's unit: the held
   * scale's stable net weight (409 while it cannot be taken), or a manual weighing with its reason.
   */
  async weighing(
    batch: BatchRecord,
    step: PlanStep,
    input: WeighingInput,
  ): Promise<{ weighing: Weighing; quantity: number } | undefined> {
    if (step.kind !== 'material' || !step.weighed) {
      if (input.container !== undefined || input.manualWeighing)
        throw new Problem('step-refused', `step ${step.id} is not weighed: it takes no container or weighing`);
      return undefined;
    }
    const container = input.container?.trim();
    if (!container)
      throw new Problem('step-refused', `step ${step.id} is weighed: scan the container the material goes into`);
    const held = await this.stores.scales.heldFor(this.db, batch.number, step.id);
    if (input.manualWeighing) {
      const m = input.manualWeighing;
      return {
        weighing: {
          source: 'manual',
          scale: held?.code ?? null,
          net: m.quantity,
          unit: m.unit,
          reason: m.reason,
          container,
        },
        quantity: inStepUnit(step, m.quantity, m.unit),
      };
    }
    if (!held)
      throw new Problem(
        'scale-unusable',
        `no scale is held for step ${step.id}: begin the dispensing at a scale first (POST /api/batches/${batch.number}/steps/${step.id}/dispensing)`,
      );
    const today = await this.inventory.today(this.db);
    const problem = await this.scales.problemOf(this.db, held, today);
    if (problem) throw new Problem('scale-unusable', problem);
    const reading = await this.scales.takeReading(this.db, held.code);
    const net = this.scales.inScaleUnit(reading, held);
    if (net < held.minimumWeight)
      throw new Problem(
        'weight-not-taken',
        `${net} ${held.unit} is below scale ${held.code}'s minimum weight of ${held.minimumWeight} ${held.unit}: it cannot weigh it to the required accuracy`,
        { reading },
      );
    return { weighing: fromScale(reading, held, container), quantity: inStepUnit(step, reading.net, reading.unit) };
  }

  /** Once the completion is recorded: the scale is free again and its terminal shows no target. */
  async finish(ctx: (trx: Knex.Transaction) => ChangeContext, batch: BatchRecord, stepId: string): Promise<void> {
    const held = await this.stores.scales.heldFor(this.db, batch.number, stepId);
    if (!held) return;
    await this.db.transaction((trx) => this.end(ctx(trx), batch, stepId));
    // The terminal's target is a convenience for the operator: a terminal that cannot be reached keeps it.
    await this.scales.showTarget(held.code, 0).catch(() => undefined);
  }

  /** The label of the container the step's latest weighing filled (404 before there is one). */
  async label(batch: BatchRecord, stepId: string): Promise<Buffer> {
    const step = weighedStep(batch, stepId);
    const entries = await this.stores.batches.ebr(this.db, batch.id);
    const weighing = entries.filter((e) => e.kind === 'weighing' && e.stepId === stepId).at(-1);
    if (!weighing) throw notFound(`a weighing of step ${stepId} of batch ${batch.number}`);
    const w = weighing.data as Weighing & { lot: string | null };
    const material = await this.stores.masterData.material(this.db, step.material);
    return renderDispensingLabel({
      batch: batch.number,
      product: batch.plan.product.code,
      stepId,
      stepName: step.name,
      material: { code: step.material, name: material?.name ?? step.material },
      lot: w.lot ?? '',
      container: w.container,
      net: w.net,
      unit: w.unit,
      source: w.source,
      scale: w.scale,
      dispensedBy: weighing.userName ?? '—',
      dispensedAt: weighing.occurredAt,
    });
  }

  /** Why `scale` cannot serve this step now, or undefined. */
  private async unsuitable(
    trx: Knex.Transaction,
    scale: ScaleRecord,
    step: WeighedStep,
    today: string,
    batch: string,
    stepId: string,
  ): Promise<string | undefined> {
    const low = convert(step.acceptance.low, step.quantity.unit, scale.unit);
    const high = convert(step.acceptance.high, step.quantity.unit, scale.unit);
    if (low === undefined || high === undefined)
      return `step ${stepId} is measured in ${step.quantity.unit}: scale ${scale.code} weighs in ${scale.unit}`;
    const range = rangeProblem(await this.scales.qualification(trx, scale, today), low, high);
    if (range) return range;
    const problem = await this.scales.problemOf(trx, scale, today);
    if (problem) return problem;
    if (scale.heldFor && !(scale.heldFor.batch === batch && scale.heldFor.step === stepId)) {
      const holder = await this.stores.batches.find(trx, scale.heldFor.batch);
      const steps = holder ? await this.stores.batches.steps(trx, holder.id) : [];
      const stillAwaited =
        holder?.status === 'running' &&
        steps.some((s) => s.stepId === scale.heldFor!.step && s.status === 'awaiting-input');
      if (stillAwaited)
        return `scale ${scale.code} is in use for batch ${scale.heldFor.batch}, step ${scale.heldFor.step}`;
    }
    return undefined;
  }

  private async requireAwaited(db: Knex | Knex.Transaction, batch: BatchRecord, stepId: string): Promise<void> {
    if (batch.status !== 'running')
      throw new Problem(
        'step-not-awaited',
        `batch ${batch.number} is ${batch.status}: nothing is dispensed for it now`,
      );
    const recorded = (await this.stores.batches.steps(db, batch.id)).find((s) => s.stepId === stepId);
    if (recorded?.status !== 'awaiting-input')
      throw new Problem(
        'step-not-awaited',
        `step ${stepId} of batch ${batch.number} is ${recorded?.status ?? 'pending'}, not awaiting input`,
      );
  }
}

function weighedStep(batch: BatchRecord, stepId: string): WeighedStep {
  const step = batch.plan.steps.find((s) => s.id === stepId);
  if (!step) throw notFound(`step ${stepId} of batch ${batch.number}`);
  if (step.kind !== 'material' || !step.weighed)
    throw new Problem('step-refused', `step ${stepId} is not a weighed material step`);
  return step;
}

function inStepUnit(step: WeighedStep, value: number, unit: string): number {
  if (kindOf(unit) !== 'mass') throw new Problem('step-refused', `a weighing is a mass, not ${unit}`);
  const v = convert(value, unit, step.quantity.unit);
  if (v === undefined)
    throw new Problem('step-refused', `${unit} cannot be converted to the step's ${step.quantity.unit}`);
  return Number(v.toPrecision(12));
}

function fromScale(r: ScaleReading, scale: ScaleRecord, container: string): Weighing {
  return {
    source: 'scale',
    scale: scale.code,
    gross: r.gross,
    tare: r.tare,
    net: r.net,
    unit: r.unit,
    sourceTimestamp: r.sourceTimestamp,
    calibrationDue: scale.calibrationDue!,
    container,
  };
}
