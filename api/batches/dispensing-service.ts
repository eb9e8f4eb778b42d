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
import { rangeProblem, type Weighing } from '../../domain/weighing';
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
   * smallest capacity that covers the window. A hold left by a step that no longer awaits input is taken over; the
   * step's own hold passes to whoever begins it again (a shift change), and moves with them to another scale named.
   * Returns the dispensing and the scale it let go of, if it moved.
   */
  async begin(
    ctx: ChangeContext,
    batch: BatchRecord,
    stepId: string,
    scaleCode?: string,
  ): Promise<{ view: DispensingView; released: string | null }> {
    const step = weighedStep(batch, stepId);
    const by = userOf(ctx);
    await this.requireAwaited(ctx.trx, batch, stepId);
    const already = await this.stores.scales.heldFor(ctx.trx, batch.number, stepId);
    if (already && (!scaleCode || scaleCode === already.code)) {
      if (already.heldFor!.by !== by) await this.hold(ctx, already, batch.number, stepId, by);
      return { view: await this.view(batch, stepId, ctx.trx), released: null };
    }
    const today = await this.inventory.today(ctx.trx);
    const candidates = scaleCode
      ? [await this.scales.scaleOf(ctx.trx, scaleCode)]
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
    if (already) await this.end(ctx, batch, stepId);
    await this.hold(ctx, chosen, batch.number, stepId, by);
    return { view: await this.view(batch, stepId, ctx.trx), released: already?.code ?? null };
  }

  /**
   * Tares a scale as a dispensing allows: not the holder's, tared already, with the step's weight on it (its net
   * within the window). That tare would take the weighed portion for the container, and the operator pour it again —
   * the record saying one portion where the container holds two. A tare sent again after its answer was lost comes
   * this way (the fault harness's client did, and its simulated operator poured a second portion), and so does a
   * second press. Complete the step, or take the weight off to weigh again: 409 `weight-on-scale`. Anyone else is
   * refused by the scale service (the holder's scale); a hold whose step is no longer a weighed step is not checked.
   */
  async tare(code: string, by: string): ReturnType<ScaleService['tare']> {
    const scale = await this.scales.scaleOf(this.db, code);
    const window = scale.heldFor?.by === by ? await this.windowOn(scale) : undefined;
    if (window) {
      const { reading } = await this.scales.reading(code);
      const net = this.scales.inScaleUnit(reading, scale);
      if (reading.tare !== 0 && net >= window.low && net <= window.high)
        throw new Problem(
          'weight-on-scale',
          `scale ${code} holds step ${scale.heldFor!.step}'s weight already (${net} ${scale.unit}, within ${window.low}–${window.high}): complete the step, or take the weight off to weigh again`,
          { reading },
        );
    }
    return this.scales.tare(code, by);
  }

  /** The acceptance window, in the scale's unit, of the weighed step `scale` is held for; undefined if there is none. */
  private async windowOn(scale: ScaleRecord): Promise<{ low: number; high: number } | undefined> {
    const batch = await this.stores.batches.find(this.db, scale.heldFor!.batch);
    const step = batch?.plan.steps.find((s) => s.id === scale.heldFor!.step);
    if (step?.kind !== 'material' || !step.weighed) return undefined;
    // As the dispensing shows it on the terminal (`view`).
    const [low, high] = [step.acceptance.low, step.acceptance.high].map((v) =>
      convert(v, step.quantity.unit, scale.unit),
    );
    return low === undefined || high === undefined
      ? undefined
      : { low: Number(low.toPrecision(12)), high: Number(high.toPrecision(12)) };
  }

  /** Lets the step's scale go (the operator moves to another, or the step is done): only its holder does. */
  async end(ctx: ChangeContext, batch: BatchRecord, stepId: string): Promise<void> {
    const held = await this.stores.scales.heldFor(ctx.trx, batch.number, stepId);
    if (!held) return;
    if (ctx.actor.userId !== null && held.heldFor!.by !== ctx.actor.userId)
      throw new Problem(
        'scale-unusable',
        `scale ${held.code} is held for step ${stepId} by someone else: begin the dispensing yourself to take it over`,
      );
    await this.stores.scales.hold(ctx.trx, held.code, null);
    await this.audit.record(ctx, {
      action: 'release',
      entityType: 'scale',
      entityId: held.code,
      oldValue: { heldFor: `${batch.number}/${stepId}` },
      newValue: { heldFor: null },
    });
  }

  /**
   * Once a hold is committed: the step's target on the held scale's terminal, none on the one it let go of. A
   * convenience for the operator pouring: a terminal that cannot show it leaves the hold as it is.
   */
  async showOnTerminals(began: { view: DispensingView; released: string | null }): Promise<void> {
    const { view, released } = began;
    if (released) await this.scales.showTarget(released, 0).catch(() => undefined);
    if (view.onScale && view.scale)
      await this.scales.showTarget(view.scale.code, view.onScale.target).catch(() => undefined);
  }

  /**
   * The weighing a completion by `by` records, and the quantity it takes from the lot in the step's unit: the stable
   * net weight of the scale `by` holds for the step, its container tared (409 while it cannot be taken) — or, only
   * where no scale can weigh it, a manual weighing with its reason and why the scale could not.
   */
  async weighing(
    batch: BatchRecord,
    step: PlanStep,
    input: WeighingInput,
    by: string,
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
    if (held && held.heldFor!.by !== by)
      throw new Problem(
        'scale-unusable',
        `scale ${held.code} is held for step ${step.id} by someone else: begin the dispensing yourself to take it over`,
      );
    if (input.manualWeighing) {
      const m = input.manualWeighing;
      const quantity = inStepUnit(step, m.quantity, m.unit);
      const scaleDown = await this.whyNoScale(batch, step, held);
      return {
        weighing: {
          source: 'manual',
          scale: held?.code ?? null,
          net: m.quantity,
          unit: m.unit,
          reason: m.reason,
          scaleDown,
          container,
          inStepUnit: quantity,
        },
        quantity,
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
    if (!(reading.tare > 0))
      throw new Problem(
        'weight-not-taken',
        `scale ${held.code} is not tared: put the empty container on it and tare before pouring`,
        { reading },
      );
    const net = this.scales.inScaleUnit(reading, held);
    if (net < held.minimumWeight)
      throw new Problem(
        'weight-not-taken',
        `${net} ${held.unit} is below scale ${held.code}'s minimum weight of ${held.minimumWeight} ${held.unit}: it cannot weigh it to the required accuracy`,
        { reading },
      );
    const quantity = inStepUnit(step, reading.net, reading.unit);
    return {
      weighing: {
        source: 'scale',
        scale: held.code,
        gross: reading.gross,
        tare: reading.tare,
        net: reading.net,
        unit: reading.unit,
        sourceTimestamp: reading.sourceTimestamp,
        serverTimestamp: reading.serverTimestamp,
        calibrationDue: held.calibrationDue!,
        dailyCheckOn: today,
        container,
        inStepUnit: quantity,
      },
      quantity,
    };
  }

  /**
   * Once the completion is recorded: the scale is free again and its terminal shows no target. The step is recorded
   * whatever happens here: a hold left behind is taken over by the next dispensing (the step no longer awaits).
   */
  async finish(ctx: (trx: Knex.Transaction) => ChangeContext, batch: BatchRecord, stepId: string): Promise<void> {
    try {
      const held = await this.stores.scales.heldFor(this.db, batch.number, stepId);
      if (!held) return;
      await this.db.transaction((trx) => this.end(ctx(trx), batch, stepId));
      await this.scales.showTarget(held.code, 0);
    } catch {
      // Nothing to undo: see above.
    }
  }

  /**
   * Why no scale can weigh for the step, or 409 if one can: the held scale read and failing (unreachable, Bad,
   * in error, unqualified), or — none held — every scale refused for the step.
   */
  private async whyNoScale(batch: BatchRecord, step: WeighedStep, held: ScaleRecord | undefined): Promise<string> {
    const today = await this.inventory.today(this.db);
    if (held) {
      const problem = await this.scales.problemOf(this.db, held, today);
      if (problem) return problem;
      try {
        const { reading } = await this.scales.reading(held.code);
        if (reading.quality.startsWith('Bad') || reading.status === 'error')
          return `scale ${held.code} reports ${reading.status === 'error' ? 'an error' : reading.quality}`;
      } catch (err) {
        if (err instanceof Problem && err.status >= 409) return err.detail ?? err.title;
        throw err;
      }
      throw new Problem(
        'scale-unusable',
        `scale ${held.code} is working: take the weight from it (a manual weighing is only for a scale that is down)`,
      );
    }
    const refusals: string[] = [];
    for (const scale of await this.stores.scales.list(this.db)) {
      const problem = await this.db.transaction((trx) =>
        this.unsuitable(trx, scale, step, today, batch.number, step.id),
      );
      if (!problem)
        throw new Problem(
          'scale-unusable',
          `scale ${scale.code} can weigh it: begin the dispensing there (a manual weighing is only where no scale can)`,
        );
      refusals.push(problem);
    }
    return refusals.join('; ') || 'no scale is registered';
  }

  /** Holds `scale` for the step, by `by`, audited. */
  private async hold(ctx: ChangeContext, scale: ScaleRecord, batch: string, stepId: string, by: string) {
    await this.stores.scales.hold(ctx.trx, scale.code, { batch, step: stepId, by });
    await this.audit.record(ctx, {
      action: 'hold',
      entityType: 'scale',
      entityId: scale.code,
      oldValue: { heldFor: scale.heldFor ? `${scale.heldFor.batch}/${scale.heldFor.step}` : null },
      newValue: { heldFor: `${batch}/${stepId}` },
    });
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
      verified: entries.some((e) => e.kind === 'verification' && e.stepId === stepId && e.seq > weighing.seq),
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
        (holder?.status === 'running' || holder?.status === 'held') &&
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

function userOf(ctx: ChangeContext): string {
  if (ctx.actor.userId === null) throw new Error('a dispensing is held by a person');
  return ctx.actor.userId;
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
