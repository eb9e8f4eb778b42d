/**
 * OEE's stop reasons: a stop at or over its unit's micro-stop threshold needs a reason from the loss tree
 * (`domain/oee/losses.ts`). Append-only: giving another reason adds a row (the latest counts), each audited by
 * Ampoule in its transaction; a change from outside Ampoule leaves its trace.
 */
import type { Knex } from 'knex';

export const name = '20261209000000_oee_stop_reasons';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table oee_stop_reasons (
      id bigint generated always as identity primary key,
      unit_code text not null references equipment_units (code),
      stop_start timestamptz not null,
      stop_end timestamptz not null check (stop_end > stop_start),
      reason text not null,
      comment text,
      user_id uuid references users (id),
      user_name text not null,
      recorded_at timestamptz not null default clock_timestamp()
    )`,
    `create index oee_stop_reasons_unit on oee_stop_reasons (unit_code, stop_start)`,
    `comment on table oee_stop_reasons is 'The reason given for a stop of a unit (OEE losses). Append-only: the latest row of a stop counts.'`,
    `create trigger oee_stop_reasons_append_only before update or delete on oee_stop_reasons for each row execute function ampoule_refuse_change()`,
    `create trigger oee_stop_reasons_no_truncate before truncate on oee_stop_reasons for each statement execute function ampoule_refuse_change()`,
    `create trigger oee_stop_reasons_outside_ampoule after insert or update or delete on oee_stop_reasons for each row execute function ampoule_trace_outside_change('($1->>''unit_code'') || ''@'' || ($1->>''stop_start'')')`,
    ...['oee_stop_reasons_append_only', 'oee_stop_reasons_no_truncate', 'oee_stop_reasons_outside_ampoule'].map(
      (t) => `alter table oee_stop_reasons enable always trigger ${t}`,
    ),
    `grant select, insert on oee_stop_reasons to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [`drop table if exists oee_stop_reasons`]);
}
