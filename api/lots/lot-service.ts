/**
 * Lots over HTTP: receipt into Quarantine, QA disposition (release and reject are signed), adjustments,
 * the ledger and status history, and genealogy — what went into a lot, where a lot went, and the
 * recall impact of a lot. The operations themselves are the inventory ledger's (`api/lots/inventory.ts`),
 * shared with the batch workflow's activities.
 */
import type { Knex } from 'knex';
import type { ChangeContext } from '../../db/change-context';
import { Inventory, InventoryError, type Amount } from './inventory';
import { inventoryProblem } from '../http/errors';
import type { Stores } from '../../db/stores';
import type { GenealogyTreeRow, LotRecord, LotTransaction, StatusChange } from '../../db/stores/lot-store';
import { effectiveStatus, statusChange, type LotStatus } from '../../domain/materials/lots';
import { Problem, notFound } from '../http/problems';
import {
  toManifestation,
  type SignatureManifestation,
  type SignatureService,
  type VerifiedSigner,
} from '../signatures/signature-service';
import { isUuid } from '../../domain/identity';

export interface LotView extends LotRecord {
  /** `expired` once past the expiry date, whatever `status` says. */
  effectiveStatus: LotStatus;
}

export interface LotDetail extends LotView {
  transactions: LotTransaction[];
  statusHistory: (StatusChange & { signature: SignatureManifestation | null })[];
}

/** A lot in a genealogy tree. */
interface GenealogyLot {
  id: string;
  lotNumber: string;
  material: string;
  quantity: number;
  unit: string;
  status: LotStatus;
  effectiveStatus: LotStatus;
  /** Set when this lot was already expanded elsewhere in the tree: its branches are shown there. */
  repeated?: true;
}

/** Backward: the batches that produced a lot, each with the lots it consumed (and theirs, to any depth). */
export interface BackwardNode extends GenealogyLot {
  producedBy: { batchId: string; produced: Amount; inputs: (BackwardNode & { consumed: Amount })[] }[];
}

/** Forward: the batches that consumed a lot, each with the lots it produced (and where those went). */
export interface ForwardNode extends GenealogyLot {
  consumedBy: { batchId: string; consumed: Amount; outputs: (ForwardNode & { produced: Amount })[] }[];
}

export class LotService {
  readonly inventory: Inventory;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly signatures: SignatureService,
  ) {
    this.inventory = new Inventory(stores);
  }

  async list(q: { material?: string; status?: LotStatus; limit: number; after?: string }): Promise<LotView[]> {
    const today = await this.inventory.today(this.db);
    return (
      await this.stores.lots.list(this.db, {
        material: q.material,
        status: q.status,
        limit: q.limit,
        afterNumber: q.after,
      })
    ).map((l) => ({ ...l, effectiveStatus: effectiveStatus(l, today) }));
  }

  async get(idOrNumber: string): Promise<LotDetail> {
    const lot = await this.find(this.db, idOrNumber);
    const today = await this.inventory.today(this.db);
    const history = await this.stores.lots.statusHistory(this.db, lot.id);
    const statusHistory = [];
    for (const h of history) {
      const sig = h.signatureId ? await this.stores.signatures.byId(this.db, h.signatureId) : undefined;
      statusHistory.push({ ...h, signature: sig ? toManifestation(sig) : null });
    }
    return {
      ...lot,
      effectiveStatus: effectiveStatus(lot, today),
      transactions: await this.stores.lots.transactions(this.db, lot.id),
      statusHistory,
    };
  }

  async receive(ctx: ChangeContext, r: Parameters<Inventory['receive']>[1]): Promise<LotDetail> {
    const lot = await this.run(() => this.inventory.receive(ctx, r));
    return this.detailIn(ctx.trx, lot);
  }

  async adjust(ctx: ChangeContext, idOrNumber: string, change: Amount): Promise<LotDetail> {
    const lot = await this.find(ctx.trx, idOrNumber);
    return this.detailIn(ctx.trx, await this.run(() => this.inventory.adjust(ctx, lot.id, change)));
  }

  /** QA disposition. Releasing and rejecting are signed, bound to the lot as it stands. */
  async changeStatus(
    ctx: ChangeContext,
    idOrNumber: string,
    to: LotStatus,
    signer: VerifiedSigner | null,
  ): Promise<LotDetail> {
    const lot = await this.find(ctx.trx, idOrNumber, true);
    const change = statusChange(lot.status, to);
    if (!change.ok) throw new Problem('invalid-transition', `lot ${lot.lotNumber}: ${change.reason}`);
    let signatureId: string | null = null;
    if (change.signature) {
      if (!signer)
        throw new Problem('signature-required', `making a lot ${to} needs a signature meaning "${change.signature}"`);
      const content = {
        lot: lot.lotNumber,
        material: lot.materialCode,
        quantity: lot.quantity,
        unit: lot.unit,
        expiryDate: lot.expiryDate,
        from: lot.status,
        to,
      };
      const m = await this.signatures.record(ctx, signer, { entityType: 'lot', entityId: lot.id, content });
      signatureId = m.id;
    }
    return this.detailIn(ctx.trx, await this.run(() => this.inventory.changeStatus(ctx, lot.id, to, signatureId)));
  }

  /** The genealogy tree from a lot, backward (what went into it) or forward (where it went), with quantities. */
  async genealogy(
    idOrNumber: string,
    direction: 'backward' | 'forward',
  ): Promise<{ direction: string; lots: number; batches: number; root: BackwardNode | ForwardNode }> {
    const lot = await this.find(this.db, idOrNumber);
    // The lots reached, each with the edge it was reached by, in the order the tree shows them.
    const rows = await this.stores.lots.genealogyTree(this.db, lot.id, direction);
    const today = await this.inventory.today(this.db);
    const lots = new Map<string, GenealogyTreeRow>();
    const below = new Map<string, Map<string, GenealogyTreeRow[]>>();
    for (const r of rows) {
      if (!lots.has(r.id)) lots.set(r.id, r);
      if (r.parentLotId === null || r.batchId === null) continue;
      let byBatch = below.get(r.parentLotId);
      if (!byBatch) below.set(r.parentLotId, (byBatch = new Map()));
      const group = byBatch.get(r.batchId);
      if (group) group.push(r);
      else byBatch.set(r.batchId, [r]);
    }
    const expanded = new Set<string>();
    const amountOf = (lotId: string, value: number): Amount => ({ value, unit: lots.get(lotId)!.unit });

    const node = (id: string): BackwardNode | ForwardNode => {
      const l = lots.get(id)!;
      const repeated = expanded.has(id);
      expanded.add(id);
      const base = {
        id,
        lotNumber: l.lotNumber,
        material: l.materialCode,
        quantity: l.quantity,
        unit: l.unit,
        status: l.status,
        effectiveStatus: effectiveStatus(l, today),
        ...(repeated ? { repeated: true as const } : {}),
      };
      // A lot shown again is not expanded again: its branches are where it first appears.
      const batches = repeated ? [] : [...(below.get(id) ?? [])];
      if (direction === 'backward')
        return {
          ...base,
          producedBy: batches.map(([batchId, es]) => ({
            batchId,
            produced: amountOf(id, es[0].produced),
            inputs: es.map((e) => Object.assign(node(e.id) as BackwardNode, { consumed: amountOf(e.id, e.consumed) })),
          })),
        };
      return {
        ...base,
        consumedBy: batches.map(([batchId, es]) => ({
          batchId,
          consumed: amountOf(id, es[0].consumed),
          outputs: es.map((e) => Object.assign(node(e.id) as ForwardNode, { produced: amountOf(e.id, e.produced) })),
        })),
      };
    };
    const batches = new Set(rows.map((r) => r.batchId).filter((b) => b !== null)).size;
    return { direction, lots: lots.size, batches, root: node(lot.id) };
  }

  /** Every lot downstream of a lot (what a recall of it reaches), nearest first, with the batches between. */
  async recallImpact(idOrNumber: string) {
    const lot = await this.find(this.db, idOrNumber);
    const edges = await this.stores.lots.genealogy(this.db, lot.id, 'forward');
    const today = await this.inventory.today(this.db);
    const depth = new Map<string, number>([[lot.id, 0]]);
    const via = new Map<string, Set<string>>();
    const below = groupBy(edges, (e) => e.parentLotId);
    // Breadth first: each lot at its shortest distance from the recalled one.
    for (let frontier = [lot.id], d = 1; frontier.length > 0; d++) {
      const next: string[] = [];
      for (const e of frontier.flatMap((id) => below.get(id) ?? [])) {
        via.set(e.lotId, (via.get(e.lotId) ?? new Set()).add(e.batchId));
        if (!depth.has(e.lotId)) {
          depth.set(e.lotId, d);
          next.push(e.lotId);
        }
      }
      frontier = next;
    }
    const lots = await this.stores.lots.byIds(
      this.db,
      [...depth.keys()].filter((id) => id !== lot.id),
    );
    const affected = lots
      .map((l) => ({
        ...genealogyLot(l, today),
        depth: depth.get(l.id)!,
        viaBatches: [...via.get(l.id)!].sort(),
      }))
      .sort((a, b) => a.depth - b.depth || a.lotNumber.localeCompare(b.lotNumber));
    return {
      lot: { id: lot.id, lotNumber: lot.lotNumber, material: lot.materialCode },
      batches: [...new Set(edges.map((e) => e.batchId))].sort(),
      affectedLots: affected,
      stillAvailable: affected.filter((a) => a.quantity > 0 && a.effectiveStatus !== 'rejected').length,
    };
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private async find(db: Knex | Knex.Transaction, idOrNumber: string, forUpdate = false): Promise<LotRecord> {
    const lot = isUuid(idOrNumber)
      ? await this.stores.lots.byId(db, idOrNumber, forUpdate)
      : await this.stores.lots.byNumber(db, idOrNumber);
    if (!lot) throw notFound(`lot ${idOrNumber}`);
    return lot;
  }

  private async detailIn(trx: Knex.Transaction, lot: LotRecord): Promise<LotDetail> {
    const today = await this.inventory.today(trx);
    const statusHistory = [];
    for (const h of await this.stores.lots.statusHistory(trx, lot.id)) {
      const sig = h.signatureId
        ? (await this.stores.signatures.forEntity(trx, 'lot', lot.id)).find((s) => s.id === h.signatureId)
        : undefined;
      statusHistory.push({ ...h, signature: sig ? toManifestation(sig) : null });
    }
    return {
      ...lot,
      effectiveStatus: effectiveStatus(lot, today),
      transactions: await this.stores.lots.transactions(trx, lot.id),
      statusHistory,
    };
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof InventoryError) throw inventoryProblem(err);
      throw err;
    }
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** A lot as genealogy trees and recall impact show it. */
function genealogyLot(l: LotRecord, today: string): GenealogyLot {
  return {
    id: l.id,
    lotNumber: l.lotNumber,
    material: l.materialCode,
    quantity: l.quantity,
    unit: l.unit,
    status: l.status,
    effectiveStatus: effectiveStatus(l, today),
  };
}
