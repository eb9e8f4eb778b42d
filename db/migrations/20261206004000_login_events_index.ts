/**
 * Each user's last successful login, for the user list and the access review, read from the append-only
 * security events (a login is one) rather than from the sessions table, which the application updates.
 */
import type { Knex } from 'knex';

export const name = '20261206004000_login_events_index';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index security_events_logins on security_events (user_id, at) where kind = 'login'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists security_events_logins`);
}
