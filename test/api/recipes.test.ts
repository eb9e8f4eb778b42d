/** Recipe control through the API: lifecycle, signatures, segregation of duties, the compiled plan, diff, export and import. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_ACTOR, NO_STATION } from '../../db/change-context';
import { compilePlan, planHash } from '../../domain/recipe/compile';
import { validateRecipe } from '../../domain/recipe/validate';
import { DEMO_EQUIPMENT_CLASSES, DEMO_MATERIALS } from '../../demo/master-data';
import { PASSWORD, startTestApi, uname, type TestApi } from '../support/api';

let api: TestApi;
const people: Record<
  'planner' | 'qaAuthor' | 'qaReviewer' | 'operator' | 'admin',
  { name: string; id: string; token: string }
> = {} as never;

const pbsFile = JSON.parse(readFileSync(path.resolve(__dirname, '../../demo/recipes/pbs-buffer-1000l.json'), 'utf8'));
let codeCounter = 0;
const newCode = () => `PBS-T${++codeCounter}-${Math.random().toString(36).slice(2, 6).toUpperCase()}`;

beforeAll(async () => {
  api = await startTestApi();
  const s = api.services;
  await s.db.transaction(async (trx) => {
    const ctx = { trx, actor: SYSTEM_ACTOR, station: NO_STATION, reason: 'test master data' };
    for (const c of DEMO_EQUIPMENT_CLASSES) await s.masterData.createEquipmentClass(ctx, c);
    for (const m of DEMO_MATERIALS) await s.masterData.createMaterial(ctx, m);
  });
  for (const [key, roles] of [
    ['planner', ['planner']],
    ['qaAuthor', ['qa']],
    ['qaReviewer', ['qa']],
    ['operator', ['operator']],
    ['admin', ['admin']],
  ] as const) {
    const name = uname(key.toLowerCase());
    const id = await api.createUser(name, [...roles]);
    people[key] = { name, id, token: await api.login(name) };
  }
});
afterAll(async () => api?.close());

const sig = (who: keyof typeof people, meaning: string, password = PASSWORD) => ({
  username: people[who].name,
  password,
  meaning,
});
const as = (who: keyof typeof people) => ({ token: people[who].token });

async function createDraft(code = newCode()) {
  const r = await api.request(
    'POST',
    '/recipes',
    { code, name: 'PBS test', definition: pbsFile.definition, reason: 'new buffer recipe' },
    as('planner'),
  );
  expect(r.status).toBe(201);
  return { code, v: r.body };
}

async function toEffective(code: string, version = 1) {
  expect(
    (
      await api.request(
        'POST',
        `/recipes/${code}/versions/${version}/submit`,
        { signature: sig('planner', 'authored') },
        as('planner'),
      )
    ).status,
  ).toBe(200);
  expect(
    (
      await api.request(
        'POST',
        `/recipes/${code}/versions/${version}/approve`,
        { signature: sig('qaReviewer', 'approved') },
        as('qaReviewer'),
      )
    ).status,
  ).toBe(200);
  expect(
    (
      await api.request(
        'POST',
        `/recipes/${code}/versions/${version}/make-effective`,
        { reason: 'ready for production' },
        as('qaReviewer'),
      )
    ).status,
  ).toBe(200);
}

async function auditOf(entityId: string) {
  await api.services.auditSealer.sealNow();
  return api.services.db('audit_entries').where('entity_id', entityId).orderBy('seq');
}

test('create, edit, submit, approve, make effective: each step audited, the signatures shown with the version', async () => {
  const { code, v } = await createDraft();
  expect(v).toMatchObject({ version: 1, status: 'draft', recipe: { code }, signatures: [] });

  const edited = structuredClone(pbsFile.definition);
  edited.procedure.unitProcedures[0].operations[0].phases[1].tolerancePercent = 0.5;
  const put = await api.request(
    'PUT',
    `/recipes/${code}/versions/1`,
    { definition: edited, reason: 'tighter NaCl tolerance' },
    as('planner'),
  );
  expect(put.status).toBe(200);

  const submitted = await api.request(
    'POST',
    `/recipes/${code}/versions/1/submit`,
    { signature: sig('planner', 'authored') },
    as('planner'),
  );
  expect(submitted.status).toBe(200);
  expect(submitted.body.status).toBe('in-review');
  expect(submitted.body.signatures).toEqual([
    expect.objectContaining({ meaning: 'authored', username: people.planner.name, covers: true }),
  ]);

  const approved = await api.request(
    'POST',
    `/recipes/${code}/versions/1/approve`,
    { signature: sig('qaReviewer', 'approved', PASSWORD), reason: 'reviewed' },
    as('qaReviewer'),
  );
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({ status: 'approved', planHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(approved.body.signatures.map((s: { meaning: string; covers: boolean }) => [s.meaning, s.covers])).toEqual([
    ['authored', true],
    ['approved', true],
  ]);

  const effective = await api.request(
    'POST',
    `/recipes/${code}/versions/1/make-effective`,
    { reason: 'ready for production' },
    as('qaReviewer'),
  );
  expect(effective.body.status).toBe('effective');
  expect((await api.request('GET', `/recipes/${code}`, undefined, as('operator'))).body.effectiveVersion).toBe(1);

  const trail = await auditOf(v.id);
  expect(trail.map((e) => [e.action, e.old_value?.status ?? null, e.new_value?.status ?? null, e.reason])).toEqual([
    ['create', null, 'draft', 'new buffer recipe'],
    ['update', null, null, 'tighter NaCl tolerance'],
    ['sign', null, null, null],
    ['transition', 'draft', 'in-review', null],
    ['sign', null, null, 'reviewed'],
    ['transition', 'in-review', 'approved', 'reviewed'],
    ['transition', 'approved', 'effective', 'ready for production'],
  ]);
  expect(trail[1].new_value.changes).toEqual([
    { path: '/procedure/unitProcedures/0/operations/0/phases/1/tolerancePercent', kind: 'changed', value: 0.5 },
  ]);
  expect(trail[1].old_value.changes).toEqual([
    { path: '/procedure/unitProcedures/0/operations/0/phases/1/tolerancePercent', kind: 'changed', value: 1 },
  ]);
});

test('an invalid recipe is refused with every problem named by its place, and nothing is created', async () => {
  const bad = structuredClone(pbsFile.definition);
  bad.procedure.unitProcedures[0].equipmentClass = 'CENTRIFUGE';
  bad.procedure.unitProcedures[0].operations[0].phases[0].reports[1].unit = 'mL';
  const before = (await api.request('GET', '/recipes', undefined, as('planner'))).body.items.length;
  const r = await api.request(
    'POST',
    '/recipes',
    { code: newCode(), name: 'Broken', definition: bad, reason: 'try' },
    as('planner'),
  );
  expect(r.status).toBe(422);
  expect(r.body.type).toBe('/api/problems/recipe-invalid');
  expect(r.body.problems).toEqual([
    { path: '/procedure/unitProcedures/0/equipmentClass', message: 'unknown equipment class "CENTRIFUGE"' },
    {
      path: '/procedure/unitProcedures/0/operations/0/phases/0/reports/1/unit',
      message: '"mL" is not a unit of temperature (for example Cel)',
    },
  ]);
  expect((await api.request('GET', '/recipes', undefined, as('planner'))).body.items.length).toBe(before);
});

test('optimistic concurrency: a Draft has a strong ETag; an edit with a stale If-Match is refused (412) and changes nothing', async () => {
  const { code } = await createDraft();
  const read = await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('planner'));
  const etag = read.headers.get('etag')!;
  expect(etag).toBe(`"v${read.body.rowVersion}"`);
  // Someone else edits it first, with the ETag they read.
  const theirs = structuredClone(pbsFile.definition);
  theirs.description = 'their edit';
  const first = await api.request(
    'PUT',
    `/recipes/${code}/versions/1`,
    { definition: theirs, reason: 'their edit' },
    { ...as('qaAuthor'), headers: { 'If-Match': etag } },
  );
  expect(first.status).toBe(200);
  expect(first.headers.get('etag')).toBe(`"v${read.body.rowVersion + 1}"`);
  // My edit, based on what I read before theirs: refused, and theirs stands.
  const mine = structuredClone(pbsFile.definition);
  mine.description = 'my edit';
  const stale = await api.request(
    'PUT',
    `/recipes/${code}/versions/1`,
    { definition: mine, reason: 'my edit' },
    { ...as('planner'), headers: { 'If-Match': etag } },
  );
  expect(stale.status).toBe(412);
  expect(stale.body).toMatchObject({ type: '/api/problems/precondition-failed', etag: first.headers.get('etag') });
  const now = await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('planner'));
  expect(now.body.definition.description).toBe('their edit');
  expect(now.headers.get('etag')).toBe(first.headers.get('etag'));
  expect((await auditOf(read.body.id)).filter((e) => e.action === 'update').map((e) => e.username)).toEqual([
    people.qaAuthor.name,
  ]);
  // Read again, then it goes through; a lifecycle action honours If-Match too.
  expect(
    (
      await api.request(
        'PUT',
        `/recipes/${code}/versions/1`,
        { definition: mine, reason: 'my edit' },
        { ...as('planner'), headers: { 'If-Match': now.headers.get('etag')! } },
      )
    ).status,
  ).toBe(200);
  const submit = await api.request(
    'POST',
    `/recipes/${code}/versions/1/submit`,
    { signature: sig('planner', 'authored') },
    { ...as('planner'), headers: { 'If-Match': etag } },
  );
  expect(submit.status).toBe(412);
  expect((await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('planner'))).body.status).toBe('draft');
});

test('only a Draft is edited; a frozen definition is refused by the database as well', async () => {
  const { code, v } = await createDraft();
  await api.request(
    'POST',
    `/recipes/${code}/versions/1/submit`,
    { signature: sig('planner', 'authored') },
    as('planner'),
  );
  const r = await api.request(
    'PUT',
    `/recipes/${code}/versions/1`,
    { definition: pbsFile.definition, reason: 'one more thing' },
    as('planner'),
  );
  expect(r.status).toBe(409);
  expect(r.body).toMatchObject({
    type: '/api/problems/invalid-transition',
    status: 409,
    detail: `${code} v1: a version that is in-review cannot be edited (only draft)`,
  });
  await api.asOwner(async (owner) => {
    await expect(
      owner('recipe_versions')
        .where('id', v.id)
        .update({ definition: JSON.stringify({ tampered: true }) }),
    ).rejects.toThrow(/its definition is frozen/);
    await expect(owner('recipe_versions').where('id', v.id).delete()).rejects.toThrow(/never deleted/);
  });
});

test('segregation of duties: no author approves or rejects; the submitter signs "authored", the reviewer "approved"', async () => {
  const { code } = await createDraft();
  // A QA person who edits the draft becomes one of its authors.
  const edited = structuredClone(pbsFile.definition);
  edited.description = 'Edited by QA';
  expect(
    (await api.request('PUT', `/recipes/${code}/versions/1`, { definition: edited, reason: 'clarify' }, as('qaAuthor')))
      .status,
  ).toBe(200);
  await api.request(
    'POST',
    `/recipes/${code}/versions/1/submit`,
    { signature: sig('planner', 'authored') },
    as('planner'),
  );

  const own = await api.request(
    'POST',
    `/recipes/${code}/versions/1/approve`,
    { signature: sig('qaAuthor', 'approved') },
    as('qaAuthor'),
  );
  expect(own.status).toBe(403);
  expect(own.body).toMatchObject({
    type: '/api/problems/segregation-of-duties',
    detail: 'the author of a recipe version cannot approve it',
  });
  const ownReject = await api.request(
    'POST',
    `/recipes/${code}/versions/1/reject`,
    { signature: sig('qaAuthor', 'rejected'), reason: 'no' },
    as('qaAuthor'),
  );
  expect(ownReject.status).toBe(403);

  const planner = await api.request(
    'POST',
    `/recipes/${code}/versions/1/approve`,
    { signature: sig('planner', 'approved') },
    as('planner'),
  );
  expect(planner.status).toBe(403); // a planner may not review at all
  const wrongMeaning = await api.request(
    'POST',
    `/recipes/${code}/versions/1/approve`,
    { signature: sig('qaReviewer', 'authored') },
    as('qaReviewer'),
  );
  expect(wrongMeaning.status).toBe(422);
  const noSignature = await api.request('POST', `/recipes/${code}/versions/1/approve`, {}, as('qaReviewer'));
  expect(noSignature.body.type).toBe('/api/problems/signature-required');
  const version = await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('operator'));
  expect(version.body.status).toBe('in-review');
});

test('reject sends a version back to Draft, with a reason and a signature', async () => {
  const { code } = await createDraft();
  await api.request(
    'POST',
    `/recipes/${code}/versions/1/submit`,
    { signature: sig('planner', 'authored') },
    as('planner'),
  );
  const noReason = await api.request(
    'POST',
    `/recipes/${code}/versions/1/reject`,
    { signature: sig('qaReviewer', 'rejected') },
    as('qaReviewer'),
  );
  expect(noReason.status).toBe(422);
  expect(noReason.body.type).toBe('/api/problems/reason-required');
  const r = await api.request(
    'POST',
    `/recipes/${code}/versions/1/reject`,
    { signature: sig('qaReviewer', 'rejected'), reason: 'pH limits need a justification' },
    as('qaReviewer'),
  );
  expect(r.status).toBe(200);
  expect(r.body.status).toBe('draft');
  expect(r.body.signatures.map((s: { meaning: string }) => s.meaning)).toEqual(['authored', 'rejected']);
  expect(
    (
      await api.request(
        'PUT',
        `/recipes/${code}/versions/1`,
        { definition: pbsFile.definition, reason: 'justified' },
        as('planner'),
      )
    ).status,
  ).toBe(200);
});

test('versions: one open at a time, a new one copies the latest, making it effective supersedes the old; only Effective launches', async () => {
  const { code } = await createDraft();
  const blocked = await api.request('POST', `/recipes/${code}/versions`, { reason: 'v2' }, as('planner'));
  expect(blocked.status).toBe(409);
  await toEffective(code);

  const v2 = await api.request('POST', `/recipes/${code}/versions`, { reason: 'larger batches' }, as('planner'));
  expect(v2.status).toBe(201);
  expect(v2.body).toMatchObject({ version: 2, status: 'draft' });
  const v1 = await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('planner'));
  expect(v2.body.definition).toEqual(v1.body.definition);

  // The batch feature's entry point: only the Effective version, within its batch size range.
  await expect(api.services.recipes.launchPlan(code, 2, { value: 1000 })).rejects.toThrow(
    /v2? ?.*only an effective version launches|draft: only an effective/,
  );
  const launch = await api.services.recipes.launchPlan(code, 1, { value: 500 });
  expect(launch.plan.scaling).toMatchObject({ batchSize: { value: 500, unit: 'L' }, factor: 0.5 });

  const bigger = structuredClone(pbsFile.definition);
  bigger.batchSize.max = 3000;
  await api.request(
    'PUT',
    `/recipes/${code}/versions/2`,
    { definition: bigger, reason: 'larger batches' },
    as('planner'),
  );
  await toEffective(code, 2);
  const recipe = await api.request('GET', `/recipes/${code}`, undefined, as('planner'));
  expect(recipe.body.versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
    [1, 'superseded'],
    [2, 'effective'],
  ]);
  await expect(api.services.recipes.launchPlan(code, 1, { value: 500 })).rejects.toThrow(
    /superseded: only an effective version launches/,
  );

  const retired = await api.request(
    'POST',
    `/recipes/${code}/versions/2/retire`,
    { reason: 'product discontinued' },
    as('qaReviewer'),
  );
  expect(retired.body.status).toBe('retired');
  await expect(api.services.recipes.launchPlan(code, 2, { value: 500 })).rejects.toThrow(
    /retired: only an effective version launches/,
  );
  const again = await api.request(
    'POST',
    `/recipes/${code}/versions/2/make-effective`,
    { reason: 'oops' },
    as('qaReviewer'),
  );
  expect(again.status).toBe(409);

  const diff = await api.request('GET', `/recipes/${code}/versions/1/diff/2`, undefined, as('qaReviewer'));
  expect(diff.body).toEqual({
    from: 1,
    to: 2,
    changes: [{ kind: 'changed', path: '/batchSize/max', where: 'batchSize › max', before: 2000, after: 3000 }],
  });
});

test('the plan: compiled at approval, identical to a fresh compile, checked against its hash, scaled on request', async () => {
  const { code } = await createDraft();
  expect((await api.request('GET', `/recipes/${code}/versions/1/plan`, undefined, as('planner'))).status).toBe(409);
  await toEffective(code);
  const r = await api.request('GET', `/recipes/${code}/versions/1/plan`, undefined, as('operator'));
  expect(r.status).toBe(200);
  expect(r.body.verified).toBe(true);
  const version = await api.request('GET', `/recipes/${code}/versions/1`, undefined, as('operator'));
  const catalogue = await api.services.masterData.catalogue();
  const v = validateRecipe(version.body.definition, catalogue);
  if (!v.ok) throw new Error('invalid');
  const fresh = compilePlan(v.definition, { code, name: 'PBS test', version: 1, versionId: version.body.id });
  expect(planHash(fresh)).toBe(r.body.hash);
  expect(r.body.plan).toEqual(fresh);

  const scaled = await api.request(
    'GET',
    `/recipes/${code}/versions/1/plan?batchSize=0.5&unit=m3`,
    undefined,
    as('operator'),
  );
  expect(scaled.body.plan.scaling).toEqual({
    planHash: r.body.hash,
    batchSize: { value: 500, unit: 'L' },
    factor: 0.5,
  });
  const tooBig = await api.request('GET', `/recipes/${code}/versions/1/plan?batchSize=5000`, undefined, as('operator'));
  expect(tooBig.status).toBe(422);
  expect(tooBig.body).toMatchObject({ type: '/api/problems/batch-size-out-of-range', min: 200, max: 2000, unit: 'L' });
  const wrongUnit = await api.request(
    'GET',
    `/recipes/${code}/versions/1/plan?batchSize=5&unit=kg`,
    undefined,
    as('operator'),
  );
  expect(wrongUnit.status).toBe(422);

  // Plans are append-only; one changed behind Ampoule's back no longer verifies, and never launches.
  await api.asOwner(async (owner) => {
    await expect(
      owner('execution_plans')
        .where('hash', r.body.hash)
        .update({ plan: JSON.stringify({}) }),
    ).rejects.toThrow(/append-only/);
    await owner.raw('alter table execution_plans disable trigger execution_plans_append_only');
    await owner.raw(`update execution_plans set plan = jsonb_set(plan, '{batchSize,max}', '99999') where hash = ?`, [
      r.body.hash,
    ]);
    await owner.raw('alter table execution_plans enable always trigger execution_plans_append_only');
  });
  expect((await api.request('GET', `/recipes/${code}/versions/1/plan`, undefined, as('operator'))).body.verified).toBe(
    false,
  );
  await expect(api.services.recipes.launchPlan(code, 1, { value: 500 })).rejects.toThrow(
    /no longer matches the hash it was approved with/,
  );
});

test('export and import: a file round-trips; a known code becomes a new version, a new code a new recipe', async () => {
  const { code } = await createDraft();
  await toEffective(code);
  const exported = await api.request('GET', `/recipes/${code}/versions/1/export`, undefined, as('operator'));
  expect(exported.headers.get('content-disposition')).toBe(`attachment; filename="${code}-v1.json"`);
  expect(exported.body).toMatchObject({
    format: 'ampoule-recipe/1',
    code,
    version: 1,
    status: 'effective',
    planHash: expect.any(String),
  });

  const asVersion = await api.request(
    'POST',
    '/recipes/import',
    { file: exported.body, reason: 'round trip' },
    as('planner'),
  );
  expect(asVersion.status).toBe(201);
  expect(asVersion.body).toMatchObject({
    version: 2,
    status: 'draft',
    recipe: { code },
    definition: exported.body.definition,
  });

  const other = newCode();
  const asRecipe = await api.request(
    'POST',
    '/recipes/import',
    { file: { ...exported.body, code: other }, reason: 'copy for a new site' },
    as('planner'),
  );
  expect(asRecipe.body).toMatchObject({ version: 1, status: 'draft', recipe: { code: other } });

  const badFile = await api.request(
    'POST',
    '/recipes/import',
    { file: { ...exported.body, format: 'something-else' }, reason: 'x' },
    as('planner'),
  );
  expect(badFile.status).toBe(400);
  expect(badFile.body.errors[0].pointer).toBe('/file/format');
});

test('bad input: unknown fields, a taken code, a repeated create with one Idempotency-Key', async () => {
  const extra = await api.request(
    'POST',
    '/recipes',
    { code: newCode(), name: 'x', definition: pbsFile.definition, reason: 'r', status: 'effective' },
    as('planner'),
  );
  expect(extra.status).toBe(400);
  expect(extra.body.errors[0]).toMatchObject({ pointer: '/status', message: expect.stringMatching(/unknown field/) });
  const { code } = await createDraft();
  const taken = await api.request(
    'POST',
    '/recipes',
    { code, name: 'again', definition: pbsFile.definition, reason: 'r' },
    as('planner'),
  );
  expect(taken.status).toBe(409);
  const body = { code: newCode(), name: 'once', definition: pbsFile.definition, reason: 'r' };
  const a = await api.request('POST', '/recipes', body, {
    ...as('planner'),
    headers: { 'Idempotency-Key': `create-${body.code}` },
  });
  const b = await api.request('POST', '/recipes', body, {
    ...as('planner'),
    headers: { 'Idempotency-Key': `create-${body.code}` },
  });
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(b.body.id).toBe(a.body.id);
  const operator = await api.request('POST', '/recipes', { ...body, code: newCode() }, as('operator'));
  expect(operator.status).toBe(403);
});

test('master data: materials and equipment classes, created by administrators with a reason and a valid base unit', async () => {
  const m = await api.request(
    'POST',
    '/materials',
    { code: 'EDTA', name: 'Edetate disodium', type: 'raw', baseUnit: 'kg', reason: 'new excipient' },
    as('admin'),
  );
  expect(m.status).toBe(201);
  const badUnit = await api.request(
    'POST',
    '/materials',
    { code: 'EDTA2', name: 'x', type: 'raw', baseUnit: 'Cel', reason: 'x' },
    as('admin'),
  );
  expect(badUnit.status).toBe(400);
  expect(badUnit.body.errors[0].pointer).toBe('/baseUnit');
  const dup = await api.request(
    'POST',
    '/materials',
    { code: 'EDTA', name: 'again', type: 'raw', baseUnit: 'kg', reason: 'x' },
    as('admin'),
  );
  expect(dup.status).toBe(409);
  const cls = await api.request(
    'POST',
    '/equipment-classes',
    { code: 'CENTRIFUGE', name: 'Disc-stack centrifuge', phases: ['SPIN', 'DISCHARGE'], reason: 'new equipment' },
    as('admin'),
  );
  expect(cls.status).toBe(201);
  expect((await api.request('GET', '/materials/EDTA', undefined, as('operator'))).body).toMatchObject({
    code: 'EDTA',
    baseUnit: 'kg',
  });
  expect(
    (
      await api.request(
        'POST',
        '/materials',
        { code: 'X1', name: 'x', type: 'raw', baseUnit: 'kg', reason: 'x' },
        as('planner'),
      )
    ).status,
  ).toBe(403);
});
