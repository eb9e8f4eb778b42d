/**
 * The replay corpus: recorded batch histories (test/histories) replayed against today's workflow code.
 * A change to the batch workflow that would break a batch in flight fails here; such a change belongs
 * behind `patched()`. Record new histories with `RECORD_HISTORIES=1 npm test -- test/batches`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/batch-worker';

const DIR = path.resolve(__dirname, '../histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('the corpus is not empty', () => {
  expect(files.length).toBeGreaterThanOrEqual(2);
});

test.each(files)('%s replays without non-determinism', async (file) => {
  const { workflowId, history } = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { workflowId: string; history: string };
  const decoded = temporal.api.history.v1.History.decode(Buffer.from(history, 'base64'));
  expect(decoded.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name).toBe('batchWorkflow');
  await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, decoded, workflowId);
});
