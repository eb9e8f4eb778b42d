/**
 * Each batch's workflow history, kept with its record. A Temporal namespace's retention deletes closed runs
 * long before a batch record's retention ends; QA investigates from this archive, which Ampoule writes once
 * the batch's workflow has closed. One row per run of the workflow's chain, in order: the run's history in
 * Temporal's JSON format (as `temporal workflow show --output json` writes it), exactly the bytes the API
 * exports, and their SHA-256 — which is also written into the batch record and the audit trail.
 * Append-only, and a change from outside Ampoule leaves its trace, like the record itself.
 */
import type { Knex } from 'knex';

export const name = '20261207000000_batch_histories';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table batch_histories (
      batch_id uuid not null references batches (id),
      run_no integer not null check (run_no >= 1),
      workflow_id text not null,
      run_id text not null unique,
      events integer not null check (events > 0),
      history_json text not null,
      sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
      archived_at timestamptz not null default clock_timestamp(),
      primary key (batch_id, run_no)
    )`,
    `comment on table batch_histories is 'The workflow history of each run of a batch''s workflow, archived when it closed: append-only.'`,
    `comment on column batch_histories.history_json is 'temporal.api.history.v1.History in Temporal''s JSON format (proto3 JSON, as the Temporal CLI and UI export it): the exact bytes GET /api/batches/:id/history answers.'`,
    `comment on column batch_histories.sha256 is 'hex SHA-256 of history_json (UTF-8): also in the batch record''s history-archived entry and the audit trail.'`,
    `create trigger batch_histories_append_only before update or delete on batch_histories for each row execute function ampoule_refuse_change()`,
    `create trigger batch_histories_no_truncate before truncate on batch_histories for each statement execute function ampoule_refuse_change()`,
    `alter table batch_histories enable always trigger batch_histories_append_only`,
    `alter table batch_histories enable always trigger batch_histories_no_truncate`,
    `create trigger batch_histories_outside_ampoule after insert or update or delete on batch_histories for each row execute function ampoule_trace_outside_change('($1->>''workflow_id'') || ''/'' || ($1->>''run_id'')')`,
    `create trigger batch_histories_outside_ampoule_truncate after truncate on batch_histories for each statement execute function ampoule_trace_outside_truncate()`,
    `alter table batch_histories enable always trigger batch_histories_outside_ampoule`,
    `alter table batch_histories enable always trigger batch_histories_outside_ampoule_truncate`,
    `grant select, insert on batch_histories to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [`drop table if exists batch_histories`]);
}
