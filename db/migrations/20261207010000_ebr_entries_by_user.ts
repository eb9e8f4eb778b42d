/**
 * An investigation's impact query asks which batches an operator took part in (performed, verified or signed an
 * entry of their record): the record's entries by user.
 */
import type { Knex } from 'knex';

export const name = '20261207010000_ebr_entries_by_user';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index ebr_entries_user on ebr_entries (user_id, batch_id) where user_id is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists ebr_entries_user`);
}
