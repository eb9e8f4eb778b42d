/**
 * QA's disposition of a batch: the review, signed "reviewed" (the batch's audit trail was reviewed), then the
 * release or the rejection, signed — which releases or rejects its output lot. None of the three by anyone
 * who performed, verified or approved a step of the batch: whoever executed a batch does not judge it.
 */
import type { Knex } from 'knex';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext, UserActor } from '../../db/change-context';
import { Inventory } from '../lots/inventory';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import { Problem, notFound } from '../http/problems';
import type { SignatureService, VerifiedSigner } from '../signatures/signature-service';

/** What each disposition makes of the batch, and from which statuses. */
export const DISPOSITIONS = {
  review: { to: 'reviewed', from: ['complete'] },
  release: { to: 'released', from: ['reviewed'] },
  reject: { to: 'rejected', from: ['reviewed', 'complete', 'stopped', 'aborted'] },
} as const;

export type Disposition = keyof typeof DISPOSITIONS;

/** Refuses (409) a disposition the batch's status does not allow. */
export function checkDispositionAllowed(batch: BatchRecord, action: Disposition): void {
  const { to: next, from } = DISPOSITIONS[action];
  if (!(from as readonly string[]).includes(batch.status))
    throw new Problem(
      'invalid-transition',
      `batch ${batch.number} is ${batch.status}: it cannot be ${next} (only from ${from.join(' or ')})`,
    );
}

/** Refuses (409) the release of a batch one of whose deviations is not closed (21 CFR 211.192). */
export async function checkDeviationsClosed(
  stores: Stores,
  db: Knex | Knex.Transaction,
  batch: BatchRecord,
): Promise<void> {
  const open = await stores.deviations.list(db, { batchId: batch.id, open: true, limit: 1000 });
  if (open.length > 0)
    throw new Problem(
      'deviations-open',
      `batch ${batch.number} has ${open.length} deviation(s) not closed: ${open.map((d) => `${d.number} (${d.state})`).join(', ')}`,
      { deviations: open.map((d) => ({ number: d.number, state: d.state, severity: d.severity })) },
    );
}

export class DispositionService {
  private readonly audit: AuditTrail;
  private readonly inventory: Inventory;

  constructor(
    private readonly stores: Stores,
    private readonly signatures: SignatureService,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.inventory = new Inventory(stores);
  }

  async disposition(
    ctx: ChangeContext & { actor: UserActor },
    signer: VerifiedSigner,
    idOrNumber: string,
    action: Disposition,
    /** The record's last entry when an investigation passed: the disposition is refused if the record has moved on. */
    investigatedHead?: string | null,
  ): Promise<BatchRecord> {
    const batch = await this.stores.batches.find(ctx.trx, idOrNumber, true);
    if (!batch) throw notFound(`batch ${idOrNumber}`);
    checkDispositionAllowed(batch, action);
    const { to: next } = DISPOSITIONS[action];
    const record = await this.stores.batches.ebr(ctx.trx, batch.id);
    if (investigatedHead !== undefined && (record[record.length - 1]?.hash ?? null) !== investigatedHead)
      throw new Problem(
        'record-mismatch',
        `batch ${batch.number}'s record changed since it was investigated: try again`,
      );
    if (action === 'release') await checkDeviationsClosed(this.stores, ctx.trx, batch);
    const steps = await this.stores.batches.steps(ctx.trx, batch.id);
    // Everyone who signed an entry of the record (performed, verified, approved a step), and the projections' performers and verifiers.
    const executors = [
      ...record.filter((e) => e.signatureId !== null).map((e) => e.userId),
      ...steps.flatMap((s) => [s.performedBy, s.verifiedBy]),
    ].filter((x): x is string => x !== null);
    const content = {
      batch: batch.number,
      action,
      planHash: batch.planHash,
      ebrHead: record[record.length - 1]?.hash ?? null,
    };
    const rule = `whoever performed, verified or approved a step of the batch cannot ${action} it`;
    const manifestation = await this.signatures.record(
      ctx,
      signer,
      { entityType: 'batch', entityId: batch.id, content },
      [{ userIds: executors, rule }],
    );
    await this.stores.batches.setStatus(ctx.trx, batch.id, next);
    await this.stores.outbox.emit(ctx.trx, 'batch.disposition', batch.number, {
      batch: batch.number,
      action,
      from: batch.status,
      to: next,
      signedBy: manifestation.signedBy,
      signedAt: manifestation.signedAt,
      reason: ctx.reason,
    });
    await this.audit.record(ctx, {
      action,
      entityType: 'batch',
      entityId: batch.id,
      oldValue: { status: batch.status },
      newValue: { status: next, signature: manifestation.id },
    });
    if (action !== 'review') {
      const lot = await this.stores.lots.byNumber(ctx.trx, batch.outputLotNumber);
      if (lot)
        await this.inventory.changeStatus(
          { ...ctx, reason: ctx.reason ?? `batch ${batch.number} ${next}` },
          lot.id,
          next === 'released' ? 'released' : 'rejected',
          manifestation.id,
        );
    }
    return (await this.stores.batches.find(ctx.trx, batch.id))!;
  }
}
