/**
 * A batch from launch to release, through the API, the real Temporal client and worker on the embedded
 * server, the equipment simulator over OPC UA, and the database: every operator step completed and
 * verified with signatures, the validators' refusals, a deviation, a batch hold, the record, QA's
 * review and release. And an equipment phase that a second person verifies when no one performs it.
 */
import { XMLParser } from 'fast-xml-parser';
import { mesaSchemaErrors } from '../../api/integration/mesa-schemas';
import type { temporal } from '@temporalio/proto';
import { UPDATE_TIMING } from '../../api/batches/execution-service';
import { ServerTiming } from '../../api/http/server-timing';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { pdfPages, pdfText } from '../support/pdf-text';
import { pdfaProblems } from '../support/pdfa';
import { ebrEntryHash } from '../../domain/batch/ebr';
import { keepInCorpus, replayBatch } from '../support/replay-corpus';
import { until } from '../support/wait';

let env: BatchEnv;

beforeAll(async () => {
  env = await startBatchEnv();
  await env.startWorker();
}, 120_000);
afterAll(async () => env?.close());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function as(
  user: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json; text: string; headers: Headers }> {
  return env.api.request(method, path, body, { token: await env.token(user) });
}
const sign = (user: string, meaning: string) => ({ username: user, password: DEMO_PASSWORD, meaning });

/** How many entries each batch-record write (a recordEbr local activity's marker) stored after the first equipment phase completed. */
function recordWritesAfterFirstPhase(history: temporal.api.history.v1.IHistory): number[] {
  const events = history.events ?? [];
  const phaseDone = events.findIndex((e) => e.activityTaskCompletedEventAttributes);
  const text = (p: temporal.api.common.v1.IPayloads | null | undefined) =>
    Buffer.from(p?.payloads?.[0]?.data ?? []).toString();
  return events
    .slice(phaseDone)
    .map((e) => e.markerRecordedEventAttributes?.details)
    .filter((d) => d && JSON.parse(text(d.data) || '{}').activity_type === 'recordEbr')
    .map((d) => (JSON.parse(text(d!.result)) as { written: number }).written);
}

/** Waits until a step of the batch has `status` (the workflow's live state). */
async function stepReaches(batch: string, stepId: string, status: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await as('qa1', 'GET', `/batches/${batch}`);
    const step = r.body.live?.steps.find((s: Json) => s.id === stepId);
    if (step?.status === status) return;
    if (['complete', 'stopped', 'aborted'].includes(r.body.live?.status) || Date.now() > end)
      throw new Error(
        `step ${stepId} of ${batch} did not reach ${status}: ${JSON.stringify(step)} (batch ${r.body.live?.status})`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The released record as BatchML: valid against MESA's V0600 schema, one Event per entry in
 * the record's order, each signature naming what it signs, the sample's tests against their limits.
 */
async function releasedRecordAsBatchML(batch: string): Promise<void> {
  const r = await fetch(`${env.api.url}/api/batches/${batch}/batchml`, {
    headers: { Authorization: `Bearer ${await env.token('qa1')}` },
  });
  expect([r.status, r.headers.get('content-type')]).toEqual([200, 'application/xml; charset=utf-8']);
  const xml = await r.text();
  expect(await mesaSchemaErrors(xml, 'BatchML-V0600-BatchProductionRecord.xsd')).toEqual([]);
  const doc = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    isArray: (n) => ['Event', 'Value', 'PersonnelIdentificationManifest', 'Sample', 'SampleTest'].includes(n),
  }).parse(xml).BatchProductionRecord;
  const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(doc).toMatchObject({ BatchID: batch, LotID: batch, MaterialDefinitionID: 'PBS-1X', RecordStatus: 'Released' });
  expect(doc.Description).toContain(`chain head SHA-256 ${ebr.chain.lastHash}`);
  expect(doc.Events.Event.map((e: Json) => [e.EntryID, e.ExternalReference, e.Category])).toEqual(
    ebr.entries.map((e: Json) => [`${batch}/${e.seq}`, e.entryKey, e.kind]),
  );
  const ph = doc.Events.Event.find(
    (e: Json) => e.Category === 'values-entered' && e.ProceduralElementReference.endsWith('/ph-conductivity'),
  );
  expect(ph).toMatchObject({
    EquipmentID: 'MX-201',
    PersonID: 'Oscar Operator (demo)',
    EventType: 'Operator',
    EventSubType: 'Prompt Response',
  });
  expect(ph.Value).toContainEqual({ ValueString: '7.55', DataType: 'double', UnitOfMeasure: '[pH]', Key: 'ph' });
  const signatures = doc.PersonnelIdentification.PersonnelIdentificationManifest as Json[];
  expect(signatures.map((s) => s.Reason)).toEqual(
    expect.arrayContaining(['performed', 'verified', 'reviewed', 'released']),
  );
  expect(signatures.find((s) => s.Reason === 'released')).toMatchObject({
    RecordReference: batch,
    Name: 'Quinn Quality (demo) (qa1)',
  });
  const [sample] = doc.Samples.Sample;
  expect(sample.SampleTest.map((t: Json) => [t.TestName, t.SampleTestResult.TestDisposition])).toEqual([
    ['pH at 25 °C', 'Fail'],
    ['Conductivity at 25 °C', 'Pass'],
    ['Clear, colourless, free of visible particles', 'Pass'],
  ]);
  expect(sample.SampleTest[0].SampleTestResult.ExpectedResults).toMatchObject({ ValueString: '7.3..7.5' });
}

/**
 * What the batch told a subscribed ERP, in the order it happened (each written in the transaction of its change):
 * the batch running, each phase's start and end in the plan's order, the lots it consumed, the sample's results
 * (the pH outside its limits) and the deviation that raised, the lot it produced, the batch complete; then the
 * deviation closed, the review and release, and the lot released.
 */
async function batchEventsTold(subscriptionId: string, batch: string): Promise<void> {
  const deliveries = (await as('admin', 'GET', `/webhooks/subscriptions/${subscriptionId}/deliveries?limit=500`)).body
    .items as Json[];
  const events = deliveries
    .map((d) => d.event)
    .reverse() // the log is newest first
    .filter((e) => e.subject === batch);
  const plan = (await env.api.services.stores.batches.find(env.api.services.db, batch))!.plan;
  expect(events.filter((e) => e.type === 'phase.state').map((e) => [e.payload.step, e.payload.state])).toEqual(
    plan.steps.flatMap((st) => [
      [st.id, 'running'],
      [st.id, 'complete'],
    ]),
  );
  expect(events.find((e) => e.type === 'phase.state' && e.payload.step === 'mix')!.payload).toMatchObject({
    batch,
    kind: 'equipment',
    phase: 'MIX',
    unit: 'MX-201',
    at: expect.stringMatching(/Z$/),
  });
  const sample = events.filter((e) => e.type === 'sample.result');
  expect(sample).toHaveLength(1);
  expect(sample[0].payload).toMatchObject({ step: 'ph-conductivity', enteredBy: 'Oscar Operator (demo)' });
  expect(sample[0].payload.results).toEqual([
    expect.objectContaining({ id: 'ph', value: 7.55, unit: '[pH]', low: 7.3, high: 7.5, withinLimits: false }),
    expect.objectContaining({ id: 'conductivity', value: 15.4, withinLimits: true }),
    expect.objectContaining({ id: 'appearance', type: 'passFail', value: true }),
  ]);
  const order = events
    .filter((e) => !e.type.startsWith('phase.'))
    .map((e) => `${e.type}${e.payload.to ? `:${e.payload.to}` : ''}`);
  expect(order).toEqual([
    'batch.status:running',
    'material.consumed',
    'material.consumed',
    'material.consumed',
    'material.consumed',
    'batch.status:held',
    'batch.status:running',
    'sample.result',
    'deviation.opened',
    'batch.produced',
    'batch.status:complete',
    'batch.disposition:reviewed',
    'deviation.closed',
    'batch.disposition:released',
    'lot.status:released',
  ]);
  expect(events.find((e) => e.type === 'deviation.opened')!.payload).toMatchObject({
    deviation: `${batch}-D01`,
    step: 'ph-conductivity',
    category: 'limit-excursion',
  });
  expect(events.find((e) => e.type === 'deviation.closed')!.payload).toMatchObject({
    deviation: `${batch}-D01`,
    severity: 'minor',
    closedBy: 'Quade Quality (test)',
  });
}

/**
 * The batch's one deviation (the pH outside its limits) through its life: raised by the record with its links,
 * blocking the release; taken up with a severity, investigated, submitted, returned, submitted again and closed
 * with a signature by a second QA person; each change audited; a closed deviation final, even for the owner.
 */
async function deviationInvestigatedAndClosed(batch: string): Promise<void> {
  const blocked = await as('qa1', 'POST', `/batches/${batch}/release`, { signature: sign('qa1', 'released') });
  expect(blocked.status).toBe(409);
  expect(blocked.body).toMatchObject({
    type: '/api/problems/deviations-open',
    deviations: [{ number: `${batch}-D01`, state: 'open', severity: null }],
  });
  const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  const entry = ebr.entries.find((e: Json) => e.kind === 'deviation');
  const { db, stores } = env.api.services;
  const record = (await stores.batches.find(db, batch))!;
  const phStep = record.plan.steps.find((s) => s.id === 'ph-conductivity')!;
  const operator2 = await db('users').where({ username: 'operator2' }).first();
  const listed = await as('operator1', 'GET', `/deviations?batch=${batch}`);
  expect(listed.status).toBe(200);
  expect(listed.body.items).toEqual([
    expect.objectContaining({
      number: `${batch}-D01`,
      batchNumber: batch,
      stepId: 'ph-conductivity',
      category: 'limit-excursion',
      sourceEntryKey: entry.entryKey,
      runId: entry.runId,
      eventId: entry.eventId,
      unitCode: record.units[phStep.unitProcedureId].code,
      lots: [],
      details: expect.objectContaining({ field: 'ph', value: 7.55, low: 7.3, high: 7.5 }),
      title: 'ph-conductivity: ph 7.55 (entered), outside 7.3–7.5',
      description: 'adjusted in the next step',
      severity: null,
      state: 'open',
      raisedBy: operator2.id,
    }),
  ]);
  const id = listed.body.items[0].number;
  expect((await as('qa1', 'GET', `/batches/${batch}/review`)).body.deviationRecords).toEqual([
    expect.objectContaining({ number: id, state: 'open' }),
  ]);

  // Operators read deviations and may raise one; QA investigates.
  expect((await as('operator1', 'POST', `/deviations/${id}/investigate`, { severity: 'minor' })).status).toBe(403);
  const early = await as('qa1', 'POST', `/deviations/${id}/submit`, {});
  expect(early.status).toBe(409);
  expect(early.body.detail).toBe(
    `${id}: the deviation is open: it cannot be moved to pending-approval (only from under-investigation)`,
  );
  const noSeverity = await as('qa1', 'POST', `/deviations/${id}/investigate`, {});
  expect(noSeverity.status).toBe(422);
  const taken = await as('qa1', 'POST', `/deviations/${id}/investigate`, { severity: 'minor' });
  expect(taken.status).toBe(200);
  expect(taken.body).toMatchObject({ state: 'under-investigation', severity: 'minor' });
  const incomplete = await as('qa1', 'POST', `/deviations/${id}/submit`, {});
  expect(incomplete.status).toBe(422);
  expect(incomplete.body.detail).toBe(
    `deviation ${id} cannot go for approval without rootCause, correctiveAction, preventiveAction`,
  );
  // Findings change with a reason, against the version read.
  expect((await as('qa1', 'PATCH', `/deviations/${id}`, { rootCause: 'pH meter drift' })).status).toBe(422);
  const stale = await env.api.request(
    'PATCH',
    `/deviations/${id}`,
    { rootCause: 'x', reason: 'stale' },
    { token: await env.token('qa1'), headers: { 'If-Match': '"v1"' } },
  );
  expect(stale.status).toBe(412);
  expect((await as('qa1', 'PATCH', `/deviations/${id}`, { reason: 'nothing' })).status).toBe(422);
  const found = await as('qa1', 'PATCH', `/deviations/${id}`, {
    rootCause: 'pH meter drift: its last calibration was overdue',
    reason: 'calibration log reviewed',
  });
  expect(found.status).toBe(200);
  expect(found.headers.get('etag')).toBe(`"v${found.body.rowVersion}"`);
  const submitted = await as('qa1', 'POST', `/deviations/${id}/submit`, {
    correctiveAction: 'pH adjusted in the next step; meter recalibrated',
    preventiveAction: 'calibration due dates enforced at the start of the step',
  });
  expect(submitted.body).toMatchObject({ state: 'pending-approval', submittedBy: expect.any(String) });
  expect((await as('qa1', 'PATCH', `/deviations/${id}`, { severity: 'major', reason: 'x' })).status).toBe(409);
  // Whoever investigated or submitted it does not close it; QA returns it (with a reason).
  const bySubmitter = await as('qa1', 'POST', `/deviations/${id}/close`, { signature: sign('qa1', 'approved') });
  expect(bySubmitter.status).toBe(403);
  expect(bySubmitter.body.type).toBe('/api/problems/segregation-of-duties');
  expect((await as('qa2', 'POST', `/deviations/${id}/return`, {})).status).toBe(422); // a reason is required
  const returned = await as('qa2', 'POST', `/deviations/${id}/return`, { reason: 'name the meter' });
  expect(returned.body.state).toBe('under-investigation');
  await as('qa1', 'PATCH', `/deviations/${id}`, {
    rootCause: 'pH meter PH-7 drifted: its last calibration was overdue',
    reason: 'meter named',
  });
  // Submitted again, unchanged, by the one who returned it: now neither of the two may close it — a third QA does.
  expect((await as('qa2', 'POST', `/deviations/${id}/submit`, {})).body.state).toBe('pending-approval');
  for (const investigator of ['qa1', 'qa2']) {
    const refused = await as(investigator, 'POST', `/deviations/${id}/close`, {
      signature: sign(investigator, 'approved'),
    });
    expect({ investigator, type: refused.body.type }).toEqual({
      investigator,
      type: '/api/problems/segregation-of-duties',
    });
  }
  await env.api.createUser('qa3', ['qa'], DEMO_PASSWORD, 'Quade Quality (test)');
  const closed = await as('qa3', 'POST', `/deviations/${id}/close`, { signature: sign('qa3', 'approved') });
  expect(closed.status).toBe(200);
  expect(closed.body).toMatchObject({
    state: 'closed',
    closedAt: expect.stringMatching(/Z$/),
    closeSignature: { username: 'qa3', meaning: 'approved', signedBy: 'Quade Quality (test)' },
  });
  expect(Date.parse(closed.body.closedAt)).toBeGreaterThanOrEqual(Date.parse(closed.body.submittedAt));
  expect((await as('qa1', 'POST', `/deviations/${id}/return`, { reason: 'again' })).status).toBe(409);
  // Every step audited, with who and why.
  const audit = (await as('qa1', 'GET', `/audit?entity=deviation&entityId=${closed.body.id}`)).body.items;
  expect(audit.map((a: Json) => `${a.action}:${a.username ?? 'system'}`)).toEqual([
    'deviation-raise:system',
    'deviation-investigate:qa1',
    'deviation-change:qa1',
    'deviation-submit:qa1',
    'deviation-return:qa2',
    'deviation-change:qa1',
    'deviation-submit:qa2',
    'sign:qa3',
    'deviation-close:qa3',
  ]);
  expect(audit[2]).toMatchObject({ reason: 'calibration log reviewed', newValue: { rootCause: expect.any(String) } });
  // Closed is final, even for the database's owner.
  const rewrite = await env.api
    .asOwner((owner) => owner('deviations').where({ number: id }).update({ root_cause: 'nothing happened' }))
    .catch((e: Error) => e);
  expect(String(rewrite)).toMatch(/is closed: it is final/);
}

/**
 * The released batch's PDF is fit for archive: PDF/A-2b as far as qpdf and our checks see, every page with its
 * header and page x of y, Unicode as written (→, °C), values in tables with their limits (none printed where there
 * are none), no raw JSON, the trail sealed, and on the cover the history's SHA-256 and the cross-check's verdict.
 */
async function expectArchiveFitRecord(batch: string, pdf: Buffer): Promise<void> {
  expect(await pdfaProblems(pdf)).toEqual([]);
  const pages = await pdfPages(pdf);
  expect(pages.length).toBeGreaterThan(2);
  pages.forEach((text, i) => {
    expect(text).toContain(`Batch ${batch} · Phosphate-buffered saline 1X, pH 7.4 (PBS-1X) · PBS-1X v1`);
    expect(text).toContain(`Page ${i + 1} of ${pages.length}`);
  });
  const all = pages.join(' ');
  const history = await as('qa1', 'GET', `/batches/${batch}/history`);
  expect(pages[0]).toContain(`SHA-256 ${history.headers.get('ampoule-history-sha256')}`);
  expect(pages[0]).toMatch(
    /Cross-check the record matches its history entry for entry \(\d+ entries rebuilt from the history\)/,
  );
  expect(pages[0]).toContain(`${batch}-D01 ph-conductivity`);
  expect(all).toContain('Field Value Unit Limits Target pH at 25 °C 7.55 7.3–7.5 7.4 OUT OF LIMITS');
  expect(all).toMatch(/Water temperature \d+(\.\d+)? °C 15–30/);
  expect(all).toContain('status: complete → reviewed');
  expect(all).not.toMatch(/[{}]|"|−∞|undefined|null|NaN/);
  // The trail sealed: every audit entry printed with its place in the chain.
  const trail = all.slice(all.indexOf('Audit trail of the batch'));
  expect(trail).not.toContain('#…');
}

async function batchReaches(batch: string, status: string, ms = 60_000): Promise<Json> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await as('qa1', 'GET', `/batches/${batch}`);
    if (r.body.status === status) return r.body;
    if (Date.now() > end) throw new Error(`batch ${batch} did not reach ${status}: it is ${r.body.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Receives and releases a lot of each salt, as the warehouse and QA would. */
async function stockSalts(): Promise<Record<string, string>> {
  const lots: Record<string, string> = {};
  for (const [material, quantity] of [
    ['NACL', 50],
    ['KCL', 5],
    ['NA2HPO4', 10],
    ['KH2PO4', 5],
  ] as const) {
    const r = await as('operator1', 'POST', '/lots', {
      material,
      quantity,
      unit: 'kg',
      expiryDate: '2099-12-31',
      supplier: 'Merck KGaA',
      supplierLot: `S-${material}`,
    });
    expect(r.status).toBe(201);
    const released = await as('qa1', 'POST', `/lots/${r.body.id}/status`, {
      status: 'released',
      reason: 'CoA reviewed',
      signature: sign('qa1', 'released'),
    });
    expect(released.status).toBe(200);
    lots[material] = r.body.lotNumber;
  }
  return lots;
}

/** Adds a salt: operator1 (or `performer`) performs with the lot, operator2 verifies. */
/** Waits until the scale's weight is stable; its reading. */
async function settled(scale: string): Promise<Json> {
  return until(async () => {
    const r = await as('operator1', 'GET', `/scales/${scale}/reading`);
    return r.body.reading?.stable ? r.body.reading : undefined;
  }, 10_000);
}

/**
 * Dispenses `kg` for a weighed step as its operator would: takes a scale for the step, puts an empty container on
 * and tares it, puts the material in (the simulated scale's platform), waits for it to settle. Returns the scale.
 */
async function onScale(batch: string, stepId: string, kg: number, user = 'operator1'): Promise<string> {
  const held = await as(user, 'POST', `/batches/${batch}/steps/${stepId}/dispensing`, {});
  expect({ status: held.status, detail: held.body.detail }).toEqual({ status: 200, detail: undefined });
  const code: string = held.body.scale.code;
  const terminal = env.simulator.scale(code);
  terminal.autoPour = false;
  terminal.place(-terminal.load);
  terminal.place(0.5); // the empty container, tared
  await settled(code);
  expect((await as(user, 'POST', `/scales/${code}/tare`)).status).toBe(200);
  terminal.place(kg);
  await settled(code);
  return code;
}

async function addSalt(
  batch: string,
  stepId: string,
  lot: string,
  quantity: number,
  performer = 'operator1',
): Promise<void> {
  await stepReaches(batch, stepId, 'awaiting-input');
  await onScale(batch, stepId, quantity, performer);
  const done = await as(performer, 'POST', `/batches/${batch}/steps/${stepId}/complete`, {
    lots: [{ lot }],
    container: `BIN-${stepId}`,
    signature: sign(performer, 'performed'),
  });
  expect({ step: stepId, status: done.status, body: done.body.status }).toEqual({
    step: stepId,
    status: 200,
    body: 'awaiting-verification',
  });
  const verified = await as('operator2', 'POST', `/batches/${batch}/steps/${stepId}/verify`, {
    signature: sign('operator2', 'verified'),
  });
  expect(verified.status).toBe(200);
}

/**
 * Rewrites a released batch's record as an intruder with the owner's rights would — one entered value
 * changed, every later hash recomputed — and expects the anchor taken at its release to catch it.
 */
async function expectRewriteCaughtByAnchor(batch: string): Promise<void> {
  const before = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  const target = before.entries.find((e: Json) => e.kind === 'values-entered' && e.stepId === 'ph-conductivity');
  // The intruder changes the pH entered and recomputes the batch's chain from that entry on, as Ampoule would.
  await env.api.asOwner(async (owner) => {
    await owner.raw('alter table ebr_entries disable trigger ebr_entries_append_only');
    try {
      const rows = await owner('ebr_entries')
        .where('batch_id', before.batch.id)
        .where('seq', '>=', target.seq)
        .orderBy('seq');
      let prev = target.prevHash as string;
      for (const r of rows) {
        const data = r.seq === target.seq ? { ...r.data, values: { ...r.data.values, ph: 7.4 } } : r.data;
        const stored = {
          batchId: r.batch_id,
          seq: r.seq,
          entryKey: r.entry_key,
          kind: r.kind,
          stepId: r.step_id,
          data,
          workflowId: r.workflow_id,
          runId: r.run_id,
          eventId: Number(r.event_id),
          occurredAt: r.occurred_at.toISOString(),
          userId: r.user_id,
          userName: r.user_name,
          signatureId: r.signature_id,
        };
        const hash = ebrEntryHash(prev, stored);
        await owner('ebr_entries')
          .where({ batch_id: r.batch_id, seq: r.seq })
          .update({ data: JSON.stringify(data), prev_hash: prev, hash });
        prev = hash;
      }
    } finally {
      await owner.raw('alter table ebr_entries enable always trigger ebr_entries_append_only');
    }
  });
  const after = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(after.entries.find((e: Json) => e.seq === target.seq).data.values.ph).toBe(7.4);
  expect(after.chain.firstBreak).toBeUndefined(); // the chain recomputes: only the anchor tells
  expect(after.chain).toMatchObject({
    ok: false,
    anchors: {
      checked: 1,
      firstMismatch: {
        chain: 'ebr',
        batch,
        seq: before.chain.entries,
        anchoredHash: before.chain.lastHash,
        reason: `batch ${batch} released`,
      },
    },
  });
  // Nor is it sent on as BatchML.
  const exported = await as('qa1', 'GET', `/batches/${batch}/batchml`);
  expect([exported.status, exported.body.type]).toEqual([409, '/api/problems/record-broken']);
  const verdict = (await as('qa1', 'GET', '/audit/verify')).body;
  expect(verdict).toMatchObject({
    ok: false,
    anchors: { batchRecords: { firstMismatch: { batch, seq: before.chain.entries } } },
  });
  const pdf = await pdfText(
    Buffer.from(
      await (
        await fetch(`${env.api.url}/api/batches/${batch}/ebr.pdf`, {
          headers: { Authorization: `Bearer ${await env.token('qa1')}` },
        })
      ).arrayBuffer(),
    ),
  );
  expect(pdf).toContain(
    `Record integrity REWRITTEN — entry ${before.chain.entries} no longer has the hash anchored on`,
  );
}

test('a PBS batch runs from launch to release', async () => {
  const lots = await stockSalts();
  // An ERP's subscription to every event (no relay runs here: its delivery log lists what was written for it).
  const subscription = await as('admin', 'POST', '/webhooks/subscriptions', {
    url: 'http://127.0.0.1:9/erp',
    eventTypes: ['*'],
  });
  expect(subscription.status).toBe(201);
  const launched = await as('planner', 'POST', '/batches', {
    recipe: 'PBS-1X',
    batchSize: 500,
    unit: 'L',
    reason: 'weekly buffer campaign',
  });
  expect(launched.status).toBe(201);
  const batch = launched.body.number;
  expect(launched.body).toMatchObject({
    workflowId: `batch-${batch}`,
    recipe: { code: 'PBS-1X', version: 1 },
    batchSize: { value: 500, unit: 'L' },
    units: { 'buffer-preparation': 'MX-201' },
  });
  const again = await as('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 500, number: batch });
  expect(again.status).toBe(409);

  // The equipment phase runs by itself; then the first salt waits for an operator.
  await stepReaches(batch, 'add-nacl', 'awaiting-input');
  const queue = await as('operator2', 'GET', '/work-queue');
  expect(queue.body.items).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        batch,
        stepId: 'add-nacl',
        awaiting: 'input',
        roles: ['operator'],
        unit: expect.stringMatching(/^MX-20\d$/),
      }),
    ]),
  );
  expect((await as('qa1', 'GET', '/work-queue')).body.items.filter((w: Json) => w.batch === batch)).toEqual([]);

  // Refused at once, and nothing consumed: the wrong role, the wrong lot, too little on the scale, a token without
  // a password. The salt is weighed: its quantity comes from the scale held for the step.
  const naclOn = { lots: [{ lot: lots.NACL }], container: 'BIN-NACL-1' };
  const byQa = await as('qa1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    signature: sign('qa1', 'performed'),
  });
  expect(byQa.status).toBe(403);
  const scale = await onScale(batch, 'add-nacl', 4);
  const wrongLot = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    lots: [{ lot: lots.KCL }],
    signature: sign('operator1', 'performed'),
  });
  expect(wrongLot.status).toBe(422);
  expect(wrongLot.body.detail).toMatch(/is KCL, not NACL/);
  const typed = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    lots: [{ lot: lots.NACL, quantity: 4 }],
    signature: sign('operator1', 'performed'),
  });
  expect(typed.body.detail).toMatch(/its quantity comes from the scale, not the request/);
  env.simulator.scale(scale).place(-1);
  await settled(scale);
  const tooLittle = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    signature: sign('operator1', 'performed'),
  });
  expect(tooLittle.body.detail).toMatch(/^3 kg of NACL is outside 3.96–4.04 kg: a deviation needs a comment/);
  env.simulator.scale(scale).place(1);
  await settled(scale);
  const unsigned = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, naclOn);
  expect(unsigned.status).toBe(400);
  const wrongPassword = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    signature: { ...sign('operator1', 'performed'), password: 'nope nope nope' },
  });
  expect(wrongPassword.status).toBe(401);
  expect((await as('qa1', 'GET', `/lots/${lots.NACL}`)).body.quantity).toBe(50);

  // The performer cannot verify their own step.
  await stepReaches(batch, 'add-nacl', 'awaiting-input');
  const nacl = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/complete`, {
    ...naclOn,
    signature: sign('operator1', 'performed'),
  });
  expect(nacl.status).toBe(200);
  expect(nacl.body).toMatchObject({
    status: 'awaiting-verification',
    deviations: [],
    signature: { signedBy: 'Olivia Operator (demo)', meaning: 'performed' },
  });
  const self = await as('operator1', 'POST', `/batches/${batch}/steps/add-nacl/verify`, {
    signature: sign('operator1', 'verified'),
  });
  expect(self.status).toBe(422);
  expect(self.body.detail).toMatch(/the person who performed step add-nacl cannot verify it/);
  expect((await as('operator1', 'GET', '/work-queue')).body.items.filter((w: Json) => w.batch === batch)).toEqual([]);
  const naclVerified = await as('operator2', 'POST', `/batches/${batch}/steps/add-nacl/verify`, {
    signature: sign('operator2', 'verified'),
  });
  expect(naclVerified.status).toBe(200);
  // The Update returns once the verification is recorded with the step's end and the next step's start: the
  // next step is in the work queue already. Server-Timing tells the re-authentication from the Update.
  expect(
    (await as('operator1', 'GET', '/work-queue')).body.items
      .filter((w: Json) => w.batch === batch)
      .map((w: Json) => [w.stepId, w.awaiting]),
  ).toEqual([['add-kcl', 'input']]);
  expect(ServerTiming.durationOf(naclVerified.headers.get('server-timing'), 'signature')).toBeGreaterThan(0);
  expect(ServerTiming.durationOf(naclVerified.headers.get('server-timing'), UPDATE_TIMING)).toBeGreaterThan(0);
  expect((await as('qa1', 'GET', `/lots/${lots.NACL}`)).body.quantity).toBe(46);

  // A user who is both operator and QA performs one step: they may not review the batch later.
  await env.api.createUser('opqa', ['operator', 'qa'], DEMO_PASSWORD, 'Otto Operator-QA (test)');
  await addSalt(batch, 'add-kcl', lots.KCL, 0.1, 'opqa');
  await addSalt(batch, 'add-na2hpo4', lots.NA2HPO4, 0.72);
  await addSalt(batch, 'add-kh2po4', lots.KH2PO4, 0.12); // 120 g on the scale: this step counts in grams

  // A hold, refused twice, then a restart.
  const hold = await as('operator1', 'POST', `/batches/${batch}/commands`, {
    command: 'hold',
    reason: 'waiting for the pH meter',
  });
  expect(hold.body.status).toBe('held');
  const again2 = await as('operator1', 'POST', `/batches/${batch}/commands`, { command: 'hold', reason: 'again' });
  expect(again2.status).toBe(409);
  expect(again2.body.type).toBe('/api/problems/invalid-transition');
  expect(
    (await as('operator1', 'POST', `/batches/${batch}/commands`, { command: 'restart', reason: 'pH meter calibrated' }))
      .body.status,
  ).toBe('running');

  // A pH out of its limits is a deviation: refused without a comment, accepted with one.
  await stepReaches(batch, 'ph-conductivity', 'awaiting-input');
  const values = { ph: 7.55, conductivity: 15.4, appearance: true };
  const noComment = await as('operator2', 'POST', `/batches/${batch}/steps/ph-conductivity/complete`, {
    values,
    signature: sign('operator2', 'performed'),
  });
  expect(noComment.body.detail).toMatch(/outside its limits 7.3–7.5: a deviation needs a comment/);
  const implausible = await as('operator2', 'POST', `/batches/${batch}/steps/ph-conductivity/complete`, {
    values: { ...values, ph: 17 },
    signature: sign('operator2', 'performed'),
  });
  expect(implausible.body.detail).toMatch(/outside the plausible range 0–14/);
  const deviation = await as('operator2', 'POST', `/batches/${batch}/steps/ph-conductivity/complete`, {
    values,
    deviationComments: { ph: 'adjusted in the next step' },
    signature: sign('operator2', 'performed'),
  });
  expect(deviation.status).toBe(200);
  expect(deviation.body.deviations).toEqual([
    expect.objectContaining({ field: 'ph', value: 7.55, comment: 'adjusted in the next step', source: 'operator' }),
  ]);

  await stepReaches(batch, 'ph-adjustment', 'awaiting-input');
  // A late entry backdated before the step was ready is refused, and nothing of it is written.
  const backdated = await as('operator2', 'POST', `/batches/${batch}/steps/ph-adjustment/complete`, {
    values: { 'naoh-added': 0, 'hcl-added': 120, 'final-ph': 7.42 },
    lateEntry: { performedAt: '2020-01-01T00:00:00Z', reason: 'backdated' },
    signature: sign('operator2', 'performed'),
  });
  expect(backdated.status).toBe(422);
  expect(backdated.body).toMatchObject({
    type: '/api/problems/step-refused',
    detail: expect.stringMatching(
      /^a late entry must lie between the moment step ph-adjustment became ready \(.+\) and now \(.+\): 2020-01-01T00:00:00Z does not$/,
    ),
  });
  expect(
    (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries
      .filter((e: Json) => e.stepId === 'ph-adjustment')
      .map((e: Json) => e.kind),
  ).toEqual(['step-started']);
  // Recorded late, with the time it was really done and why: the record marks it.
  const readyAt = Date.parse(
    (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries.find(
      (e: Json) => e.stepId === 'ph-adjustment' && e.kind === 'step-started',
    ).occurredAt,
  );
  const performedAt = new Date(readyAt + 1).toISOString();
  const late = await as('operator2', 'POST', `/batches/${batch}/steps/ph-adjustment/complete`, {
    values: { 'naoh-added': 0, 'hcl-added': 120, 'final-ph': 7.42 },
    lateEntry: { performedAt, reason: 'the printout of the pH meter was found after the shift change' },
    signature: sign('operator2', 'performed'),
  });
  expect(late.status).toBe(200);
  await stepReaches(batch, 'filter', 'awaiting-input');
  expect(
    (
      await as('operator1', 'POST', `/batches/${batch}/steps/filter/complete`, {
        values: { 'filter-lot': 'F-123', 'bag-lot': 'BAG-9', 'integrity-test': true },
        signature: sign('operator1', 'performed'),
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await as('operator2', 'POST', `/batches/${batch}/steps/filter/verify`, {
        signature: sign('operator2', 'verified'),
      })
    ).status,
  ).toBe(200);
  await stepReaches(batch, 'qa-approval', 'awaiting-input');
  const approvedByOperator = await as('operator1', 'POST', `/batches/${batch}/steps/qa-approval/complete`, {
    signature: sign('operator1', 'approved'),
  });
  expect(approvedByOperator.status).toBe(403);
  expect(
    (await as('qa2', 'POST', `/batches/${batch}/steps/qa-approval/complete`, { signature: sign('qa2', 'approved') }))
      .status,
  ).toBe(200);

  const done = await batchReaches(batch, 'complete');
  expect(done.live.steps.every((s: Json) => s.status === 'done')).toBe(true);

  // The output lot, in Quarantine, with its genealogy: the yield the final fill reported (the recipe says so), against the theoretical.
  const output = await as('qa1', 'GET', `/lots/${batch}`);
  const finalVolume = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.entries
    .find((e: Json) => e.kind === 'equipment-reports' && e.stepId === 'qs-wfi')
    .data.reports.find((r: Json) => r.id === 'volume').value;
  expect(output.body).toMatchObject({
    materialCode: 'PBS-1X',
    status: 'quarantine',
    quantity: finalVolume,
    unit: 'L',
    producedByBatch: batch,
  });
  expect((await as('qa1', 'GET', `/batches/${batch}/review`)).body.yield).toMatchObject({
    measured: { value: finalVolume, unit: 'L' },
    theoretical: { value: 500, unit: 'L' },
    percent: (finalVolume / 500) * 100,
    limits: { low: 98, high: 102 },
    source: { step: 'qs-wfi', report: 'volume' },
    outputLot: 'measured',
  });
  const genealogy = await as('qa1', 'GET', `/lots/${batch}/genealogy?direction=backward`);
  expect(genealogy.body.root.producedBy[0].inputs.map((i: Json) => [i.material, i.consumed.value]).sort()).toEqual([
    ['KCL', 0.1],
    ['KH2PO4', 0.12],
    ['NA2HPO4', 0.72],
    ['NACL', 4],
  ]);

  // The record: every entry once, chained, with its workflow event; equipment phases started once each.
  const ebr = await as('qa1', 'GET', `/batches/${batch}/ebr`);
  expect(ebr.body.chain.ok).toBe(true);
  const keys = ebr.body.entries.map((e: Json) => e.entryKey);
  expect(new Set(keys).size).toBe(keys.length);
  expect(ebr.body.entries.every((e: Json) => e.workflowId === `batch-${batch}` && e.runId && e.eventId > 0)).toBe(true);
  expect(
    ebr.body.entries
      .filter((e: Json) => e.kind === 'equipment-parameters')
      .map((e: Json) => [e.stepId, e.data.commandId]),
  ).toEqual([
    ['fill-wfi', `batch-${batch}/fill-wfi`],
    ['mix', `batch-${batch}/mix`],
    ['qs-wfi', `batch-${batch}/qs-wfi`],
  ]);
  const fill = ebr.body.entries.findIndex((e: Json) => e.kind === 'equipment-parameters' && e.stepId === 'fill-wfi');
  expect(ebr.body.entries.slice(fill, fill + 4).map((e: Json) => [e.kind, e.stepId])).toEqual([
    ['equipment-parameters', 'fill-wfi'],
    ['equipment-reports', 'fill-wfi'],
    ['step-completed', 'fill-wfi'],
    ['step-started', 'add-nacl'],
  ]);
  const signatures = ebr.body.entries
    .filter((e: Json) => e.signature)
    .map((e: Json) => `${e.stepId}:${e.signature.meaning}:${e.signature.username}`);
  expect(signatures).toEqual(
    expect.arrayContaining(['add-nacl:performed:operator1', 'add-nacl:verified:operator2', 'qa-approval:approved:qa2']),
  );
  const pdf = await env.api.request('GET', `/batches/${batch}/ebr.pdf`, undefined, { token: await env.token('qa1') });
  expect(pdf.headers.get('content-type')).toBe('application/pdf');
  expect(pdf.text.slice(0, 5)).toBe('%PDF-');

  // QA: review by exception, then release — never by someone who performed a step.
  const review = await as('qa1', 'GET', `/batches/${batch}/review`);
  expect(review.body.deviations).toEqual([
    expect.objectContaining({ stepId: 'ph-conductivity', field: 'ph', comment: 'adjusted in the next step' }),
  ]);
  expect(review.body.commands.map((c: Json) => c.command)).toEqual(['hold', 'restart']);
  expect(review.body.lateEntries).toEqual([
    expect.objectContaining({
      stepId: 'ph-adjustment',
      performedAt,
      reason: 'the printout of the pH meter was found after the shift change',
    }),
  ]);
  const notFinal = await as('qa1', 'GET', `/batches/${batch}/batchml`);
  expect([notFinal.status, notFinal.body.type]).toEqual([409, '/api/problems/invalid-transition']);
  const early = await as('qa1', 'POST', `/batches/${batch}/release`, { signature: sign('qa1', 'released') });
  expect(early.status).toBe(409); // not reviewed yet
  expect(early.body.detail).toBe(`batch ${batch} is complete: it cannot be released (only from reviewed)`);
  // Segregation of duties at review as at release: not whoever performed a step, nor who signed its QA approval.
  for (const executor of ['opqa', 'qa2']) {
    const reviewedByExecutor = await as(executor, 'POST', `/batches/${batch}/review`, {
      auditTrailReviewed: true,
      signature: sign(executor, 'reviewed'),
    });
    expect({ executor, status: reviewedByExecutor.status, type: reviewedByExecutor.body.type }).toEqual({
      executor,
      status: 403,
      type: '/api/problems/segregation-of-duties',
    });
  }
  expect((await as('qa1', 'GET', `/batches/${batch}`)).body).toMatchObject({ status: 'complete', signatures: [] });
  const reviewed = await as('qa1', 'POST', `/batches/${batch}/review`, {
    auditTrailReviewed: true,
    signature: sign('qa1', 'reviewed'),
  });
  expect(reviewed.status).toBe(200);
  expect(reviewed.body).toMatchObject({
    status: 'reviewed',
    signatures: [
      { signedBy: 'Quinn Quality (demo)', username: 'qa1', meaning: 'reviewed', signedAt: expect.stringMatching(/Z$/) },
    ],
  });
  await deviationInvestigatedAndClosed(batch);
  const byPerformer = await as('qa2', 'POST', `/batches/${batch}/release`, { signature: sign('qa2', 'released') });
  expect(byPerformer.status).toBe(403);
  expect(byPerformer.body.detail).toMatch(/performed, verified or approved a step/);
  const released = await as('qa1', 'POST', `/batches/${batch}/release`, { signature: sign('qa1', 'released') });
  expect(released.body.status).toBe('released');
  // The release anchored the record's head outside the database.
  expect((await as('qa1', 'GET', `/batches/${batch}/ebr`)).body.chain).toMatchObject({
    ok: true,
    anchors: { checked: 1, unverifiable: 0 },
  });
  // Each signature shown with what it signs: in the response, the batch, and the PDF.
  expect(released.body.signatures.map((x: Json) => [x.meaning, x.username])).toEqual([
    ['reviewed', 'qa1'],
    ['released', 'qa1'],
  ]);
  const shown = (await as('qa1', 'GET', `/batches/${batch}`)).body.signatures;
  expect(shown).toEqual(released.body.signatures);
  const signedPdfBytes = Buffer.from(
    await (
      await fetch(`${env.api.url}/api/batches/${batch}/ebr.pdf`, {
        headers: { Authorization: `Bearer ${await env.token('qa1')}` },
      })
    ).arrayBuffer(),
  );
  const signedPdf = await pdfText(signedPdfBytes);
  const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 19)} UTC`;
  expect(signedPdf).toContain(
    `Reviewed (audit trail reviewed) — signed by Quinn Quality (demo) (qa1), meaning: reviewed, ${utc(shown[0].signedAt)}`,
  );
  expect(signedPdf).toContain(
    `Released — signed by Quinn Quality (demo) (qa1), meaning: released, ${utc(shown[1].signedAt)}`,
  );
  await expectArchiveFitRecord(batch, signedPdfBytes);
  expect((await as('qa1', 'GET', `/lots/${batch}`)).body.status).toBe('released');
  expect((await as('operator1', 'GET', '/equipment/MX-201')).body).toMatchObject({
    status: 'available',
    cleanliness: 'dirty',
  });
  // Everything the batch changed went through Ampoule's audited path: no change is traced as made outside it.
  expect((await as('qa1', 'GET', '/audit/verify')).body).toMatchObject({ ok: true, outsideAmpoule: { count: 0 } });

  await batchEventsTold(subscription.body.id, batch);
  await releasedRecordAsBatchML(batch);

  // The history replays against the workflow code.
  const history = await replayBatch(env.client, batch);
  keepInCorpus('pbs-full-release', history);
  // An equipment phase with no signature to wait for: its results are written in one batch-record write with
  // its end and the next step's start — the first write after the first phase (fill-wfi) stored those four.
  expect(recordWritesAfterFirstPhase(history)[0]).toBe(4);

  // Released, the record is final: rewritten in the database, every later hash recomputed, it is caught by the
  // anchor taken at its release.
  await expectRewriteCaughtByAnchor(batch);
}, 240_000);

test('an equipment phase verified by a second person, performed by no one, awaits its verification once it has run', async () => {
  const file = {
    format: 'ampoule-recipe/1',
    code: 'PBS-FILL-CHECKED',
    name: 'Checked fill',
    definition: {
      product: { code: 'PBS-1X', name: 'Phosphate-buffered saline 1X, pH 7.4' },
      batchSize: { nominal: 1000, min: 200, max: 2000, unit: 'L' },
      yield: { measuredBy: { step: 'level', field: 'volume' }, limits: { low: 95, high: 105 } },
      procedure: {
        unitProcedures: [
          {
            id: 'prep',
            name: 'Preparation',
            equipmentClass: 'MIXER',
            operations: [
              {
                id: 'fill',
                name: 'Fill',
                phases: [
                  {
                    id: 'fill-wfi',
                    name: 'Fill the WFI',
                    kind: 'equipment',
                    phase: 'FILL',
                    setpoints: [{ id: 'volume', name: 'WFI volume', quantity: 'volume', unit: 'L', target: 800 }],
                    reports: [],
                    signatures: { verified: true },
                  },
                  {
                    id: 'level',
                    name: 'Level check',
                    kind: 'instruction',
                    text: 'Check the level.',
                    fields: [
                      { type: 'passFail', id: 'ok', label: 'Level as required' },
                      {
                        type: 'number',
                        id: 'volume',
                        label: 'Volume read on the sight glass',
                        quantity: 'volume',
                        unit: 'L',
                        min: 0,
                        max: 2500,
                      },
                    ],
                    signatures: { performed: true },
                  },
                ],
              },
            ],
          },
        ],
      },
    },
  };
  expect((await as('planner', 'POST', '/recipes/import', { file, reason: 'a checked fill' })).status).toBe(201);
  expect(
    (
      await as('planner', 'POST', '/recipes/PBS-FILL-CHECKED/versions/1/submit', {
        signature: sign('planner', 'authored'),
      })
    ).status,
  ).toBe(200);
  expect(
    (await as('qa1', 'POST', '/recipes/PBS-FILL-CHECKED/versions/1/approve', { signature: sign('qa1', 'approved') }))
      .status,
  ).toBe(200);
  expect(
    (await as('qa1', 'POST', '/recipes/PBS-FILL-CHECKED/versions/1/make-effective', { reason: 'a checked fill' }))
      .status,
  ).toBe(200);
  await as('operator1', 'POST', '/equipment/MX-201/status', {
    cleanliness: 'clean',
    reason: 'cleaned after the last batch',
  });
  const launched = await as('planner', 'POST', '/batches', {
    recipe: 'PBS-FILL-CHECKED',
    batchSize: 1000,
    units: { prep: 'MX-201' },
  });
  expect(launched.status).toBe(201);
  const batch: string = launched.body.number;

  await stepReaches(batch, 'fill-wfi', 'awaiting-verification');
  expect(
    (await as('operator2', 'GET', '/work-queue')).body.items
      .filter((w: Json) => w.batch === batch)
      .map((w: Json) => [w.stepId, w.awaiting]),
  ).toEqual([['fill-wfi', 'verification']]);
  expect(
    (
      await as('operator2', 'POST', `/batches/${batch}/steps/fill-wfi/verify`, {
        signature: sign('operator2', 'verified'),
      })
    ).status,
  ).toBe(200);
  await stepReaches(batch, 'level', 'awaiting-input');
  expect(
    (
      await as('operator1', 'POST', `/batches/${batch}/steps/level/complete`, {
        values: { ok: true, volume: 940 },
        signature: sign('operator1', 'performed'),
      })
    ).status,
  ).toBe(200);
  await batchReaches(batch, 'complete');
  // The output lot holds what the operator read, not the nominal 1000 L; 94 % of the theoretical is a deviation.
  expect((await as('qa1', 'GET', `/lots/${batch}`)).body).toMatchObject({ quantity: 940, unit: 'L' });
  const review = (await as('qa1', 'GET', `/batches/${batch}/review`)).body;
  expect(review.yield).toMatchObject({
    measured: { value: 940, unit: 'L' },
    theoretical: { value: 1000, unit: 'L' },
    percent: 94,
    source: { step: 'level', field: 'volume' },
  });
  expect(review.deviations).toEqual([
    expect.objectContaining({
      stepId: 'level',
      field: 'yield',
      value: 94,
      unit: '%',
      low: 95,
      high: 105,
      source: 'operator',
    }),
  ]);
  // An operator raises what the record cannot see — QA classifies it, not the operator.
  const classified = await as('operator1', 'POST', '/deviations', {
    batch,
    step: 'level',
    title: 'level gauge glass cracked',
    severity: 'minor',
  });
  expect(classified.status).toBe(403);
  const reported = await as('operator1', 'POST', '/deviations', {
    batch,
    step: 'level',
    title: 'level gauge glass cracked',
    description: 'seen after the fill; the reading may be off',
  });
  expect(reported.status).toBe(201);
  expect(reported.body).toMatchObject({
    number: `${batch}-D02`,
    category: 'reported',
    stepId: 'level',
    unitCode: expect.stringMatching(/^MX-20[12]$/),
    severity: null,
    state: 'open',
    sourceEntryKey: null,
  });
  // Raised by the record as a deviation to investigate, linked to the yield's step; no one entered it.
  expect((await as('qa1', 'GET', `/deviations?batch=${batch}&state=open`)).body.items).toEqual([
    expect.objectContaining({
      number: `${batch}-D01`,
      stepId: 'level',
      category: 'limit-excursion',
      title: 'level: yield 94 % (entered), outside 95–105 %',
      raisedBy: null,
      state: 'open',
    }),
    expect.objectContaining({ number: `${batch}-D02`, category: 'reported' }),
  ]);

  const ebr = (await as('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(ebr.chain.ok).toBe(true);
  expect(ebr.entries.filter((e: Json) => e.stepId === 'fill-wfi').map((e: Json) => e.kind)).toEqual([
    'step-started',
    'equipment-parameters',
    'equipment-reports',
    'verification',
    'step-completed',
  ]);
  // The workflow's last entries; the review above archived the closed batch's history, whose hash comes last.
  expect(ebr.entries.slice(-5).map((e: Json) => e.kind)).toEqual([
    'yield',
    'deviation',
    'output-lot',
    'batch-ended',
    'history-archived',
  ]);
  expect(ebr.entries.find((e: Json) => e.kind === 'verification').signature).toMatchObject({
    username: 'operator2',
    meaning: 'verified',
  });
  keepInCorpus('pbs-checked-fill', await replayBatch(env.client, batch));
}, 120_000);
