/**
 * Production orders (ISA-95 production requests): what the ERP, or a planner, asks to be made — a product, a
 * quantity and its unit, a requested window, the materials it needs — planned, released to the floor, launched as a
 * batch, closed. A batch remembers its order. What an order asks for changes only while it is planned (the ERP's
 * order changes); its state moves only along its life's edges; a closed or cancelled order is final; never deleted.
 * Every change is audited by Ampoule in its transaction; one from outside Ampoule leaves its trace (under the order's
 * id, as Ampoule's own entries are).
 */
import type { Knex } from 'knex';

export const name = '20261212000000_production_orders';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

/** What the order asks for: changed only while it is planned. */
const REQUEST = ['product_code', 'quantity', 'unit', 'requested_start', 'requested_end', 'recipe_code', 'materials'];
/** Set when the order is created, never changed after. */
const IDENTITY = ['id', 'number', 'source', 'created_by', 'created_at'];

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table production_orders (
      id uuid primary key default gen_random_uuid(),
      number text not null unique check (number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
      source text not null check (source in ('api', 'b2mml')),
      product_code text not null references materials (code),
      quantity numeric not null check (quantity > 0),
      unit text not null,
      requested_start timestamptz,
      requested_end timestamptz,
      recipe_code text references recipes (code),
      materials jsonb not null default '[]',
      state text not null default 'planned' check (state in ('planned', 'released', 'launched', 'closed', 'cancelled')),
      batch_id uuid unique references batches (id),
      created_by uuid references users (id),
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      row_version integer not null default 1,
      check (requested_end is null or requested_start is null or requested_end >= requested_start),
      check ((state in ('launched', 'closed')) = (batch_id is not null))
    )`,
    `comment on table production_orders is 'Production orders (ISA-95 production requests): planned, released, launched as a batch, closed. Never deleted; a closed or cancelled one is final.'`,
    `comment on column production_orders.number is 'The order''s number: the ERP''s (B2MML ProductionRequest ID), or a planner''s.'`,
    `comment on column production_orders.materials is 'The materials the order requires: [{material, quantity, unit}] (B2MML MaterialConsumedRequirement).'`,
    `create index production_orders_state on production_orders (state) where state in ('planned', 'released')`,
    `alter table batches add column order_id uuid unique references production_orders (id)`,
    `comment on column batches.order_id is 'The production order the batch was launched for.'`,
    `create function ampoule_production_order_guard() returns trigger language plpgsql as $$
    begin
      if old.state in ('closed', 'cancelled') then
        raise exception 'production order % is %: it is final', old.number, old.state using errcode = '42501';
      end if;
      if ${IDENTITY.map((c) => `new.${c} is distinct from old.${c}`).join(' or ')} then
        raise exception 'what production order % is cannot change', old.number using errcode = '42501';
      end if;
      if old.state <> 'planned' and (${REQUEST.map((c) => `new.${c} is distinct from old.${c}`).join(' or ')}) then
        raise exception 'production order % is %: what it asks for changes only while it is planned', old.number, old.state using errcode = '42501';
      end if;
      if old.batch_id is not null and new.batch_id is distinct from old.batch_id then
        raise exception 'production order % was launched as a batch: that cannot change', old.number using errcode = '42501';
      end if;
      if new.state is distinct from old.state and (old.state, new.state) not in (
           ('planned', 'released'), ('released', 'planned'), ('planned', 'cancelled'), ('released', 'cancelled'),
           ('released', 'launched'), ('launched', 'closed')) then
        raise exception 'production order % cannot go from % to %', old.number, old.state, new.state using errcode = '42501';
      end if;
      new.updated_at := clock_timestamp();
      return new;
    end $$`,
    `comment on function ampoule_production_order_guard() is 'A production order: what it is never changes, what it asks for only while planned, its state only along its life''s edges; closed or cancelled is final.'`,
    `create trigger production_orders_guard before update on production_orders for each row execute function ampoule_production_order_guard()`,
    `create trigger production_orders_never_deleted before delete on production_orders for each row execute function ampoule_refuse_change()`,
    `create trigger production_orders_no_truncate before truncate on production_orders for each statement execute function ampoule_refuse_change()`,
    // After the guard (name order): a refused change counts no version.
    `create trigger production_orders_row_version before update on production_orders for each row execute function ampoule_bump_row_version('updated_at')`,
    `create trigger production_orders_outside_ampoule after insert or update or delete on production_orders for each row execute function ampoule_trace_outside_change('$1->>''id''')`,
    `create trigger production_orders_outside_ampoule_truncate after truncate on production_orders for each statement execute function ampoule_trace_outside_truncate()`,
    ...[
      'production_orders_guard',
      'production_orders_never_deleted',
      'production_orders_no_truncate',
      'production_orders_row_version',
      'production_orders_outside_ampoule',
      'production_orders_outside_ampoule_truncate',
    ].map((t) => `alter table production_orders enable always trigger ${t}`),
    // To the application role this database names (migration 20261210000000).
    `do $$ begin
      execute format('grant select, insert on production_orders to %I', (select name from ampoule_app_role));
      execute format('grant update (product_code, quantity, unit, requested_start, requested_end, recipe_code, materials, state, batch_id) on production_orders to %I', (select name from ampoule_app_role));
    end $$`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `alter table batches drop column if exists order_id`,
    `drop table if exists production_orders`,
    `drop function if exists ampoule_production_order_guard()`,
  ]);
}
