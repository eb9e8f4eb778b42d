/** Login, sessions, lockout, deactivation and passwords, against the real API and database. */
import pino from 'pino';
import { createApp } from '../../api/app';
import { startApiServer } from '../../api/server';
import { createServices } from '../../api/services';
import { createPlatform } from '../../composition/platform';
import { loadAppConfig } from '../../config/app-config';
import { openDatabase } from '../../db/database';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';
import { POSTGRES_URL } from '../support/postgres';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ env: { AMPOULE_LOCKOUT_FAILURES: '3', AMPOULE_LOCKOUT_MINUTES: '30' } });
});
afterAll(async () => api?.close());

async function securityEvents(username: string): Promise<string[]> {
  const rows = await api.services.db('security_events').where('username', username).orderBy('id');
  return rows.map((r) => r.kind);
}

describe('login', () => {
  test('gives a session: an HttpOnly SameSite=Strict cookie and the same token as bearer, both accepted', async () => {
    const u = uname('login');
    await api.createUser(u, ['operator']);
    const r = await api.request('POST', '/auth/login', { username: u.toUpperCase(), password: PASSWORD });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^ampoule_session=${r.body.token};`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(r.body.user).toMatchObject({
      username: u,
      roles: ['operator'],
      permissions: [
        'signatures.read',
        'master-data.read',
        'recipes.read',
        'lots.read',
        'lots.receive',
        'equipment.read',
        'equipment.status',
        'scales.check',
        'scales.operate',
        'oee.read',
        'oee.qualify',
        'batches.read',
        'batches.execute',
        'batches.command',
        'deviations.read',
        'deviations.raise',
        'orders.read',
      ],
    });
    expect(Date.parse(r.body.expiresAt)).toBeGreaterThan(Date.now() + 11 * 3600_000);

    expect((await api.request('GET', '/me', undefined, { token: r.body.token })).body.username).toBe(u);
    const viaCookie = await api.request('GET', '/me', undefined, {
      headers: { Cookie: `ampoule_session=${r.body.token}` },
    });
    expect(viaCookie.status).toBe(200);
    expect(await securityEvents(u)).toEqual(['login']);
  });

  test('a wrong password or an unknown user: 401 invalid-credentials, the same answer, and a security event', async () => {
    const u = uname('wrong');
    await api.createUser(u, ['operator']);
    const wrong = await api.request('POST', '/auth/login', { username: u, password: 'not the password' });
    const unknown = await api.request('POST', '/auth/login', { username: `${u}x`, password: 'not the password' });
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({
        type: '/api/problems/invalid-credentials',
        status: 401,
        title: 'Invalid username or password',
      });
    }
    expect(await securityEvents(u)).toEqual(['login_failed']);
    expect(await securityEvents(`${u}x`)).toEqual(['login_failed']);
  });

  test('no token, a malformed token or a made-up token: 401 on every protected endpoint', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: 'Bearer nonsense' },
      { Authorization: `Bearer ${'A'.repeat(43)}` },
      { Authorization: 'Basic abc' },
    ]) {
      const r = await api.request('GET', '/me', undefined, { headers });
      expect(r.status).toBe(401);
      expect(r.body.type).toBe('/api/problems/unauthenticated');
    }
  });
});

describe('lockout', () => {
  test('consecutive failures lock the account (423), raise a security event and an audit entry; even the right password is refused', async () => {
    const u = uname('lock');
    const id = await api.createUser(u, ['qa']);
    for (let i = 1; i <= 2; i++)
      expect((await api.request('POST', '/auth/login', { username: u, password: `bad ${i}` })).status).toBe(401);
    const third = await api.request('POST', '/auth/login', { username: u, password: 'bad 3' });
    expect(third.status).toBe(423);
    expect(third.body.type).toBe('/api/problems/account-locked');
    expect(Date.parse(third.body.lockedUntil)).toBeGreaterThan(Date.now() + 29 * 60_000);

    const right = await api.request('POST', '/auth/login', { username: u, password: PASSWORD });
    expect(right.status).toBe(423);
    expect(await securityEvents(u)).toEqual([
      'login_failed',
      'login_failed',
      'login_failed',
      'account_locked',
      'login_refused_locked',
    ]);
    const [lock] = await api.services.db('audit_entries').where({ entity_type: 'user', entity_id: id, action: 'lock' });
    expect(lock).toMatchObject({
      user_id: null,
      user_name: 'system',
      reason: '3 consecutive failed logins or signings',
      client_address: '127.0.0.1',
    });

    // An administrator unlocks it, with a reason; the user can log in again.
    const admin = uname('adm');
    await api.createUser(admin, ['admin']);
    const adminToken = await api.login(admin);
    const unlocked = await api.request(
      'PATCH',
      `/users/${id}`,
      { unlock: true, reason: 'user called the help desk' },
      { token: adminToken },
    );
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.locked).toBe(false);
    expect((await api.request('POST', '/auth/login', { username: u, password: PASSWORD })).status).toBe(200);
    const [unlock] = await api.services
      .db('audit_entries')
      .where({ entity_type: 'user', entity_id: id, action: 'unlock' });
    expect(unlock.reason).toBe('user called the help desk');
  });

  test('a success resets the count', async () => {
    const u = uname('reset');
    await api.createUser(u, ['qa']);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) await api.request('POST', '/auth/login', { username: u, password: 'bad' });
      expect((await api.request('POST', '/auth/login', { username: u, password: PASSWORD })).status).toBe(200);
    }
  });
});

describe('sessions end', () => {
  test('at logout: the token stops working at once', async () => {
    const u = uname('logout');
    await api.createUser(u, ['planner']);
    const token = await api.login(u);
    const out = await api.request('POST', '/auth/logout', undefined, { token });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/ampoule_session=;/);
    expect((await api.request('GET', '/me', undefined, { token })).status).toBe(401);
    expect(await securityEvents(u)).toEqual(['login', 'logout']);
  });

  test('after the idle timeout, and after the absolute timeout however active', async () => {
    const u = uname('idle');
    await api.createUser(u, ['planner']);
    const idle = await api.login(u);
    const busy = await api.login(u);
    const db = api.services.db;
    const user = await db('users').where('username', u).first();
    // Move the sessions' clocks back rather than waiting: idle for 16 minutes; active, but 13 hours old.
    await db.raw(
      `update sessions set last_seen_at = now() - interval '16 minutes' where user_id = ? and id = (select id from sessions where user_id = ? order by created_at limit 1)`,
      [user.id, user.id],
    );
    await db.raw(
      `update sessions set created_at = now() - interval '13 hours' where user_id = ? and last_seen_at > now() - interval '1 minute'`,
      [user.id],
    );
    expect((await api.request('GET', '/me', undefined, { token: idle })).status).toBe(401);
    expect((await api.request('GET', '/me', undefined, { token: busy })).status).toBe(401);
    const ended = await db('sessions').where('user_id', user.id).orderBy('created_at').select('end_reason');
    expect(ended.map((s) => s.end_reason).sort()).toEqual(['absolute timeout', 'idle timeout']);
  });

  test('at once when the user is deactivated; the user can no longer log in, and the username is never reused', async () => {
    const admin = uname('adm');
    await api.createUser(admin, ['admin']);
    const adminToken = await api.login(admin);
    const u = uname('leaver');
    const id = await api.createUser(u, ['operator']);
    const token = await api.login(u);
    expect((await api.request('GET', '/me', undefined, { token })).status).toBe(200);

    // A change made on a stale read (the user changed since) is refused with 412 and changes nothing.
    const read = await api.request('GET', `/users/${id}`, undefined, { token: adminToken });
    expect(
      (
        await api.request(
          'PATCH',
          `/users/${id}`,
          { fullName: 'Leaver, renamed', reason: 'name change' },
          { token: adminToken, headers: { 'If-Match': read.headers.get('etag')! } },
        )
      ).status,
    ).toBe(200);
    const stale = await api.request(
      'PATCH',
      `/users/${id}`,
      { roles: ['qa'], reason: 'promotion' },
      { token: adminToken, headers: { 'If-Match': read.headers.get('etag')! } },
    );
    expect(stale.status).toBe(412);
    expect((await api.request('GET', `/users/${id}`, undefined, { token: adminToken })).body.roles).toEqual([
      'operator',
    ]);

    const r = await api.request(
      'PATCH',
      `/users/${id}`,
      { active: false, reason: 'left the company' },
      { token: adminToken },
    );
    expect(r.status).toBe(200);
    expect(r.body.active).toBe(false);
    expect((await api.request('GET', '/me', undefined, { token })).status).toBe(401);
    expect((await api.request('POST', '/auth/login', { username: u, password: PASSWORD })).status).toBe(401);
    const [entry] = await api.services.db('audit_entries').where({ entity_id: id, action: 'deactivate' });
    expect(entry).toMatchObject({
      old_value: { active: true },
      new_value: { active: false },
      reason: 'left the company',
    });

    const again = await api.request(
      'POST',
      '/users',
      {
        username: u,
        fullName: 'Someone Else',
        roles: ['operator'],
        password: 'a fine long password',
        reason: 'new hire',
      },
      { token: adminToken },
    );
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('/api/problems/username-taken');
    // Not even the database lets a user row go.
    await expect(api.asOwner((owner) => owner('users').where('id', id).delete())).rejects.toThrow(
      /append-only|permission denied/,
    );
  });
});

describe('access review (21 CFR 11.300(b))', () => {
  test('users show their last successful login; the review lists every user with roles, status and last login, as CSV', async () => {
    const admin = uname('adm');
    await api.createUser(admin, ['admin']);
    const adminToken = await api.login(admin);
    const [active, never, leaver] = [uname('active'), uname('never'), uname('leaver')];
    const activeId = await api.createUser(active, ['operator', 'qa'], PASSWORD, 'Ann, "the" Active');
    // A printed name a spreadsheet would run as a formula stays text in the export.
    const neverId = await api.createUser(never, ['planner'], PASSWORD, '=HYPERLINK("http://evil.example","click")');
    const leaverId = await api.createUser(leaver, ['operator']);
    await api.login(active);
    const before = Date.now();
    await api.login(active);
    await api.login(leaver);
    expect(
      (
        await api.request(
          'PATCH',
          `/users/${leaverId}`,
          { active: false, reason: 'left the company' },
          { token: adminToken },
        )
      ).body.lastLoginAt,
    ).not.toBeNull();

    const users = (await api.request('GET', '/users', undefined, { token: adminToken })).body.items as {
      id: string;
      lastLoginAt: string | null;
    }[];
    const lastLogin = (id: string) => users.find((u) => u.id === id)!.lastLoginAt;
    expect(Date.parse(lastLogin(activeId)!)).toBeGreaterThanOrEqual(before - 1000);
    expect(lastLogin(neverId)).toBeNull();
    expect((await api.request('GET', `/users/${activeId}`, undefined, { token: adminToken })).body.lastLoginAt).toBe(
      lastLogin(activeId),
    );

    // QA reviews access too; the CSV is one line per user, quoted where needed.
    const qa = uname('qa');
    await api.createUser(qa, ['qa']);
    const csv = await api.request('GET', '/users/access-review', undefined, { token: await api.login(qa) });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('username,fullName,roles,status,demo,lastLoginAt,passwordChangedAt,createdAt');
    expect(lines.find((l) => l.startsWith(`${active},`))).toMatch(
      new RegExp(
        `^${active},"Ann, ""the"" Active",operator qa,active,false,${lastLogin(activeId)!.replace(/\./g, '\\.')},`,
      ),
    );
    expect(lines.find((l) => l.startsWith(`${never},`))).toBe(
      `${never},"'=HYPERLINK(""http://evil.example"",""click"")",planner,active,false,,${lines
        .find((l) => l.startsWith(`${never},`))!
        .split(',')
        .slice(-2)
        .join(',')}`,
    );
    expect(lines.find((l) => l.startsWith(`${leaver},`))).toMatch(/,operator,deactivated,false,\d{4}-/);
    expect(lines.length).toBe(1 + users.length + 1); // the QA user logged in after the list was read
    const json = await api.request('GET', '/users/access-review?format=json', undefined, { token: adminToken });
    expect(json.body.find((l: { username: string }) => l.username === leaver)).toMatchObject({
      roles: 'operator',
      status: 'deactivated',
    });
    expect(
      (await api.request('GET', '/users/access-review', undefined, { token: await api.login(active) })).status,
    ).toBe(200);
    const operator = uname('op');
    await api.createUser(operator, ['operator']);
    expect(
      (await api.request('GET', '/users/access-review', undefined, { token: await api.login(operator) })).status,
    ).toBe(403);
  });
});

describe('passwords', () => {
  test('are argon2id with the OWASP parameters', async () => {
    const u = uname('hash');
    await api.createUser(u, ['qa']);
    const row = await api.services.db('users').where('username', u).first();
    // PHC string: $argon2id$v=19$<parameters>$salt$hash (the parameters' order differs between argon2 releases).
    const [, algorithm, version, parameters] = (row.password_hash as string).split('$');
    expect({
      algorithm,
      version,
      parameters: Object.fromEntries(parameters.split(',').map((kv) => kv.split('='))),
    }).toEqual({ algorithm: 'argon2id', version: 'v=19', parameters: { m: '19456', t: '2', p: '1' } });
  });

  test('changing my own password needs the current one and ends my other sessions', async () => {
    const u = uname('pw');
    await api.createUser(u, ['qa']);
    const mine = await api.login(u);
    const other = await api.login(u);
    const wrong = await api.request(
      'POST',
      '/me/password',
      { currentPassword: 'nope', newPassword: 'a brand new passphrase' },
      { token: mine },
    );
    expect(wrong.status).toBe(401);
    const weak = await api.request(
      'POST',
      '/me/password',
      { currentPassword: PASSWORD, newPassword: 'short' },
      { token: mine },
    );
    expect(weak.status).toBe(422);
    expect(weak.body.type).toBe('/api/problems/password-policy');
    const ok = await api.request(
      'POST',
      '/me/password',
      { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      { token: mine },
    );
    expect(ok.status).toBe(204);
    expect((await api.request('GET', '/me', undefined, { token: mine })).status).toBe(200);
    expect((await api.request('GET', '/me', undefined, { token: other })).status).toBe(401);
    expect((await api.request('POST', '/auth/login', { username: u, password: 'a brand new passphrase' })).status).toBe(
      200,
    );
  });
});

describe('rate limiting', () => {
  test('too many logins from one client get 429 with Retry-After', async () => {
    const limited = await startTestApi({ env: { AMPOULE_LOGIN_RATE_PER_MINUTE: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await limited.request('POST', '/auth/login', { username: 'nobody', password: 'x' })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const r = await limited.request('POST', '/auth/login', { username: 'nobody', password: 'x' });
      expect(r.body.type).toBe('/api/problems/rate-limited');
      expect(r.headers.get('retry-after')).toBe('60');
    } finally {
      await limited.close();
    }
  });

  (POSTGRES_URL ? test : test.skip)('the limit holds across API processes on one database', async () => {
    const env = { AMPOULE_LOGIN_RATE_PER_MINUTE: '3' };
    const first = await startTestApi({ env });
    // A second API process of the same deployment: its own pool, app and port, the same database.
    const config = loadAppConfig({ ...env, AMPOULE_DATA_DIR: first.config.dataDir, LOG_LEVEL: 'silent' });
    const database = await openDatabase({ kind: 'postgres', url: first.databaseUrl!, poolSize: 2 });
    const services = createServices(createPlatform(database, config, pino({ level: 'silent' })));
    const second = await startApiServer(createApp(services).app, '127.0.0.1', 0);
    try {
      const login = async (url: string) =>
        (
          await fetch(`${url}/api/auth/login`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username: 'nobody', password: 'x' }),
          })
        ).status;
      const statuses = [
        await login(first.url),
        await login(second.url),
        await login(first.url),
        await login(second.url),
      ];
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await second.stop(0);
      await database.close();
      await first.close();
    }
  });
});
