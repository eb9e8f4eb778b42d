/**
 * The replay corpus: recorded batch histories (test/histories) replayed against today's workflow code, bundled
 * once. A change to the batch workflow that would break a batch in flight fails here; such a change belongs
 * behind `patched()` (`workflows/batch/patches.ts`). Record new histories with `RECORD_HISTORIES=1 npm test --
 * test/batches` (on PostgreSQL, for the worker-process test). Keep the older ones, batches the earlier code
 * started: `v1-*` were recorded before the patch `one-write-between-steps`, `v2-*` before `one-write-per-entry`,
 * `v3-*` before `equipment-results-with-step-end`, `v4-*` before `serialised-commands`,
 * `output-lot-from-measured-yield` and `record-interrupted-phases`. And the replay itself is checked: a history
 * the code would not have written fails.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { BatchReplayer, RECORD_SINK_IGNORED } from '../../worker/replayer';
import { CORPUS_DIR, corpusFiles, readFromCorpus } from '../support/replay-corpus';
import { workflowBundle } from '../support/workflow-bundle';

const files = corpusFiles();

/** Every history replayed by one replay worker (creating a worker per history costs more than the replays). */
let results: Map<string, Error | undefined>;
beforeAll(async () => {
  const histories = files.map((file) => readFromCorpus(file));
  results = new Map();
  const replays = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), sinks: RECORD_SINK_IGNORED },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  let i = 0;
  for await (const result of replays) {
    // Results come in the order the histories were given; the workflow id confirms which is which.
    if (result.workflowId !== histories[i].workflowId) throw new Error(`replay results out of order at ${files[i]}`);
    results.set(files[i++], result.error);
  }
}, 120_000);

test('the corpus is not empty', () => {
  expect(files.length).toBeGreaterThanOrEqual(2);
});

test.each(files)('%s replays without non-determinism', (file) => {
  expect(readFromCorpus(file).history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe(
    'batchWorkflow',
  );
  expect(results.has(file)).toBe(true);
  expect(results.get(file)).toBeUndefined();
});

test('a history the code would not have written fails its replay with a DeterminismViolationError', async () => {
  const { workflowId, history } = readFromCorpus('pbs-full-release.json');
  // The first equipment phase, scheduled as another activity than the code asks for.
  const scheduled = history.events!.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runEquipmentPhase',
  )!;
  scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'commandEquipmentPhase';
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: await workflowBundle(), sinks: RECORD_SINK_IGNORED },
      history,
      workflowId,
    ),
  ).rejects.toMatchObject({ name: 'DeterminismViolationError' });
});

test.each(files)('%s is Temporal JSON, and written again byte for byte', (file) => {
  const text = readFileSync(path.join(CORPUS_DIR, file), 'utf8');
  expect(`${historyToJSON(readFromCorpus(file).history)}\n`).toBe(text);
});

test('every @temporalio package uses one protobufjs (two copies break the JSON conversion)', () => {
  const copyOf = (pkg: string) =>
    require.resolve('protobufjs', { paths: [path.dirname(require.resolve(`${pkg}/package.json`))] });
  const copies = new Set(['@temporalio/common', '@temporalio/proto', '@temporalio/worker'].map(copyOf));
  expect([...copies]).toHaveLength(1);
});

test('a write whose marker says an earlier attempt stored its entry is rebuilt with that attempt’s event and time', async () => {
  // A workflow task whose completion was lost after its local activity committed runs again later in the history:
  // the write's retry finds its entries stored, and its result (the marker) says with which event and time.
  const replayer = new BatchReplayer(workflowBundle);
  const { workflowId, history } = readFromCorpus('pbs-full-release.json');
  const runId = history.events![0].workflowExecutionStartedEventAttributes!.originalExecutionRunId!;
  const as = async (h: typeof history) =>
    (await replayer.replay(workflowId, [{ runId, history: h }])).written[0].entries;
  const before = await as(history);

  const firstWrite = history.events!.find((e) => {
    const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
    return data && JSON.parse(Buffer.from(data).toString()).activity_type === 'recordEbr';
  })!;
  const result = firstWrite.markerRecordedEventAttributes!.details!.result.payloads![0];
  const outcome = JSON.parse(Buffer.from(result.data!).toString()) as Record<string, unknown>;
  const { no, kind, stepId } = before[0];
  const earlier = { no, kind, stepId, eventId: before[0].eventId + 100, occurredAt: '2026-12-01T08:00:00.000Z' };
  expect(Date.parse(before[0].occurredAt)).not.toBe(Date.parse(earlier.occurredAt));
  result.data = Buffer.from(JSON.stringify({ ...outcome, earlier: [earlier] }));

  const after = await as(history);
  expect(after[0]).toEqual({ ...before[0], eventId: earlier.eventId, occurredAt: earlier.occurredAt });
  expect(after.slice(1)).toEqual(before.slice(1));
});
