/** Stored answers to create requests sent with an Idempotency-Key (per user). */
import type { Knex } from 'knex';

export interface StoredAnswer {
  method: string;
  path: string;
  requestHash: string;
  status: number;
  response: unknown;
}

export class IdempotencyStore {
  async find(db: Knex | Knex.Transaction, userId: string, key: string): Promise<StoredAnswer | undefined> {
    const row = await db('idempotency_keys').where({ user_id: userId, key }).first();
    return row ? { method: row.method, path: row.path, requestHash: row.request_hash, status: row.status, response: row.response } : undefined;
  }

  /** Stores the answer in the transaction of the create; a concurrent twin fails on the primary key. */
  async save(trx: Knex.Transaction, userId: string, key: string, a: StoredAnswer): Promise<void> {
    await trx('idempotency_keys').insert({
      user_id: userId,
      key,
      method: a.method,
      path: a.path,
      request_hash: a.requestHash,
      status: a.status,
      response: a.response === undefined ? null : JSON.stringify(a.response),
    });
  }
}
