/**
 * Batches and their electronic batch record.
 *
 * - `batches`: one per batch workflow (`batch-<number>`), with the scaled plan it runs and the units it
 *   was given; its status follows the workflow and then QA's review and disposition.
 * - `batch_steps`: where each step stands and whom it waits for — the work queue reads it.
 * - `ebr_entries`: the batch record, written by the workflow's activities: append-only, hash-chained per
 *   batch, each entry carrying the workflow id, run id and history event that caused it, and stored once
 *   however often its activity runs (entry_key).
 */
import type { Knex } from 'knex';

export const name = '20261127030000_batches_and_ebr';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create sequence batch_number_seq`,
    `create table batches (
      id uuid primary key default gen_random_uuid(),
      number text not null unique check (number ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
      workflow_id text not null unique,
      recipe_id uuid not null references recipes (id),
      recipe_version_id uuid not null references recipe_versions (id),
      recipe_code text not null,
      recipe_version integer not null,
      product_code text not null,
      batch_size numeric not null check (batch_size > 0),
      batch_unit text not null,
      output_lot_number text not null unique,
      output_material text not null references materials (code),
      planned_start timestamptz,
      plan jsonb not null,
      plan_hash text not null,
      units jsonb not null,
      status text not null default 'created' check (status in ('created', 'running', 'held', 'complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected')),
      started_at timestamptz,
      ended_at timestamptz,
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table batches is 'Batches: each runs as the Temporal workflow batch-<number>. Never deleted.'`,
    `comment on column batches.plan is 'The scaled execution plan the workflow received (domain/recipe/plan.ts), and plan_hash its SHA-256.'`,
    `comment on column batches.units is 'The equipment unit given to each unit procedure, with its endpoint and binding.'`,
    `comment on column batches.status is 'created, running, held, then complete, stopped or aborted (the workflow); reviewed, released or rejected (QA).'`,
    `create trigger batches_never_deleted before delete on batches for each row execute function ampoule_refuse_change()`,
    `alter table batches enable always trigger batches_never_deleted`,

    `create table batch_steps (
      batch_id uuid not null references batches (id),
      step_id text not null,
      number integer not null,
      name text not null,
      kind text not null,
      unit_procedure_id text not null,
      status text not null default 'pending' check (status in ('pending', 'active', 'awaiting-input', 'awaiting-verification', 'done', 'failed', 'cancelled')),
      awaiting_roles text[] not null default '{}',
      performed_by uuid,
      verified_by uuid,
      updated_at timestamptz not null default now(),
      primary key (batch_id, step_id)
    )`,
    `create index batch_steps_waiting on batch_steps (status) where status in ('awaiting-input', 'awaiting-verification')`,
    `comment on table batch_steps is 'Where each step of each batch stands, kept by the workflow''s activities: what the work queue shows.'`,

    `create table ebr_entries (
      batch_id uuid not null references batches (id),
      seq integer not null,
      entry_key text not null unique,
      kind text not null,
      step_id text,
      data jsonb not null,
      workflow_id text not null,
      run_id text not null,
      event_id bigint not null,
      occurred_at timestamptz not null,
      recorded_at timestamptz not null default clock_timestamp(),
      user_id uuid,
      user_name text,
      signature_id uuid references signatures (id),
      prev_hash text not null,
      hash text not null,
      primary key (batch_id, seq)
    )`,
    `comment on table ebr_entries is 'The electronic batch record: append-only and hash-chained per batch.'`,
    `comment on column ebr_entries.entry_key is '<workflowId>/<entry number>: the same entry written twice (a retried activity) is stored once.'`,
    `comment on column ebr_entries.event_id is 'The workflow history event the entry was decided in (the workflow task''s started event).'`,
    `comment on column ebr_entries.occurred_at is 'Workflow time of the entry (deterministic: it replays the same).'`,
    `comment on column ebr_entries.signature_id is 'The electronic signature given with this entry, bound to its content.'`,
    `comment on column ebr_entries.hash is 'hex SHA-256 of prev_hash followed by the RFC 8785 canonical JSON of the entry (domain/batch/ebr.ts).'`,
    `create trigger ebr_entries_append_only before update or delete on ebr_entries for each row execute function ampoule_refuse_change()`,
    `create trigger ebr_entries_no_truncate before truncate on ebr_entries for each statement execute function ampoule_refuse_change()`,
    `alter table ebr_entries enable always trigger ebr_entries_append_only`,
    `alter table ebr_entries enable always trigger ebr_entries_no_truncate`,

    `grant select, insert, update on batches, batch_steps to ampoule_app`,
    `grant select, insert on ebr_entries to ampoule_app`,
    `grant usage on sequence batch_number_seq to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists ebr_entries, batch_steps, batches cascade`,
    `drop sequence if exists batch_number_seq`,
  ]);
}
