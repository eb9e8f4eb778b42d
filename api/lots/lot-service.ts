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
import { connectionsFreeNow } from '../../db/database';
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
type GenealogyLot = {
  id: string;
  lotNumber: string;
  material: string;
  quantity: number;
  unit: string;
  status: LotStatus;
  effectiveStatus: LotStatus;
  /** Set when this lot was already expanded elsewhere in the tree: its branches are shown there. */
  repeated?: true;
};

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
  /** Whether a genealogy is being walked in halves, on two connections (one such walk at a time: `walk`). */
  private walkingInHalves = false;

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
    // The lots reached, each with the edge it was reached by.
    const [rows, today] = await Promise.all([this.walk(lot.id, direction), this.inventory.today(this.db)]);
    const lots = new Map<string, GenealogyTreeRow>();
    // Each lot's edges to the lots below it (inputs backward, outputs forward), of every batch.
    const below = new Map<string, GenealogyTreeRow[]>();
    const batchIds = new Set<string>();
    for (const r of rows) {
      if (!lots.has(r.id)) lots.set(r.id, r);
      if (r.parentLotId === null || r.batchId === null) continue;
      batchIds.add(r.batchId);
      const edges = below.get(r.parentLotId);
      if (edges) edges.push(r);
      else below.set(r.parentLotId, [r]);
    }
    const expanded = new Set<string>();
    const backward = direction === 'backward';
    // Ten thousand nodes: each built as one literal with every key in the answer's order — one shape for all (an
    // undefined key is left out of the JSON). Measured on the benchmark's tree, building it and JSON.stringify took
    // about 15% less than with keys added to each node as they apply, and twice as long with a spread per node.
    const node = (id: string, edge: GenealogyTreeRow | undefined): object => {
      const l = lots.get(id)!;
      // A lot shown again is not expanded again: its branches are where it first appears.
      const repeated = expanded.has(id);
      expanded.add(id);
      const links: object[] = [];
      const edges = repeated ? undefined : below.get(id);
      if (edges) {
        // Each lot's batches, and each batch's lots, in ordinal order: the same tree for the same genealogy.
        edges.sort(byBatchThenLot);
        for (let i = 0; i < edges.length;) {
          const batchId = edges[i].batchId!;
          const first = edges[i];
          const nodes: object[] = [];
          for (; i < edges.length && edges[i].batchId === batchId; i++) nodes.push(node(edges[i].id, edges[i]));
          links.push(
            backward
              ? { batchId, produced: { value: first.produced, unit: l.unit }, inputs: nodes }
              : { batchId, consumed: { value: first.consumed, unit: l.unit }, outputs: nodes },
          );
        }
      }
      const effective = effectiveStatus(l, today);
      // `repeated` and the edge's amount stay undefined where they do not apply: the shape stays one.
      return backward
        ? ({
            id: l.id,
            lotNumber: l.lotNumber,
            material: l.materialCode,
            quantity: l.quantity,
            unit: l.unit,
            status: l.status,
            effectiveStatus: effective,
            repeated: repeated ? true : undefined,
            producedBy: links,
            consumed: edge && { value: edge.consumed, unit: l.unit },
          } satisfies Omit<BackwardNode, 'producedBy'> & { producedBy: object[]; consumed?: Amount })
        : ({
            id: l.id,
            lotNumber: l.lotNumber,
            material: l.materialCode,
            quantity: l.quantity,
            unit: l.unit,
            status: l.status,
            effectiveStatus: effective,
            repeated: repeated ? true : undefined,
            consumedBy: links,
            produced: edge && { value: edge.produced, unit: l.unit },
          } satisfies Omit<ForwardNode, 'consumedBy'> & { consumedBy: object[]; produced?: Amount });
    };
    const root = node(lot.id, undefined) as BackwardNode | ForwardNode;
    return { direction, lots: lots.size, batches: batchIds.size, root };
  }

  /** Every lot downstream of a lot (what a recall of it reaches), nearest first, with the batches between. */
  async recallImpact(idOrNumber: string) {
    const lot = await this.find(this.db, idOrNumber);
    const [rows, today] = await Promise.all([this.walk(lot.id, 'forward'), this.inventory.today(this.db)]);
    const facts = new Map<string, GenealogyTreeRow>();
    const below = new Map<string, GenealogyTreeRow[]>();
    const batches = new Set<string>();
    for (const r of rows) {
      if (!facts.has(r.id)) facts.set(r.id, r);
      if (r.parentLotId === null || r.batchId === null) continue;
      batches.add(r.batchId);
      const group = below.get(r.parentLotId);
      if (group) group.push(r);
      else below.set(r.parentLotId, [r]);
    }
    const depth = new Map<string, number>([[lot.id, 0]]);
    // The batches through which each lot is reached: most lots by one, so a list, not a set per lot.
    const via = new Map<string, string[]>();
    // Breadth first: each lot at its shortest distance from the recalled one.
    for (let frontier = [lot.id], d = 1; frontier.length > 0; d++) {
      const next: string[] = [];
      for (const from of frontier)
        for (const e of below.get(from) ?? []) {
          const through = via.get(e.id);
          if (!through) via.set(e.id, [e.batchId!]);
          else if (!through.includes(e.batchId!)) through.push(e.batchId!);
          if (!depth.has(e.id)) {
            depth.set(e.id, d);
            next.push(e.id);
          }
        }
      frontier = next;
    }
    const affected: (GenealogyLot & { depth: number; viaBatches: string[] })[] = [];
    for (const [id, d] of depth) {
      if (id === lot.id) continue;
      const a = genealogyLot(facts.get(id)!, today) as GenealogyLot & { depth: number; viaBatches: string[] };
      a.depth = d;
      a.viaBatches = via.get(id)!.sort(ordinal);
      affected.push(a);
    }
    // Already nearest first (breadth first); by lot number within a distance.
    affected.sort((a, b) => a.depth - b.depth || ordinal(a.lotNumber, b.lotNumber));
    return {
      lot: { id: lot.id, lotNumber: lot.lotNumber, material: lot.materialCode },
      batches: [...batches].sort(ordinal),
      affectedLots: affected,
      stillAvailable: affected.filter((a) => a.quantity > 0 && a.effectiveStatus !== 'rejected').length,
    };
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  /**
   * A genealogy's edges, walked in halves on two connections (PostgreSQL then works on two cores: about a quarter
   * less time on the benchmark's trees) where the pool has two free now and no other walk in halves is running,
   * else whole on one. One at a time: two would be four backends on what is usually a few cores; and never on a
   * busy pool, where a walk that has one connection would wait for a second that a whole walk does not need.
   */
  private async walk(lotId: string, direction: 'backward' | 'forward'): Promise<GenealogyTreeRow[]> {
    if (this.walkingInHalves || connectionsFreeNow(this.db) < 2)
      return this.stores.lots.genealogyTree(this.db, lotId, direction);
    this.walkingInHalves = true;
    try {
      return await this.stores.lots.genealogyTree(this.db, lotId, direction, true);
    } finally {
      this.walkingInHalves = false;
    }
  }

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

/** Ordinal, not locale-aware: the same order everywhere, and a fraction of the cost on ten thousand lots. */
function ordinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byBatchThenLot(a: GenealogyTreeRow, b: GenealogyTreeRow): number {
  return ordinal(a.batchId!, b.batchId!) || ordinal(a.lotNumber, b.lotNumber);
}

/** What a genealogy shows of a lot it reached. */
function genealogyLot(l: GenealogyTreeRow, today: string): GenealogyLot {
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
