/**
 * What an intruder with the database owner's (or a superuser's) rights leaves behind: a direct change of a
 * GMP table is traced in the audit trail as made outside Ampoule, attributed to the database user, and the
 * verification says so; Ampoule's own changes leave no such trace.
 */
import { writeFileSync } from 'node:fs';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import { TRACED_TABLES } from '../../db/migrations/20261206020000_changes_outside_ampoule';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';
import { until } from '../support/wait';

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
  const r = await api.request(
    'POST',
    '/lots',
    { material: 'NACL', quantity: 5, unit: 'kg', expiryDate: '2099-12-31', supplier: 'Merck KGaA', supplierLot: 'K1' },
    { token: operator.token },
  );
  expect(r.status).toBe(201);
  return r.body;
}

describe('changes made outside Ampoule', () => {
  test('Ampoule’s own changes leave no trace of the kind; a superuser’s UPDATE of a lot does, and verification reports it', async () => {
    const lot = await receiveLot();
    expect(
      (
        await api.request(
          'POST',
          `/lots/${lot.id}/status`,
          {
            status: 'rejected',
            reason: 'damaged drum',
            signature: { username: qa.name, password: PASSWORD, meaning: 'rejected' },
          },
          { token: qa.token },
        )
      ).status,
    ).toBe(200);
    expect(await verify()).toMatchObject({ ok: true, outsideAmpoule: { count: 0 } });

    const other = await receiveLot();
    await api.asOwner((owner) => owner.raw(`update lots set status = 'released' where id = ?`, [other.id]));
    const verdict = await verify();
    expect(verdict).toMatchObject({
      ok: false,
      outsideAmpoule: {
        count: 1,
        first: {
          entityType: 'lots',
          entityId: other.id,
          reason: expect.stringMatching(/^changed outside Ampoule: UPDATE on lots by database user \w+/),
        },
      },
    });
    const trail = await api.request('GET', '/audit?action=outside-ampoule', undefined, { token: qa.token });
    expect(trail.body.items).toEqual([
      expect.objectContaining({
        action: 'outside-ampoule',
        entityType: 'lots',
        entityId: other.id,
        userId: null,
        userName: expect.stringMatching(/^database user /),
        oldValue: { status: 'quarantine' },
        newValue: { status: 'released' },
      }),
    ]);
    // The entry is part of the chain like any other, and cannot be removed.
    expect(trail.body.items[0].seq).toBeGreaterThan(0);
    await expect(
      api.asOwner((owner) => owner('audit_entries').where('action', 'outside-ampoule').delete()),
    ).rejects.toThrow(/append-only/);

    // QA reviews it (a sanctioned fix, say) and acknowledges it, signed: the trace stays, the verification no longer counts it.
    const traceId = trail.body.items[0].id;
    const ack = await api.request(
      'POST',
      `/audit/outside-changes/${traceId}/acknowledge`,
      {
        reason: 'data fix approved in change control CC-42',
        signature: { username: qa.name, password: PASSWORD, meaning: 'reviewed' },
      },
      { token: qa.token },
    );
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ entry: traceId, signature: { meaning: 'reviewed', username: qa.name } });
    expect(await verify()).toMatchObject({ ok: true, outsideAmpoule: { count: 0, acknowledged: 1 } });
    const again = await api.request(
      'POST',
      `/audit/outside-changes/${traceId}/acknowledge`,
      { reason: 'twice', signature: { username: qa.name, password: PASSWORD, meaning: 'reviewed' } },
      { token: qa.token },
    );
    expect(again.status).toBe(409);
    expect(
      (await api.request('GET', `/audit?action=outside-ampoule`, undefined, { token: qa.token })).body.items,
    ).toHaveLength(1);
  });

  test('a session that claims to be Ampoule’s without its token is still outside it; nor can it write the audit trail', async () => {
    const before = (await verify()).outsideAmpoule.count;
    const lot = await receiveLot();
    await api.asOwner(async (owner) =>
      owner.transaction(async (trx) => {
        await trx.raw(`set local ampoule.application_path = 'on'`);
        await trx.raw(`update lots set status = 'released' where id = ?`, [lot.id]);
      }),
    );
    expect((await verify()).outsideAmpoule.count).toBe(before + 1);
    // A forged audit entry, attributed to a real user, is refused; only the trace of an outside change may come from outside.
    await expect(
      api.asOwner((owner) =>
        owner('audit_entries').insert({
          user_name: qa.name,
          username: qa.name,
          action: 'approve',
          entity_type: 'lots',
          entity_id: lot.id,
        }),
      ),
    ).rejects.toThrow(/written by Ampoule only/);
  });

  test('every GMP table carries the trace, enabled always', async () => {
    const { rows } = await api.services.db.raw(
      `select c.relname as table, t.tgname as trigger, t.tgenabled as enabled from pg_trigger t join pg_class c on c.oid = t.tgrelid where t.tgname like '%_outside_ampoule%'`,
    );
    // The tables of the migration that traces them, and those later migrations created (traced in their own).
    for (const table of [...Object.keys(TRACED_TABLES), 'batch_histories', 'deviations', 'production_orders']) {
      expect({
        table,
        triggers: rows
          .filter((r: { table: string }) => r.table === table)
          .map((r: { trigger: string; enabled: string }) => `${r.trigger}:${r.enabled}`)
          .sort(),
      }).toEqual({ table, triggers: [`${table}_outside_ampoule:A`, `${table}_outside_ampoule_truncate:A`] });
    }
  });

  test('inserts, deletes and truncates are traced too', async () => {
    const traces = async () =>
      (await api.request('GET', `/audit?action=outside-ampoule&limit=1000`, undefined, { token: qa.token })).body.items;
    const before = (await traces()).length;
    const unacknowledged = (await verify()).outsideAmpoule.count;
    await api.asOwner(async (owner) => {
      await owner('users').insert({ username: uname('ghost'), full_name: 'Ghost', roles: ['qa'], password_hash: 'x' });
      await owner('materials').insert({ code: 'SMUGGLED', name: 'Not in the catalogue', type: 'raw', base_unit: 'kg' });
      await owner('materials').where('code', 'SMUGGLED').delete();
      await owner.raw('truncate batch_steps');
    });
    const trail = (await traces()).slice(before);
    expect(
      trail.map((e: { entityType: string; reason: string }) => [
        e.entityType,
        e.reason.split(':')[1].trim().split(' ')[0],
      ]),
    ).toEqual([
      ['users', 'INSERT'],
      ['materials', 'INSERT'],
      ['materials', 'DELETE'],
      ['batch_steps', 'TRUNCATE'],
    ]);
    expect((await verify()).outsideAmpoule.count).toBe(unacknowledged + 4);
  });
});

describe('a consistent rewrite of the audit chain', () => {
  test('is detected by the anchors kept outside the database, which name the first anchored head that no longer matches', async () => {
    await receiveLot();
    const anchored = await api.services.anchors.anchorNow('test: before the intrusion');
    const head = anchored.find((a) => a.chain === 'audit')!;
    expect(head).toMatchObject({ v: 1, chain: 'audit', reason: 'test: before the intrusion', sig: expect.any(String) });
    expect((await verify()).anchors.audit).toEqual({ checked: 1, unverifiable: 0 });
    await receiveLot();
    const later = (await api.services.anchors.anchorNow('test: a later interval')).find((a) => a.chain === 'audit')!;
    expect(later.seq).toBeGreaterThan(head.seq);

    // The intruder edits an entry before the first anchored head and recomputes every later hash with the
    // database's own function, then moves the chain head: the chain verifies again.
    const target = Math.max(1, head.seq - 2);
    await api.asOwner(async (owner) => {
      await owner.raw('alter table audit_entries disable trigger audit_entries_append_only');
      try {
        await owner('audit_entries').where('seq', target).update({ reason: 'rewritten by an intruder' });
        await owner.raw(`
          do $$
          declare
            e audit_entries;
            prev text := coalesce((select hash from audit_entries where seq = ${target} - 1), repeat('0', 64));
          begin
            for e in select * from audit_entries where seq >= ${target} order by seq loop
              update audit_entries set prev_hash = prev, hash = encode(sha256(convert_to(prev || ampoule_audit_canonical(e), 'UTF8')), 'hex') where id = e.id returning hash into prev;
            end loop;
            update audit_chain_head set hash = prev;
          end $$`);
      } finally {
        await owner.raw('alter table audit_entries enable always trigger audit_entries_append_only');
      }
    });
    const verdict = await verify();
    expect(verdict.firstBreak).toBeUndefined(); // the chain alone no longer shows it
    expect(verdict.ok).toBe(false);
    expect(verdict.anchors.audit).toMatchObject({
      checked: 2,
      unverifiable: 0,
      firstMismatch: {
        chain: 'audit',
        seq: head.seq,
        anchoredHash: head.hash,
        anchoredAt: head.at,
        reason: 'test: before the intrusion',
      },
    });
    expect(verdict.anchors.audit.firstMismatch.storedHash).not.toBe(head.hash);

    // A forged line in the anchor log does not verify with the key.
    api.services.anchors.log.append({ ...later, seq: later.seq + 1, hash: 'f'.repeat(64) });
    expect((await verify()).anchors.audit.unverifiable).toBe(1);
  });
});

test('a process anchors once an interval is due by the log, not by its own uptime: restarts do not put anchoring off', async () => {
  // An hour's interval, and a log with no anchor yet: a process just started anchors within seconds, and one
  // started again right after (its log's newest anchor seconds old) does not anchor again.
  const hourly = await startTestApi({ env: { AMPOULE_ANCHOR_INTERVAL_SECONDS: '3600' } });
  try {
    await hourly.createUser(uname('adm'), ['admin']); // something for the audit chain to anchor
    const before = hourly.services.anchors.log.read().length;
    hourly.services.anchors.start();
    await until(() => hourly.services.anchors.log.read().length > before || undefined, 20_000, 'an interval anchor');
    await hourly.services.anchors.stop();
    const anchored = hourly.services.anchors.log.read().length;
    hourly.services.anchors.start(); // the process, started again
    await new Promise((r) => setTimeout(r, 7_000));
    await hourly.services.anchors.stop();
    expect(hourly.services.anchors.log.read().length).toBe(anchored);
  } finally {
    await hourly.close();
  }
}, 60_000);

describe('the anchor log removed or cut short', () => {
  let short: TestApi;
  beforeAll(async () => {
    // Anchoring every second: what "no anchor covers it after three intervals" means shows in seconds.
    short = await startTestApi({ env: { AMPOULE_ANCHOR_INTERVAL_SECONDS: '1' } });
    short.services.anchors.start();
  });
  afterAll(async () => short?.close());

  test('shows: entries older than three intervals that no anchor covers', async () => {
    const admin = uname('adm');
    await short.createUser(admin, ['admin']);
    const token = await short.login(admin);
    const check = async () => (await short.request('GET', '/audit/verify', undefined, { token })).body;
    const anchored = await until(
      async () => {
        const v = await check();
        return v.anchors.audit.checked > 0 && v;
      },
      20_000,
      'a first anchor',
    );
    expect(anchored).toMatchObject({ ok: true, anchors: { audit: { unverifiable: 0 } } });
    // The intruder removes the log, and anchoring stops (the process was stopped, say).
    await short.services.anchors.stop();
    writeFileSync(short.config.anchors.logFile, '');
    const verdict = await until(
      async () => {
        const v = await check();
        return v.anchors.audit.behind && v;
      },
      20_000,
      'the unanchored entries shown',
    );
    expect(verdict.ok).toBe(false);
    expect(verdict.anchors.audit).toMatchObject({
      checked: 0,
      behind: { anchoredUpTo: 0, firstUnanchored: { seq: 1 } },
    });
  });
});
