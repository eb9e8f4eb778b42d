/** Stored answers to create requests sent with an Idempotency-Key (per user). */
import type { Knex } from 'knex';

export interface StoredAnswer {
  method: string;
  path: string;
  requestHash: string;
  status: number | null;
  response: unknown;
}

export class IdempotencyStore {
  async find(db: Knex | Knex.Transaction, userId: string, key: string): Promise<StoredAnswer | undefined> {
    const row = await db('idempotency_keys').where({ user_id: userId, key }).first();
    return row
      ? {
          method: row.method,
          path: row.path,
          requestHash: row.request_hash,
          status: row.status,
          response: row.response,
        }
      : undefined;
  }

  /**
   * Claims the key at the start of the create's transaction. A concurrent request with the same key
   * blocks on the primary key until this transaction ends, then fails (and replays) if it committed.
   */
  async claim(
    trx: Knex.Transaction,
    userId: string,
    key: string,
    a: Pick<StoredAnswer, 'method' | 'path' | 'requestHash'>,
  ): Promise<void> {
    await trx('idempotency_keys').insert({
      user_id: userId,
      key,
      method: a.method,
      path: a.path,
      request_hash: a.requestHash,
    });
  }

  /** Stores the answer, in the same transaction as the claim and the create. */
  async complete(trx: Knex.Transaction, userId: string, key: string, status: number, response: unknown): Promise<void> {
    await trx('idempotency_keys')
      .where({ user_id: userId, key })
      .update({ status, response: response === undefined ? null : JSON.stringify(response) });
  }
}
