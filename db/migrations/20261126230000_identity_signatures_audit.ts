/**
 * Identity, electronic signatures and the audit trail: the Part 11 foundation.
 *
 * - `ampoule_app`, the role the application works as: it may read and append, never rewrite history.
 * - `users` and `sessions`; users are never deleted, so a username is never reused.
 * - `audit_entries`, stamped on insert with the database-server time, then sealed into a hash chain by
 *   `ampoule_audit_seal()` once committed: sequence number, and SHA-256(previous hash ‖ canonical entry).
 *   Writers never queue behind each other; sealers take turns on `audit_chain_head`, so the chain never
 *   forks.
 * - `signatures` and `security_events`, append-only.
 * - `idempotency_keys`: the stored answer to a create request, replayed for a repeated key.
 *
 * The append-only tables refuse UPDATE, DELETE and TRUNCATE with triggers enabled ALWAYS, so they fire
 * for the owner and under session_replication_role = replica as well. The one update let through is the
 * sealing of an audit entry's chain fields, once, by the seal function (the application role itself has
 * no UPDATE privilege on the table).
 */
import type { Knex } from 'knex';

export const name = '20261126230000_identity_signatures_audit';

/** Tables with the generic append-only guard (audit_entries has its own, which lets sealing through). */
const APPEND_ONLY = ['signatures', 'security_events'];

/** One statement per call: PGlite's extended protocol takes a single statement at a time. */
async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  // The role is cluster-wide: another database of the same cluster (or a concurrent migration) may
  // have created it already.
  await knex.raw(`
    do $$ begin
      create role ampoule_app nologin;
    exception when duplicate_object or unique_violation then null;
    end $$;`);
  // Lets the migrating (owning) login role assume ampoule_app; a superuser may anyway.
  await knex.raw(`
    do $$ begin
      if current_user <> 'ampoule_app' and not pg_has_role(current_user, 'ampoule_app', 'MEMBER') then
        execute format('grant ampoule_app to %I', current_user);
      end if;
    exception when others then raise notice 'could not grant ampoule_app to %: %', current_user, sqlerrm;
    end $$;`);

  await run(knex, [
    `create function ampoule_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'table % is append-only: % refused', tg_table_name, tg_op using errcode = '42501';
    end $$`,
    `comment on function ampoule_refuse_change() is 'Refuses UPDATE, DELETE and TRUNCATE on append-only tables (21 CFR 11.10(e)).'`,
  ]);

  await run(knex, [
    `create table users (
      id uuid primary key default gen_random_uuid(),
      username text not null unique check (username ~ '^[a-z][a-z0-9._-]{2,63}$'),
      full_name text not null check (length(full_name) between 1 and 200),
      email text,
      roles text[] not null check (cardinality(roles) > 0 and roles <@ array['admin', 'planner', 'operator', 'qa']),
      password_hash text not null,
      active boolean not null default true,
      demo boolean not null default false,
      failed_attempts integer not null default 0,
      locked_until timestamptz,
      password_changed_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      created_by uuid references users (id)
    )`,
    `comment on table users is 'People who use Ampoule. Never deleted: deactivated instead, so a username is never reused (21 CFR 11.100(a)).'`,
    `comment on column users.username is 'Login name, lower case: unique forever.'`,
    `comment on column users.full_name is 'Printed name, shown in signature manifestations and the audit trail.'`,
    `comment on column users.roles is 'Any of admin, planner, operator, qa.'`,
    `comment on column users.password_hash is 'argon2id hash (PHC string) with OWASP parameters.'`,
    `comment on column users.demo is 'A demo user of the zero-setup mode: a production start refuses to run while one is active.'`,
    `comment on column users.failed_attempts is 'Consecutive failed logins and signings: reset by a success.'`,
    `comment on column users.locked_until is 'Set when failed_attempts reaches the lockout threshold.'`,
    `create trigger users_never_deleted before delete on users for each row execute function ampoule_refuse_change()`,
    `create trigger users_never_truncated before truncate on users for each statement execute function ampoule_refuse_change()`,
    `alter table users enable always trigger users_never_deleted`,
    `alter table users enable always trigger users_never_truncated`,
  ]);

  await run(knex, [
    `create table sessions (
      id uuid primary key default gen_random_uuid(),
      token_hash text not null unique,
      user_id uuid not null references users (id),
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      ended_at timestamptz,
      end_reason text,
      client_address text,
      user_agent text
    )`,
    `create index sessions_user on sessions (user_id) where ended_at is null`,
    `comment on table sessions is 'Server-side login sessions: the client holds only a random token whose SHA-256 is token_hash.'`,
    `comment on column sessions.last_seen_at is 'Database time of the last request, for the idle timeout.'`,
    `comment on column sessions.end_reason is 'logout, deactivated, idle timeout, absolute timeout.'`,
  ]);

  await run(knex, [
    `create table audit_chain_head (
      id boolean primary key default true check (id),
      seq bigint not null,
      hash text not null
    )`,
    `insert into audit_chain_head (seq, hash) values (0, repeat('0', 64))`,
    `comment on table audit_chain_head is 'The last sealed sequence number and hash of the audit chain. Its row lock admits one sealer at a time, so the chain never forks: and a chain that ends before the head shows entries removed from its end.'`,
    `create table audit_entries (
      id uuid primary key default gen_random_uuid(),
      seq bigint unique,
      recorded_at timestamptz not null,
      user_id uuid,
      username text,
      user_name text not null,
      action text not null check (length(action) between 1 and 64),
      entity_type text not null check (length(entity_type) between 1 and 64),
      entity_id text not null check (length(entity_id) between 1 and 200),
      old_value jsonb,
      new_value jsonb,
      reason text,
      client_address text,
      request_id text,
      prev_hash text,
      hash text,
      check ((seq is null) = (hash is null) and (hash is null) = (prev_hash is null))
    )`,
    `create index audit_entries_unsealed on audit_entries (recorded_at, id) where seq is null`,
    `create index audit_entries_entity on audit_entries (entity_type, entity_id, seq)`,
    `create index audit_entries_user on audit_entries (user_id, seq)`,
    `create index audit_entries_time on audit_entries (recorded_at)`,
    `comment on table audit_entries is 'The audit trail (21 CFR 11.10(e), Annex 11 §9): one entry per create, change or void, written in the transaction of the change. Append-only: once sealed into the hash chain, nothing about an entry can change.'`,
    `comment on column audit_entries.seq is 'Position in the chain (1, 2, 3, ... without gaps), assigned when the entry is sealed: null for the moments until then.'`,
    `comment on column audit_entries.recorded_at is 'Database-server time (UTC) of the entry, assigned by the insert trigger: a client cannot supply it.'`,
    `comment on column audit_entries.user_id is 'Who made the change: null for the system itself (bootstrap, demo data, lockouts).'`,
    `comment on column audit_entries.user_name is 'Printed name of the user at the time of the change.'`,
    `comment on column audit_entries.old_value is 'The changed fields before the change (null for a create).'`,
    `comment on column audit_entries.new_value is 'The changed fields after the change.'`,
    `comment on column audit_entries.client_address is 'The station: the client IP address of the request.'`,
    `comment on column audit_entries.prev_hash is 'hash of the entry before (64 zeros for the first).'`,
    `comment on column audit_entries.hash is 'hex SHA-256 of prev_hash followed by ampoule_audit_canonical(entry).'`,
    `create function ampoule_audit_canonical(e audit_entries) returns text language sql stable as $$
      select jsonb_build_object(
        'seq', e.seq, 'id', e.id,
        'recordedAt', to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'userId', e.user_id, 'username', e.username, 'userName', e.user_name,
        'action', e.action, 'entityType', e.entity_type, 'entityId', e.entity_id,
        'old', e.old_value, 'new', e.new_value, 'reason', e.reason,
        'clientAddress', e.client_address, 'requestId', e.request_id)::text
    $$`,
    `comment on function ampoule_audit_canonical(audit_entries) is 'The canonical text of an audit entry that its hash covers: jsonb normal form (sorted keys, no insignificant whitespace).'`,
    `create function ampoule_audit_stamp() returns trigger language plpgsql as $$
    begin
      -- The server decides the time and the chain fields, whatever the insert said.
      new.recorded_at := clock_timestamp();
      new.seq := null;
      new.prev_hash := null;
      new.hash := null;
      return new;
    end $$`,
    `create trigger audit_entries_stamp before insert on audit_entries for each row execute function ampoule_audit_stamp()`,
    `alter table audit_entries enable always trigger audit_entries_stamp`,
    `create function ampoule_audit_guard() returns trigger language plpgsql as $$
    begin
      -- The one update allowed: ampoule_audit_seal() filling in the chain fields of an unsealed entry.
      if tg_op = 'UPDATE' and current_setting('ampoule.audit_sealing', true) = 'on' and old.seq is null
         and (to_jsonb(new) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(old) - 'seq' - 'prev_hash' - 'hash') then
        return new;
      end if;
      raise exception 'table audit_entries is append-only: % refused', tg_op using errcode = '42501';
    end $$`,
    `create trigger audit_entries_append_only before update or delete on audit_entries for each row execute function ampoule_audit_guard()`,
    `alter table audit_entries enable always trigger audit_entries_append_only`,
    `create trigger audit_entries_no_truncate before truncate on audit_entries for each statement execute function ampoule_refuse_change()`,
    `alter table audit_entries enable always trigger audit_entries_no_truncate`,
    `create function ampoule_audit_seal(max_entries integer default 10000) returns integer
    language plpgsql security definer set search_path from current as $$
    declare
      head audit_chain_head%rowtype;
      e audit_entries%rowtype;
      sealed integer := 0;
    begin
      -- One sealer at a time. The entries it sees are committed; one committed later is sealed by a later
      -- call, after these: the chain is the order of sealing, never forked, every entry in it once.
      select * into head from audit_chain_head where id for update;
      perform set_config('ampoule.audit_sealing', 'on', true);
      for e in select * from audit_entries where seq is null
               order by recorded_at, id limit max_entries for update loop
        e.seq := head.seq + 1;
        e.prev_hash := head.hash;
        e.hash := encode(sha256(convert_to(e.prev_hash || ampoule_audit_canonical(e), 'UTF8')), 'hex');
        update audit_entries set seq = e.seq, prev_hash = e.prev_hash, hash = e.hash where id = e.id;
        head.seq := e.seq;
        head.hash := e.hash;
        sealed := sealed + 1;
      end loop;
      perform set_config('ampoule.audit_sealing', 'off', true);
      if sealed > 0 then
        update audit_chain_head set seq = head.seq, hash = head.hash where id;
      end if;
      return sealed;
    end $$`,
    `comment on function ampoule_audit_seal(integer) is 'Seals committed audit entries into the hash chain: seq, prev_hash, and hash = SHA-256(prev_hash || canonical entry). Writers never wait for each other: only sealing is serialised. Runs as the owner: the application role may call it but holds no UPDATE privilege on audit_entries.'`,
    `revoke all on function ampoule_audit_seal(integer) from public`,
  ]);

  await run(knex, [
    `create table signatures (
      id uuid primary key default gen_random_uuid(),
      signer_id uuid not null references users (id),
      username text not null,
      printed_name text not null,
      meaning text not null check (meaning in ('authored', 'reviewed', 'approved', 'performed', 'verified', 'released', 'rejected')),
      comment text,
      signed_at timestamptz not null default clock_timestamp(),
      entity_type text not null,
      entity_id text not null,
      content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
      client_address text,
      request_id text
    )`,
    `create index signatures_entity on signatures (entity_type, entity_id)`,
    `create function ampoule_signature_time() returns trigger language plpgsql as $$
    begin
      new.signed_at := clock_timestamp(); -- the server's clock, whatever the insert said
      return new;
    end $$`,
    `create trigger signatures_time before insert on signatures for each row execute function ampoule_signature_time()`,
    `alter table signatures enable always trigger signatures_time`,
    `comment on table signatures is 'Electronic signatures (21 CFR 11.50, 11.70, 11.200): each bound to one record by entity and the SHA-256 of the canonical content it signs. Append-only.'`,
    `comment on column signatures.printed_name is 'The signer''s printed name at signing, for the manifestation.'`,
    `comment on column signatures.signed_at is 'Database-server time (UTC) of the signing.'`,
    `comment on column signatures.content_hash is 'hex SHA-256 of the RFC 8785 canonical JSON of the signed content.'`,
    `create table security_events (
      id bigint generated always as identity primary key,
      at timestamptz not null default clock_timestamp(),
      kind text not null,
      user_id uuid,
      username text,
      client_address text,
      detail jsonb
    )`,
    `create index security_events_at on security_events (at)`,
    `comment on table security_events is 'Logins, logouts, failed authentications and lockouts (21 CFR 11.300(d)). Append-only.'`,
    `create table idempotency_keys (
      user_id uuid not null references users (id),
      key text not null,
      method text not null,
      path text not null,
      request_hash text not null,
      status integer,
      response jsonb,
      created_at timestamptz not null default now(),
      primary key (user_id, key)
    )`,
    `comment on table idempotency_keys is 'The answer to each create request sent with an Idempotency-Key, stored in the transaction of the create and replayed for the same key.'`,
    `comment on column idempotency_keys.status is 'null while the first request runs: its row, inserted first, makes a concurrent twin wait for its outcome.'`,
  ]);

  for (const table of APPEND_ONLY) {
    await run(knex, [
      `create trigger ${table}_append_only before update or delete on ${table} for each row execute function ampoule_refuse_change()`,
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ampoule_refuse_change()`,
      `alter table ${table} enable always trigger ${table}_append_only`,
      `alter table ${table} enable always trigger ${table}_no_truncate`,
    ]);
  }

  await run(knex, [
    `grant select, insert, update on users, sessions to ampoule_app`,
    `grant select, insert on audit_entries, signatures, security_events to ampoule_app`,
    `grant select, insert, update on idempotency_keys to ampoule_app`,
    `grant select on audit_chain_head to ampoule_app`,
    `grant execute on function ampoule_audit_seal(integer) to ampoule_app`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await run(knex, [
    `drop table if exists idempotency_keys, security_events, signatures, audit_entries, audit_chain_head, sessions, users cascade`,
    `drop function if exists ampoule_audit_stamp()`,
    `drop function if exists ampoule_audit_guard()`,
    `drop function if exists ampoule_signature_time()`,
    `drop function if exists ampoule_refuse_change()`,
  ]);
  // The role is cluster-wide and may serve other databases: it stays.
}
