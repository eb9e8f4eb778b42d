/**
 * The application role of each database its own. Roles are cluster-wide: with one `ampoule_app` for every Ampoule
 * database of a cluster, the login of one database, being a member, could read the tables of another. From here the
 * role Ampoule works as is named for its database (`<database>_app`; `ampoule_db_app` for a database named ampoule,
 * whose name would be the shared role's), holds the privileges `ampoule_app` held in this database, and `ampoule_app`
 * none. A role of that name that is used elsewhere is never taken over: the migration refuses, naming it.
 *
 * `ampoule_app_role` records the name; `ampoule_rehome_app_role()` moves the privileges to the role named for the
 * database it runs in, and is run by `bin/ampoule migrate` every time, so that a database copied from another
 * (`CREATE DATABASE … TEMPLATE`) or renamed gets a role of its own. The migrating (owning) login is made a member of
 * the new role; application logins are not (`GRANT <database>_app TO <login>`: the README's production section).
 *
 * Later migrations grant to the role `ampoule_app_role` names (`select name from ampoule_app_role`), never to a
 * name of their own.
 */
import type { Knex } from 'knex';

export const name = '20261210000000_application_role_per_database';

async function run(knex: Knex, statements: string[]): Promise<void> {
  for (const statement of statements) await knex.raw(statement);
}

export async function up(knex: Knex): Promise<void> {
  await run(knex, [
    `create table ampoule_app_role (
      name text not null,
      only_one boolean primary key default true check (only_one)
    )`,
    `insert into ampoule_app_role (name) values ('ampoule_app')`,
    `comment on table ampoule_app_role is 'The role Ampoule''s application works as in this database (<database>_app); see ampoule_rehome_app_role().'`,
    // A role's name is no secret: a login that is not yet its member reads it to say what to grant.
    `grant select on ampoule_app_role to public`,
    // Which migrations ran is no secret either: a process that does not migrate checks the schema is current.
    `grant select on knex_migrations to public`,
    // The name for this database: <database>_app, but never the shared role of earlier versions (a database named
    // ampoule gets ampoule_db_app).
    `create function ampoule_app_role_name() returns text language sql stable as $$
      select case when left(current_database(), 55) || '_app' = 'ampoule_app' then 'ampoule_db_app'
                  else left(current_database(), 55) || '_app' end
    $$`,
    `grant execute on function ampoule_app_role_name() to public`,
    `create function ampoule_rehome_app_role() returns text language plpgsql as $$
    declare
      old_role text := (select name from ampoule_app_role);
      new_role text := ampoule_app_role_name();
      new_oid oid;
      old_oid oid;
      r record;
    begin
      if old_role = new_role then return new_role; end if;
      new_oid := (select oid from pg_roles where rolname = new_role);
      if new_oid is null then
        execute format('create role %I nologin', new_role);
      -- A role of that name already: taken over only if it holds nothing elsewhere and nobody else is its member
      -- (left behind by a dropped database, say); otherwise its members would reach this database.
      elsif exists (select 1 from pg_shdepend d join pg_database db on db.oid = d.dbid
                     where d.refobjid = new_oid and db.datname <> current_database())
         or exists (select 1 from pg_auth_members m where m.roleid = new_oid and m.member <> (select oid from pg_roles where rolname = current_user)) then
        raise exception 'the role % exists already and is used elsewhere: rename this database, or drop or rename that role', new_role
          using errcode = '42710';
      end if;
      old_oid := (select oid from pg_roles where rolname = old_role);
      -- Tables, views and sequences of the schema, privilege by privilege.
      for r in
        select c.oid::regclass as rel, c.relkind, a.privilege_type
          from pg_class c cross join lateral aclexplode(c.relacl) a
         where c.relnamespace = 'public'::regnamespace and a.grantee = old_oid
      loop
        execute format('grant %s on %s %s to %I', r.privilege_type,
                       case when r.relkind = 'S' then 'sequence' else 'table' end, r.rel, new_role);
        execute format('revoke %s on %s %s from %I', r.privilege_type,
                       case when r.relkind = 'S' then 'sequence' else 'table' end, r.rel, old_role);
      end loop;
      -- Columns granted one by one (an UPDATE of some columns only).
      for r in
        select c.oid::regclass as rel, t.attname, a.privilege_type
          from pg_attribute t join pg_class c on c.oid = t.attrelid cross join lateral aclexplode(t.attacl) a
         where c.relnamespace = 'public'::regnamespace and a.grantee = old_oid
      loop
        execute format('grant %s (%I) on table %s to %I', r.privilege_type, r.attname, r.rel, new_role);
        execute format('revoke %s (%I) on table %s from %I', r.privilege_type, r.attname, r.rel, old_role);
      end loop;
      for r in
        select p.oid::regprocedure as fn
          from pg_proc p cross join lateral aclexplode(p.proacl) a
         where p.pronamespace = 'public'::regnamespace and a.grantee = old_oid and a.privilege_type = 'EXECUTE'
      loop
        execute format('grant execute on function %s to %I', r.fn, new_role);
        execute format('revoke execute on function %s from %I', r.fn, old_role);
      end loop;
      -- The migrating login assumes the role to check what it granted; a superuser may anyway.
      begin
        if not pg_has_role(current_user, new_role, 'MEMBER') then
          execute format('grant %I to %I', new_role, current_user);
        end if;
      exception when others then raise notice 'could not grant % to %: %', new_role, current_user, sqlerrm;
      end;
      update ampoule_app_role set name = new_role;
      return new_role;
    end $$`,
    `revoke execute on function ampoule_rehome_app_role() from public`,
    `comment on function ampoule_rehome_app_role() is 'Moves the application''s privileges in this database to the role named for it (<database>_app); run by bin/ampoule migrate.'`,
    `select ampoule_rehome_app_role()`,
  ]);
}

export async function down(knex: Knex): Promise<void> {
  // The privileges go back to ampoule_app (the role named for the database stays: other objects may name it).
  const { rows } = await knex.raw(`select name from ampoule_app_role`);
  const role = rows[0].name as string;
  if (role !== 'ampoule_app') {
    await knex.raw(
      `do $$ declare r record; begin
         for r in select c.oid::regclass as rel, c.relkind, a.privilege_type
                    from pg_class c cross join lateral aclexplode(c.relacl) a
                   where c.relnamespace = 'public'::regnamespace and a.grantee = (select oid from pg_roles where rolname = ${quote(role)})
         loop
           execute format('grant %s on %s %s to ampoule_app', r.privilege_type,
                          case when r.relkind = 'S' then 'sequence' else 'table' end, r.rel);
         end loop;
         for r in select c.oid::regclass as rel, t.attname, a.privilege_type
                    from pg_attribute t join pg_class c on c.oid = t.attrelid cross join lateral aclexplode(t.attacl) a
                   where c.relnamespace = 'public'::regnamespace and a.grantee = (select oid from pg_roles where rolname = ${quote(role)})
         loop
           execute format('grant %s (%I) on table %s to ampoule_app', r.privilege_type, r.attname, r.rel);
         end loop;
         for r in select p.oid::regprocedure as fn from pg_proc p cross join lateral aclexplode(p.proacl) a
                   where p.pronamespace = 'public'::regnamespace and a.privilege_type = 'EXECUTE'
                     and a.grantee = (select oid from pg_roles where rolname = ${quote(role)})
         loop
           execute format('grant execute on function %s to ampoule_app', r.fn);
         end loop;
       end $$`,
    );
  }
  await run(knex, [
    `drop function ampoule_rehome_app_role()`,
    `drop function ampoule_app_role_name()`,
    `drop table ampoule_app_role`,
  ]);
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
