/**
 * `bin/ampoule investigate`: QA's investigation of a batch from the command line, with the verdicts
 * `POST /api/batches/:id/replay` gives — the history replayed against this Ampoule's workflow code, the archive's
 * integrity, and the record held against the history entry by entry. Printed as JSON; exits 0 on a pass, 1 on a
 * failure, 2 on a usage error.
 *
 *   bin/ampoule investigate <batch>                           the archived history (Temporal's, while it runs)
 *   bin/ampoule investigate <batch> --history exported.json   a history exported earlier, against the record
 *   bin/ampoule investigate --history exported.json [--workflow-id batch-B2026-00001]
 *                                                             the replay alone, no database
 *
 * The batch record is read from DATABASE_URL (PostgreSQL: an embedded PGlite database belongs to the running
 * Ampoule); Temporal from TEMPORAL_ADDRESS when set, else the archive alone.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { Logger } from 'pino';
import { toRun, type BatchHistory } from '../api/batches/history-archive';
import { historySha256, replayVerdict } from '../api/batches/investigation-service';
import { Problem } from '../api/http/problems';
import { createServices } from '../api/services';
import { createPlatform } from '../composition/platform';
import type { AppConfig } from '../config/app-config';
import type { TemporalConfig } from '../config/temporal-config';
import type { Database } from '../db/database';
import { BatchReplayer } from '../worker/replayer';

export interface InvestigateDeps {
  config: AppConfig;
  temporalConfig: TemporalConfig;
  log: Logger;
  openDatabase(): Promise<Database>;
  temporalSecurity: Record<string, unknown>;
  fail(message: string): never;
}

/** A history file in Temporal's JSON format, as one run of the chain (its run id from its first event). */
function readHistoryFile(file: string): BatchHistory {
  const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  const runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId ?? 'unknown';
  return { source: 'file', runs: [toRun(1, runId, history)] };
}

export async function investigate(args: string[], d: InvestigateDeps): Promise<number> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const batchArg = args[0] && !args[0].startsWith('--') ? args[0] : undefined;
  const file = flag('history');
  if (!batchArg && !file)
    d.fail('usage: bin/ampoule investigate <batch> [--history FILE] | investigate --history FILE [--workflow-id ID]');
  let exported: BatchHistory | undefined;
  try {
    exported = file ? readHistoryFile(file) : undefined;
  } catch (err) {
    d.fail(`${file} is not a history in Temporal's JSON format: ${(err as Error).message}`);
  }

  if (!batchArg) {
    // The replay alone: does this Ampoule's workflow code reproduce the history?
    const replay = await new BatchReplayer().replay(
      flag('workflow-id') ?? 'batch-investigated',
      exported!.runs.map((r) => ({ runId: r.runId, history: r.history })),
    );
    const { written: _written, ...verdict } = replay;
    print({ verdict: replay.deterministic ? 'pass' : 'fail', historySha256: historySha256(exported!), ...verdict });
    return replay.deterministic ? 0 : 1;
  }

  if (!d.config.databaseUrl)
    d.fail('bin/ampoule investigate <batch> reads the batch record from DATABASE_URL (PostgreSQL)');
  const database = await d.openDatabase();
  const address = d.temporalConfig.address;
  const connection = address ? await Connection.connect({ address, ...d.temporalSecurity }) : undefined;
  try {
    const services = createServices(
      createPlatform(database, d.config, d.log),
      connection && {
        client: new Client({ connection, namespace: d.temporalConfig.namespace }),
        taskQueue: d.temporalConfig.taskQueues.batches,
      },
    );
    const batch = await services.batches.records.get(batchArg);
    const investigation = await services.batches.investigations.investigate(batch, exported);
    const verdict = replayVerdict(investigation);
    print({ batch: batch.number, ...verdict, steps: investigation.crossCheck.steps });
    return verdict.verdict === 'pass' ? 0 : 1;
  } catch (err) {
    if (err instanceof Problem) d.fail(err.message);
    throw err;
  } finally {
    await connection?.close();
    await database.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
