/**
 * The replay corpus: recorded batch histories (test/histories) replayed against today's workflow code.
 * A change to the batch workflow that would break a batch in flight fails here; such a change belongs
 * behind `patched()`. Record new histories with `RECORD_HISTORIES=1 npm test -- test/batches` (on
 * PostgreSQL, for the worker-process test). Keep the older ones, batches the earlier code started:
 * `v1-*` were recorded before the patch `one-write-between-steps`, `v2-*` before `one-write-per-entry`, `v3-*`
 * before `equipment-results-with-step-end`, `v4-*` before `serialised-commands`, `output-lot-from-measured-yield`
 * and `record-interrupted-phases`.
 */
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/batch-worker';
import { corpusFiles, readFromCorpus } from '../support/replay-corpus';

const files = corpusFiles();

test('the corpus is not empty', () => {
  expect(files.length).toBeGreaterThanOrEqual(2);
});

test.each(files)('%s replays without non-determinism', async (file) => {
  const { workflowId, history } = readFromCorpus(file);
  expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe('batchWorkflow');
  await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, workflowId);
});
