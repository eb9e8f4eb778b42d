/** Production orders' SQL (`production_orders`): created once, then moved along their life; never deleted. */
import type { Knex } from 'knex';
import type { OrderState, RequiredMaterial } from '../../domain/orders/production-order';

export interface OrderRecord {
  id: string;
  number: string;
  source: 'api' | 'b2mml';
  productCode: string;
  quantity: number;
  unit: string;
  requestedStart: Date | null;
  requestedEnd: Date | null;
  recipeCode: string | null;
  materials: RequiredMaterial[];
  state: OrderState;
  batchId: string | null;
  batchNumber: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  rowVersion: number;
}

export type NewOrder = Pick<
  OrderRecord,
  | 'number'
  | 'source'
  | 'productCode'
  | 'quantity'
  | 'unit'
  | 'requestedStart'
  | 'requestedEnd'
  | 'recipeCode'
  | 'materials'
  | 'createdBy'
>;

/** What a change may set: what the order asks for (while planned), its state, its batch. */
export type OrderChange = Partial<
  Pick<
    OrderRecord,
    | 'productCode'
    | 'quantity'
    | 'unit'
    | 'requestedStart'
    | 'requestedEnd'
    | 'recipeCode'
    | 'materials'
    | 'state'
    | 'batchId'
  >
>;

const COLUMNS: Record<keyof OrderChange, string> = {
  productCode: 'product_code',
  quantity: 'quantity',
  unit: 'unit',
  requestedStart: 'requested_start',
  requestedEnd: 'requested_end',
  recipeCode: 'recipe_code',
  materials: 'materials',
  state: 'state',
  batchId: 'batch_id',
};

export class OrderStore {
  async create(trx: Knex.Transaction, o: NewOrder): Promise<OrderRecord> {
    const [row] = await trx('production_orders')
      .insert({
        number: o.number,
        source: o.source,
        product_code: o.productCode,
        quantity: o.quantity,
        unit: o.unit,
        requested_start: o.requestedStart,
        requested_end: o.requestedEnd,
        recipe_code: o.recipeCode,
        materials: JSON.stringify(o.materials),
        created_by: o.createdBy,
      })
      .returning('id');
    return (await this.byId(trx, row.id as string))!;
  }

  private select(db: Knex | Knex.Transaction) {
    return db('production_orders as o')
      .leftJoin('batches as b', 'b.id', 'o.batch_id')
      .select('o.*', 'b.number as batch_number');
  }

  async byId(db: Knex | Knex.Transaction, id: string, forUpdate = false): Promise<OrderRecord | undefined> {
    const q = forUpdate
      ? db('production_orders').where('id', id).forUpdate().first()
      : this.select(db).where('o.id', id).first();
    const row = await q;
    if (!row) return undefined;
    if (forUpdate) return (await this.byId(db, id))!;
    return toOrder(row);
  }

  async byNumber(db: Knex | Knex.Transaction, number: string): Promise<OrderRecord | undefined> {
    const row = await this.select(db).where('o.number', number).first();
    return row ? toOrder(row) : undefined;
  }

  /**
   * Newest first, by creation; `after` is the id of the last order of the previous page, whose position is read
   * from its row (a cursor carrying the time would lose the database's microseconds).
   */
  async list(
    db: Knex | Knex.Transaction,
    q: { state?: OrderState; limit: number; after?: string },
  ): Promise<OrderRecord[]> {
    const query = this.select(db)
      .orderBy([
        { column: 'o.created_at', order: 'desc' },
        { column: 'o.id', order: 'desc' },
      ])
      .limit(q.limit);
    if (q.state) query.where('o.state', q.state);
    if (q.after)
      query.whereRaw('(o.created_at, o.id) < (select created_at, id from production_orders where id = ?)', [q.after]);
    return (await query).map(toOrder);
  }

  async update(trx: Knex.Transaction, id: string, change: OrderChange): Promise<OrderRecord> {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(change) as [keyof OrderChange, unknown][])
      if (v !== undefined) set[COLUMNS[k]] = k === 'materials' ? JSON.stringify(v) : v;
    await trx('production_orders').where('id', id).update(set);
    return (await this.byId(trx, id))!;
  }
}

function toOrder(r: Record<string, unknown>): OrderRecord {
  return {
    id: r.id as string,
    number: r.number as string,
    source: r.source as OrderRecord['source'],
    productCode: r.product_code as string,
    quantity: Number(r.quantity),
    unit: r.unit as string,
    requestedStart: (r.requested_start as Date | null) ?? null,
    requestedEnd: (r.requested_end as Date | null) ?? null,
    recipeCode: (r.recipe_code as string | null) ?? null,
    materials: (typeof r.materials === 'string' ? JSON.parse(r.materials) : r.materials) as RequiredMaterial[],
    state: r.state as OrderState,
    batchId: (r.batch_id as string | null) ?? null,
    batchNumber: (r.batch_number as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    rowVersion: Number(r.row_version),
  };
}
