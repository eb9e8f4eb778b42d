/**
 * Scales: the weighing range of each scale unit (capacity, minimum weight, readability, in the unit its terminal
 * weighs in), the test weights of its daily check, and its qualification — calibrations (signed, with the
 * certificate and the day they run out) and daily checks (each test weight read from the scale, judged against
 * its limits, signed). A scale is held for one dispensing at a time (batch and step, by whom, since when).
 * Calibrations and checks are append-only; a scale is never deleted. Changes outside Ampoule leave their trace.
 */
import type { Knex } from 'knex';

export const name = '20261214000000_scales';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

function guarded(table: string, key: string, appendOnly: boolean): string[] {
  const triggers = [
    ...(appendOnly
      ? [
          `create trigger ${table}_append_only before update or delete on ${table} for each row execute function ampoule_refuse_change()`,
        ]
      : [
          `create trigger ${table}_never_deleted before delete on ${table} for each row execute function ampoule_refuse_change()`,
        ]),
    `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ampoule_refuse_change()`,
    `create trigger ${table}_outside_ampoule after insert or update or delete on ${table} for each row execute function ampoule_trace_outside_change('${key}')`,
    `create trigger ${table}_outside_ampoule_truncate after truncate on ${table} for each statement execute function ampoule_trace_outside_truncate()`,
  ];
  const names = triggers.map((t) => /create trigger (\S+)/.exec(t)![1]);
  return [...triggers, ...names.map((n) => `alter table ${table} enable always trigger ${n}`)];
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table scales (
      unit_code text primary key references equipment_units (code),
      unit text not null check (unit in ('kg', 'g', 'mg')),
      capacity numeric not null check (capacity > 0),
      minimum_weight numeric not null check (minimum_weight >= 0),
      readability numeric not null check (readability > 0),
      check_points jsonb not null,
      calibration_due date,
      held_for_batch text,
      held_for_step text,
      held_by uuid references users (id),
      held_since timestamptz,
      created_at timestamptz not null default clock_timestamp(),
      created_by uuid references users (id),
      updated_at timestamptz not null default clock_timestamp(),
      row_version integer not null default 1,
      check (minimum_weight < capacity),
      check ((held_for_batch is null) = (held_for_step is null) and (held_for_batch is null) = (held_since is null))
    )`,
    `comment on table scales is 'The weighing range and qualification of each scale unit. Never deleted.'`,
    // One scale per step at most: two requests holding scales for one step at once cannot both succeed.
    `create unique index scales_one_per_step on scales (held_for_batch, held_for_step) where held_for_batch is not null`,
    `comment on column scales.minimum_weight is 'The smallest net weight the scale weighs to the required accuracy (USP <41> minimum weight), in unit.'`,
    `comment on column scales.check_points is 'The daily check''s test weights: [{nominal, tolerance}] in unit.'`,
    `comment on column scales.calibration_due is 'The day the latest calibration runs out (scale_calibrations); null: never calibrated.'`,
    `comment on column scales.held_for_batch is 'The batch (number) of the dispensing that holds the scale, with held_for_step, held_by and held_since.'`,
    `create trigger scales_row_version before update on scales for each row execute function ampoule_bump_row_version('updated_at')`,
    `alter table scales enable always trigger scales_row_version`,
    ...guarded('scales', "$1->>''unit_code''", false),

    `create table scale_calibrations (
      id uuid primary key default gen_random_uuid(),
      unit_code text not null references scales (unit_code),
      calibrated_on date not null,
      due_on date not null check (due_on > calibrated_on),
      certificate text not null check (length(certificate) between 1 and 200),
      signature_id uuid not null references signatures (id),
      recorded_by uuid not null references users (id),
      recorded_at timestamptz not null default clock_timestamp()
    )`,
    `comment on table scale_calibrations is 'Each calibration of a scale, with its certificate and the day it runs out, signed. Append-only.'`,
    ...guarded('scale_calibrations', "$1->>''id''", true),

    `create table scale_checks (
      id uuid primary key default gen_random_uuid(),
      unit_code text not null references scales (unit_code),
      check_date date not null,
      nominal numeric not null,
      low numeric not null,
      high numeric not null,
      reading jsonb not null,
      passed boolean not null,
      signature_id uuid not null references signatures (id),
      checked_by uuid not null references users (id),
      checked_at timestamptz not null default clock_timestamp()
    )`,
    `create index scale_checks_by_day on scale_checks (unit_code, check_date)`,
    `comment on table scale_checks is 'Daily checks: a test weight of the scale''s check points, read from the scale (reading: the terminal''s whole reading), judged against nominal ± tolerance, signed. Append-only.'`,
    ...guarded('scale_checks', "$1->>''id''", true),

    `do $$ begin
      execute format('grant select, insert, update on scales to %I', (select name from ampoule_app_role));
      execute format('grant select, insert on scale_calibrations, scale_checks to %I', (select name from ampoule_app_role));
    end $$`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [`drop table if exists scale_checks, scale_calibrations, scales`]);
}
