/**
 * Each Ampoule database's application role is its own (`<database>_app`): two Ampoule databases on one PostgreSQL
 * cluster, each migrated as `bin/ampoule migrate` does and each with a login granted its database's role — neither
 * login can read the other database's tables, nor assume its role; the shared `ampoule_app` of earlier versions
 * holds nothing. A process that does not migrate refuses a database that is not migrated, saying what to run.
 * PostgreSQL only (PGlite is one database of one process).
 */
import { Client } from 'pg';
import { migrateDatabase, openDatabase, SchemaNotCurrent } from '../../db/database';
import { POSTGRES_URL, createTestDatabase, type TestDatabase } from '../support/postgres';

const onPostgres = POSTGRES_URL ? describe : describe.skip;

onPostgres('application roles per database', () => {
  const databases: TestDatabase[] = [];
  const roles: string[] = [];
  const nameOf = (url: string) => new URL(url).pathname.slice(1);
  const as = (url: string, login: string) => {
    const u = new URL(url);
    u.username = login;
    u.password = '';
    return u.toString();
  };
  const query = async (url: string, sql: string) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };

  afterAll(async () => {
    for (const d of [...databases].reverse()) await d.drop(); // copies before their originals
    for (const r of roles.reverse()) await query(POSTGRES_URL, `drop role if exists "${r}"`);
  });

  test('two databases, two logins: each reads its own, neither the other’s', async () => {
    const sites = [];
    for (const site of ['a', 'b']) {
      const db = await createTestDatabase(`ampoule_role_${site}`, { migrated: true });
      databases.push(db);
      const login = `${nameOf(db.url)}_login`;
      await query(POSTGRES_URL, `create role "${login}" login`);
      // As `bin/ampoule migrate --grant-to <login>` (with the owner's credentials): a copied database gets a role of
      // its own, and the application's login is made its member.
      const { appRole } = await migrateDatabase(db.url, [login]);
      expect(appRole).toBe(`${nameOf(db.url)}_app`);
      roles.push(appRole, login);
      sites.push({ db, appRole, login });
    }
    const [a, b] = sites;

    // Each login, through Ampoule's own opening (no migration: its login has no owner's rights), works as its role.
    for (const s of sites) {
      const database = await openDatabase({ kind: 'postgres', url: as(s.db.url, s.login), migrate: false });
      try {
        expect(database.appRoleName).toBe(s.appRole);
        await database.knex.raw('select count(*) from users');
        expect(database.appRole).toBe(true);
      } finally {
        await database.close();
      }
    }
    // Across: no table readable, no role to assume.
    for (const [mine, theirs] of [
      [a, b],
      [b, a],
    ]) {
      const url = as(theirs.db.url, mine.login);
      await expect(query(url, 'select password_hash from users')).rejects.toThrow(/permission denied/);
      await expect(query(url, `set role "${theirs.appRole}"`)).rejects.toThrow(/permission denied/);
    }
    // The shared role of earlier versions holds nothing in either database.
    for (const s of sites)
      expect(
        await query(
          s.db.url,
          `select count(*)::int as n from information_schema.role_table_grants where grantee = 'ampoule_app'`,
        ),
      ).toEqual([{ n: 0 }]);
  });

  test('a copy of a database is refused until migrated; a role of its name used elsewhere is never taken over', async () => {
    const original = await createTestDatabase('ampoule_role_orig', { migrated: true });
    databases.push(original);
    await migrateDatabase(original.url);
    // A copy (CREATE DATABASE … TEMPLATE): still the original's role, so refused by a process that does not migrate.
    const copyName = `${nameOf(original.url)}_copy`;
    await query(POSTGRES_URL, `create database "${copyName}" template "${nameOf(original.url)}"`);
    const copyUrl = new URL(original.url);
    copyUrl.pathname = `/${copyName}`;
    databases.push({
      url: copyUrl.toString(),
      drop: () => query(POSTGRES_URL, `drop database "${copyName}" with (force)`).then(() => undefined),
    });
    await expect(openDatabase({ kind: 'postgres', url: copyUrl.toString(), migrate: false })).rejects.toThrow(
      /works as the role .*_app, not its own .*_copy_app \(copied or renamed\?\): run `bin\/ampoule migrate`/,
    );
    // Someone's role already has the copy's name and a member: migrate refuses rather than hand it the database.
    const squatter = `${copyName}_app`;
    const member = `${copyName}_member`;
    await query(POSTGRES_URL, `create role "${squatter}" nologin`);
    await query(POSTGRES_URL, `create role "${member}" login`);
    await query(POSTGRES_URL, `grant "${squatter}" to "${member}"`);
    roles.push(squatter, member);
    await expect(migrateDatabase(copyUrl.toString())).rejects.toThrow(
      /the role .*_copy_app exists already and is used elsewhere/,
    );
  });

  test('a process that does not migrate refuses a database that is not migrated, and says what to run', async () => {
    const empty = await createTestDatabase('ampoule_role_empty');
    databases.push(empty);
    const opening = openDatabase({ kind: 'postgres', url: empty.url, migrate: false });
    await expect(opening).rejects.toThrow(SchemaNotCurrent);
    await expect(opening).rejects.toThrow(/run `bin\/ampoule migrate` with the owner's credentials/);
  });
});
