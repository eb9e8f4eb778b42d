/**
 * The inventory ledger: receipts, adjustments, status changes, and the consumption and production the
 * batch workflow's activities ask for. Each operation runs in the caller's transaction, appends to the
 * lot's ledger (the database keeps the quantity, never below zero) and writes its audit entry. Batch
 * operations are idempotent by key: the same key twice moves material once.
 */
import type { Knex } from 'knex';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { LotRecord, LotTransaction } from '../../db/stores/lot-store';
import { isExpired, lotProblems, roundQuantity, statusChange, type LotStatus } from '../../domain/materials/lots';
import { convert } from '../../domain/units';

export type InventoryErrorCode =
  | 'not-found'
  | 'unknown-material'
  | 'unit-mismatch'
  | 'lot-number-taken'
  | 'lot-unusable'
  | 'insufficient-quantity'
  | 'invalid-status-change'
  | 'idempotency-mismatch'
  | 'invalid-quantity'
  | 'lot-expired';

/** An inventory operation refused for a business reason (never retried): the API and activities map it. */
export class InventoryError extends Error {
  constructor(
    readonly code: InventoryErrorCode,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'InventoryError';
  }
}

export interface Amount {
  value: number;
  unit: string;
}

export class Inventory {
  private readonly audit: AuditTrail;

  constructor(private readonly stores: Stores) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** Today's date by the database clock, in UTC (YYYY-MM-DD): what expiry is judged by. */
  async today(db: Knex | Knex.Transaction): Promise<string> {
    const { rows } = await db.raw(`select (now() at time zone 'UTC')::date::text as today`);
    return rows[0].today;
  }

  /** Receives a lot into Quarantine. */
  async receive(
    ctx: ChangeContext,
    r: {
      material: string;
      lotNumber?: string;
      quantity: Amount;
      expiryDate: string | null;
      supplier: string;
      supplierLot: string;
      receivedDate?: string;
    },
  ): Promise<LotRecord> {
    const material = await this.stores.masterData.material(ctx.trx, r.material);
    if (!material) throw new InventoryError('unknown-material', `unknown material ${r.material}`);
    const quantity = this.inUnit(r.quantity, material.baseUnit);
    if (!(quantity > 0)) throw new InventoryError('invalid-quantity', 'a receipt must be of more than 0');
    const today = await this.today(ctx.trx);
    const receivedDate = r.receivedDate ?? today;
    if (receivedDate > today)
      throw new InventoryError('invalid-quantity', `a receipt cannot be dated in the future (${receivedDate})`);
    const lotNumber = r.lotNumber ?? (await this.stores.lots.nextLotNumber(ctx.trx, Number(today.slice(0, 4))));
    if (await this.stores.lots.byNumber(ctx.trx, lotNumber))
      throw new InventoryError('lot-number-taken', `the lot number ${lotNumber} is taken`);
    const lot = await this.stores.lots.create(ctx.trx, {
      lotNumber,
      materialCode: material.code,
      unit: material.baseUnit,
      expiryDate: r.expiryDate,
      supplier: r.supplier,
      supplierLot: r.supplierLot,
      receivedDate,
      createdBy: ctx.actor.userId,
    });
    await this.append(ctx, lot, { kind: 'receipt', quantity, entered: r.quantity });
    await this.stores.lots.addStatusChange(ctx.trx, lot.id, {
      fromStatus: null,
      toStatus: 'quarantine',
      reason: ctx.reason ?? 'received',
      signatureId: null,
      userId: ctx.actor.userId,
      userName: ctx.actor.fullName,
    });
    const created = (await this.stores.lots.byId(ctx.trx, lot.id))!;
    await this.audit.record(ctx, {
      action: 'receive',
      entityType: 'lot',
      entityId: lot.id,
      newValue: lotValues(created),
    });
    return created;
  }

  /** Corrects a lot's quantity (a count, a spill), with the reason the context carries. */
  async adjust(ctx: ChangeContext, lotId: string, change: Amount): Promise<LotRecord> {
    if (!ctx.reason) throw new InventoryError('invalid-quantity', 'an adjustment needs a reason');
    const lot = await this.lot(ctx, lotId);
    const quantity = this.inUnit(change, lot.unit);
    if (quantity === 0) throw new InventoryError('invalid-quantity', 'an adjustment of 0 changes nothing');
    if (lot.quantity + quantity < -1e-9)
      throw new InventoryError(
        'insufficient-quantity',
        `lot ${lot.lotNumber} holds ${lot.quantity} ${lot.unit}: it cannot go below zero`,
      );
    await this.append(ctx, lot, { kind: 'adjustment', quantity, entered: change });
    const after = (await this.stores.lots.byId(ctx.trx, lot.id))!;
    await this.audit.record(ctx, {
      action: 'adjust',
      entityType: 'lot',
      entityId: lot.id,
      oldValue: { quantity: lot.quantity },
      newValue: { quantity: after.quantity, change: quantity, unit: lot.unit },
    });
    return after;
  }

  /**
   * Changes a lot's status. The caller has recorded the signature the change needs (see `statusChange`)
   * and passes its id; a change that needs one without it is refused.
   */
  async changeStatus(ctx: ChangeContext, lotId: string, to: LotStatus, signatureId: string | null): Promise<LotRecord> {
    const lot = await this.lot(ctx, lotId);
    const change = statusChange(lot.status, to);
    if (!change.ok) throw new InventoryError('invalid-status-change', `lot ${lot.lotNumber}: ${change.reason}`);
    if (change.signature && !signatureId)
      throw new InventoryError(
        'invalid-status-change',
        `making a lot ${to} needs a signature meaning "${change.signature}"`,
      );
    if (to === 'released' && isExpired(lot, await this.today(ctx.trx)))
      throw new InventoryError(
        'lot-expired',
        `lot ${lot.lotNumber} expired on ${lot.expiryDate}: a lot past its expiry date cannot be released`,
      );
    if (!ctx.reason) throw new InventoryError('invalid-status-change', 'a status change needs a reason');
    await this.stores.lots.setStatus(ctx.trx, lot.id, to);
    await this.stores.lots.addStatusChange(ctx.trx, lot.id, {
      fromStatus: lot.status,
      toStatus: to,
      reason: ctx.reason,
      signatureId,
      userId: ctx.actor.userId,
      userName: ctx.actor.fullName,
    });
    await this.audit.record(ctx, {
      action: 'status',
      entityType: 'lot',
      entityId: lot.id,
      oldValue: { status: lot.status },
      newValue: { status: to, ...(signatureId ? { signatureId } : {}) },
    });
    await this.stores.outbox.emit(ctx.trx, 'lot.status', lot.lotNumber, {
      lot: lot.lotNumber,
      material: lot.materialCode,
      from: lot.status,
      to,
      reason: ctx.reason,
      by: ctx.actor.username,
    });
    return (await this.stores.lots.byId(ctx.trx, lot.id))!;
  }

  /** Why a lot cannot supply a material step now (empty when it can). */
  async check(
    ctx: Pick<ChangeContext, 'trx'>,
    lotId: string,
    need: { material: string; quantity: Amount },
  ): Promise<string[]> {
    const lot = await this.stores.lots.byId(ctx.trx, lotId);
    if (!lot) return [`no lot ${lotId}`];
    return lotProblems(lot, need, await this.today(ctx.trx));
  }

  /**
   * Consumes from a lot for a batch step, once per key (`<workflowId>/<stepId>/<lot>`): a repeated key
   * returns the first consumption, provided it was for the same lot and amount.
   */
  async consume(
    ctx: ChangeContext,
    c: { lotId: string; batchId: string; stepId: string; material: string; quantity: Amount; key: string },
  ): Promise<{ transaction: LotTransaction; lot: LotRecord; replayed: boolean }> {
    const lot = await this.lot(ctx, c.lotId);
    const earlier = await this.stores.lots.transactionByKey(ctx.trx, c.key);
    if (earlier)
      return {
        transaction: this.sameAs(earlier, c.lotId, -this.inUnit(c.quantity, lot.unit), c.key),
        lot,
        replayed: true,
      };
    const problems = lotProblems(lot, { material: c.material, quantity: c.quantity }, await this.today(ctx.trx));
    if (problems.length > 0) throw new InventoryError('lot-unusable', problems.join('; '), problems);
    const quantity = -this.inUnit(c.quantity, lot.unit);
    const transaction = await this.append(ctx, lot, {
      kind: 'consumption',
      quantity,
      entered: c.quantity,
      batchId: c.batchId,
      stepId: c.stepId,
      key: c.key,
    });
    const after = (await this.stores.lots.byId(ctx.trx, lot.id))!;
    await this.audit.record(ctx, {
      action: 'consume',
      entityType: 'lot',
      entityId: lot.id,
      oldValue: { quantity: lot.quantity },
      newValue: { quantity: after.quantity, consumed: -quantity, unit: lot.unit, batch: c.batchId, step: c.stepId },
    });
    await this.stores.outbox.emit(ctx.trx, 'material.consumed', c.batchId, {
      batch: c.batchId,
      step: c.stepId,
      lot: lot.lotNumber,
      material: lot.materialCode,
      quantity: { value: -quantity, unit: lot.unit },
    });
    return { transaction, lot: after, replayed: false };
  }

  /** Creates a batch's output lot in Quarantine, once per key. */
  async produce(
    ctx: ChangeContext,
    p: {
      batchId: string;
      stepId: string | null;
      material: string;
      lotNumber: string;
      quantity: Amount;
      expiryDate: string | null;
      key: string;
    },
  ): Promise<{ lot: LotRecord; replayed: boolean }> {
    const earlier = await this.stores.lots.transactionByKey(ctx.trx, p.key);
    if (earlier) {
      const lot = (await this.stores.lots.byId(ctx.trx, earlier.lotId))!;
      this.sameAs(earlier, lot.id, this.inUnit(p.quantity, lot.unit), p.key);
      return { lot, replayed: true };
    }
    const material = await this.stores.masterData.material(ctx.trx, p.material);
    if (!material) throw new InventoryError('unknown-material', `unknown material ${p.material}`);
    const quantity = this.inUnit(p.quantity, material.baseUnit);
    if (!(quantity > 0)) throw new InventoryError('invalid-quantity', 'a batch must produce more than 0');
    if (await this.stores.lots.byNumber(ctx.trx, p.lotNumber))
      throw new InventoryError('lot-number-taken', `the lot number ${p.lotNumber} is taken`);
    const lot = await this.stores.lots.create(ctx.trx, {
      lotNumber: p.lotNumber,
      materialCode: material.code,
      unit: material.baseUnit,
      expiryDate: p.expiryDate,
      producedByBatch: p.batchId,
      receivedDate: await this.today(ctx.trx),
      createdBy: ctx.actor.userId,
    });
    await this.append(ctx, lot, {
      kind: 'production',
      quantity,
      entered: p.quantity,
      batchId: p.batchId,
      stepId: p.stepId,
      key: p.key,
    });
    await this.stores.lots.addStatusChange(ctx.trx, lot.id, {
      fromStatus: null,
      toStatus: 'quarantine',
      reason: `produced by batch ${p.batchId}`,
      signatureId: null,
      userId: ctx.actor.userId,
      userName: ctx.actor.fullName,
    });
    const created = (await this.stores.lots.byId(ctx.trx, lot.id))!;
    await this.audit.record(ctx, {
      action: 'produce',
      entityType: 'lot',
      entityId: lot.id,
      newValue: { ...lotValues(created), batch: p.batchId },
    });
    await this.stores.outbox.emit(ctx.trx, 'batch.produced', p.batchId, {
      batch: p.batchId,
      lot: created.lotNumber,
      material: created.materialCode,
      quantity: { value: quantity, unit: created.unit },
    });
    return { lot: created, replayed: false };
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private async lot(ctx: ChangeContext, id: string): Promise<LotRecord> {
    const lot = await this.stores.lots.byId(ctx.trx, id, true);
    if (!lot) throw new InventoryError('not-found', `no lot ${id}`);
    return lot;
  }

  /** `amount` in `unit`, or a clear refusal if the units do not convert. */
  private inUnit(amount: Amount, unit: string): number {
    if (!Number.isFinite(amount.value))
      throw new InventoryError('invalid-quantity', 'a quantity must be a finite number');
    const v = convert(amount.value, amount.unit, unit);
    if (v === undefined) throw new InventoryError('unit-mismatch', `${amount.unit} cannot be converted to ${unit}`);
    return roundQuantity(v);
  }

  private sameAs(earlier: LotTransaction, lotId: string, quantity: number, key: string): LotTransaction {
    if (earlier.lotId !== lotId || Math.abs(earlier.quantity - quantity) > 1e-9) {
      throw new InventoryError(
        'idempotency-mismatch',
        `the key ${key} was used for another movement (${earlier.quantity} of lot ${earlier.lotId})`,
      );
    }
    return earlier;
  }

  private async append(
    ctx: ChangeContext,
    lot: LotRecord,
    t: {
      kind: LotTransaction['kind'];
      quantity: number;
      entered: Amount;
      batchId?: string;
      stepId?: string | null;
      key?: string;
    },
  ): Promise<LotTransaction> {
    const transaction = await this.stores.lots.addTransaction(ctx.trx, {
      lotId: lot.id,
      kind: t.kind,
      quantity: t.quantity,
      enteredQuantity: t.entered.value,
      enteredUnit: t.entered.unit,
      batchId: t.batchId ?? null,
      stepId: t.stepId ?? null,
      idempotencyKey: t.key ?? null,
      reason: ctx.reason,
      userId: ctx.actor.userId,
      userName: ctx.actor.fullName,
    });
    // A concurrent twin with the same key won the race: its transaction stands, ours must not.
    if (!transaction)
      throw new InventoryError(
        'idempotency-mismatch',
        `the key ${t.key} was used concurrently; retry to read its outcome`,
      );
    return transaction;
  }
}

function lotValues(l: LotRecord) {
  return {
    lotNumber: l.lotNumber,
    material: l.materialCode,
    quantity: l.quantity,
    unit: l.unit,
    status: l.status,
    expiryDate: l.expiryDate,
    supplier: l.supplier,
    supplierLot: l.supplierLot,
    receivedDate: l.receivedDate,
  };
}
