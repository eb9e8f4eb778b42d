/** Equipment units through the API, bound to the simulator's address space, with their state history. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NO_STATION, SYSTEM_ACTOR } from '../../db/change-context';
import { DEMO_EQUIPMENT_CLASSES } from '../../demo/master-data';
import { Connections } from '../../equipment/driver/connections';
import { PhaseDriver } from '../../equipment/driver/phase-driver';
import { openPki } from '../../equipment/pki';
import { startSimulator, type EquipmentSimulator } from '../../equipment/simulator/simulator';
import { startTestApi, uname, type TestApi } from '../support/api';

const POLICY = 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256';
let api: TestApi;
let simulator: EquipmentSimulator;
let dir: string;
const tokens: Record<'admin' | 'operator', string> = {} as never;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ampoule-equipment-api-'));
  simulator = await startSimulator({ pkiFolder: path.join(dir, 'simulator'), timeScale: 7200, tickMs: 20 });
  api = await startTestApi();
  await api.services.db.transaction(async (trx) => {
    for (const c of DEMO_EQUIPMENT_CLASSES)
      await api.services.masterData.createEquipmentClass(
        { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test' },
        c,
      );
  });
  for (const role of ['admin', 'operator'] as const) {
    const name = uname(role);
    await api.createUser(name, [role]);
    tokens[role] = await api.login(name);
  }
});
afterAll(async () => {
  await api?.close();
  await simulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const register = (code: string, extra: Record<string, unknown> = {}) =>
  api.request(
    'POST',
    '/equipment',
    {
      code,
      name: `${code} (test)`,
      classCode: code.startsWith('BR') ? 'BIOREACTOR' : 'MIXER',
      endpointUrl: simulator.endpointUrl,
      securityMode: 'SignAndEncrypt',
      securityPolicy: POLICY,
      binding: simulator.bindingFor(code),
      reason: 'commissioned',
      ...extra,
    },
    { token: tokens.admin },
  );

test('a unit is registered with its endpoint and binding, audited, and its first status enters the history', async () => {
  const r = await register('BR-101');
  expect(r.status).toBe(201);
  expect(r.body).toMatchObject({
    code: 'BR-101',
    classCode: 'BIOREACTOR',
    status: 'available',
    cleanliness: 'clean',
    securityMode: 'SignAndEncrypt',
  });
  const state = await api.request('GET', '/equipment/BR-101/state', undefined, { token: tokens.operator });
  expect(state.body.history).toEqual([expect.objectContaining({ phase: null, state: 'available' })]);
  await api.services.auditSealer.sealNow();
  const [entry] = await api.services.db('audit_entries').where({ entity_type: 'equipment-unit', entity_id: 'BR-101' });
  expect(entry).toMatchObject({ action: 'create', reason: 'commissioned' });
});

test('bad configuration is refused: an unknown class, a phase the class lacks, security None unless allowed', async () => {
  const unknownClass = await register('MX-201', { classCode: 'CENTRIFUGE' });
  expect(unknownClass.status).toBe(400);
  expect(unknownClass.body.errors[0]).toMatchObject({ pointer: '/classCode' });
  const wrongPhase = await register('MX-201', { binding: simulator.bindingFor('BR-101') });
  expect(wrongPhase.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/binding/phases/CULTIVATE');
  const insecure = await register('MX-201', {
    securityMode: 'None',
    securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#None',
  });
  expect(insecure.status).toBe(400);
  expect(insecure.body.errors[0]).toMatchObject({
    pointer: '/securityMode',
    message: expect.stringMatching(/AMPOULE_OPCUA_ALLOW_SECURITY_NONE/),
  });
  const badBinding = await register('MX-201', {
    binding: { phases: { FILL: { state: { browsePath: 'Objects/x' } } } },
  });
  expect(badBinding.status).toBe(400);

  const lenient = await startTestApi({ env: { AMPOULE_OPCUA_ALLOW_SECURITY_NONE: 'true' } });
  try {
    await lenient.services.db.transaction((trx) =>
      lenient.services.masterData.createEquipmentClass(
        { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test' },
        DEMO_EQUIPMENT_CLASSES[1],
      ),
    );
    const admin = uname('admin');
    await lenient.createUser(admin, ['admin']);
    const ok = await lenient.request(
      'POST',
      '/equipment',
      {
        code: 'MX-201',
        name: 'Mixer',
        classCode: 'MIXER',
        endpointUrl: simulator.endpointUrl,
        securityMode: 'None',
        securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#None',
        binding: simulator.bindingFor('MX-201'),
        reason: 'lab bench',
      },
      { token: await lenient.login(admin) },
    );
    expect(ok.status).toBe(201);
  } finally {
    await lenient.close();
  }
});

test('status and cleanliness: set with a reason, audited, and recorded in the state history', async () => {
  await register('MX-202');
  const dirty = await api.request(
    'POST',
    '/equipment/MX-202/status',
    { cleanliness: 'dirty', reason: 'batch finished' },
    { token: tokens.operator },
  );
  expect(dirty.body).toMatchObject({ cleanliness: 'dirty', status: 'available' });
  const maintenance = await api.request(
    'POST',
    '/equipment/MX-202/status',
    { status: 'maintenance', reason: 'agitator seal leaking' },
    { token: tokens.operator },
  );
  expect(maintenance.body.status).toBe('maintenance');
  const noReason = await api.request(
    'POST',
    '/equipment/MX-202/status',
    { status: 'available' },
    { token: tokens.operator },
  );
  expect(noReason.status).toBe(422);
  const state = await api.request('GET', '/equipment/MX-202/state', undefined, { token: tokens.operator });
  expect(state.body.history.map((h: { state: string }) => h.state)).toEqual(['maintenance', 'dirty', 'available']);
  await api.services.auditSealer.sealNow();
  const entries = await api.services
    .db('audit_entries')
    .where({ entity_type: 'equipment-unit', entity_id: 'MX-202', action: 'status' })
    .orderBy('seq');
  expect(entries.map((e) => [e.old_value, e.new_value, e.reason])).toEqual([
    [{ cleanliness: 'clean' }, { cleanliness: 'dirty' }, 'batch finished'],
    [{ status: 'available' }, { status: 'maintenance' }, 'agitator seal leaking'],
  ]);

  // Optimistic concurrency: a change made on a stale read is refused (412), and changes nothing.
  const read = await api.request('GET', '/equipment/MX-202', undefined, { token: tokens.operator });
  expect(read.headers.get('etag')).toBe(`"v${read.body.rowVersion}"`);
  const cleaned = await api.request(
    'POST',
    '/equipment/MX-202/status',
    { cleanliness: 'clean', reason: 'cleaned' },
    { token: tokens.operator, headers: { 'If-Match': read.headers.get('etag')! } },
  );
  expect(cleaned.status).toBe(200);
  expect(cleaned.headers.get('etag')).toBe(`"v${read.body.rowVersion + 1}"`);
  const stale = await api.request(
    'POST',
    '/equipment/MX-202/status',
    { status: 'available', reason: 'seal replaced' },
    { token: tokens.operator, headers: { 'If-Match': read.headers.get('etag')! } },
  );
  expect(stale.status).toBe(412);
  const renamed = await api.request(
    'PATCH',
    '/equipment/MX-202',
    { name: 'Renamed on a stale read', reason: 'rename' },
    { token: tokens.admin, headers: { 'If-Match': read.headers.get('etag')! } },
  );
  expect(renamed.status).toBe(412);
  expect((await api.request('GET', '/equipment/MX-202', undefined, { token: tokens.operator })).body).toMatchObject({
    status: 'maintenance',
    cleanliness: 'clean',
    rowVersion: read.body.rowVersion + 1,
  });
});

test('phase state changes are recorded once each, with the controller’s source timestamp', async () => {
  const pki = await openPki(path.join(dir, 'ampoule'), 'ampoule');
  await simulator.pki.trust(pki.certificate());
  await pki.trust(simulator.pki.certificate());
  const connections = new Connections(pki);
  try {
    const unit = await api.services.equipment.get('BR-101');
    const record = (c: { unit: string; phase: string; state: string; commandId: string; sourceTimestamp: Date }) =>
      api.services.stores.equipment.addStateChange(api.services.db, {
        unitCode: c.unit,
        phase: c.phase,
        state: c.state,
        commandId: c.commandId,
        sourceTimestamp: c.sourceTimestamp,
      });
    const commandId = `batch-E1/heat-${Date.now()}`;
    const seen: Date[] = [];
    await new PhaseDriver(connections).run({
      unit,
      phase: 'HEAT',
      commandId,
      parameters: { temperature: 30 },
      onStateChange: async (c) => {
        seen.push(c.sourceTimestamp);
        expect(await record(c)).toBe(true);
        expect(await record(c)).toBe(false); // the same observation twice is stored once
      },
    });
    const state = await api.request('GET', '/equipment/BR-101/state', undefined, { token: tokens.operator });
    const heat = state.body.history.filter((h: { phase: string }) => h.phase === 'HEAT');
    expect(heat.map((h: { state: string }) => h.state)).toEqual(
      expect.arrayContaining(['running', 'complete', 'idle']),
    );
    expect(heat.every((h: { commandId: string }) => h.commandId === commandId)).toBe(true);
    expect(heat.map((h: { sourceTimestamp: string }) => h.sourceTimestamp).sort()).toEqual(
      seen.map((d) => d.toISOString()).sort(),
    );
    expect(state.body.phases).toEqual([expect.objectContaining({ phase: 'HEAT', state: 'idle' })]);
    await expect(
      api.services.db('equipment_state_history').where('unit_code', 'BR-101').update({ state: 'x' }),
    ).rejects.toThrow(/permission denied/);
  } finally {
    await connections.close();
  }
});
