/**
 * Launching a batch: an Effective recipe version's approved plan, scaled to the batch, a number without gaps,
 * the units its unit procedures run on (each claimed so that no other batch can), the batch row and its audit
 * entry — then its workflow `batch-<number>`, started before the launch's transaction commits (its first
 * write waits until the batch row is visible). A refused launch writes nothing and gives its number back.
 */
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext, UserActor } from '../../db/change-context';
import { UnitStatusKeeper } from '../equipment/unit-status';
import { Inventory } from '../lots/inventory';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { EquipmentUnitRecord } from '../../db/stores/equipment-store';
import type { AssignedUnit, BatchInput } from '../../domain/batch/types';
import { canonicalHash } from '../../domain/canonical-hash';
import { Problem } from '../http/problems';
import type { OrderService } from '../orders/order-service';
import type { RecipeService } from '../recipes/recipe-service';
import type { BatchTemporalGateway } from './temporal-gateway';

export interface LaunchRequest {
  /** A released production order to launch: its recipe and quantity unless given here. */
  order?: string;
  /** Required without an order (or an order naming none). */
  recipe?: string;
  version?: number;
  /** Required without an order; with one, its quantity. */
  batchSize?: number;
  unit?: string;
  number?: string;
  outputLotNumber?: string;
  plannedStart?: string;
  /** Unit procedure id → equipment unit code; unit procedures not named get the first clean, available unit of their class. */
  units?: Record<string, string>;
}

export class LaunchService {
  private readonly audit: AuditTrail;
  private readonly inventory: Inventory;
  private readonly units: UnitStatusKeeper;

  constructor(
    private readonly stores: Stores,
    private readonly recipes: RecipeService,
    private readonly orders: OrderService,
    private readonly temporal: BatchTemporalGateway,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.inventory = new Inventory(stores);
    this.units = new UnitStatusKeeper(stores);
  }

  /**
   * Creates the batch and starts its workflow, in the caller's transaction: a failed start rolls everything
   * back; a failed commit leaves a workflow whose first write gives up after five minutes (and whose number
   * the next launch voids).
   */
  async launch(ctx: ChangeContext & { actor: UserActor }, r: LaunchRequest): Promise<BatchRecord> {
    const { equipmentHeartbeatTimeout } = this.temporal.requireTemporal();
    // An order gives what the launch does not: its recipe, its quantity.
    const order = r.order ? await this.orders.locked(ctx, r.order) : undefined;
    if (order) this.orders.refuseLaunch(order);
    const recipeCode = r.recipe ?? order?.recipeCode;
    if (!recipeCode)
      throw new Problem(
        'unprocessable',
        order
          ? `production order ${order.number} names no recipe: name one`
          : 'name the recipe (or a production order)',
      );
    const size =
      r.batchSize !== undefined
        ? { value: r.batchSize, unit: r.unit }
        : order
          ? { value: order.quantity, unit: order.unit }
          : undefined;
    if (!size) throw new Problem('unprocessable', 'give the batch size (or a production order)');
    const recipe = await this.recipes.get(recipeCode, ctx.trx);
    const version = r.version ?? recipe.effectiveVersion;
    if (!version)
      throw new Problem(
        'invalid-transition',
        `recipe ${recipe.code} has no effective version: only an effective version launches batches`,
      );
    const { versionId, plan } = await this.recipes.launchPlan(recipe.code, version, size, ctx.trx);
    if (order && plan.product.code !== order.productCode)
      throw new Problem(
        'unprocessable',
        `recipe ${recipe.code} makes ${plan.product.code}; production order ${order.number} asks for ${order.productCode}`,
      );
    const today = await this.inventory.today(ctx.trx);
    const number = r.number ?? (await this.nextFreeNumber(ctx, Number(today.slice(0, 4))));
    const existing = await this.stores.batches.find(ctx.trx, number);
    if (existing)
      throw new Problem('conflict', `batch ${number} exists already (it is ${existing.status})`, {
        batch: existing.number,
      });
    const material = await this.stores.masterData.material(ctx.trx, plan.product.code);
    if (!material)
      throw new Problem(
        'unprocessable',
        `the product ${plan.product.code} is not a material: its output lot cannot be recorded`,
      );
    const outputLotNumber = r.outputLotNumber ?? number;
    if (await this.stores.lots.byNumber(ctx.trx, outputLotNumber))
      throw new Problem('code-taken', `the lot number ${outputLotNumber} is taken`);
    const units = await this.allocate(
      ctx,
      plan.stages.flatMap((s) => s.unitProcedures),
      r.units ?? {},
      number,
    );

    const batch = await this.stores.batches.create(ctx.trx, {
      number,
      workflowId: `batch-${number}`,
      recipeId: recipe.id,
      recipeVersionId: versionId,
      recipeCode: recipe.code,
      recipeVersion: version,
      productCode: plan.product.code,
      batchSize: plan.scaling.batchSize.value,
      batchUnit: plan.scaling.batchSize.unit,
      outputLotNumber,
      outputMaterial: material.code,
      plannedStart: r.plannedStart ? new Date(r.plannedStart) : null,
      plan,
      planHash: canonicalHash(plan),
      units,
      orderId: order?.id ?? null,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'launch',
      entityType: 'batch',
      entityId: batch.id,
      newValue: {
        number,
        recipe: recipe.code,
        version,
        batchSize: plan.scaling.batchSize,
        outputLot: outputLotNumber,
        units: Object.fromEntries(Object.entries(units).map(([up, u]) => [up, u.code])),
        planHash: batch.planHash,
        ...(order ? { order: order.number } : {}),
      },
    });
    if (order) await this.orders.launched(ctx, order, batch.id);
    const input: BatchInput = {
      batchId: batch.id,
      batchNumber: batch.number,
      plan: batch.plan,
      planHash: batch.planHash,
      units: batch.units,
      outputLot: { lotNumber: batch.outputLotNumber, material: batch.outputMaterial, expiryDate: null },
      launchedBy: { userId: ctx.actor.userId, fullName: ctx.actor.fullName },
      ...(equipmentHeartbeatTimeout ? { equipmentHeartbeatTimeout } : {}),
    };
    await this.temporal.start(input, {
      workflowId: batch.workflowId,
      number: batch.number,
      recipe: `${batch.recipeCode}/v${batch.recipeVersion}`,
      product: batch.productCode,
    });
    return batch;
  }

  /**
   * The counter's next batch number that is free. The counter is taken in the launch's transaction, so a
   * refused launch gives its number back; a number taken meanwhile by a batch launched with that number given
   * explicitly is passed over (it is used: no gap); a number whose workflow exists without a batch — started
   * by a launch whose commit then failed — is voided with that reason (the gap is accounted for) and passed over.
   */
  private async nextFreeNumber(ctx: ChangeContext & { actor: UserActor }, year: number): Promise<string> {
    for (;;) {
      const number = await this.stores.batches.nextNumber(ctx.trx, year);
      if (await this.stores.batches.find(ctx.trx, number)) continue;
      if (!(await this.temporal.exists(`batch-${number}`))) return number;
      const reason = `a workflow batch-${number} exists but no batch: a launch started it and did not commit`;
      await this.stores.batches.voidNumber(ctx.trx, number, reason, ctx.actor.userId);
      await this.audit.record(ctx, {
        action: 'void',
        entityType: 'batch-number',
        entityId: number,
        newValue: { number, voided: true, reason },
      });
    }
  }

  /**
   * Gives each unit procedure a unit: the one asked for, or the first clean, available unit of its class.
   * Each is claimed with a guarded update (available and clean, or not at all), so two launches never get
   * the same unit: the one that comes second tries the next candidate, and is refused (409) when none is left.
   */
  private async allocate(
    ctx: ChangeContext,
    ups: { id: string; equipmentClass: string }[],
    asked: Record<string, string>,
    number: string,
  ): Promise<Record<string, AssignedUnit>> {
    for (const up of Object.keys(asked))
      if (!ups.some((u) => u.id === up)) throw new Problem('unprocessable', `the recipe has no unit procedure ${up}`);
    const all = await this.stores.equipment.list(ctx.trx);
    const taken = new Set<string>();
    const out: Record<string, AssignedUnit> = {};
    for (const up of ups) {
      const code = asked[up.id];
      const candidates = all.filter(
        (u) =>
          u.classCode === up.equipmentClass &&
          !taken.has(u.code) &&
          (code ? u.code === code.toUpperCase() : true) &&
          u.status === 'available' &&
          u.cleanliness === 'clean',
      );
      let unit: EquipmentUnitRecord | undefined;
      for (const c of candidates) {
        // Not waiting for a unit another launch is claiming: two launches never wait for each other's units.
        unit = await this.units.change(
          ctx,
          c.code,
          { status: 'in-use', heldByBatch: number },
          { expect: { status: 'available', cleanliness: 'clean', heldByBatch: null }, batch: number, skipLocked: true },
        );
        if (unit) break;
      }
      if (!unit) {
        const why = code
          ? `unit ${code} is not a clean, available ${up.equipmentClass}`
          : `no clean, available ${up.equipmentClass} is left`;
        throw new Problem('conflict', `unit procedure ${up.id}: ${why}`);
      }
      taken.add(unit.code);
      const cls = await this.stores.masterData.equipmentClass(ctx.trx, unit.classCode);
      out[up.id] = {
        code: unit.code,
        endpointUrl: unit.endpointUrl,
        securityMode: unit.securityMode,
        securityPolicy: unit.securityPolicy,
        binding: unit.binding,
        interfaces: cls?.interfaces ?? {},
      };
    }
    return out;
  }
}
