/**
 * Deviations as records with a life (domain/batch/deviations.ts): raised by the batch record (a limit
 * excursion, in the transaction that writes its `deviation` entry) or by a person, linked to the batch, its step,
 * the workflow run and history event that caused it, the unit and the lots; then investigated, submitted and
 * closed with a QA signature. Never deleted. What raised it never changes; its state moves only along the
 * life's edges and a closed deviation is final — the guard below refuses anything else, whoever asks. Every change
 * is audited by Ampoule in its transaction; one from outside Ampoule leaves its trace.
 */
import type { Knex } from 'knex';

export const name = '20261208000000_deviations';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

/** Set when the deviation is raised, never changed after. */
const RAISED_WITH = [
  'id',
  'number',
  'batch_id',
  'step_id',
  'category',
  'source_entry_key',
  'run_id',
  'event_id',
  'unit_code',
  'lots',
  'details',
  'title',
  'raised_by',
  'raised_at',
];

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table deviations (
      id uuid primary key default gen_random_uuid(),
      number text not null unique,
      batch_id uuid not null references batches (id),
      step_id text,
      category text not null check (category in ('limit-excursion', 'reported', 'history-unavailable')),
      source_entry_key text unique references ebr_entries (entry_key),
      run_id text,
      event_id bigint,
      unit_code text,
      lots jsonb not null default '[]',
      details jsonb not null default '{}',
      title text not null check (length(title) between 1 and 500),
      description text,
      severity text check (severity in ('minor', 'major', 'critical')),
      state text not null default 'open' check (state in ('open', 'under-investigation', 'pending-approval', 'closed')),
      root_cause text,
      corrective_action text,
      preventive_action text,
      raised_by uuid references users (id),
      raised_at timestamptz not null default clock_timestamp(),
      submitted_by uuid references users (id),
      submitted_at timestamptz,
      closed_by uuid references users (id),
      closed_at timestamptz,
      close_signature_id uuid references signatures (id),
      updated_at timestamptz not null default clock_timestamp(),
      row_version integer not null default 1,
      check ((state = 'closed') = (close_signature_id is not null)),
      check (state in ('open', 'under-investigation') or (severity is not null and root_cause is not null and corrective_action is not null and preventive_action is not null))
    )`,
    `comment on table deviations is 'Deviations of batches, raised by the record or by people, investigated and closed with a QA signature (21 CFR 211.192). Never deleted; a closed one is final.'`,
    `comment on column deviations.source_entry_key is 'The batch record entry (kind deviation) that raised it; null when a person raised it.'`,
    `comment on column deviations.event_id is 'The workflow history event that caused the raising entry (with run_id).'`,
    `create index deviations_batch on deviations (batch_id)`,
    `create index deviations_not_closed on deviations (state) where state <> 'closed'`,
    `create function ampoule_deviation_guard() returns trigger language plpgsql as $$
    begin
      if old.state = 'closed' then
        raise exception 'deviation % is closed: it is final', old.number using errcode = '42501';
      end if;
      if ${RAISED_WITH.map((c) => `new.${c} is distinct from old.${c}`).join('\n         or ')} then
        raise exception 'what raised deviation % cannot change', old.number using errcode = '42501';
      end if;
      if new.state is distinct from old.state and (old.state, new.state) not in (
           ('open', 'under-investigation'), ('under-investigation', 'pending-approval'),
           ('pending-approval', 'under-investigation'), ('pending-approval', 'closed')) then
        raise exception 'deviation % cannot go from % to %', old.number, old.state, new.state using errcode = '42501';
      end if;
      new.updated_at := clock_timestamp();
      return new;
    end $$`,
    `comment on function ampoule_deviation_guard() is 'A deviation: what raised it never changes, its state moves only along its life''s edges, a closed one is final.'`,
    `create trigger deviations_guard before update on deviations for each row execute function ampoule_deviation_guard()`,
    `create trigger deviations_never_deleted before delete on deviations for each row execute function ampoule_refuse_change()`,
    `create trigger deviations_no_truncate before truncate on deviations for each statement execute function ampoule_refuse_change()`,
    // After the guard (name order): a refused change counts no version.
    `create trigger deviations_row_version before update on deviations for each row execute function ampoule_bump_row_version('updated_at')`,
    `create trigger deviations_outside_ampoule after insert or update or delete on deviations for each row execute function ampoule_trace_outside_change('$1->>''number''')`,
    `create trigger deviations_outside_ampoule_truncate after truncate on deviations for each statement execute function ampoule_trace_outside_truncate()`,
    ...[
      'deviations_guard',
      'deviations_never_deleted',
      'deviations_no_truncate',
      'deviations_row_version',
      'deviations_outside_ampoule',
      'deviations_outside_ampoule_truncate',
    ].map((t) => `alter table deviations enable always trigger ${t}`),
    `grant select, insert on deviations to ampoule_app`,
    `grant update (description, severity, state, root_cause, corrective_action, preventive_action, submitted_by, submitted_at, closed_by, closed_at, close_signature_id) on deviations to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [`drop table if exists deviations`, `drop function if exists ampoule_deviation_guard()`]);
}
