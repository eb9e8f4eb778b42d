/**
 * Which batch holds a unit. A unit in use names the batch that claimed it: only that batch's end gives it
 * back (a retried release of an earlier batch cannot free a unit another batch has claimed since), and a
 * person changes the status of a held unit only by forcing it, with a reason, on the record.
 */
import type { Knex } from 'knex';

export const name = '20261206003000_units_held_by_batch';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `alter table equipment_units add column held_by_batch text`,
    `comment on column equipment_units.held_by_batch is 'The number of the batch that claimed the unit and has not given it back: set with status in-use, cleared when the batch ends (or a person forces the unit free).'`,
    // Units in use by batches still open when this migration runs.
    `update equipment_units u set held_by_batch = b.number
       from batches b
      where u.status = 'in-use' and b.status in ('created', 'running', 'held')
        and exists (select 1 from jsonb_each(b.units) j where j.value->>'code' = u.code)`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [`alter table equipment_units drop column if exists held_by_batch`]);
}
