/**
 * What an intruder with the database owner's (or a superuser's) rights leaves behind: a direct change of a
 * GMP table is traced in the audit trail as made outside Ampoule, attributed to the database user, and the
 * verification says so; Ampoule's own changes leave no such trace.
 */
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';

let api: TestApi;
let qa: { name: string; token: string };
let operator: { name: string; token: string };

beforeAll(async () => {
  api = await startTestApi();
  await api.services.db.transaction(async (trx) => {
    const ctx = { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test master data' };
    for (const c of DEMO_EQUIPMENT_CLASSES) await api.services.masterData.createEquipmentClass(ctx, c);
    for (const m of DEMO_MATERIALS) await api.services.masterData.createMaterial(ctx, m);
  });
  const [q, o] = [uname('qa'), uname('op')];
  await api.createUser(q, ['qa']);
  await api.createUser(o, ['operator']);
  qa = { name: q, token: await api.login(q) };
  operator = { name: o, token: await api.login(o) };
});
afterAll(async () => api?.close());

const verify = async () => (await api.request('GET', '/audit/verify', undefined, { token: qa.token })).body;

async function receiveLot(): Promise<{ id: string; lotNumber: string }> {
  const r = await api.request('POST', '/lots', { material: 'NACL', quantity: 5, unit: 'kg', expiryDate: '2099-12-31', supplier: 'Merck KGaA', supplierLot: 'K1' }, { token: operator.token });
  expect(r.status).toBe(201);
  return r.body;
}

describe('changes made outside Ampoule', () => {
  test('Ampoule’s own changes leave no trace of the kind; a superuser’s UPDATE of a lot does, and verification reports it', async () => {
    const lot = await receiveLot();
    expect((await api.request('POST', `/lots/${lot.id}/status`, { status: 'rejected', reason: 'damaged drum', signature: { username: qa.name, password: PASSWORD, meaning: 'rejected' } }, { token: qa.token })).status).toBe(200);
    expect(await verify()).toMatchObject({ ok: true, outsideAmpoule: { count: 0 } });

    const other = await receiveLot();
    await api.asOwner((owner) => owner.raw(`update lots set status = 'released' where id = ?`, [other.id]));
    const verdict = await verify();
    expect(verdict).toMatchObject({ ok: false, outsideAmpoule: { count: 1, first: { entityType: 'lots', entityId: other.id, reason: expect.stringMatching(/^changed outside Ampoule: UPDATE on lots by database user \w+/) } } });
    const trail = await api.request('GET', '/audit?action=outside-ampoule', undefined, { token: qa.token });
    expect(trail.body.entries).toEqual([
      expect.objectContaining({ action: 'outside-ampoule', entityType: 'lots', entityId: other.id, userId: null, userName: expect.stringMatching(/^database user /), oldValue: { status: 'quarantine' }, newValue: { status: 'released' } }),
    ]);
    // The entry is part of the chain like any other, and cannot be removed.
    expect(trail.body.entries[0].seq).toBeGreaterThan(0);
    await expect(api.asOwner((owner) => owner('audit_entries').where('action', 'outside-ampoule').delete())).rejects.toThrow(/append-only/);
  });

  test('inserts, deletes and truncates are traced too, on every GMP table', async () => {
    const before = (await verify()).outsideAmpoule.count;
    await api.asOwner(async (owner) => {
      await owner('users').insert({ username: uname('ghost'), full_name: 'Ghost', roles: ['qa'], password_hash: 'x' });
      await owner('materials').insert({ code: 'SMUGGLED', name: 'Not in the catalogue', type: 'raw', base_unit: 'kg' });
      await owner('materials').where('code', 'SMUGGLED').delete();
      await owner.raw('truncate batch_steps');
    });
    const trail = (await api.request('GET', `/audit?action=outside-ampoule&limit=100`, undefined, { token: qa.token })).body.entries.slice(before);
    expect(trail.map((e: { entityType: string; reason: string }) => [e.entityType, e.reason.split(':')[1].trim().split(' ')[0]])).toEqual([
      ['users', 'INSERT'],
      ['materials', 'INSERT'],
      ['materials', 'DELETE'],
      ['batch_steps', 'TRUNCATE'],
    ]);
    expect((await verify()).outsideAmpoule.count).toBe(before + 4);
  });
});
