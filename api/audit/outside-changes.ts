/**
 * QA's acknowledgement of a change made outside Ampoule. The database traces every such change in the audit
 * trail (migration 20261206020000), and the audit verification is not ok while any is unexplained. QA reviews
 * one — a sanctioned data fix, say — and acknowledges it with a signature meaning "reviewed" and a reason: the
 * trace stays, the verification stops counting it, and the acknowledgement is audited like any change.
 */
import type { Knex } from 'knex';
import { AuditTrail } from './audit-trail';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import { OUTSIDE_CHANGE } from '../../db/stores/audit-store';
import { Problem, notFound } from '../http/problems';
import type { SignatureManifestation, SignatureService, VerifiedSigner } from '../signatures/signature-service';

export class OutsideChanges {
  private readonly audit: AuditTrail;

  constructor(
    private readonly stores: Stores,
    private readonly signatures: SignatureService,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** Acknowledges the traced change `id` (an audit entry with action `outside-ampoule`), once. */
  async acknowledge(
    ctx: ChangeContext,
    signer: VerifiedSigner,
    id: string,
  ): Promise<{ entry: string; signature: SignatureManifestation }> {
    const entry = await this.stores.audit.byId(ctx.trx, id);
    if (!entry || entry.action !== 'outside-ampoule') throw notFound(`change made outside Ampoule ${id}`);
    if (await this.acknowledged(ctx.trx, id))
      throw new Problem('conflict', `the change ${id} was acknowledged already`);
    const signature = await this.signatures.record(ctx, signer, {
      entityType: OUTSIDE_CHANGE,
      entityId: id,
      content: {
        entry: id,
        entityType: entry.entityType,
        entityId: entry.entityId,
        old: entry.oldValue,
        new: entry.newValue,
        recordedAt: entry.recordedAt.toISOString(),
      },
    });
    await this.audit.record(ctx, {
      action: 'acknowledge',
      entityType: OUTSIDE_CHANGE,
      entityId: id,
      newValue: { acknowledged: true, signature: signature.id },
    });
    return { entry: id, signature };
  }

  private async acknowledged(trx: Knex.Transaction, id: string): Promise<boolean> {
    return (
      (await trx('audit_entries')
        .where({ action: 'acknowledge', entity_type: OUTSIDE_CHANGE, entity_id: id })
        .first()) !== undefined
    );
  }
}
