/** The audit trail: an entry per change in its transaction, a hash chain that detects tampering, and tables nobody can rewrite. */
import type { Knex } from 'knex';
import { startTestApi, uname, type TestApi } from '../support/api';

let api: TestApi;
let admin: { name: string; id: string; token: string };

beforeAll(async () => {
  api = await startTestApi();
  const name = uname('admin');
  const id = await api.createUser(name, ['admin'], undefined, 'Ada Auditor');
  admin = { name, id, token: await api.login(name) };
});
afterAll(async () => api?.close());

const newUser = (username: string, extra: Record<string, unknown> = {}) => ({
  username,
  fullName: `${username} Person`,
  roles: ['operator'],
  password: 'a long enough password',
  reason: 'new starter',
  ...extra,
});

async function count(table: string): Promise<number> {
  const [{ n }] = await api.services.db(table).count({ n: '*' });
  return Number(n);
}

async function verify() {
  const r = await api.request('GET', '/audit/verify', undefined, { token: admin.token });
  expect(r.status).toBe(200);
  return r.body;
}

test('a create and a change each write one entry: who, printed name, old and new values, reason, station, database time', async () => {
  const username = uname('worker');
  const created = await api.request('POST', '/users', newUser(username), {
    token: admin.token,
    headers: { 'X-Request-Id': 'req-create-1' },
  });
  expect(created.status).toBe(201);
  const id = created.body.id;
  const changed = await api.request(
    'PATCH',
    `/users/${id}`,
    { roles: ['operator', 'qa'], reason: 'trained as QA' },
    { token: admin.token },
  );
  expect(changed.status).toBe(200);

  const r = await api.request('GET', `/audit?entity=user&entityId=${id}`, undefined, { token: admin.token });
  expect(r.status).toBe(200);
  const [create, update] = r.body.items;
  expect(r.body.items).toHaveLength(2);
  expect(create).toMatchObject({
    action: 'create',
    userId: admin.id,
    username: admin.name,
    userName: 'Ada Auditor',
    entityType: 'user',
    entityId: id,
    oldValue: null,
    newValue: { username, fullName: `${username} Person`, roles: ['operator'], active: true, demo: false, email: null },
    reason: 'new starter',
    clientAddress: '127.0.0.1',
    requestId: 'req-create-1',
  });
  expect(JSON.stringify(create)).not.toMatch(/password|argon2/);
  expect(update).toMatchObject({
    action: 'update',
    oldValue: { roles: ['operator'] },
    newValue: { roles: ['operator', 'qa'] },
    reason: 'trained as QA',
  });
  expect(update.seq).toBeGreaterThan(create.seq);
  expect(update.prevHash).toMatch(/^[0-9a-f]{64}$/);
  // The database's clock, in UTC.
  const { rows } = await api.services.db.raw('select now() as now');
  expect(Math.abs(Date.parse(update.recordedAt) - rows[0].now.getTime())).toBeLessThan(10_000);
  expect(update.recordedAt).toMatch(/Z$/);
});

test('a GMP change without a reason is refused with 422 and changes nothing', async () => {
  const username = uname('noreason');
  const [users, entries] = [await count('users'), await count('audit_entries')];
  const r = await api.request('POST', '/users', newUser(username, { reason: undefined }), { token: admin.token });
  expect(r.status).toBe(422);
  expect(r.body.type).toBe('/api/problems/reason-required');
  const blank = await api.request('POST', '/users', newUser(username, { reason: '   ' }), { token: admin.token });
  expect(blank.status).toBe(400);
  expect([await count('users'), await count('audit_entries')]).toEqual([users, entries]);
});

test('searching by entity, user, action and time, with paging', async () => {
  const { rows } = await api.services.db.raw('select clock_timestamp() as now');
  const before = (rows[0].now as Date).toISOString();
  const names = [uname('s'), uname('s'), uname('s')];
  for (const n of names)
    expect((await api.request('POST', '/users', newUser(n), { token: admin.token })).status).toBe(201);
  const mine = await api.request(
    'GET',
    `/audit?user=${admin.name}&action=create&from=${encodeURIComponent(before)}&limit=2`,
    undefined,
    { token: admin.token },
  );
  expect(mine.body.items.map((e: { newValue: { username: string } }) => e.newValue.username)).toEqual(
    names.slice(0, 2),
  );
  const next = await api.request(
    'GET',
    `/audit?user=${admin.id}&action=create&from=${encodeURIComponent(before)}&limit=2&cursor=${mine.body.next}`,
    undefined,
    { token: admin.token },
  );
  expect(next.body.items.map((e: { newValue: { username: string } }) => e.newValue.username)).toEqual([names[2]]);
  expect(next.body.next).toBeNull();
  const none = await api.request(
    'GET',
    `/audit?to=${encodeURIComponent(before)}&entity=user&action=create&user=${admin.name}`,
    undefined,
    { token: admin.token },
  );
  expect(
    none.body.items.filter((e: { newValue: { username: string } }) => names.includes(e.newValue.username)),
  ).toEqual([]);
  const bad = await api.request('GET', '/audit?from=yesterday&colour=red', undefined, { token: admin.token });
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/colour', '/from']);
});

test('the trail exports as CSV', async () => {
  const username = uname('csv');
  await api.request('POST', '/users', newUser(username, { fullName: 'Comma, "Quoted" Person' }), {
    token: admin.token,
  });
  const r = await api.request('GET', `/audit?entity=user&action=create&format=csv&limit=1000`, undefined, {
    token: admin.token,
  });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  const lines = r.text.trimEnd().split('\r\n');
  expect(lines[0]).toBe(
    'seq,recordedAt,userId,username,userName,action,entityType,entityId,oldValue,newValue,reason,clientAddress,requestId,prevHash,hash',
  );
  const row = lines.find((l) => l.includes(username))!;
  // The new value is one quoted cell of JSON, its quotes doubled.
  expect(row).toContain(`""username"":""${username}""`);
  expect(row).toContain('""fullName"":""Comma, \\""Quoted\\"" Person""');
  expect(row).toMatch(/^\d+,\d{4}-\d\d-\d\dT[^,]+Z,/);
});

test('concurrent writers never fork the chain', async () => {
  const results = await Promise.all(
    Array.from({ length: 8 }, () => api.request('POST', '/users', newUser(uname('c')), { token: admin.token })),
  );
  expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
  const verdict = await verify();
  const seqs = (await api.services.db('audit_entries').orderBy('seq').pluck('seq')) as number[];
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  expect(verdict).toMatchObject({ ok: true, entries: seqs.length, unsealed: 0, lastSeq: seqs.length });
});

describe('the application cannot rewrite the trail, nor can the tables’ owner', () => {
  test('UPDATE, DELETE and TRUNCATE are refused', async () => {
    const db = api.services.db;
    for (const attempt of [
      () => db('audit_entries').update({ reason: 'rewritten' }),
      () => db('audit_entries').delete(),
      () => db.raw('truncate audit_entries'),
    ]) {
      await expect(attempt()).rejects.toThrow(/permission denied/);
    }
    await api.asOwner(async (owner) => {
      for (const attempt of [
        () => owner('audit_entries').update({ reason: 'rewritten' }),
        () => owner('audit_entries').delete(),
        () => owner.raw('truncate audit_entries'),
      ]) {
        await expect(attempt()).rejects.toThrow(/append-only/);
      }
      // Not even with replication's trigger bypass: the triggers are enabled ALWAYS.
      const bypass = owner.transaction(async (trx) => {
        await trx.raw(`set local session_replication_role = replica`);
        await trx('audit_entries').update({ reason: 'rewritten' });
      });
      await expect(bypass).rejects.toThrow(/append-only/);
    });
    expect(await db('audit_entries').where('reason', 'rewritten').count({ n: '*' })).toEqual([{ n: 0 }]);
  });
});

describe('verify names the first entry changed outside Ampoule', () => {
  /** What an intruder with the owner's rights does: switch the guard off, change history, switch it on. */
  async function tamper(fn: (owner: Knex) => Promise<void>) {
    await api.asOwner(async (owner) => {
      await owner.raw('alter table audit_entries disable trigger audit_entries_append_only');
      await owner.raw('alter table audit_entries disable trigger audit_entries_stamp');
      try {
        await fn(owner);
      } finally {
        await owner.raw('alter table audit_entries enable always trigger audit_entries_append_only');
        await owner.raw('alter table audit_entries enable always trigger audit_entries_stamp');
      }
    });
  }

  test('an edited value, a removed entry, a removed last entry; each detected, and the chain whole again once restored', async () => {
    expect((await verify()).ok).toBe(true);
    // A copy to restore from in SQL (a JavaScript Date would lose the timestamps' microseconds).
    await api.asOwner((o) => o.raw('create table audit_copy as select * from audit_entries'));
    const restore = (seq: number) =>
      tamper((o) => o.raw('insert into audit_entries select * from audit_copy where seq = ?', [seq]));
    const entries = await api.services.db('audit_entries').orderBy('seq');
    const target = entries[Math.floor(entries.length / 2)];

    await tamper((o) => o('audit_entries').where('seq', target.seq).update({ reason: 'nothing to see here' }));
    expect(await verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: target.seq, id: target.id, problem: 'hash does not match the entry' },
    });
    await tamper((o) => o('audit_entries').where('seq', target.seq).update({ reason: target.reason }));
    expect((await verify()).ok).toBe(true);

    // Recomputing the edited entry's own hash does not help: the next entry's link gives it away.
    await tamper(async (o) => {
      await o('audit_entries').where('seq', target.seq).update({ reason: 'forged' });
      await o.raw(
        `update audit_entries a set hash = encode(sha256(convert_to(a.prev_hash || ampoule_audit_canonical(a), 'UTF8')), 'hex') where seq = ?`,
        [target.seq],
      );
    });
    expect(await verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: target.seq + 1, problem: 'previous hash does not match the entry before' },
    });
    await tamper((o) =>
      o('audit_entries').where('seq', target.seq).update({ reason: target.reason, hash: target.hash }),
    );
    expect((await verify()).ok).toBe(true);

    await tamper((o) => o('audit_entries').where('seq', target.seq).delete());
    expect(await verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: target.seq + 1, problem: 'entries are missing before this one' },
    });
    await restore(target.seq);
    expect((await verify()).ok).toBe(true);

    const last = entries[entries.length - 1];
    await tamper((o) => o('audit_entries').where('seq', last.seq).delete());
    expect(await verify()).toMatchObject({
      ok: false,
      firstBreak: { seq: last.seq, id: null, problem: 'entries are missing at the end of the chain' },
    });
    await restore(last.seq);
    expect((await verify()).ok).toBe(true);
  });
});
