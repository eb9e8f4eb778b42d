/**
 * Reading batches: the list, one batch, its electronic batch record with the chain's verdict (recomputed, and
 * checked against its anchors outside the database), what QA reviews by exception, and QA's signatures on it.
 */
import { z } from 'zod';
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import { brokenEbrLink } from '../../domain/batch/ebr';
import type { Anchors } from '../audit/anchors';
import { notFound } from '../http/problems';
import { toManifestation, type SignatureManifestation } from '../signatures/signature-service';

export class BatchRecordService {
  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly anchors: Anchors,
  ) {}

  list(q: { status?: BatchRecord['status']; limit: number; before?: { id: string } }): Promise<BatchRecord[]> {
    return this.stores.batches.list(this.db, q);
  }

  async get(idOrNumber: string): Promise<BatchRecord> {
    const b = await this.stores.batches.find(this.db, idOrNumber);
    if (!b) throw notFound(`batch ${idOrNumber}`);
    return b;
  }

  /** Every entry in order, with its signature's manifestation, and whether the chain is whole and matches its anchors. */
  async ebr(idOrNumber: string) {
    const batch = await this.get(idOrNumber);
    const rows = await this.stores.batches.ebr(this.db, batch.id);
    const signatures = new Map<string, SignatureManifestation>();
    for (const id of rows.map((r) => r.signatureId).filter((x): x is string => x !== null)) {
      const s = await this.stores.signatures.byId(this.db, id);
      if (s) signatures.set(id, toManifestation(s));
    }
    const broken = brokenEbrLink(rows);
    // A chain that recomputes can still have been rewritten whole: its anchors, kept outside the database, tell.
    const anchors = await this.anchors.verifyBatches(this.db, batch.id);
    const anchored = !anchors.firstMismatch && anchors.unverifiable === 0;
    return {
      batch: header(batch),
      chain: broken
        ? { ok: false, firstBreak: broken, anchors }
        : { ok: anchored, entries: rows.length, lastHash: rows[rows.length - 1]?.hash ?? null, anchors },
      entries: rows.map((r) => ({ ...r, signature: r.signatureId ? (signatures.get(r.signatureId) ?? null) : null })),
    };
  }

  /**
   * What QA reviews by exception: deviations, failed steps, commands, comments, late entries, equipment phases
   * that were interrupted and taken up again, the yield, and the chain's and audit trail's state.
   */
  async reviewReport(idOrNumber: string) {
    const record = await this.ebr(idOrNumber);
    const audit = await this.stores.audit.find(this.db, {
      entityType: 'batch',
      entityId: record.batch.id,
      limit: 10_000,
    });
    const pick = (kinds: string[]) => record.entries.filter((e) => kinds.includes(e.kind));
    return {
      batch: record.batch,
      chain: record.chain,
      deviations: pick(['deviation']).map((e) => ({
        seq: e.seq,
        stepId: e.stepId,
        ...(e.data as object),
        by: e.userName,
        at: e.occurredAt,
      })),
      failedSteps: pick(['step-failed']).map((e) => ({
        seq: e.seq,
        stepId: e.stepId,
        ...(e.data as object),
        at: e.occurredAt,
      })),
      commands: pick(['batch-command'])
        .filter((e) => (e.data as { command?: string }).command)
        .map((e) => ({ seq: e.seq, ...(e.data as object), by: e.userName, at: e.occurredAt })),
      comments: pick(['values-entered'])
        .filter((e) => (e.data as { comment?: string | null }).comment)
        .map((e) => ({
          seq: e.seq,
          stepId: e.stepId,
          comment: (e.data as { comment: string }).comment,
          by: e.userName,
        })),
      lateEntries: pick(['values-entered'])
        .filter((e) => (e.data as { lateEntry?: unknown }).lateEntry)
        .map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as { lateEntry: object }).lateEntry })),
      interruptedPhases: [
        ...pick(['phase-interrupted']).map((e) => ({
          seq: e.seq,
          stepId: e.stepId,
          ...(e.data as object),
          at: e.occurredAt,
        })),
        ...pick(['step-failed'])
          .filter((e) => (e.data as { interruption?: object }).interruption)
          .map((e) => ({
            seq: e.seq,
            stepId: e.stepId,
            ...(e.data as { interruption: object }).interruption,
            failed: true,
            at: e.occurredAt,
          })),
      ].sort((a, b) => a.seq - b.seq),
      yield: pick(['yield']).map((e) => ({ seq: e.seq, ...(e.data as object) }))[0] ?? null,
      auditTrail: { entries: audit.length },
    };
  }

  /** QA's signatures on the batch as a whole (reviewed, released, rejected), oldest first, as their manifestations. */
  async dispositionSignatures(
    batch: BatchRecord,
    db: Knex | Knex.Transaction = this.db,
  ): Promise<SignatureManifestation[]> {
    return (await this.stores.signatures.forEntity(db, 'batch', batch.id)).map(toManifestation);
  }
}

/** A batch as the API shows it (its plan and units' bindings aside). */
/** A batch as lists and its own page give it: what it is, where it runs, how far it is. */
export const batchHeaderSchema = z
  .object({
    id: z.uuid(),
    number: z.string(),
    workflowId: z.string(),
    recipe: z.object({ code: z.string(), version: z.int(), name: z.string() }),
    product: z.object({ code: z.string(), name: z.string() }),
    batchSize: z.object({ value: z.number(), unit: z.string() }),
    outputLot: z.string(),
    units: z.record(z.string(), z.string()).describe('unit procedure → equipment unit'),
    planHash: z.string(),
    orderId: z.uuid().nullable().describe('the production order it was launched for (GET /api/orders/:id)'),
    status: z.enum([
      'created',
      'running',
      'held',
      'complete',
      'stopped',
      'aborted',
      'reviewed',
      'released',
      'rejected',
    ]),
    plannedStart: z.iso.datetime().nullable(),
    startedAt: z.iso.datetime().nullable(),
    endedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'BatchHeader' });

export function header(b: BatchRecord) {
  return {
    id: b.id,
    number: b.number,
    workflowId: b.workflowId,
    recipe: { code: b.recipeCode, version: b.recipeVersion, name: b.plan.recipe.name },
    product: b.plan.product,
    batchSize: { value: b.batchSize, unit: b.batchUnit },
    outputLot: b.outputLotNumber,
    units: Object.fromEntries(Object.entries(b.units).map(([up, u]) => [up, u.code])),
    planHash: b.planHash,
    orderId: b.orderId,
    status: b.status,
    plannedStart: b.plannedStart,
    startedAt: b.startedAt,
    endedAt: b.endedAt,
    createdAt: b.createdAt,
  };
}
