/**
 * The replay corpus (test/histories): batch histories recorded by the batch tests, kept as base64
 * protobuf because the SDK's JSON conversion fails on the duplicate protobufjs copies in node_modules.
 * Every batch test replays the history it produced; with RECORD_HISTORIES=1 it also adds it here.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './workflow-bundle';

export const CORPUS_DIR = path.resolve(__dirname, '../histories');
const FORMAT = 'temporal.api.history.v1.History, protobuf, base64';

/** Fetches batch `number`'s history and replays it against today's workflow code (throws on non-determinism). */
export async function replayBatch(client: Client, number: string): Promise<temporal.api.history.v1.IHistory> {
  const history = await client.workflow.getHandle(`batch-${number}`).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `batch-${number}`);
  return history;
}

/** With RECORD_HISTORIES=1, stores the history in the corpus as `<name>.json`. */
export function keepInCorpus(name: string, history: temporal.api.history.v1.IHistory): void {
  if (!process.env.RECORD_HISTORIES) return;
  const encoded = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('base64');
  writeFileSync(
    path.join(CORPUS_DIR, `${name}.json`),
    `${JSON.stringify({ workflowId: name, format: FORMAT, history: encoded }, null, 1)}\n`,
  );
}

export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readFromCorpus(file: string): { workflowId: string; history: temporal.api.history.v1.History } {
  const { workflowId, history } = JSON.parse(readFileSync(path.join(CORPUS_DIR, file), 'utf8')) as {
    workflowId: string;
    history: string;
  };
  return { workflowId, history: temporal.api.history.v1.History.decode(Buffer.from(history, 'base64')) };
}
