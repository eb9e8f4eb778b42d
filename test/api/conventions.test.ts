/**
 * The API's conventions, held for every route at once: a create answers 201 with `Location` (and the resource is
 * there); a path taken with another method answers 405 with `Allow`, not 404; the OpenAPI document gives each
 * create its `Location`, each versioned resource its `ETag`, each replayable create `Idempotent-Replayed`, each
 * rate-limited route its 429 with `Retry-After` and `RateLimit`, each route that needs Temporal its 503.
 */
import { startTestApi, uname, type TestApi } from '../support/api';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startTestApi();
  const name = uname('admin');
  await api.createUser(name, ['admin']);
  admin = await api.login(name);
});
afterAll(async () => {
  await api?.close();
});

test('every route that creates (201) says where the created resource is', () => {
  const creates = api.routes.filter((r) => r.responses[201]);
  expect(creates.length).toBeGreaterThan(8);
  expect(creates.filter((r) => !r.location).map((r) => `${r.method} ${r.path}`)).toEqual([]);
});

test('a create answers Location, and the resource is read there', async () => {
  const created = await api.request(
    'POST',
    '/materials',
    { code: 'WFI-LOC', name: 'Water for injection', type: 'raw', baseUnit: 'L', reason: 'conventions test' },
    { token: admin },
  );
  expect(created.status).toBe(201);
  expect(created.headers.get('location')).toBe('/api/materials/WFI-LOC');
  const read = await api.request('GET', '/materials/WFI-LOC', undefined, { token: admin });
  expect([read.status, read.body.code]).toEqual([200, 'WFI-LOC']);
});

test('a method a path does not take: 405 with Allow, in problem+json; an unknown path stays 404', async () => {
  const r = await api.request('DELETE', '/materials', undefined, { token: admin });
  expect(r.status).toBe(405);
  expect(r.headers.get('allow')).toBe('GET, HEAD, POST');
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toMatch(/\/api\/problems\/method-not-allowed$/);
  expect((await api.request('PUT', '/users/access-review', undefined, { token: admin })).status).toBe(405);
  expect((await api.request('GET', '/no-such-thing', undefined, { token: admin })).status).toBe(404);
});

test('every success answer with a body is documented with its media type and schema', async () => {
  const doc = (await api.request('GET', '/openapi.json')).body as Json;
  const undocumented: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Json>))
    for (const [method, op] of Object.entries(ops))
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (!/^2\d\d$/.test(status) || status === '204') continue;
        const media = Object.values((response.content ?? {}) as Record<string, Json>);
        if (media.length === 0 || media.some((m) => !m.schema)) undocumented.push(`${method} ${path} ${status}`);
      }
  expect(undocumented).toEqual([]);
});

test('the OpenAPI document gives the headers and the statuses where they occur', async () => {
  const doc = (await api.request('GET', '/openapi.json')).body as Json;
  const op = (method: string, path: string) => doc.paths[path][method] as Json;
  for (const r of api.routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const responses = op(r.method, `/api${path}`).responses as Json;
    const where = `${r.method} ${r.path}`;
    if (r.responses[201])
      expect([where, Object.keys(responses[201].headers ?? {})]).toEqual([where, expect.arrayContaining(['Location'])]);
    if (r.signature || r.rateLimit)
      expect([where, Object.keys(responses[429]?.headers ?? {})]).toEqual([
        where,
        ['Retry-After', 'RateLimit', 'RateLimit-Policy'],
      ]);
    if (r.versioned) {
      const ok = responses[200] ?? responses[201];
      expect([where, Object.keys(ok.headers ?? {})]).toEqual([where, expect.arrayContaining(['ETag'])]);
    }
    if (r.versioned?.lock) expect([where, Object.keys(responses[412]?.headers ?? {})]).toEqual([where, ['ETag']]);
    if (r.idempotent) {
      const ok = responses[201] ?? responses[200];
      expect([where, Object.keys(ok.headers ?? {})]).toEqual([where, expect.arrayContaining(['Idempotent-Replayed'])]);
    }
    if (r.problems?.includes('temporal-unavailable'))
      expect([where, responses[503]]).toEqual([where, expect.anything()]);
  }
});

test('one list shape: {items, next}; next goes back as cursor; a cursor not of this list, or too large a limit, is a 400', async () => {
  for (const code of ['PAGE-A', 'PAGE-B', 'PAGE-C'])
    expect(
      (
        await api.request(
          'POST',
          '/materials',
          { code, name: code, type: 'raw', baseUnit: 'kg', reason: 'paging' },
          { token: admin },
        )
      ).status,
    ).toBe(201);
  const seen: string[] = [];
  let cursor: string | null = '';
  for (let pages = 0; cursor !== null; pages++) {
    expect(pages).toBeLessThan(20);
    const r = await api.request('GET', `/materials?limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, {
      token: admin,
    });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['items', 'next']);
    expect(r.body.items.length).toBeLessThanOrEqual(2);
    seen.push(...(r.body.items as Json[]).map((m) => m.code as string));
    cursor = r.body.next as string | null;
  }
  expect(seen).toEqual(expect.arrayContaining(['PAGE-A', 'PAGE-B', 'PAGE-C']));
  expect(new Set(seen).size).toBe(seen.length); // no item twice
  const bad = await api.request('GET', '/materials?cursor=not-ours', undefined, { token: admin });
  expect([bad.status, bad.body.errors[0].pointer]).toEqual([400, '/cursor']);
  expect((await api.request('GET', '/materials?limit=1001', undefined, { token: admin })).status).toBe(400);
  // Every collection answers the same shape (its OpenAPI schema says so).
  const doc = (await api.request('GET', '/openapi.json')).body as Json;
  for (const path of [
    '/api/audit',
    '/api/batches',
    '/api/deviations',
    '/api/equipment',
    '/api/equipment-classes',
    '/api/lots',
    '/api/materials',
    '/api/recipes',
    '/api/security-events',
    '/api/signatures',
    '/api/users',
    '/api/work-queue',
  ]) {
    const schema = doc.paths[path].get.responses[200].content['application/json'].schema as Json;
    expect([path, Object.keys(schema.properties ?? {}).sort()]).toEqual([path, ['items', 'next']]);
  }
});
