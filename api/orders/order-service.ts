/**
 * Production orders: created by a planner (or imported from the ERP), released to the floor, launched as a batch
 * (`LaunchService`, with `order`), closed once their batch has ended; planned or released ones may be cancelled.
 * Every change is audited in its transaction; the database's guard holds the same life.
 */
import type { Knex } from 'knex';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { OrderRecord } from '../../db/stores/order-store';
import { isUuid } from '../../domain/identity';
import {
  ENDED_BATCH_STATES,
  ORDER_TRANSITIONS,
  transitionProblem,
  type OrderAction,
  type OrderState,
  type RequiredMaterial,
} from '../../domain/orders/production-order';
import { commensurable, ucumProblem } from '../../domain/units';
import { Problem, notFound } from '../http/problems';
import type { ProductionScheduleDocument } from '../integration/b2mml';

export const ORDER_ENTITY = 'production-order';
/** An order number as the database takes it (the same pattern as its check). */
export const ORDER_NUMBER = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

export interface NewOrderInput {
  number: string;
  product: string;
  quantity: number;
  unit: string;
  requestedStart?: string;
  requestedEnd?: string;
  recipe?: string;
  materials?: RequiredMaterial[];
}

/** An order as the API shows it. */
export function orderView(o: OrderRecord) {
  return {
    id: o.id,
    number: o.number,
    source: o.source,
    product: o.productCode,
    quantity: { value: o.quantity, unit: o.unit },
    requestedStart: o.requestedStart?.toISOString() ?? null,
    requestedEnd: o.requestedEnd?.toISOString() ?? null,
    recipe: o.recipeCode,
    materials: o.materials,
    state: o.state,
    batch: o.batchNumber,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    rowVersion: o.rowVersion,
  };
}

/** The event each step of an order's life emits (`order.<word>`). */
const ORDER_EVENT = {
  release: 'released',
  unrelease: 'unreleased',
  cancel: 'cancelled',
  launch: 'launched',
  close: 'closed',
} as const satisfies Record<OrderAction, string>;

/** What an order event carries: the order as the ERP knows it, and its batch once launched. */
function orderEvent(o: OrderRecord): Record<string, unknown> {
  return {
    order: o.number,
    state: o.state,
    product: o.productCode,
    quantity: { value: o.quantity, unit: o.unit },
    batch: o.batchNumber,
  };
}

export class OrderService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  async create(ctx: ChangeContext, input: NewOrderInput, source: 'api' | 'b2mml' = 'api'): Promise<OrderRecord> {
    // What the database would refuse, refused in words first (the web page's form and the ERP's documents come here
    // without the API's schema).
    if (!ORDER_NUMBER.test(input.number))
      throw new Problem(
        'unprocessable',
        `the order number ${JSON.stringify(input.number)} is not one Ampoule takes (1–64 of A-Z a-z 0-9 . _ / -, beginning with a letter or digit)`,
      );
    if (await this.stores.orders.byNumber(ctx.trx, input.number))
      throw new Problem('code-taken', `the production order ${input.number} exists already`);
    await this.checkQuantity(ctx.trx, 'the product', input.product, input.quantity, input.unit);
    for (const m of input.materials ?? [])
      await this.checkQuantity(ctx.trx, `the required material ${m.material}`, m.material, m.quantity, m.unit);
    const recipe = input.recipe ? await this.stores.recipes.recipe(ctx.trx, input.recipe) : undefined;
    if (input.recipe && !recipe) throw new Problem('unprocessable', `there is no recipe ${input.recipe}`);
    const start = input.requestedStart ? new Date(input.requestedStart) : null;
    const end = input.requestedEnd ? new Date(input.requestedEnd) : null;
    if (start && end && end < start)
      throw new Problem('unprocessable', 'the requested end comes before the requested start');
    const order = await this.stores.orders.create(ctx.trx, {
      number: input.number,
      source,
      productCode: input.product,
      quantity: input.quantity,
      unit: input.unit,
      requestedStart: start,
      requestedEnd: end,
      recipeCode: recipe?.code ?? null,
      materials: input.materials ?? [],
      createdBy: ctx.actor.userId,
    });
    await this.stores.outbox.emit(ctx.trx, 'order.created', order.number, orderEvent(order));
    await this.audit.record(ctx, {
      action: 'order-create',
      entityType: ORDER_ENTITY,
      entityId: order.id,
      newValue: {
        ...orderView(order),
        id: undefined,
        createdAt: undefined,
        updatedAt: undefined,
        rowVersion: undefined,
      },
    });
    return order;
  }

  /**
   * The orders a B2MML `ProcessProductionSchedule` asks for, all or none (the caller's transaction): a problem with
   * one of them (a number taken, an unknown material, a unit not of the material's kind) names its place in the
   * document.
   */
  async importSchedule(ctx: ChangeContext, doc: ProductionScheduleDocument): Promise<OrderRecord[]> {
    const created: OrderRecord[] = [];
    for (const { xpath, ...requested } of doc.orders) {
      try {
        created.push(await this.create(ctx, requested, 'b2mml'));
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        throw new Problem(
          err.slug,
          `${xpath}: ${err.detail ?? err.message}`,
          { ...err.extensions, xpath },
          err.headers,
        );
      }
    }
    return created;
  }

  async list(q: { state?: OrderState; limit: number; after?: string }) {
    return this.stores.orders.list(this.db, q);
  }

  async get(idOrNumber: string, db: Knex | Knex.Transaction = this.db): Promise<OrderRecord> {
    const order = isUuid(idOrNumber)
      ? await this.stores.orders.byId(db, idOrNumber)
      : await this.stores.orders.byNumber(db, idOrNumber);
    if (!order) throw notFound(`production order ${idOrNumber}`);
    return order;
  }

  /** Release, send back to planned, cancel or close an order; closing needs its batch to have ended. */
  async transition(
    ctx: ChangeContext,
    idOrNumber: string,
    action: Exclude<OrderAction, 'launch'>,
  ): Promise<OrderRecord> {
    const order = await this.locked(ctx, idOrNumber);
    const problem = transitionProblem(action, order.state);
    if (problem) throw new Problem('invalid-transition', `production order ${order.number}: ${problem}`);
    if (action === 'close') {
      const batch = (await this.stores.batches.find(ctx.trx, order.batchId!))!;
      if (!(ENDED_BATCH_STATES as readonly string[]).includes(batch.status))
        throw new Problem(
          'invalid-transition',
          `production order ${order.number}: its batch ${batch.number} is ${batch.status}; an order closes once its batch has ended`,
        );
    }
    return this.apply(ctx, order, action);
  }

  /** Refuses (409) to launch an order that is not released: checked before anything of the launch is done. */
  refuseLaunch(order: OrderRecord): void {
    const problem = transitionProblem('launch', order.state);
    if (problem) throw new Problem('invalid-transition', `production order ${order.number}: ${problem}`);
  }

  /** Marks a released order launched as `batchId`, in the launch's transaction. */
  async launched(ctx: ChangeContext, order: OrderRecord, batchId: string): Promise<OrderRecord> {
    this.refuseLaunch(order);
    return this.apply(ctx, order, 'launch', batchId);
  }

  /** The order, locked for the caller's transaction. */
  async locked(ctx: ChangeContext, idOrNumber: string): Promise<OrderRecord> {
    const found = await this.get(idOrNumber, ctx.trx);
    return (await this.stores.orders.byId(ctx.trx, found.id, true))!;
  }

  private async apply(ctx: ChangeContext, order: OrderRecord, action: OrderAction, batchId?: string) {
    const to = ORDER_TRANSITIONS[action].to;
    const updated = await this.stores.orders.update(ctx.trx, order.id, { state: to, batchId });
    await this.stores.outbox.emit(ctx.trx, `order.${ORDER_EVENT[action]}`, order.number, orderEvent(updated));
    await this.audit.record(ctx, {
      action: `order-${action}`,
      entityType: ORDER_ENTITY,
      entityId: order.id,
      oldValue: { number: order.number, state: order.state },
      newValue: { number: order.number, state: to, ...(batchId ? { batch: updated.batchNumber } : {}) },
    });
    return updated;
  }

  /** A quantity of a material in a unit of its kind: an unknown material or unit, or one of another kind, is refused. */
  private async checkQuantity(db: Knex.Transaction, what: string, code: string, quantity: number, unit: string) {
    const material = await this.stores.masterData.material(db, code);
    if (!material) throw new Problem('unprocessable', `${what}: there is no material ${code}`);
    const bad = ucumProblem(unit);
    if (bad) throw new Problem('unprocessable', `${what}: ${bad}`);
    if (!commensurable(unit, material.baseUnit))
      throw new Problem('unprocessable', `${what}: ${unit} is not a unit of ${code}'s kind (${material.baseUnit})`);
    if (!(quantity > 0)) throw new Problem('unprocessable', `${what}: the quantity must be more than 0`);
  }
}
