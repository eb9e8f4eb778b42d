/**
 * Events out, nothing lost: the transactional outbox and its deliveries to webhook subscribers.
 *
 * `outbox_events` is written in the transaction of the change it tells of (an order released, a lot's status, a
 * batch's status, a QA disposition…), so that an event exists exactly when its change committed; append-only.
 * `webhook_subscriptions` are an admin's (audited); each event is fanned out, in the same transaction, into one
 * `webhook_deliveries` row per subscription that wants it, which the relay works off in event order per
 * subscription (`webhook_attempts` is each try's log). After a subscription's maximum of failed attempts a delivery
 * is dead (a dead letter) until an admin sends it again.
 */
import type { Knex } from 'knex';

export const name = '20261213000000_outbox_and_webhooks';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table outbox_events (
      seq bigserial primary key,
      id uuid not null unique default gen_random_uuid(),
      type text not null check (type ~ '^[a-z]+(\\.[a-z-]+)+$'),
      subject text not null,
      payload jsonb not null,
      occurred_at timestamptz not null default clock_timestamp()
    )`,
    `comment on table outbox_events is 'Events of changes, written in the change''s transaction (the transactional outbox); append-only. The id is the webhook-id receivers deduplicate on; subject (a batch, a lot, an order) orders them.'`,
    `create trigger outbox_events_append_only before update or delete on outbox_events for each row execute function ampoule_refuse_change()`,
    `create trigger outbox_events_no_truncate before truncate on outbox_events for each statement execute function ampoule_refuse_change()`,
    `create table webhook_subscriptions (
      id uuid primary key default gen_random_uuid(),
      url text not null check (url ~ '^(http|https)://'), -- no question mark: knex.raw would take it for a binding
      event_types text[] not null check (cardinality(event_types) > 0),
      secret text not null check (secret like 'whsec_%'),
      description text,
      max_attempts integer not null default 8 check (max_attempts between 1 and 50),
      active boolean not null default true,
      created_by uuid references users (id),
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      row_version integer not null default 1
    )`,
    `comment on column webhook_subscriptions.secret is 'The Standard Webhooks signing secret (whsec_…), shown once when created.'`,
    `create trigger webhook_subscriptions_never_deleted before delete on webhook_subscriptions for each row execute function ampoule_refuse_change()`,
    `create trigger webhook_subscriptions_row_version before update on webhook_subscriptions for each row execute function ampoule_bump_row_version('updated_at')`,
    `create table webhook_deliveries (
      id bigserial primary key,
      subscription_id uuid not null references webhook_subscriptions (id),
      event_seq bigint not null references outbox_events (seq),
      state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default clock_timestamp(),
      last_status integer,
      last_error text,
      delivered_at timestamptz,
      lease_token uuid,
      unique (subscription_id, event_seq)
    )`,
    `comment on column webhook_deliveries.lease_token is 'Set by the relay that claimed the delivery; only that relay''s outcome is recorded (a late one, after the lease passed to another, is dropped).'`,
    `create index webhook_deliveries_pending on webhook_deliveries (subscription_id, event_seq) where state = 'pending'`,
    `create table webhook_attempts (
      id bigserial primary key,
      delivery_id bigint not null references webhook_deliveries (id),
      attempted_at timestamptz not null default clock_timestamp(),
      status integer,
      error text,
      duration_ms integer not null
    )`,
    `create index webhook_attempts_delivery on webhook_attempts (delivery_id)`,
    `create trigger webhook_attempts_append_only before update or delete on webhook_attempts for each row execute function ampoule_refuse_change()`,
    // To the application role this database names (migration 20261210000000).
    `do $$ begin
      execute format('grant select, insert on outbox_events, webhook_subscriptions, webhook_deliveries, webhook_attempts to %I', (select name from ampoule_app_role));
      execute format('grant update (active, description, max_attempts) on webhook_subscriptions to %I', (select name from ampoule_app_role));
      execute format('grant update (state, attempts, next_attempt_at, last_status, last_error, delivered_at, lease_token) on webhook_deliveries to %I', (select name from ampoule_app_role));
      execute format('grant usage on sequence outbox_events_seq_seq, webhook_deliveries_id_seq, webhook_attempts_id_seq to %I', (select name from ampoule_app_role));
    end $$`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists webhook_attempts`,
    `drop table if exists webhook_deliveries`,
    `drop table if exists webhook_subscriptions`,
    `drop table if exists outbox_events`,
  ]);
}
