/** Electronic signatures' SQL. Append-only: the table refuses UPDATE and DELETE. */
import type { Knex } from 'knex';
import type { SignatureMeaning } from '../../domain/identity';

export interface SignatureRecord {
  id: string;
  signerId: string;
  username: string;
  printedName: string;
  meaning: SignatureMeaning;
  comment: string | null;
  signedAt: Date;
  entityType: string;
  entityId: string;
  contentHash: string;
}

/** A signature to store; its id may be chosen beforehand (to bind entries to it in the same statement). */
export type NewSignature = Omit<SignatureRecord, 'id' | 'signedAt'> & {
  id?: string;
  clientAddress: string | null;
  requestId: string | null;
};

/** The row of a new signature; the database stamps `signed_at`. */
export function signatureRow(s: NewSignature): Record<string, unknown> {
  return {
    ...(s.id ? { id: s.id } : {}),
    signer_id: s.signerId,
    username: s.username,
    printed_name: s.printedName,
    meaning: s.meaning,
    comment: s.comment,
    entity_type: s.entityType,
    entity_id: s.entityId,
    content_hash: s.contentHash,
    client_address: s.clientAddress,
    request_id: s.requestId,
  };
}

export class SignatureStore {
  async insert(trx: Knex.Transaction, s: NewSignature): Promise<SignatureRecord> {
    const [row] = await trx('signatures').insert(signatureRow(s)).returning('*');
    return toSignature(row);
  }

  async forEntity(db: Knex | Knex.Transaction, entityType: string, entityId: string): Promise<SignatureRecord[]> {
    return (await db('signatures').where({ entity_type: entityType, entity_id: entityId }).orderBy('signed_at')).map(
      toSignature,
    );
  }

  async byId(db: Knex, id: string): Promise<SignatureRecord | undefined> {
    const row = await db('signatures').where('id', id).first();
    return row ? toSignature(row) : undefined;
  }

  /** The signature a batch-record entry carries (by the entry's key), if it carries one. */
  async ofEbrEntry(db: Knex, entryKey: string): Promise<SignatureRecord | undefined> {
    const row = await db('signatures as s')
      .join('ebr_entries as e', 'e.signature_id', 's.id')
      .where('e.entry_key', entryKey)
      .first('s.*');
    return row ? toSignature(row) : undefined;
  }
}

function toSignature(r: Record<string, unknown>): SignatureRecord {
  return {
    id: r.id as string,
    signerId: r.signer_id as string,
    username: r.username as string,
    printedName: r.printed_name as string,
    meaning: r.meaning as SignatureMeaning,
    comment: (r.comment as string | null) ?? null,
    signedAt: r.signed_at as Date,
    entityType: r.entity_type as string,
    entityId: r.entity_id as string,
    contentHash: r.content_hash as string,
  };
}
