/** Bad input gets a clear problem+json and changes nothing; the API's cross-cutting behaviour. */
import { checkAgainstDeclaredSchema, startTestApi, uname, type TestApi } from '../support/api';

let api: TestApi;
let token: string;

beforeAll(async () => {
  api = await startTestApi({ env: { AMPOULE_BODY_LIMIT: '16kb' } });
  const admin = uname('admin');
  await api.createUser(admin, ['admin']);
  token = await api.login(admin);
});
afterAll(async () => api?.close());

const valid = () => ({
  username: uname('new'),
  fullName: 'New Person',
  roles: ['operator'],
  password: 'a long enough password',
  reason: 'new starter',
});

async function state() {
  const [[users], [audit]] = await Promise.all([
    api.services.db('users').count({ n: '*' }),
    api.services.db('audit_entries').count({ n: '*' }),
  ]);
  return { users: Number(users.n), audit: Number(audit.n) };
}

/** Sends a bad create and checks the answer is problem+json of `type`, and that nothing changed. */
async function refused(
  status: number,
  type: string,
  body: unknown,
  opts: { raw?: string; headers?: Record<string, string> } = {},
) {
  const before = await state();
  const r = await api.request('POST', '/users', body, { token, ...opts });
  expect({ status: r.status, type: r.body?.type }).toEqual({ status, type: `/api/problems/${type}` });
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({
    title: expect.any(String),
    status,
    instance: '/api/users',
    requestId: r.headers.get('x-request-id'),
  });
  expect(await state()).toEqual(before);
  return r.body;
}

describe('refused with no change', () => {
  test('unknown fields: no mass assignment, and client-supplied authors and timestamps are not taken', async () => {
    for (const extra of [
      { createdBy: '00000000-0000-0000-0000-000000000000' },
      { createdAt: '2001-01-01T00:00:00Z' },
      { id: 'mine' },
      { demo: true },
      { failedAttempts: 0 },
    ]) {
      const p = await refused(400, 'validation-failed', { ...valid(), ...extra });
      expect(p.errors).toEqual([
        { in: 'body', pointer: `/${Object.keys(extra)[0]}`, message: expect.stringMatching(/unknown field/) },
      ]);
    }
  });

  test('keys that reach for the prototype, anywhere in the body', async () => {
    await refused(400, 'forbidden-key', undefined, {
      raw: `{"__proto__":{"roles":["admin"]},"username":"x"}`,
      headers: { 'Content-Type': 'application/json' },
    });
    const nested = await refused(400, 'forbidden-key', undefined, {
      raw: `{"roles":[{"constructor":{"prototype":1}}]}`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(nested.pointer).toBe('/roles/0/constructor');
    expect(({} as Record<string, unknown>).roles).toBeUndefined();
  });

  test('bodies that are too large, too deep, not JSON, or not declared as JSON', async () => {
    await refused(413, 'payload-too-large', { ...valid(), fullName: 'x'.repeat(20_000) });
    await refused(400, 'body-too-deep', { ...valid(), email: JSON.parse('['.repeat(100) + ']'.repeat(100)) });
    await refused(400, 'malformed-json', undefined, {
      raw: '{"username": "x",',
      headers: { 'Content-Type': 'application/json' },
    });
    await refused(415, 'unsupported-media-type', undefined, {
      raw: 'username=x&roles=admin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    await refused(415, 'unsupported-media-type', undefined, {
      raw: JSON.stringify(valid()),
      headers: { 'Content-Type': 'text/plain' },
    });
  });

  test('wrong types, ranges and values, each named by its JSON pointer', async () => {
    const p = await refused(400, 'validation-failed', {
      ...valid(),
      username: '1x',
      roles: ['admin', 'superuser'],
      email: 'not an email',
      fullName: 42,
    });
    expect(p.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '/email',
      '/fullName',
      '/roles/1',
      '/username',
    ]);
    await refused(400, 'validation-failed', { ...valid(), roles: [] });
    await refused(400, 'validation-failed', [valid()]);
    await refused(422, 'password-policy', { ...valid(), password: 'short' });
  });

  test('bad path parameters and an unknown endpoint', async () => {
    const r = await api.request('PATCH', '/users/not-a-uuid', { active: false, reason: 'x' }, { token });
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toMatchObject({ in: 'path', pointer: '/id' });
    const missing = await api.request(
      'PATCH',
      '/users/00000000-0000-4000-8000-000000000000',
      { active: false, reason: 'x' },
      { token },
    );
    expect(missing.status).toBe(404);
    const nowhere = await api.request('GET', '/no/such/thing', undefined, { token });
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.type).toBe('/api/problems/not-found');
    const empty = await api.request(
      'PATCH',
      '/users/00000000-0000-4000-8000-000000000000',
      { reason: 'nothing' },
      { token },
    );
    expect(empty.status).toBe(400);
  });
});

describe('Idempotency-Key', () => {
  test('the same key and request create once and replay the answer; the same key with another request is refused', async () => {
    const body = valid();
    const before = await state();
    const first = await api.request('POST', '/users', body, { token, headers: { 'Idempotency-Key': 'hire-42' } });
    const again = await api.request('POST', '/users', body, { token, headers: { 'Idempotency-Key': 'hire-42' } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await state()).toEqual({ users: before.users + 1, audit: before.audit + 1 });

    const other = await api.request('POST', '/users', valid(), { token, headers: { 'Idempotency-Key': 'hire-42' } });
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('/api/problems/idempotency-key-reused');
  });

  test('two concurrent requests with one key create once', async () => {
    const body = valid();
    const before = await state();
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        api.request('POST', '/users', body, { token, headers: { 'Idempotency-Key': `race-${body.username}` } }),
      ),
    );
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect((await state()).users).toBe(before.users + 1);
  });
});

describe('every response', () => {
  test('carries a request id (the caller’s if sane) and security headers', async () => {
    const mine = await api.request('GET', '/health', undefined, { headers: { 'X-Request-Id': 'trace-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const insane = await api.request('GET', '/health', undefined, {
      headers: { 'X-Request-Id': 'no spaces or <tags> please' },
    });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const h of ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy'])
      expect(mine.headers.get(h)).toBeTruthy();
    expect(mine.headers.get('x-powered-by')).toBeNull();
  });

  test('health is public and reports the database', async () => {
    const r = await api.request('GET', '/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', database: api.database.kind });
  });

  test('every problem type is documented at its URI', async () => {
    const r = await api.request('POST', '/users', { nope: 1 }, { token });
    const doc = await api.request('GET', r.body.type.replace(/^\/api/, ''));
    expect(doc.body).toMatchObject({ type: '/api/problems/validation-failed', status: 400, when: expect.any(String) });
  });
});

describe('the OpenAPI document', () => {
  test('documents what the API answers: every answer tests get is checked against the schema its route declares', async () => {
    const user = await api.request('GET', '/users', undefined, { token });
    expect(user.status).toBe(200); // checked, and it holds
    expect(() =>
      checkAgainstDeclaredSchema(api.routes, 'GET', '/users/00000000-0000-4000-8000-000000000000', 200, {
        ...user.body.items[0],
        roles: 'admin',
      }),
    ).toThrow(/declared schema refuses: roles/);
    expect(() =>
      checkAgainstDeclaredSchema(api.routes, 'GET', '/users/00000000-0000-4000-8000-000000000000', 200, user.body[0]),
    ).not.toThrow();
  });

  test('is OpenAPI 3.1, lists every declared route with its access, and documents request schemas', async () => {
    const r = await api.request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    const operations = Object.entries(r.body.paths as Record<string, Record<string, { 'x-access': string }>>).flatMap(
      ([p, ops]) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${p} ${op['x-access']}`),
    );
    expect(operations.sort()).toEqual(
      api.routes.map((s) => `${s.method.toUpperCase()} /api${s.path.replace(/:(\w+)/g, '{$1}')} ${s.access}`).sort(),
    );
    const create = r.body.paths['/api/users'].post.requestBody.content['application/json'].schema;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(expect.arrayContaining(['username', 'roles', 'password', 'reason']));
    const docs = await fetch(`${api.url}/api/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger-ui-bundle\.js/);
    const bundle = await fetch(`${api.url}/api/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
