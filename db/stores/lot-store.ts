/** Lots', lot transactions', status history's and genealogy's SQL. */
import type { Knex } from 'knex';
import { roundQuantity, type LotStatus } from '../../domain/materials/lots';

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

/** A lot reached by a genealogy walk, and the edge it was reached by (none for the lot the walk began at). */
export interface GenealogyTreeRow {
  id: string;
  parentLotId: string | null;
  batchId: string | null;
  /** What the batch consumed of the input lot, and produced of the output lot, in each lot's unit. */
  consumed: number;
  produced: number;
  lotNumber: string;
  materialCode: string;
  unit: string;
  quantity: number;
  status: LotStatus;
  expiryDate: string | null;
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
   * What a batch consumed and produced, lot by lot (a lot consumed in several steps summed, in numeric: exact), in
   * each lot's unit (its material's base unit), in the order the batch first moved each.
   */
  async movementsOfBatch(
    db: Knex | Knex.Transaction,
    batchNumber: string,
  ): Promise<
    { kind: 'consumption' | 'production'; lotNumber: string; material: string; quantity: number; unit: string }[]
  > {
    const { rows } = await db.raw(
      `select t.kind, l.lot_number, l.material_code, l.unit, abs(sum(t.quantity)) as quantity
       from lot_transactions t join lots l on l.id = t.lot_id
       where t.batch_id = ? and t.kind in ('consumption', 'production')
       group by t.kind, l.id, l.lot_number, l.material_code, l.unit
       order by min(t.id)`,
      [batchNumber],
    );
    return rows.map((r: Record<string, unknown>) => ({
      kind: r.kind as 'consumption' | 'production',
      lotNumber: r.lot_number as string,
      material: r.material_code as string,
      quantity: Number(r.quantity),
      unit: r.unit as string,
    }));
  }

  /**
   * Every lot reachable from a lot, to any depth — backward, the lots consumed by the batch that produced it, and
   * theirs; forward, the lots produced by the batches that consumed it, and theirs — each with the edge it was
   * reached by and what a tree shows of it: the root (no parent) and each (lot, parent, batch) once, in no
   * particular order (the caller orders what it shows).
   *
   * Ten thousand lots come back as one text value of separated fields (one per half), split here: measured on the
   * benchmark's trees (`npm run bench:genealogy`), building that text takes PostgreSQL about half the time of
   * building the same as JSON and sorting it, and splitting it in Node takes less than JSON.parse.
   *
   * `inHalves`: in a transaction whose snapshot a second one imports (both see the same committed genealogy), the
   * lots next to this one are dealt alternately, in their ids' order, into two halves, and each half — those lots
   * and everything beyond them — walked at once, each on its own connection, so that PostgreSQL works on two cores
   * (on the benchmark's trees the query took about a quarter less). A lot with fewer than two next lots is walked
   * whole, on one. It holds two connections: never ask for it where the pool cannot give them (PGlite's has one).
   * A lot reached from both halves comes back from both: each transaction is counted once, by its id.
   */
  async genealogyTree(
    db: Knex,
    lotId: string,
    direction: 'backward' | 'forward',
    inHalves = false,
  ): Promise<GenealogyTreeRow[]> {
    if (!inHalves) return edgesOf([await walkedText(db, lotId, direction)]);
    const texts = await db.transaction(async (first) => {
      const { from, to } = stepKinds(direction);
      const { rows } = await first.raw(
        `select pg_export_snapshot() as snapshot,
           array(select distinct next.lot_id::text
                 from lot_transactions here
                 join lot_transactions next on next.batch_id = here.batch_id and next.kind = '${to}'
                 where here.lot_id = ? and here.kind = '${from}'
                 order by 1) as next_lots`,
        [lotId],
      );
      const nextLots = rows[0].next_lots as string[];
      if (nextLots.length < 2) return [await walkedText(first, lotId, direction)];
      const snapshot = rows[0].snapshot as string;
      // SET takes no parameters: the snapshot's name is checked to be what PostgreSQL names one.
      if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected snapshot name ${snapshot}`);
      const [one, other] = [nextLots.filter((_, i) => i % 2 === 0), nextLots.filter((_, i) => i % 2 === 1)];
      // Both halves end before the answer does, failed or not: no walk goes on after its request.
      const halves = await Promise.allSettled([
        walkedText(first, lotId, direction, { nextLots: one, withLot: true }),
        db.transaction(async (second) => {
          await second.raw(`set transaction snapshot '${snapshot}'`);
          return walkedText(second, lotId, direction, { nextLots: other, withLot: false });
        }, SNAPSHOT_TRANSACTION),
      ]);
      return halves.map((h) => {
        if (h.status === 'rejected') throw h.reason;
        return h.value;
      });
    }, SNAPSHOT_TRANSACTION);
    return edgesOf(texts);
  }
}

/** Repeatable read: the transaction's queries see one snapshot, which a second transaction can import. */
const SNAPSHOT_TRANSACTION = { isolationLevel: 'repeatable read', readOnly: true } as const;

/**
 * The walk's rows as one text: the whole walk, or one half of it — from the lot to the next lots given (and everything
 * beyond them), with or without the lot's own row.
 */
async function walkedText(
  db: Knex | Knex.Transaction,
  lotId: string,
  direction: 'backward' | 'forward',
  half?: { nextLots: string[]; withLot: boolean },
): Promise<string> {
  const { rows } = await db.raw(
    `${genealogyWalk(direction, half !== undefined)}
     select string_agg(concat_ws(${SEPARATOR_SQL},
         w.lot_id, coalesce(w.parent_lot_id::text, ''), coalesce(w.batch_id, ''), coalesce(w.tx::text, ''), coalesce(w.consumed::text, ''),
         coalesce(w.produced::text, ''), l.lot_number, l.material_code, l.unit, l.quantity, l.status,
         coalesce(l.expiry_date::text, '')
       ), ${SEPARATOR_SQL}) as walked
     from walk w
     join lots l on l.id = w.lot_id
     ${half?.withLot === false ? 'where w.parent_lot_id is not null' : ''}`,
    half ? [lotId, half.nextLots] : [lotId],
  );
  return (rows[0].walked as string | null) ?? '';
}

/**
 * The edges in the walks' texts. One row per transaction the walk went through: a lot consumed in several steps of
 * a batch is one edge, with their sum; a transaction that came back twice (from both halves) is counted once. Ten
 * thousand rows are split and merged in a few milliseconds this way: one split of each text (one separator between
 * values and rows alike: the rows are of fixed width), and each edge found by its lot's id alone (most lots are
 * reached by one edge; a lot reached again, by another parent or batch, by the whole key).
 */
function edgesOf(texts: string[]): GenealogyTreeRow[] {
  const edges: GenealogyTreeRow[] = [];
  const firstEdgeOf = new Map<string, WalkedEdge>();
  const furtherEdges = new Map<string, WalkedEdge>();
  for (const text of texts) {
    if (text === '') continue;
    const f = text.split(SEPARATOR);
    if (f.length % GENEALOGY_FIELDS !== 0)
      throw new Error(`a genealogy's ${f.length} values are not rows of ${GENEALOGY_FIELDS}`);
    for (let i = 0; i < f.length; i += GENEALOGY_FIELDS) {
      const id = f[i];
      const parentLotId = f[i + 1] || null;
      const batchId = f[i + 2] || null;
      const tx = f[i + 3];
      const consumed = Number(f[i + 4]);
      const first = firstEdgeOf.get(id);
      const known =
        first === undefined || (first.edge.parentLotId === parentLotId && first.edge.batchId === batchId)
          ? first
          : furtherEdges.get(`${id} ${parentLotId} ${batchId}`);
      if (known !== undefined) {
        if (known.tx === tx || known.more?.includes(tx)) continue;
        (known.more ??= []).push(tx);
        // Rounded as the ledger's quantities are: 0.1 + 0.2 is 0.3, as PostgreSQL's numeric sum said.
        known.edge.consumed = roundQuantity(known.edge.consumed + consumed);
        continue;
      }
      const edge: GenealogyTreeRow = {
        id,
        parentLotId,
        batchId,
        consumed,
        produced: Number(f[i + 5]),
        lotNumber: f[i + 6],
        materialCode: f[i + 7],
        unit: f[i + 8],
        quantity: Number(f[i + 9]),
        status: f[i + 10] as LotStatus,
        expiryDate: f[i + 11] || null,
      };
      if (first === undefined) firstEdgeOf.set(id, { edge, tx });
      else furtherEdges.set(`${id} ${parentLotId} ${batchId}`, { edge, tx });
      edges.push(edge);
    }
  }
  return edges;
}

/** An edge as it is merged: the transaction it came by, and any other it was summed with. */
interface WalkedEdge {
  edge: GenealogyTreeRow;
  tx: string;
  more?: string[];
}

/**
 * The separator of a genealogy's text (ASCII's unit separator): no value walked can hold it —
 * lot numbers, material codes and units are checked printable, the rest are ids, numbers, dates and statuses.
 */
const SEPARATOR = '\x1f';
const SEPARATOR_SQL = `E'\\x1f'`;
const GENEALOGY_FIELDS = 12;

/**
 * The recursive walk of a genealogy, as the CTE `walk (lot_id, parent_lot_id, batch_id, tx, consumed, produced)` from
 * the lot `?`: one row per transaction through which a lot is reached, with what the batch consumed of its input
 * lot (that transaction) and produced of its output lot, in each lot's unit. Backward, a lot's production names the
 * batch, whose consumptions name the next lots; forward the reverse. A lot may be consumed in several steps of a
 * batch (one row each: the caller sums them); a lot is produced once, by the batch that created it. UNION keeps
 * each row once, so a lot reached by two paths is walked on once (within one walk: two halves may each walk it),
 * and the walk ends even if a graph had a cycle. `toSomeNextLots`: from the lot itself, only to the next lots in
 * the array `?` (one half of them).
 */
function genealogyWalk(direction: 'backward' | 'forward', toSomeNextLots = false): string {
  const { from, to } = stepKinds(direction);
  const backward = direction === 'backward';
  const consumption = backward ? 'next' : 'here';
  const production = backward ? 'here' : 'next';
  return `with recursive walk (lot_id, parent_lot_id, batch_id, tx, consumed, produced) as (
         select ?::uuid, null::uuid, null::text, null::bigint, null::numeric, null::numeric
         union
         select next.lot_id, w.lot_id, here.batch_id, ${consumption}.id, -${consumption}.quantity, ${production}.quantity
         from walk w
         join lot_transactions here on here.lot_id = w.lot_id and here.kind = '${from}'
         join lot_transactions next on next.batch_id = here.batch_id and next.kind = '${to}'
         ${toSomeNextLots ? 'where w.parent_lot_id is not null or next.lot_id = any(?::uuid[])' : ''}
       )`;
}

/** The kinds of transaction a step of a walk takes: from a lot to its batch, and from the batch to the next lots. */
function stepKinds(direction: 'backward' | 'forward'): { from: TransactionKind; to: TransactionKind } {
  return direction === 'backward'
    ? { from: 'production', to: 'consumption' }
    : { from: 'consumption', to: 'production' };
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
