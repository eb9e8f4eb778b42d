/**
 * Master data the recipes refer to (equipment classes, materials) and recipe control: master recipes,
 * their versions through the lifecycle, and the execution plans approved versions compile into.
 *
 * The database guards what the application promises: a version's definition cannot change once it has
 * left Draft; versions and recipes are never deleted; execution plans are append-only; a recipe has at
 * most one open (Draft or In review) and at most one Effective version.
 */
import type { Knex } from 'knex';

export const name = '20261127000000_master_data_and_recipes';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table equipment_classes (
      code text primary key check (code ~ '^[A-Z][A-Z0-9_-]{0,63}$'),
      name text not null check (length(name) between 1 and 200),
      phases text[] not null default '{}',
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table equipment_classes is 'Kinds of equipment (bioreactor, mixer, scale): what a unit procedure runs on.'`,
    `comment on column equipment_classes.phases is 'The equipment phases units of this class offer (HEAT, MIX, ...): what a recipe may ask of them.'`,
    `create table materials (
      code text primary key check (code ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'),
      name text not null check (length(name) between 1 and 200),
      type text not null check (type in ('raw', 'intermediate', 'product')),
      base_unit text not null,
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table materials is 'Materials: raw materials, intermediates and products.'`,
    `comment on column materials.base_unit is 'UCUM code of mass, volume or amount in which the material is counted.'`,

    `create table recipes (
      id uuid primary key default gen_random_uuid(),
      code text not null unique check (code ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'),
      name text not null check (length(name) between 1 and 200),
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table recipes is 'Master recipes: the identity that versions share. Never deleted.'`,
    `create table recipe_versions (
      id uuid primary key default gen_random_uuid(),
      recipe_id uuid not null references recipes (id),
      version integer not null check (version > 0),
      status text not null check (status in ('draft', 'in-review', 'approved', 'effective', 'superseded', 'retired')),
      definition jsonb not null,
      authors uuid[] not null,
      plan_hash text,
      created_at timestamptz not null default now(),
      created_by uuid references users (id),
      updated_at timestamptz not null default now(),
      submitted_at timestamptz,
      approved_at timestamptz,
      effective_at timestamptz,
      superseded_at timestamptz,
      retired_at timestamptz,
      unique (recipe_id, version)
    )`,
    `create unique index recipe_versions_one_open on recipe_versions (recipe_id) where status in ('draft', 'in-review')`,
    `create unique index recipe_versions_one_effective on recipe_versions (recipe_id) where status = 'effective'`,
    `comment on table recipe_versions is 'Versions of a master recipe through Draft, In review, Approved, Effective, Superseded, Retired. Never deleted.'`,
    `comment on column recipe_versions.definition is 'The recipe as authored (domain/recipe/definition.ts). Frozen once the version leaves Draft.'`,
    `comment on column recipe_versions.authors is 'Everyone who created, edited or submitted this version: none of them may approve or reject it.'`,
    `comment on column recipe_versions.plan_hash is 'SHA-256 of the execution plan compiled at approval.'`,
    `create function ampoule_recipe_version_guard() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'recipe versions are never deleted' using errcode = '42501';
      end if;
      if old.status <> 'draft' and new.definition is distinct from old.definition then
        raise exception 'recipe version % is %: its definition is frozen', old.version, old.status using errcode = '42501';
      end if;
      if old.plan_hash is not null and new.plan_hash is distinct from old.plan_hash then
        raise exception 'recipe version %: its execution plan is frozen', old.version using errcode = '42501';
      end if;
      return new;
    end $$`,
    `create trigger recipe_versions_guard before update or delete on recipe_versions for each row execute function ampoule_recipe_version_guard()`,
    `alter table recipe_versions enable always trigger recipe_versions_guard`,
    `create trigger recipes_never_deleted before delete on recipes for each row execute function ampoule_refuse_change()`,
    `alter table recipes enable always trigger recipes_never_deleted`,

    `create table execution_plans (
      hash text primary key check (hash ~ '^[0-9a-f]{64}$'),
      recipe_version_id uuid not null unique references recipe_versions (id),
      plan jsonb not null,
      created_at timestamptz not null default clock_timestamp()
    )`,
    `comment on table execution_plans is 'The plan each approved recipe version compiled into (domain/recipe/plan.ts), keyed by the SHA-256 of its canonical JSON. Append-only.'`,
    `create trigger execution_plans_append_only before update or delete on execution_plans for each row execute function ampoule_refuse_change()`,
    `create trigger execution_plans_no_truncate before truncate on execution_plans for each statement execute function ampoule_refuse_change()`,
    `alter table execution_plans enable always trigger execution_plans_append_only`,
    `alter table execution_plans enable always trigger execution_plans_no_truncate`,

    `grant select, insert, update on equipment_classes, materials, recipes, recipe_versions to ampoule_app`,
    `grant select, insert on execution_plans to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists execution_plans, recipe_versions, recipes, materials, equipment_classes cascade`,
    `drop function if exists ampoule_recipe_version_guard()`,
  ]);
}
