/**
 * Electronic signatures through the reusable service, as a feature uses it: a route declares "meaning X
 * by role Y" and its handler adds the record's own "not by Z". The route here stands in for the recipe,
 * batch and lot features that come later; everything under it is the real service and database.
 */
import { z } from 'zod';
import { route } from '../../api/http/route';
import { signatureCovers } from '../../api/signatures/signature-service';
import { canonicalHash } from '../../domain/canonical-hash';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';

let api: TestApi;
let qa: { name: string; id: string; token: string };

beforeAll(async () => {
  api = await startTestApi({
    env: { AMPOULE_LOCKOUT_FAILURES: '3' },
    extraRoutes: (s) => [
      route({
        method: 'post',
        path: '/test-records/:id/approve',
        tag: 'test',
        summary: 'Approve a test record',
        access: 'signatures.read',
        reason: 'optional',
        signature: { meaning: 'approved', roles: ['qa'] },
        params: z.strictObject({ id: z.string() }),
        body: z.strictObject({ content: z.record(z.string(), z.unknown()), authorId: z.string().optional() }),
        responses: { 200: { description: 'signed' } },
        handler: async ({ params, body, signer, change }) => {
          const manifestation = await s.signatures.record(
            change(),
            signer!,
            { entityType: 'test-record', entityId: params.id, content: body.content },
            [{ userIds: [body.authorId ?? null], rule: 'the author of a record cannot approve it' }],
          );
          return { body: { signature: manifestation } };
        },
      }),
    ],
  });
  const name = uname('qa');
  const id = await api.createUser(name, ['qa'], PASSWORD, 'Quinn Q. Quality');
  qa = { name, id, token: await api.login(name) };
});
afterAll(async () => api?.close());

const content = { product: 'mAb-001', version: 3, steps: ['thaw', 'expand', 'harvest'] };

async function signatureCount(): Promise<number> {
  const [{ n }] = await api.services.db('signatures').count({ n: '*' });
  return Number(n);
}

function approve(token: string, signature: unknown, extra: Record<string, unknown> = {}, id = 'rec-1') {
  return api.request('POST', `/test-records/${id}/approve`, { content, signature, ...extra }, { token });
}

test('a valid signature is stored with the hash of the canonical content and comes back as its manifestation', async () => {
  const r = await approve(
    qa.token,
    { username: qa.name, password: PASSWORD, meaning: 'approved', comment: 'reviewed against the protocol' },
    { reason: 'batch record review' },
  );
  expect(r.status).toBe(200);
  const m = r.body.signature;
  expect(m).toMatchObject({
    signedBy: 'Quinn Q. Quality',
    username: qa.name,
    meaning: 'approved',
    comment: 'reviewed against the protocol',
  });
  expect(m.signedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Math.abs(Date.parse(m.signedAt) - Date.now())).toBeLessThan(60_000);
  // The hash is over canonical JSON: key order does not matter, any change of content does.
  const reordered = { steps: ['thaw', 'expand', 'harvest'], version: 3, product: 'mAb-001' };
  expect(m.contentHash).toBe(canonicalHash(reordered));
  expect(signatureCovers(m, reordered)).toBe(true);
  expect(signatureCovers(m, { ...content, version: 4 })).toBe(false);

  const [row] = await api.services.db('signatures').where('id', m.id);
  expect(row).toMatchObject({
    signer_id: qa.id,
    printed_name: 'Quinn Q. Quality',
    entity_type: 'test-record',
    entity_id: 'rec-1',
    content_hash: m.contentHash,
  });
  const [audit] = await api.services
    .db('audit_entries')
    .where({ entity_type: 'test-record', entity_id: 'rec-1', action: 'sign' });
  expect(audit).toMatchObject({ user_id: qa.id, reason: 'batch record review' });
  expect(audit.new_value.signature.id).toBe(m.id);
  const listed = await api.request('GET', '/signatures?entityType=test-record&entityId=rec-1', undefined, {
    token: qa.token,
  });
  expect(listed.body).toEqual({ items: [m], next: null });
});

test('a session token alone does not sign', async () => {
  const before = await signatureCount();
  const r = await api.request('POST', '/test-records/rec-2/approve', { content }, { token: qa.token });
  expect(r.status).toBe(422);
  expect(r.body).toMatchObject({ type: '/api/problems/signature-required', meaning: 'approved' });
  expect(await signatureCount()).toBe(before);
});

test('the wrong meaning, another user as signer, the wrong role: refused before the password is even checked', async () => {
  const before = await signatureCount();
  const meaning = await approve(qa.token, { username: qa.name, password: PASSWORD, meaning: 'reviewed' });
  expect(meaning.status).toBe(422);
  expect(meaning.body.type).toBe('/api/problems/signature-meaning');

  const other = uname('qa');
  await api.createUser(other, ['qa']);
  const mismatch = await approve(qa.token, { username: other, password: PASSWORD, meaning: 'approved' });
  expect(mismatch.status).toBe(403);
  expect(mismatch.body.type).toBe('/api/problems/signer-not-session-user');
  // Signing in another's name is a security event, visible to whoever reviews them.
  const raised = await api.request('GET', `/security-events?kind=signature_wrong_user&username=${qa.name}`, undefined, {
    token: qa.token,
  });
  expect(raised.body.items).toEqual([
    expect.objectContaining({
      kind: 'signature_wrong_user',
      username: qa.name,
      userId: qa.id,
      detail: { signatureNames: other, meaning: 'approved' },
    }),
  ]);

  const op = uname('op');
  await api.createUser(op, ['operator']);
  const role = await approve(await api.login(op), { username: op, password: PASSWORD, meaning: 'approved' });
  expect(role.status).toBe(403);
  expect(role.body.type).toBe('/api/problems/signer-role');

  const meaningless = await approve(qa.token, { username: qa.name, password: PASSWORD, meaning: 'blessed' });
  expect(meaningless.status).toBe(400);
  expect(meaningless.body.errors[0].pointer).toBe('/signature/meaning');
  expect(await signatureCount()).toBe(before);
});

test('segregation of duties: the record’s author cannot approve it; an administrator never signs', async () => {
  const before = await signatureCount();
  const own = await approve(
    qa.token,
    { username: qa.name, password: PASSWORD, meaning: 'approved' },
    { authorId: qa.id },
  );
  expect(own.status).toBe(403);
  expect(own.body).toMatchObject({
    type: '/api/problems/segregation-of-duties',
    detail: 'the author of a record cannot approve it',
  });

  const boss = uname('boss');
  await api.createUser(boss, ['admin', 'qa']);
  const admin = await approve(await api.login(boss), { username: boss, password: PASSWORD, meaning: 'approved' });
  expect(admin.status).toBe(403);
  expect(admin.body.detail).toBe('administrators do not sign GMP records');
  expect(await signatureCount()).toBe(before);
});

test('a wrong password is refused and counts towards the lockout, which then also ends logins', async () => {
  const name = uname('qa');
  await api.createUser(name, ['qa']);
  const token = await api.login(name);
  const before = await signatureCount();
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++)
    statuses.push((await approve(token, { username: name, password: 'wrong password', meaning: 'approved' })).status);
  expect(statuses).toEqual([401, 401, 423]);
  const events = await api.services.db('security_events').where('username', name).orderBy('id').pluck('kind');
  expect(events).toEqual(['login', 'signature_failed', 'signature_failed', 'signature_failed', 'account_locked']);
  // Locked: even the right password no longer signs, and no new login.
  expect((await approve(token, { username: name, password: PASSWORD, meaning: 'approved' })).status).toBe(423);
  expect((await api.request('POST', '/auth/login', { username: name, password: PASSWORD })).status).toBe(423);
  expect(await signatureCount()).toBe(before);
});

test('signatures are never updated or deleted, not even by the owner of the tables', async () => {
  await approve(qa.token, { username: qa.name, password: PASSWORD, meaning: 'approved' }, {}, 'rec-immutable');
  const db = api.services.db;
  await expect(db('signatures').where('entity_id', 'rec-immutable').update({ meaning: 'rejected' })).rejects.toThrow(
    /permission denied/,
  );
  await expect(db('signatures').where('entity_id', 'rec-immutable').delete()).rejects.toThrow(/permission denied/);
  await api.asOwner(async (owner) => {
    await expect(
      owner('signatures').where('entity_id', 'rec-immutable').update({ meaning: 'rejected' }),
    ).rejects.toThrow(/append-only/);
    await expect(owner('signatures').where('entity_id', 'rec-immutable').delete()).rejects.toThrow(/append-only/);
    await expect(owner.raw('truncate signatures cascade')).rejects.toThrow(/append-only/);
    // A client-supplied time is replaced by the server's.
    const [row] = await owner('signatures')
      .insert({
        signer_id: qa.id,
        username: qa.name,
        printed_name: 'x',
        meaning: 'approved',
        entity_type: 't',
        entity_id: 'forged',
        content_hash: '0'.repeat(64),
        signed_at: '2001-01-01T00:00:00Z',
      })
      .returning('signed_at');
    expect(row.signed_at.getUTCFullYear()).toBeGreaterThan(2001);
  });
});
