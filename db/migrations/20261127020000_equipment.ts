/**
 * Equipment: what each phase of an equipment class takes and reports (its interface), the units with
 * their OPC UA endpoint and binding, and the history of every phase and unit state change, with the
 * controller's source timestamp — the raw material of the batch record and of OEE.
 */
import type { Knex } from 'knex';

export const name = '20261127020000_equipment';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `alter table equipment_classes add column phase_interfaces jsonb not null default '{}'`,
    `comment on column equipment_classes.phase_interfaces is 'Per phase: the parameters it takes and the reports it gives, each with its quantity kind and the unit the controller uses. Recipes are checked against it; the driver converts into those units.'`,

    `create table equipment_units (
      code text primary key check (code ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'),
      name text not null check (length(name) between 1 and 200),
      class_code text not null references equipment_classes (code),
      endpoint_url text not null check (endpoint_url ~ '^opc\\.tcp://'),
      security_mode text not null check (security_mode in ('None', 'Sign', 'SignAndEncrypt')),
      security_policy text not null,
      binding jsonb not null,
      status text not null default 'available' check (status in ('available', 'in-use', 'maintenance')),
      cleanliness text not null default 'clean' check (cleanliness in ('clean', 'dirty')),
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table equipment_units is 'Units of equipment: where their controller is (OPC UA endpoint and security) and where each phase interface lives in its address space (binding). Never deleted.'`,
    `comment on column equipment_units.binding is 'Per phase: node ids or browse paths of State, CommandId, Parameters and Reports, and the Download and Command methods (equipment/binding.ts). Configuration, not code.'`,
    `create trigger equipment_units_never_deleted before delete on equipment_units for each row execute function ampoule_refuse_change()`,
    `alter table equipment_units enable always trigger equipment_units_never_deleted`,

    `create table equipment_state_history (
      id bigint generated always as identity primary key,
      unit_code text not null references equipment_units (code),
      phase text,
      state text not null,
      command_id text,
      source_timestamp timestamptz not null,
      recorded_at timestamptz not null default clock_timestamp(),
      dedupe_key text unique
    )`,
    `create index equipment_state_history_unit on equipment_state_history (unit_code, source_timestamp)`,
    `comment on table equipment_state_history is 'Every phase state (phase set) and unit status (phase null) change, at the time the controller or Ampoule saw it. Append-only.'`,
    `comment on column equipment_state_history.source_timestamp is 'When the change happened, by the controller''s clock for phase states.'`,
    `comment on column equipment_state_history.dedupe_key is 'unit/phase/command/state/source time: an activity that records the same observation twice stores it once.'`,
    `create trigger equipment_state_history_append_only before update or delete on equipment_state_history for each row execute function ampoule_refuse_change()`,
    `create trigger equipment_state_history_no_truncate before truncate on equipment_state_history for each statement execute function ampoule_refuse_change()`,
    `alter table equipment_state_history enable always trigger equipment_state_history_append_only`,
    `alter table equipment_state_history enable always trigger equipment_state_history_no_truncate`,

    `grant select, insert, update on equipment_units to ampoule_app`,
    `grant select, insert on equipment_state_history to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists equipment_state_history, equipment_units cascade`,
    `alter table equipment_classes drop column if exists phase_interfaces`,
  ]);
}
