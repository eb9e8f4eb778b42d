/**
 * The deviation guard, tightened (a review of 20261208000000_deviations): findings are frozen once a deviation is
 * submitted for approval (a return reopens them); reaching Pending approval or Closed needs who did it, and the
 * database, not the application, says when (one clock with the audit trail); and a change from outside Ampoule is
 * traced under the deviation's id, as Ampoule's own audit entries name it.
 */
import type { Knex } from 'knex';

export const name = '20261208010000_deviation_guard';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

const FINDINGS = ['description', 'severity', 'root_cause', 'corrective_action', 'preventive_action'];

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create or replace function ampoule_deviation_guard() returns trigger language plpgsql as $$
    begin
      if old.state = 'closed' then
        raise exception 'deviation % is closed: it is final', old.number using errcode = '42501';
      end if;
      if new.id is distinct from old.id or new.number is distinct from old.number
         or new.batch_id is distinct from old.batch_id or new.step_id is distinct from old.step_id
         or new.category is distinct from old.category or new.source_entry_key is distinct from old.source_entry_key
         or new.run_id is distinct from old.run_id or new.event_id is distinct from old.event_id
         or new.unit_code is distinct from old.unit_code or new.lots is distinct from old.lots
         or new.details is distinct from old.details or new.title is distinct from old.title
         or new.raised_by is distinct from old.raised_by or new.raised_at is distinct from old.raised_at then
        raise exception 'what raised deviation % cannot change', old.number using errcode = '42501';
      end if;
      if new.state is distinct from old.state and (old.state, new.state) not in (
           ('open', 'under-investigation'), ('under-investigation', 'pending-approval'),
           ('pending-approval', 'under-investigation'), ('pending-approval', 'closed')) then
        raise exception 'deviation % cannot go from % to %', old.number, old.state, new.state using errcode = '42501';
      end if;
      -- What QA approves is what was submitted: findings change only while open or under investigation.
      if old.state = 'pending-approval' and (${FINDINGS.map((c) => `new.${c} is distinct from old.${c}`).join(' or ')}) then
        raise exception 'deviation % is pending approval: its findings are frozen (return it first)', old.number using errcode = '42501';
      end if;
      -- The database's clock, the audit trail's.
      if new.state = 'pending-approval' and old.state is distinct from 'pending-approval' then
        new.submitted_at := clock_timestamp();
      end if;
      if new.state = 'closed' then
        new.closed_at := clock_timestamp();
      end if;
      new.updated_at := clock_timestamp();
      return new;
    end $$`,
    `alter table deviations add constraint deviations_submitted_by check (state not in ('pending-approval', 'closed') or (submitted_by is not null and submitted_at is not null))`,
    `alter table deviations add constraint deviations_closed_by check (state <> 'closed' or (closed_by is not null and closed_at is not null))`,
    `drop trigger deviations_outside_ampoule on deviations`,
    `create trigger deviations_outside_ampoule after insert or update or delete on deviations for each row execute function ampoule_trace_outside_change('$1->>''id''')`,
    `alter table deviations enable always trigger deviations_outside_ampoule`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `alter table deviations drop constraint if exists deviations_submitted_by`,
    `alter table deviations drop constraint if exists deviations_closed_by`,
  ]);
}
