/**
 * Rate limits (logins, signatures) held in the database, so that they hold across API processes: one counter per
 * limited client and window. Not a GMP record: counters are reset and swept.
 */
import type { Knex } from 'knex';

export const name = '20261211000000_rate_limit_counters';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table rate_limit_counters (
    key text primary key,
    hits integer not null,
    reset_at timestamptz not null
  )`);
  await knex.raw(`create index rate_limit_counters_reset_at on rate_limit_counters (reset_at)`);
  await knex.raw(
    `comment on table rate_limit_counters is 'Hits per rate-limited client (login, sign) in the current window; shared by every API process.'`,
  );
  // To the application role this database names (migration 20261210000000).
  await knex.raw(`do $$ begin
    execute format('grant select, insert, update, delete on rate_limit_counters to %I', (select name from ampoule_app_role));
  end $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop table rate_limit_counters`);
}
