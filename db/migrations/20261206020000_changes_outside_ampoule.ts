/**
 * Changes made to GMP tables outside Ampoule leave a trace. Ampoule's own connections mark their session
 * with a secret token (`ampoule.application_path`, set when the connection is opened, `db/database.ts`) that
 * only the application role may read; every change they make is audited by the application in its
 * transaction. Any other change — `UPDATE lots SET status = 'released'` typed into psql by a superuser, a
 * data fix by the owner, a migration that rewrites rows — fires a row trigger that writes an audit entry in
 * the same transaction, attributed to the database user and marked `outside-ampoule`, with the row's old and
 * new values. An audit entry inserted from outside Ampoule is refused, unless it is such a trace. The audit
 * verification reports the traces (`GET /api/audit/verify`) until QA acknowledges each, and the trail shows them.
 *
 * What this cannot do: a superuser may read the token, or disable the triggers first. The anchored hash
 * chains (`api/audit/anchors.ts`) are the answer to an intruder that thorough, and superuser logins stay out
 * of daily use. A role without INSERT on audit_entries cannot change a GMP table at all: the trigger's insert
 * fails, and the change with it.
 */
import type { Knex } from 'knex';

export const name = '20261206020000_changes_outside_ampoule';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

/** The GMP tables, each with the expression over the row (as jsonb, `$1`) that names it in the audit trail. */
export const TRACED_TABLES: Record<string, string> = {
  users: `$1->>'id'`,
  materials: `$1->>'code'`,
  equipment_classes: `$1->>'code'`,
  recipes: `$1->>'id'`,
  recipe_versions: `$1->>'id'`,
  execution_plans: `$1->>'hash'`,
  lots: `$1->>'id'`,
  lot_transactions: `$1->>'id'`,
  lot_status_history: `$1->>'id'`,
  equipment_units: `$1->>'code'`,
  equipment_state_history: `$1->>'id'`,
  batches: `$1->>'id'`,
  batch_steps: `($1->>'batch_id') || '/' || ($1->>'step_id')`,
  ebr_entries: `$1->>'entry_key'`,
  signatures: `$1->>'id'`,
  batch_number_voids: `$1->>'number'`,
  batch_number_counters: `$1->>'year'`,
  sessions: `$1->>'id'`,
  security_events: `$1->>'id'`,
};

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table ampoule_application_token (
      id boolean primary key default true check (id),
      token text not null default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
    )`,
    `insert into ampoule_application_token default values`,
    `comment on table ampoule_application_token is 'The secret with which Ampoule''s own sessions mark themselves (ampoule.application_path): readable by the application role only.'`,
    `revoke all on ampoule_application_token from public`,
    `grant select on ampoule_application_token to ampoule_app`,
    // The session's mark, not the current role: a change Ampoule makes through a security-definer function
    // (a lot's quantity, kept from its ledger) runs as the owner. Security definer itself, so that any role's
    // change can be judged without that role reading the token.
    `create function ampoule_on_application_path() returns boolean language sql stable security definer set search_path from current as $$
      select coalesce(current_setting('ampoule.application_path', true), '') = (select token from ampoule_application_token)
    $$`,
    `comment on function ampoule_on_application_path() is 'Whether the change under way comes from Ampoule itself: a connection that marked its session with the application token when Ampoule opened it. Everything else is outside Ampoule.'`,
    `create or replace function ampoule_audit_stamp() returns trigger language plpgsql as $$
    begin
      -- Only Ampoule writes the trail; from outside, only the trace of a change made outside Ampoule.
      if not ampoule_on_application_path() and new.action is distinct from 'outside-ampoule' then
        raise exception 'audit entries are written by Ampoule only' using errcode = '42501';
      end if;
      -- The server decides the time and the chain fields, whatever the insert said.
      new.recorded_at := clock_timestamp();
      new.seq := null;
      new.prev_hash := null;
      new.hash := null;
      return new;
    end $$`,
    `create function ampoule_trace_outside_change() returns trigger language plpgsql as $$
    declare
      r jsonb := to_jsonb(coalesce(new, old));
      before jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
      after jsonb := case when tg_op in ('UPDATE', 'INSERT') then to_jsonb(new) end;
      entity text;
    begin
      if ampoule_on_application_path() then
        return null;
      end if;
      if tg_op = 'UPDATE' then
        -- Only what changed, on both sides.
        select jsonb_object_agg(k, before->k), jsonb_object_agg(k, after->k) into before, after
          from jsonb_object_keys(after) k where (before->k) is distinct from (after->k);
      end if;
      execute format('select left(%s, 200)', tg_argv[0]) using r into entity;
      insert into audit_entries (user_id, username, user_name, action, entity_type, entity_id, old_value, new_value, reason, client_address)
      values (null, session_user, 'database user ' || session_user || case when current_user <> session_user then ' as ' || current_user else '' end,
              'outside-ampoule', tg_table_name, coalesce(entity, '?'), before, after,
              'changed outside Ampoule: ' || tg_op || ' on ' || tg_table_name || ' by database user ' || session_user,
              inet_client_addr()::text);
      return null;
    end $$`,
    `comment on function ampoule_trace_outside_change() is 'Writes an audit entry marked outside-ampoule for a change of a GMP table not made by Ampoule itself (argument: the expression over the row, as jsonb $1, that names it).'`,
    `create function ampoule_trace_outside_truncate() returns trigger language plpgsql as $$
    begin
      if not ampoule_on_application_path() then
        insert into audit_entries (user_id, username, user_name, action, entity_type, entity_id, reason, client_address)
        values (null, session_user, 'database user ' || session_user, 'outside-ampoule', tg_table_name, '*',
                'changed outside Ampoule: TRUNCATE of ' || tg_table_name || ' by database user ' || session_user, inet_client_addr()::text);
      end if;
      return null;
    end $$`,
  ]);
  for (const [table, key] of Object.entries(TRACED_TABLES)) {
    await run(knex, [
      `create trigger ${table}_outside_ampoule after insert or update or delete on ${table} for each row execute function ampoule_trace_outside_change('${key.replace(/'/g, "''")}')`,
      `create trigger ${table}_outside_ampoule_truncate after truncate on ${table} for each statement execute function ampoule_trace_outside_truncate()`,
      `alter table ${table} enable always trigger ${table}_outside_ampoule`,
      `alter table ${table} enable always trigger ${table}_outside_ampoule_truncate`,
    ]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of Object.keys(TRACED_TABLES)) {
    await run(knex, [
      `drop trigger if exists ${table}_outside_ampoule on ${table}`,
      `drop trigger if exists ${table}_outside_ampoule_truncate on ${table}`,
    ]);
  }
  await run(knex, [
    `create or replace function ampoule_audit_stamp() returns trigger language plpgsql as $$
    begin
      new.recorded_at := clock_timestamp();
      new.seq := null;
      new.prev_hash := null;
      new.hash := null;
      return new;
    end $$`,
    `drop function if exists ampoule_trace_outside_change()`,
    `drop function if exists ampoule_trace_outside_truncate()`,
    `drop function if exists ampoule_on_application_path()`,
    `drop table if exists ampoule_application_token`,
  ]);
}
