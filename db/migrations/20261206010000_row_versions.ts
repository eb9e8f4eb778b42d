/**
 * Row versions for optimistic concurrency. Each editable resource (recipe versions, users, equipment units)
 * counts its changes in `row_version`, kept by a trigger (a client cannot set it): the API gives it as the
 * resource's ETag, and a change sent with a stale If-Match is refused (412) instead of silently overwriting
 * what someone else changed since it was read.
 */
import type { Knex } from 'knex';

export const name = '20261206010000_row_versions';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

/** Each versioned table, with the columns whose change is bookkeeping, not a new version of the resource. */
const VERSIONED: Record<string, string[]> = {
  recipe_versions: [],
  users: ['failed_attempts'],
  equipment_units: [],
};

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create function ampoule_bump_row_version() returns trigger language plpgsql as $$
    declare
      ignored text[] := coalesce(tg_argv, '{}'); -- null when the trigger has no arguments
    begin
      -- The trigger's arguments name the columns that do not count; row_version itself never does.
      if (to_jsonb(new) - 'row_version' - ignored) is distinct from (to_jsonb(old) - 'row_version' - ignored) then
        new.row_version := old.row_version + 1;
      else
        new.row_version := old.row_version;
      end if;
      return new;
    end $$`,
    `comment on function ampoule_bump_row_version() is 'Counts a row''s changes in row_version (the ETag of the resource): +1 for any change but of the columns given as arguments.'`,
  ]);
  for (const [table, ignored] of Object.entries(VERSIONED)) {
    await run(knex, [
      `alter table ${table} add column row_version integer not null default 1`,
      `comment on column ${table}.row_version is 'How many times the row changed (from 1): the resource''s ETag. Kept by a trigger.'`,
      // Before-update triggers fire in name order: a guard that refuses the change (recipe_versions_guard)
      // runs before this one, so a refused change counts no version.
      `create trigger ${table}_row_version before update on ${table} for each row execute function ampoule_bump_row_version(${ignored.map((c) => `'${c}'`).join(', ')})`,
      `alter table ${table} enable always trigger ${table}_row_version`,
    ]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of Object.keys(VERSIONED))
    await run(knex, [
      `drop trigger if exists ${table}_row_version on ${table}`,
      `alter table ${table} drop column if exists row_version`,
    ]);
  await run(knex, [`drop function if exists ampoule_bump_row_version()`]);
}
