/**
 * Lots, their ledger of transactions, and their status history: the raw material of genealogy.
 *
 * A lot's quantity is the sum of its transactions, kept by a trigger in the transaction that appends
 * one, and never negative (a check constraint: an overdraw fails atomically, however many consume at
 * once). Transactions and status history are append-only. Genealogy follows the transactions: a batch
 * consumes lots and produces lots.
 */
import type { Knex } from 'knex';

export const name = '20261127010000_lots_and_genealogy';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create sequence lot_number_seq`,
    `create table lots (
      id uuid primary key default gen_random_uuid(),
      lot_number text not null unique check (lot_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
      material_code text not null references materials (code),
      unit text not null,
      quantity numeric not null default 0 check (quantity >= 0),
      status text not null default 'quarantine' check (status in ('quarantine', 'released', 'rejected', 'expired')),
      expiry_date date,
      supplier text,
      supplier_lot text,
      received_date date,
      produced_by_batch text,
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `create index lots_material on lots (material_code, status)`,
    `create index lots_produced_by on lots (produced_by_batch) where produced_by_batch is not null`,
    `comment on table lots is 'Lots of material: received, or produced by a batch. Never deleted.'`,
    `comment on column lots.unit is 'The material''s base unit (UCUM), in which quantity and every transaction are counted.'`,
    `comment on column lots.quantity is 'The sum of the lot''s transactions, kept by lot_transactions_apply: never written directly, never negative.'`,
    `comment on column lots.status is 'The recorded status. An expiry date in the past makes a lot unusable whatever its status says.'`,
    `create trigger lots_never_deleted before delete on lots for each row execute function ampoule_refuse_change()`,
    `alter table lots enable always trigger lots_never_deleted`,

    `create table lot_transactions (
      id bigint generated always as identity primary key,
      lot_id uuid not null references lots (id),
      kind text not null check (kind in ('receipt', 'consumption', 'production', 'adjustment')),
      quantity numeric not null,
      entered_quantity numeric not null,
      entered_unit text not null,
      batch_id text,
      step_id text,
      idempotency_key text unique,
      reason text,
      at timestamptz not null default clock_timestamp(),
      user_id uuid,
      user_name text not null,
      check ((kind = 'consumption') = (quantity < 0) or kind = 'adjustment'),
      check (kind not in ('consumption', 'production') or batch_id is not null),
      check (kind <> 'adjustment' or reason is not null)
    )`,
    `create index lot_transactions_lot on lot_transactions (lot_id, kind)`,
    `create index lot_transactions_batch on lot_transactions (batch_id, kind) where batch_id is not null`,
    `comment on table lot_transactions is 'The ledger of every lot: receipts, consumptions by batches, production by batches, adjustments with a reason. Append-only.'`,
    `comment on column lot_transactions.quantity is 'Signed change, in the lot''s unit: negative for a consumption.'`,
    `comment on column lot_transactions.entered_quantity is 'The quantity as entered, in entered_unit (the original record).'`,
    `comment on column lot_transactions.idempotency_key is 'For consumptions and production by a batch: <workflowId>/<stepId>/<lot>; the same key never applies twice.'`,
    `create function ampoule_lot_transaction_apply() returns trigger language plpgsql security definer set search_path from current as $$
    begin
      -- As the owner: the application role may update a lot's status, never its quantity.
      update lots set quantity = quantity + new.quantity where id = new.lot_id;
      return new;
    end $$`,
    `create trigger lot_transactions_apply after insert on lot_transactions for each row execute function ampoule_lot_transaction_apply()`,
    `alter table lot_transactions enable always trigger lot_transactions_apply`,

    `create table lot_status_history (
      id bigint generated always as identity primary key,
      lot_id uuid not null references lots (id),
      from_status text,
      to_status text not null,
      reason text not null,
      signature_id uuid references signatures (id),
      at timestamptz not null default clock_timestamp(),
      user_id uuid,
      user_name text not null
    )`,
    `create index lot_status_history_lot on lot_status_history (lot_id, id)`,
    `comment on table lot_status_history is 'Every status a lot has had, who set it, why, and the signature that released or rejected it. Append-only.'`,
  ]);
  for (const table of ['lot_transactions', 'lot_status_history']) {
    await run(knex, [
      `create trigger ${table}_append_only before update or delete on ${table} for each row execute function ampoule_refuse_change()`,
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ampoule_refuse_change()`,
      `alter table ${table} enable always trigger ${table}_append_only`,
      `alter table ${table} enable always trigger ${table}_no_truncate`,
    ]);
  }
  await run(knex, [
    `grant select, insert on lots to ampoule_app`,
    `grant update (status) on lots to ampoule_app`,
    `grant select, insert on lot_transactions, lot_status_history to ampoule_app`,
    `grant usage on sequence lot_number_seq to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists lot_status_history, lot_transactions, lots cascade`,
    `drop function if exists ampoule_lot_transaction_apply()`,
    `drop sequence if exists lot_number_seq`,
  ]);
}
