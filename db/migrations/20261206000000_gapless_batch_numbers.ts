/**
 * Batch numbers without gaps. A sequence hands out a number even to a launch that is then refused and
 * rolled back, so numbers went missing with no word why. A counter row per year, taken in the launch's
 * transaction, goes back with a refused launch; the one number that can still be lost — a workflow started
 * by a launch whose commit failed, which the next launch then meets — is voided with its reason.
 */
import type { Knex } from 'knex';

export const name = '20261206000000_gapless_batch_numbers';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table batch_number_counters (
      year integer primary key check (year between 2000 and 9999),
      last integer not null check (last >= 0)
    )`,
    `comment on table batch_number_counters is 'The last batch number given in each year (B<year>-<n>). Taken with a row lock in the launch''s transaction: a refused launch gives its number back, and launches take turns.'`,
    // Carry on after the numbers already given by the sequence this replaces.
    `insert into batch_number_counters (year, last)
       select substring(number from 2 for 4)::integer, max(substring(number from 7)::integer)
         from batches where number ~ '^B[0-9]{4}-[0-9]{5,9}$' group by 1`,
    `create table batch_number_voids (
      number text primary key,
      reason text not null,
      voided_at timestamptz not null default clock_timestamp(),
      voided_by uuid references users (id)
    )`,
    `comment on table batch_number_voids is 'Batch numbers that were given but never became a batch, and why: the register that accounts for every gap in the numbering. Append-only.'`,
    `create trigger batch_number_voids_append_only before update or delete on batch_number_voids for each row execute function ampoule_refuse_change()`,
    `create trigger batch_number_voids_no_truncate before truncate on batch_number_voids for each statement execute function ampoule_refuse_change()`,
    `alter table batch_number_voids enable always trigger batch_number_voids_append_only`,
    `alter table batch_number_voids enable always trigger batch_number_voids_no_truncate`,
    `drop sequence batch_number_seq`,
    `grant select, insert, update on batch_number_counters to ampoule_app`,
    `grant select, insert on batch_number_voids to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  // The sequence comes back past every number the counters gave, so that none is given twice.
  const { rows } = await knex.raw(`select coalesce(max(last), 0) + 1 as next from batch_number_counters`);
  await run(knex, [
    `drop table if exists batch_number_voids, batch_number_counters`,
    `create sequence batch_number_seq start ${Number(rows[0].next)}`,
    `grant usage on sequence batch_number_seq to ampoule_app`,
  ]);
}
