/**
 * The replay corpus (test/histories): batch histories recorded by the batch tests, in Temporal's JSON format (the
 * one `temporal workflow show --output json` and the Temporal UI's download write), one file per history. A file's
 * name is the workflow id it was replayed under, after a `vN-` prefix that marks histories older code wrote.
 * Every batch test replays the history it produced; with RECORD_HISTORIES=1 it also adds it here.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { RECORD_SINK_IGNORED } from '../../worker/replayer';
import { workflowBundle } from './workflow-bundle';

export const CORPUS_DIR = path.resolve(__dirname, '../histories');

/** Fetches batch `number`'s history and replays it against today's workflow code (throws on non-determinism). */
export async function replayBatch(client: Client, number: string): Promise<History> {
  const history = await client.workflow.getHandle(`batch-${number}`).fetchHistory();
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), sinks: RECORD_SINK_IGNORED },
    history,
    `batch-${number}`,
  );
  return history;
}

/** With RECORD_HISTORIES=1, stores the history in the corpus as `<name>.json`. */
export function keepInCorpus(name: string, history: History): void {
  if (!process.env.RECORD_HISTORIES) return;
  writeFileSync(path.join(CORPUS_DIR, `${name}.json`), `${historyToJSON(history)}\n`);
}

export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readFromCorpus(file: string): { workflowId: string; history: History } {
  const workflowId = path.basename(file, '.json').replace(/^v\d+-/, '');
  return { workflowId, history: historyFromJSON(JSON.parse(readFileSync(path.join(CORPUS_DIR, file), 'utf8'))) };
}
