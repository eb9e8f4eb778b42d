/** Lots', lot transactions', status history's and genealogy's SQL. */
import type { Knex } from 'knex';
import type { LotStatus } from '../../domain/materials/lots';

export interface LotRecord {
  id: string;
  lotNumber: string;
  materialCode: string;
  unit: string;
  quantity: number;
  status: LotStatus;
  /** YYYY-MM-DD */
  expiryDate: string | null;
  supplier: string | null;
  supplierLot: string | null;
  receivedDate: string | null;
  producedByBatch: string | null;
  createdAt: Date;
  createdBy: string | null;
}

export type TransactionKind = 'receipt' | 'consumption' | 'production' | 'adjustment';

export interface LotTransaction {
  id: number;
  lotId: string;
  kind: TransactionKind;
  /** Signed, in the lot's unit. */
  quantity: number;
  enteredQuantity: number;
  enteredUnit: string;
  batchId: string | null;
  stepId: string | null;
  idempotencyKey: string | null;
  reason: string | null;
  at: Date;
  userId: string | null;
  userName: string;
}

export interface StatusChange {
  fromStatus: LotStatus | null;
  toStatus: LotStatus;
  reason: string;
  signatureId: string | null;
  at: Date;
  userId: string | null;
  userName: string;
}

/** One edge of a genealogy walk: `lotId` reached from `parentLotId` through `batchId`. */
export interface GenealogyEdge {
  lotId: string;
  parentLotId: string;
  batchId: string;
  /** What the batch consumed of the input lot, and produced of the output lot, in each lot's unit. */
  consumed: number;
  produced: number;
}

const LOT_COLUMNS = [
  'id',
  'lot_number',
  'material_code',
  'unit',
  'quantity',
  'status',
  'supplier',
  'supplier_lot',
  'produced_by_batch',
  'created_at',
  'created_by',
  // Dates as text, so that no time zone moves an expiry date.
  'expiry_date::text as expiry_date',
  'received_date::text as received_date',
];

export class LotStore {
  async nextLotNumber(trx: Knex.Transaction, year: number): Promise<string> {
    const { rows } = await trx.raw(`select nextval('lot_number_seq') as n`);
    return `L${year}-${String(rows[0].n).padStart(6, '0')}`;
  }

  async create(
    trx: Knex.Transaction,
    l: {
      lotNumber: string;
      materialCode: string;
      unit: string;
      expiryDate: string | null;
      supplier?: string | null;
      supplierLot?: string | null;
      receivedDate?: string | null;
      producedByBatch?: string | null;
      createdBy: string | null;
    },
  ): Promise<LotRecord> {
    const [row] = await trx('lots')
      .insert({
        lot_number: l.lotNumber,
        material_code: l.materialCode,
        unit: l.unit,
        expiry_date: l.expiryDate,
        supplier: l.supplier ?? null,
        supplier_lot: l.supplierLot ?? null,
        received_date: l.receivedDate ?? null,
        produced_by_batch: l.producedByBatch ?? null,
        created_by: l.createdBy,
      })
      .returning(LOT_COLUMNS.map((c) => trx.raw(c)));
    return toLot(row);
  }

  async byId(db: Knex | Knex.Transaction, id: string, forUpdate = false): Promise<LotRecord | undefined> {
    const q = db('lots')
      .select(LOT_COLUMNS.map((c) => db.raw(c)))
      .where('id', id)
      .first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toLot(row) : undefined;
  }

  async byNumber(db: Knex | Knex.Transaction, lotNumber: string): Promise<LotRecord | undefined> {
    const row = await db('lots')
      .select(LOT_COLUMNS.map((c) => db.raw(c)))
      .where('lot_number', lotNumber)
      .first();
    return row ? toLot(row) : undefined;
  }

  async list(
    db: Knex,
    q: { material?: string; status?: LotStatus; limit: number; afterNumber?: string },
  ): Promise<LotRecord[]> {
    const query = db('lots')
      .select(LOT_COLUMNS.map((c) => db.raw(c)))
      .orderBy('lot_number')
      .limit(q.limit);
    if (q.material) query.where('material_code', q.material);
    if (q.status) query.where('status', q.status);
    if (q.afterNumber) query.where('lot_number', '>', q.afterNumber);
    return (await query).map(toLot);
  }

  async setStatus(trx: Knex.Transaction, id: string, status: LotStatus): Promise<void> {
    await trx('lots').where('id', id).update({ status });
  }

  /** Appends a transaction (the trigger moves the lot's quantity); undefined if its idempotency key was used. */
  async addTransaction(
    trx: Knex.Transaction,
    t: Omit<LotTransaction, 'id' | 'at'>,
  ): Promise<LotTransaction | undefined> {
    const rows = await trx('lot_transactions')
      .insert({
        lot_id: t.lotId,
        kind: t.kind,
        quantity: t.quantity,
        entered_quantity: t.enteredQuantity,
        entered_unit: t.enteredUnit,
        batch_id: t.batchId,
        step_id: t.stepId,
        idempotency_key: t.idempotencyKey,
        reason: t.reason,
        user_id: t.userId,
        user_name: t.userName,
      })
      .onConflict('idempotency_key')
      .ignore()
      .returning('*');
    return rows[0] ? toTransaction(rows[0]) : undefined;
  }

  async transactionByKey(db: Knex | Knex.Transaction, key: string): Promise<LotTransaction | undefined> {
    const row = await db('lot_transactions').where('idempotency_key', key).first();
    return row ? toTransaction(row) : undefined;
  }

  async transactions(db: Knex | Knex.Transaction, lotId: string): Promise<LotTransaction[]> {
    return (await db('lot_transactions').where('lot_id', lotId).orderBy('id')).map(toTransaction);
  }

  async addStatusChange(trx: Knex.Transaction, lotId: string, c: Omit<StatusChange, 'at'>): Promise<void> {
    await trx('lot_status_history').insert({
      lot_id: lotId,
      from_status: c.fromStatus,
      to_status: c.toStatus,
      reason: c.reason,
      signature_id: c.signatureId,
      user_id: c.userId,
      user_name: c.userName,
    });
  }

  async statusHistory(db: Knex | Knex.Transaction, lotId: string): Promise<StatusChange[]> {
    return (await db('lot_status_history').where('lot_id', lotId).orderBy('id')).map((r) => ({
      fromStatus: r.from_status,
      toStatus: r.to_status,
      reason: r.reason,
      signatureId: r.signature_id,
      at: r.at,
      userId: r.user_id,
      userName: r.user_name,
    }));
  }

  /**
   * Every edge reachable from a lot, to any depth, in one recursive query. Backward: the lots consumed by
   * the batch that produced it, and theirs. Forward: the lots produced by the batches that consumed it,
   * and theirs. UNION keeps each (lot, parent, batch) once, so the walk ends even if a graph had a cycle.
   */
  async genealogy(db: Knex, lotId: string, direction: 'backward' | 'forward'): Promise<GenealogyEdge[]> {
    // Backward, a lot's production names the batch, whose consumptions name the next lots; forward the reverse.
    const [from, to] = direction === 'backward' ? ['production', 'consumption'] : ['consumption', 'production'];
    const [input, output] =
      direction === 'backward' ? ['w.lot_id', 'w.parent_lot_id'] : ['w.parent_lot_id', 'w.lot_id'];
    const { rows } = await db.raw(
      `with recursive walk (lot_id, parent_lot_id, batch_id) as (
         select ?::uuid, null::uuid, null::text
         union
         select next.lot_id, w.lot_id, here.batch_id
         from walk w
         join lot_transactions here on here.lot_id = w.lot_id and here.kind = ?
         join lot_transactions next on next.batch_id = here.batch_id and next.kind = ?
       )
       select w.lot_id, w.parent_lot_id, w.batch_id,
         (select -sum(c.quantity) from lot_transactions c where c.lot_id = ${input} and c.batch_id = w.batch_id and c.kind = 'consumption') as consumed,
         (select sum(p.quantity) from lot_transactions p where p.lot_id = ${output} and p.batch_id = w.batch_id and p.kind = 'production') as produced
       from walk w
       where w.parent_lot_id is not null`,
      [lotId, from, to],
    );
    return rows.map((r: Record<string, unknown>) => ({
      lotId: r.lot_id as string,
      parentLotId: r.parent_lot_id as string,
      batchId: r.batch_id as string,
      consumed: Number(r.consumed),
      produced: Number(r.produced),
    }));
  }

  async byIds(db: Knex, ids: string[]): Promise<LotRecord[]> {
    if (ids.length === 0) return [];
    // One array parameter, not one per id: a genealogy asks for ten thousand lots at once.
    return (
      await db('lots')
        .select(LOT_COLUMNS.map((c) => db.raw(c)))
        .whereRaw('id = any(?::uuid[])', [ids])
    ).map(toLot);
  }
}

function toLot(r: Record<string, unknown>): LotRecord {
  return {
    id: r.id as string,
    lotNumber: r.lot_number as string,
    materialCode: r.material_code as string,
    unit: r.unit as string,
    quantity: Number(r.quantity),
    status: r.status as LotStatus,
    expiryDate: (r.expiry_date as string | null) ?? null,
    supplier: (r.supplier as string | null) ?? null,
    supplierLot: (r.supplier_lot as string | null) ?? null,
    receivedDate: (r.received_date as string | null) ?? null,
    producedByBatch: (r.produced_by_batch as string | null) ?? null,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
  };
}

function toTransaction(r: Record<string, unknown>): LotTransaction {
  return {
    id: Number(r.id),
    lotId: r.lot_id as string,
    kind: r.kind as TransactionKind,
    quantity: Number(r.quantity),
    enteredQuantity: Number(r.entered_quantity),
    enteredUnit: r.entered_unit as string,
    batchId: (r.batch_id as string | null) ?? null,
    stepId: (r.step_id as string | null) ?? null,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    at: r.at as Date,
    userId: (r.user_id as string | null) ?? null,
    userName: r.user_name as string,
  };
}
