/**
 * QA's investigation of a batch, through the API: its workflow history archived with its record once it closes
 * (the SHA-256 in the record and the audit trail), exported in Temporal's JSON format, replayed against today's
 * workflow code, and the record held against the entries the replay rebuilds — still from the archive once the
 * API talks to a Temporal server that never saw the batch. A record row changed by SQL is reported, exactly that
 * one, and blocks review; a history with an Update's argument changed never passes.
 */
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '@ampoule/embedded-temporal';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTemporalConfig } from '../../config/temporal-config';
import { sha256Hex } from '../../domain/canonical-hash';
import { DEMO_STOCK, operateBatch, stockMaterials } from '../../demo/automated-operator';
import { DEMO_PASSWORD, startBatchEnv, type BatchEnv } from '../support/batch-env';
import { RECORD_SINK_IGNORED } from '../../worker/replayer';
import { CORPUS_DIR } from '../support/replay-corpus';
import { AMPOULE_BIN } from '../support/server-process';
import { pdfPages } from '../support/pdf-text';
import { POSTGRES_URL } from '../support/postgres';
import { until } from '../support/wait';
import { workflowBundle } from '../support/workflow-bundle';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let env: BatchEnv;
let fresh: EmbeddedTemporal | undefined;
let batch: string;

const request = async (user: string, method: string, p: string, body?: unknown) =>
  env.api.request(method, p, body, { token: await env.token(user) });
const sign = (user: string, meaning: string) => ({ username: user, password: DEMO_PASSWORD, meaning });
const pdfOf = async (user: string, batch: string) =>
  Buffer.from(
    await (
      await fetch(`${env.api.url}/api/batches/${batch}/ebr.pdf`, {
        headers: { Authorization: `Bearer ${await env.token(user)}` },
      })
    ).arrayBuffer(),
  );

/** A PBS batch run to completion by automated operators. */
async function completedBatch(): Promise<string> {
  // The mixers an earlier batch left dirty, cleaned.
  for (const unit of ['MX-201', 'MX-202']) {
    const cleaned = await request('operator1', 'POST', `/equipment/${unit}/status`, {
      cleanliness: 'clean',
      reason: 'cleaned after the last batch',
    });
    expect(cleaned.status).toBe(200);
  }
  const lots = await stockMaterials(request, DEMO_STOCK.slice(0, 4), DEMO_PASSWORD);
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  expect(launched.status).toBe(201);
  expect(await operateBatch(request, launched.body.number, { lots, password: DEMO_PASSWORD })).toBe('complete');
  return launched.body.number;
}

beforeAll(async () => {
  env = await startBatchEnv();
  await env.startWorker();
  // The batch the tests that only read share; those that tamper with a record or a history run their own.
  batch = await completedBatch();
}, 180_000);

afterAll(async () => {
  await env?.close();
  await fresh?.stop();
});

const sha256 = sha256Hex;

test('the closed batch’s history is exported as Temporal JSON, archived, byte for byte the same each time, and replays', async () => {
  const planner = await request('planner', 'GET', `/batches/${batch}/history`);
  expect(planner.status).toBe(403);
  const first = await request('qa1', 'GET', `/batches/${batch}/history`);
  expect(first.status).toBe(200);
  expect(first.headers.get('content-type')).toMatch(/^application\/json/);
  expect(first.headers.get('ampoule-history-source')).toBe('archive');
  const text = first.text;
  const digest = sha256(text);
  expect(first.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(digest, 'hex').toString('base64')}:`);
  expect(first.headers.get('ampoule-history-sha256')).toBe(digest);
  // Temporal's JSON: what historyFromJSON reads and historyToJSON writes again, byte for byte.
  const history = historyFromJSON(JSON.parse(text));
  expect(historyToJSON(history)).toBe(text);
  expect(history.events?.[0]?.eventType).toBe(1); // EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), sinks: RECORD_SINK_IGNORED },
    history,
    `batch-${batch}`,
  );
  const again = await request('admin', 'GET', `/batches/${batch}/history`);
  expect(again.text).toBe(text);

  // The hash is in the batch record and in the audit trail.
  const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(ebr.chain.ok).toBe(true);
  const archived = ebr.entries.filter((e: Json) => e.kind === 'history-archived');
  expect(archived).toEqual([
    expect.objectContaining({
      entryKey: `batch-${batch}/history`,
      data: { runs: [expect.objectContaining({ sha256: digest })] },
    }),
  ]);
  const audit = (await request('qa1', 'GET', `/audit?action=history-archived&entityId=${ebr.batch.id}`)).body.items;
  expect(audit).toHaveLength(1);
  expect(audit[0].newValue.runs[0].sha256).toBe(digest);
});

test('Temporal’s own views read alike: the workflow’s static summary and details, and each activity’s summary naming its step', async () => {
  const handle = env.temporal.client.workflow.getHandle(`batch-${batch}`);
  const described = await handle.describe();
  expect(await described.staticSummary()).toBe(`PBS-1X v1 · 400 L · ${batch}`);
  expect(await described.staticDetails()).toMatch(
    new RegExp(`^\\*\\*Batch ${batch}\\*\\* of .+\\n\\n- Recipe: .+ \\(PBS-1X v1\\)\\n- Size: 400 L`),
  );
  const events = (await handle.fetchHistory()).events ?? [];
  const summary = (e: (typeof events)[number]) =>
    e.userMetadata?.summary?.data ? JSON.parse(Buffer.from(e.userMetadata.summary.data).toString()) : undefined;
  const phases = events.filter((e) => e.activityTaskScheduledEventAttributes).map(summary);
  expect(phases).toEqual(expect.arrayContaining([expect.stringMatching(/^fill-wfi · .+ — FILL on MX-20[12]$/)]));
  expect(phases.every((p) => typeof p === 'string')).toBe(true);
  // The local activities' markers: the record's writes, by step.
  const writes = events.filter((e) => e.markerRecordedEventAttributes).map(summary);
  expect(writes).toEqual(expect.arrayContaining([expect.stringMatching(/^record: .*step-started fill-wfi/)]));
});

test('the batch record PDF: QA’s copy carries the replay’s and the cross-check’s verdicts, others’ the archived history’s SHA-256 alone', async () => {
  const sha = (await request('qa1', 'GET', `/batches/${batch}/history`)).headers.get('ampoule-history-sha256');
  const [qaCover] = await pdfPages(await pdfOf('qa1', batch));
  expect(qaCover).toContain(`SHA-256 ${sha}`);
  expect(qaCover).toContain('Replay the workflow code this Ampoule runs reproduces the history exactly');
  const [plannerCover] = await pdfPages(await pdfOf('planner', batch));
  expect(plannerCover).toContain(`SHA-256 ${sha}`);
  expect(plannerCover).toContain('Replay and cross-check not run for this copy');
});

test('?payloads=readable decodes the payloads into values', async () => {
  const r = await request('qa1', 'GET', `/batches/${batch}/history?payloads=readable`);
  expect(r.status).toBe(200);
  // The digest is the body's; the archived document's SHA-256 comes apart.
  expect(r.headers.get('repr-digest')).toBe(`sha-256=:${createHash('sha256').update(r.text).digest('base64')}:`);
  const encoded = await request('qa1', 'GET', `/batches/${batch}/history`);
  expect(r.headers.get('ampoule-history-sha256')).toBe(sha256(encoded.text));
  const started = r.body.events[0].workflowExecutionStartedEventAttributes;
  expect(started.input.payloads[0]).toMatchObject({
    metadata: { encoding: 'json/plain' },
    data: expect.objectContaining({ batchNumber: batch }),
  });
});

test('a replay passes: deterministic, the archive intact, the record matching its history entry for entry; it is audited', async () => {
  const r = await request('qa1', 'POST', `/batches/${batch}/replay`, { reason: 'annual product review' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    verdict: 'pass',
    deterministic: true,
    historyIntact: true,
    source: 'archive',
    historySha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    bundleSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    events: expect.any(Number),
    durationMs: expect.any(Number),
    crossCheck: { verdict: 'match', mismatches: [] },
  });
  expect(r.body.crossCheck.counts.match).toBeGreaterThan(20);
  const check = (await request('qa1', 'GET', `/batches/${batch}/cross-check`)).body;
  expect(check.verdict).toBe('match');
  // Every entry the workflow wrote is there (all but the archive's own entry), each step among them.
  const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  expect(check.entries).toHaveLength(ebr.entries.length - 1);
  expect(check.steps.map((s: Json) => s.stepId)).toEqual(expect.arrayContaining([null, 'add-kcl', 'mix']));
  const audit = (await request('qa1', 'GET', `/audit?action=replay&entityId=${ebr.batch.id}`)).body.items;
  expect(audit[0]).toMatchObject({ username: 'qa1', reason: 'annual product review', newValue: { verdict: 'pass' } });
  expect((await request('qa1', 'GET', `/batches/${batch}/review`)).body.investigation.verdict).toBe('pass');
  // Others who read the review see the exceptions, not the investigation (QA's).
  const operatorsView = await request('operator1', 'GET', `/batches/${batch}/review`);
  expect(operatorsView.status).toBe(200);
  expect(operatorsView.body.investigation).toBeUndefined();
});

test('once the run is gone from Temporal (the API points at a server that never saw it), investigation works from the archive', async () => {
  const { searchAttributes } = loadTemporalConfig(undefined, {});
  fresh = await startEmbeddedTemporal({ port: 0, searchAttributes });
  const before = env.temporal.client;
  env.temporal.client = new Client({ connection: await Connection.connect({ address: fresh.address }) });
  try {
    const gone = await env.temporal.client.workflow
      .getHandle(`batch-${batch}`)
      .describe()
      .catch((e: Error) => e);
    expect(gone).toBeInstanceOf(Error);
    const replay = await request('qa1', 'POST', `/batches/${batch}/replay`, {});
    expect(replay.body).toMatchObject({ verdict: 'pass', source: 'archive', crossCheck: { verdict: 'match' } });
    expect((await request('qa1', 'GET', `/batches/${batch}/history`)).status).toBe(200);
  } finally {
    await env.temporal.client.connection.close();
    env.temporal.client = before;
  }
});

/** Takes a deviation through its life: qa1 takes it up and submits it, qa2 closes it, signed. */
async function closeDeviation(number: string): Promise<void> {
  const taken = await request('qa1', 'POST', `/deviations/${number}/investigate`, { severity: 'major' });
  expect(taken.status).toBe(200);
  const submitted = await request('qa1', 'POST', `/deviations/${number}/submit`, {
    rootCause: 'found',
    correctiveAction: 'done',
    preventiveAction: 'planned',
  });
  expect(submitted.status).toBe(200);
  const closed = await request('qa2', 'POST', `/deviations/${number}/close`, { signature: sign('qa2', 'approved') });
  expect(closed.body).toMatchObject({ state: 'closed' });
}

test('a batch whose history was never archived and is gone from Temporal is judged only once a signed history-unavailable deviation is closed', async () => {
  const lost = await completedBatch();
  const { searchAttributes } = loadTemporalConfig(undefined, {});
  fresh ??= await startEmbeddedTemporal({ port: 0, searchAttributes });
  const before = env.temporal.client;
  env.temporal.client = new Client({ connection: await Connection.connect({ address: fresh.address }) });
  try {
    const review = () =>
      request('qa1', 'POST', `/batches/${lost}/review`, {
        auditTrailReviewed: true,
        signature: sign('qa1', 'reviewed'),
      });
    const refused = await review();
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: '/api/problems/history-unavailable' });
    expect(refused.body.detail).toMatch(/a closed deviation of category history-unavailable/);
    // Only QA says a history is gone, and only when it is.
    const raise = (user: string, b: string) =>
      request(user, 'POST', '/deviations', {
        batch: b,
        category: 'history-unavailable',
        title: 'workflow history lost: never archived, past the namespace retention',
        reason: 'review refused',
      });
    expect((await raise('operator1', lost)).status).toBe(403);
    const available = await raise('qa1', batch);
    expect(available.status).toBe(422);
    expect(available.body.detail).toMatch(/history is available: investigate it/);
    const raised = await raise('qa1', lost);
    expect(raised.status).toBe(201);
    expect(raised.body).toMatchObject({ number: `${lost}-D01`, category: 'history-unavailable', state: 'open' });

    // A record's limit excursion written before deviations were records with a life is raised at start, once.
    const { db, stores } = env.api.services;
    const b = (await stores.batches.find(db, lost))!;
    const writeLegacyEntry = (key: string) =>
      db.transaction(async (trx) => {
        const start = (await stores.batches.lockForRecord(trx, b.id, [key]))!;
        const excursion = { stepId: 'ph-conductivity', field: 'ph', value: 7.6, unit: '[pH]', low: 7.3, high: 7.5 };
        await stores.batches.writeRecord(trx, start, {
          signatures: [],
          entries: [
            {
              entryKey: key,
              kind: 'deviation',
              stepId: 'ph-conductivity',
              data: { ...excursion, comment: 'recorded by an earlier Ampoule', source: 'operator' },
              workflowId: b.workflowId,
              runId: 'legacy',
              eventId: 1,
              occurredAt: new Date().toISOString(),
              userId: null,
              userName: null,
              signatureId: null,
            },
          ],
        });
      });
    await writeLegacyEntry(`${b.workflowId}/legacy-1`);
    expect(await env.api.services.deviations.raiseUnraised()).toBe(1);
    expect(await env.api.services.deviations.raiseUnraised()).toBe(0);
    const legacy = (await request('qa1', 'GET', `/deviations/${lost}-D02`)).body;
    expect(legacy).toMatchObject({ sourceEntryKey: `${b.workflowId}/legacy-1`, runId: 'legacy', state: 'open' });

    expect((await review()).status).toBe(409); // the exception is not closed yet
    // Whoever said the history is gone does not close that deviation.
    await request('qa2', 'POST', `/deviations/${lost}-D01/investigate`, { severity: 'major' });
    await request('qa2', 'POST', `/deviations/${lost}-D01/submit`, {
      rootCause: 'archived too late',
      correctiveAction: 'history archived at close since',
      preventiveAction: 'none further',
    });
    const byRaiser = await request('qa1', 'POST', `/deviations/${lost}-D01/close`, {
      signature: sign('qa1', 'approved'),
    });
    expect(byRaiser.body.type).toBe('/api/problems/segregation-of-duties');
    await env.api.createUser('qa4', ['qa'], DEMO_PASSWORD);
    expect(
      (await request('qa4', 'POST', `/deviations/${lost}-D01/close`, { signature: sign('qa4', 'approved') })).body
        .state,
    ).toBe('closed');
    // The exception covers the record as it was when closed: a record changed since is not judged on it.
    await writeLegacyEntry(`${b.workflowId}/legacy-2`);
    expect(await env.api.services.deviations.raiseUnraised()).toBe(1); // D03
    const stale = await review();
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toMatch(new RegExp(`record changed after deviation ${lost}-D01 was closed`));
    const again = await raise('qa1', lost);
    expect(again.body.number).toBe(`${lost}-D04`);
    await closeDeviation(`${lost}-D04`);
    // Nor a record whose chain no longer holds.
    const target = (await stores.batches.ebr(db, b.id)).find((e) => e.kind === 'values-entered')!;
    const rewrite = (data: unknown) =>
      env.api.asOwner(async (owner) => {
        await owner.raw('alter table ebr_entries disable trigger ebr_entries_append_only');
        try {
          await owner('ebr_entries')
            .where({ entry_key: target.entryKey })
            .update({ data: JSON.stringify(data) });
        } finally {
          await owner.raw('alter table ebr_entries enable always trigger ebr_entries_append_only');
        }
      });
    await rewrite({ ...(target.data as object), comment: 'rewritten' });
    const broken = await review();
    expect(broken.body).toMatchObject({ type: '/api/problems/record-mismatch' });
    await rewrite(target.data);
    const reviewed = await review();
    expect(reviewed.status).toBe(200);
    const release = () => request('qa1', 'POST', `/batches/${lost}/release`, { signature: sign('qa1', 'released') });
    const blocked = await release();
    expect(blocked.body).toMatchObject({
      type: '/api/problems/deviations-open',
      deviations: [
        { number: `${lost}-D02`, state: 'open' },
        { number: `${lost}-D03`, state: 'open' },
      ],
    });
    await closeDeviation(`${lost}-D02`);
    await closeDeviation(`${lost}-D03`);
    expect((await release()).body.status).toBe('released');
    // Its PDF says why the record could not be held against its history, and what stands in for that.
    const pdf = await pdfPages(await pdfOf('qa1', lost));
    expect(pdf[0]).toMatch(
      new RegExp(
        `Workflow history Not available: .+ — deviation ${lost}-D04, closed and signed, stands in for the investigation`,
      ),
    );
    expect(pdf.join(' ')).not.toMatch(/[{}]|"|undefined|null|NaN/);
  } finally {
    await env.temporal.client.connection.close();
    env.temporal.client = before;
  }
});

test('a record entry changed by SQL is reported, exactly that one, and the batch cannot be reviewed', async () => {
  const batch = await completedBatch();
  const ebr = (await request('qa1', 'GET', `/batches/${batch}/ebr`)).body;
  const target = ebr.entries.find((e: Json) => e.kind === 'values-entered');
  await env.api.asOwner(async (owner) => {
    await owner.raw('alter table ebr_entries disable trigger ebr_entries_append_only');
    try {
      await owner.raw(
        `update ebr_entries set data = jsonb_set(data, '{values}', '{"tampered": 1}'::jsonb) where entry_key = ?`,
        [target.entryKey],
      );
    } finally {
      await owner.raw('alter table ebr_entries enable always trigger ebr_entries_append_only');
    }
  });
  const check = (await request('qa1', 'GET', `/batches/${batch}/cross-check`)).body;
  expect(check.verdict).toBe('mismatch');
  const mismatches = check.entries.filter((e: Json) => e.verdict !== 'match');
  expect(mismatches).toEqual([
    expect.objectContaining({
      entryKey: target.entryKey,
      verdict: 'differs',
      fields: expect.arrayContaining(['data']),
    }),
  ]);
  expect(check.steps.find((s: Json) => s.stepId === target.stepId)).toMatchObject({
    verdict: 'differs',
    mismatches: 1,
  });
  const review = await request('qa2', 'POST', `/batches/${batch}/review`, {
    auditTrailReviewed: true,
    signature: sign('qa2', 'reviewed'),
  });
  expect(review.status).toBe(409);
  expect(review.body.type).toBe('/api/problems/record-mismatch');
  expect((await request('qa1', 'GET', `/batches/${batch}`)).body.status).toBe('complete');

  // A row deleted, and one added that the workflow never wrote (even of the archive's own kind): both reported.
  const removed = ebr.entries.find((e: Json) => e.kind === 'step-started');
  await env.api.asOwner(async (owner) => {
    await owner.raw('alter table ebr_entries disable trigger ebr_entries_append_only');
    try {
      await owner('ebr_entries').where({ entry_key: removed.entryKey }).delete();
    } finally {
      await owner.raw('alter table ebr_entries enable always trigger ebr_entries_append_only');
    }
    const last = ebr.entries.at(-1);
    await owner('ebr_entries').insert({
      batch_id: ebr.batch.id,
      seq: last.seq + 100,
      entry_key: `batch-${batch}/forged`,
      kind: 'history-archived',
      data: JSON.stringify({ runs: [] }),
      workflow_id: `batch-${batch}`,
      run_id: last.runId,
      event_id: 1,
      occurred_at: new Date(),
      prev_hash: last.hash,
      hash: last.hash,
    });
  });
  const after = (await request('qa1', 'GET', `/batches/${batch}/cross-check`)).body;
  expect(after.counts).toMatchObject({ differs: 1, 'missing-in-record': 1, 'extra-in-record': 1 });
  expect(after.entries.filter((e: Json) => e.verdict !== 'match').map((e: Json) => [e.entryKey, e.verdict])).toEqual(
    expect.arrayContaining([
      [removed.entryKey, 'missing-in-record'],
      [`batch-${batch}/forged`, 'extra-in-record'],
    ]),
  );
});

test('a history with one Update argument altered never passes', async () => {
  const batch = await completedBatch();
  expect((await request('qa1', 'POST', `/batches/${batch}/replay`, {})).body.verdict).toBe('pass'); // archived
  const archived = await env.api.services
    .db('batch_histories')
    .where({ workflow_id: `batch-${batch}` })
    .first();
  const history = JSON.parse(archived.history_json);
  const update = history.events.find(
    (e: Json) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'completeStep',
  ).workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.args.payloads[0];
  const completion = JSON.parse(Buffer.from(update.data, 'base64').toString('utf8'));
  completion.comment = `${completion.comment ?? ''} (altered)`;
  update.data = Buffer.from(JSON.stringify(completion)).toString('base64');
  const altered = historyToJSON(historyFromJSON(history));
  await env.api.asOwner(async (owner) => {
    await owner.raw('alter table batch_histories disable trigger batch_histories_append_only');
    try {
      await owner('batch_histories')
        .where({ run_id: archived.run_id })
        // The row's own hash updated with it: only the hash the record holds gives the change away.
        .update({ history_json: altered, sha256: sha256(altered) });
    } finally {
      await owner.raw('alter table batch_histories enable always trigger batch_histories_append_only');
    }
  });
  const r = await request('qa1', 'POST', `/batches/${batch}/replay`, {});
  expect(r.status).toBe(200);
  expect(r.body.verdict).toBe('fail');
  expect(r.body.historyIntact).toBe(false);
  // And the record no longer matches what the altered history says the operator entered.
  expect(r.body.crossCheck.mismatches).toEqual([expect.objectContaining({ verdict: 'differs' })]);
});

test('the sweep archives a batch that ended without anyone asking for its history', async () => {
  for (const unit of ['MX-201', 'MX-202'])
    await request('operator1', 'POST', `/equipment/${unit}/status`, { cleanliness: 'clean', reason: 'cleaned' });
  const launched = await request('planner', 'POST', '/batches', { recipe: 'PBS-1X', batchSize: 400 });
  const aborted = launched.body.number;
  await until(async () => (await request('qa1', 'GET', `/batches/${aborted}`)).body.status === 'running');
  const abort = await request('operator1', 'POST', `/batches/${aborted}/commands`, {
    command: 'abort',
    reason: 'test: an aborted batch is archived too',
  });
  expect(abort.status).toBe(200);
  const id = (await request('qa1', 'GET', `/batches/${aborted}`)).body.id;
  const archivedRows = () => env.api.services.db('batch_histories').where({ batch_id: id });
  await until(async () => {
    await env.api.services.batches.histories.sweep();
    return (await archivedRows()).length > 0;
  });
  const rows = await archivedRows();
  expect(rows).toHaveLength(1);
  const audit = (await request('qa1', 'GET', `/audit?action=history-archived&entityId=${id}`)).body.items;
  expect(audit).toEqual([
    expect.objectContaining({
      newValue: { runs: [expect.objectContaining({ sha256: rows[0].sha256 })], inRecord: true },
    }),
  ]);
  const ebr = (await request('qa1', 'GET', `/batches/${aborted}/ebr`)).body;
  expect(ebr.entries.at(-1)).toMatchObject({ kind: 'history-archived', data: { runs: [{ sha256: rows[0].sha256 }] } });
});

/** Runs `bin/ampoule investigate …`; resolves with its exit code and the verdict it printed. */
function investigateCli(args: string[], extraEnv: Record<string, string>) {
  return new Promise<{ code: number; verdict: Json; stderr: string }>((resolve) => {
    const { TEMPORAL_ADDRESS: _, DATABASE_URL: __, ...inherited } = process.env;
    execFile(
      AMPOULE_BIN,
      ['investigate', ...args],
      { env: { ...inherited, LOG_LEVEL: 'warn', ...extraEnv } },
      (err, stdout, stderr) => {
        let verdict: Json = {};
        try {
          verdict = JSON.parse(stdout);
        } catch {
          // no verdict printed: the exit code and stderr say why
        }
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, verdict, stderr });
      },
    );
  });
}

// The command line reads the record from PostgreSQL (a PGlite database belongs to the process that opened it).
(POSTGRES_URL ? test : test.skip)(
  'bin/ampoule investigate prints the same verdicts, from the archive and from an exported history file',
  async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'ampoule-investigate-'));
    try {
      const exported = await request('qa1', 'GET', `/batches/${batch}/history`); // archived, if not yet
      const file = path.join(dataDir, 'history.json');
      writeFileSync(file, exported.text);
      const cliEnv = { DATABASE_URL: env.api.databaseUrl!, AMPOULE_DATA_DIR: dataDir };
      const archived = await investigateCli([batch], cliEnv);
      expect(archived).toMatchObject({
        code: 0,
        verdict: { batch, verdict: 'pass', source: 'archive', historyIntact: true, crossCheck: { verdict: 'match' } },
      });
      const fromFile = await investigateCli([batch, '--history', file], cliEnv);
      expect(fromFile).toMatchObject({ code: 0, verdict: { verdict: 'pass', source: 'file', historyIntact: true } });
      expect(fromFile.verdict.historySha256).toBe(archived.verdict.historySha256);
      // No database: the replay alone, of a corpus history.
      const alone = await investigateCli(['--history', path.join(CORPUS_DIR, 'pbs-full-release.json')], {
        AMPOULE_DATA_DIR: dataDir,
      });
      expect(alone).toMatchObject({ code: 0, verdict: { verdict: 'pass', deterministic: true } });
      const notAHistory = await investigateCli(['--history', path.join(dataDir, 'missing.json')], {
        AMPOULE_DATA_DIR: dataDir,
      });
      expect(notAHistory.code).toBe(2);
      expect(notAHistory.stderr).toMatch(/not a history in Temporal's JSON format/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
  120_000,
);

test('the impact query lists the other batches sharing a lot, a unit, a recipe version or an operator, in a window', async () => {
  const b = await env.api.services.db('batches').where({ number: batch }).first();
  const consumed = await env.api.services
    .db('lot_transactions as t')
    .join('lots as l', 'l.id', 't.lot_id')
    .where({ 't.batch_id': batch, 't.kind': 'consumption' })
    .first('l.lot_number');
  const unit = Object.values(b.units as Record<string, { code: string }>)[0].code;
  const impact = async (query: string) => {
    const r = await request('qa1', 'GET', `/investigations/impact?${query}`);
    return { status: r.status, body: r.body, of: (n: string) => r.body.batches?.find((x: Json) => x.number === n) };
  };
  const byAll = await impact(
    `lot=${consumed.lot_number}&unit=${unit}&recipeVersion=${b.recipe_code}:${b.recipe_version}&operator=operator1`,
  );
  expect(byAll.status).toBe(200);
  expect(byAll.of(batch)).toMatchObject({
    status: expect.any(String),
    recipe: { code: b.recipe_code, version: b.recipe_version },
    shares: ['lot', 'unit', 'recipeVersion', 'operator'],
  });
  // The batch's own output lot: it produced it.
  expect((await impact(`lot=${b.output_lot_number}`)).of(batch)).toMatchObject({ shares: ['lot'] });
  // Only batches that used the lot.
  const byLot = (await impact(`lot=${consumed.lot_number}`)).body.batches;
  const users = await env.api.services
    .db('lot_transactions as t')
    .join('lots as l', 'l.id', 't.lot_id')
    .where({ 'l.lot_number': consumed.lot_number })
    .whereIn('t.kind', ['consumption', 'production'])
    .distinct('t.batch_id');
  expect(byLot.map((x: Json) => x.number).sort()).toEqual(users.map((u: Json) => u.batch_id).sort());
  expect((await impact(`unit=${unit}&excluding=${batch}`)).of(batch)).toBeUndefined();
  expect((await impact(`unit=${unit}&from=2999-01-01T00:00:00Z`)).body.batches).toEqual([]);
  expect((await impact(`unit=${unit}&to=2000-01-01T00:00:00Z`)).body.batches).toEqual([]);
  // A window the batch's run overlaps keeps it.
  const since = new Date(Date.now() - 86_400_000).toISOString();
  expect((await impact(`unit=${unit}&from=${since}&to=2999-01-01T00:00:00Z`)).of(batch)).toMatchObject({
    shares: ['unit'],
  });
  // A name that matches nothing is not "no batch affected": 404.
  expect((await impact('operator=nobody-of-that-name')).status).toBe(404);
  expect((await impact(`recipeVersion=${b.recipe_code}:999999`)).status).toBe(404);
  expect((await impact('lot=NO-SUCH-LOT')).status).toBe(404);
  expect((await impact('')).status).toBe(400);
  expect((await impact('recipeVersion=PBS-1X')).status).toBe(400);
});
