/**
 * `npm run bench:investigation`: what an investigation costs in CPU, per batch history of the replay corpus
 * (test/histories: PBS and mAb batches, 27–166 events). For each history, `--rounds` times: the replay against the
 * workflow code (`worker/replayer.ts`, one replay worker per replay, as the API does) with the record's entries
 * rebuilt through the sink, then the cross-check of those entries against a record holding the same entries
 * (`domain/batch/cross-check.ts`). Prints p50/p99 per history size class and over all; the bundling (once per
 * process) is printed apart. Not measured here: reading the record and the archive from the database, and the
 * impact query over many batches.
 *
 *   npm run bench:investigation -- [--rounds 5]
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { crossCheck, entryKeyOf, type RecordedEntry } from '../domain/batch/cross-check';
import { canonicalHash } from '../domain/canonical-hash';
import { corpusFiles, readFromCorpus } from '../test/support/replay-corpus';
import { BatchReplayer } from '../worker/replayer';
import { argValue, machine, percentile } from './support';

async function main() {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const rounds = Number(argValue('rounds', '5'));
  const replayer = new BatchReplayer();
  const bundling = performance.now();
  await replayer.replay('warm-up', []);
  console.log(
    `bench:investigation — ${machine()}; bundling the workflow code: ${Math.round(performance.now() - bundling)} ms`,
  );

  const all: number[] = [];
  const byEvents = new Map<string, number[]>();
  for (const file of corpusFiles()) {
    const { workflowId, history } = readFromCorpus(file);
    const events = history.events?.length ?? 0;
    const runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId ?? 'run';
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      const outcome = await replayer.replay(workflowId, [{ runId, history }]);
      if (!outcome.deterministic) throw new Error(`${file}: ${outcome.error?.message}`);
      const rebuilt = outcome.written.flatMap((w) => w.entries.map((e) => ({ ...e, runId: w.runId })));
      // A record holding exactly what the workflow wrote: the comparison's full cost, every entry matching.
      const recorded: RecordedEntry[] = rebuilt.map((e, n) => ({
        seq: n + 1,
        entryKey: entryKeyOf(workflowId, e.no),
        kind: e.kind,
        stepId: e.stepId,
        data: JSON.parse(JSON.stringify(e.data)) as unknown,
        runId: e.runId,
        eventId: e.eventId,
        occurredAt: e.occurredAt,
        userId: e.user?.userId ?? null,
        userName: e.user?.fullName ?? null,
        signature: e.signature
          ? {
              signerId: e.signature.userId,
              username: e.signature.username,
              printedName: e.signature.fullName,
              meaning: e.signature.meaning,
              comment: e.signature.comment,
              contentHash: canonicalHash({
                batch: workflowId.slice('batch-'.length),
                step: e.stepId,
                entry: entryKeyOf(workflowId, e.no),
                data: e.data,
              }),
            }
          : null,
      }));
      const report = crossCheck({ number: workflowId.slice('batch-'.length), workflowId }, rebuilt, recorded);
      const ms = performance.now() - t;
      if (report.verdict !== 'match') throw new Error(`${file}: the cross-check of a record against itself failed`);
      all.push(ms);
      const size = events <= 60 ? '≤ 60 events' : events <= 120 ? '61–120 events' : '121–200 events';
      byEvents.set(size, [...(byEvents.get(size) ?? []), ms]);
    }
  }
  const report = (label: string, xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(
      `${label.padEnd(16)} n=${String(sorted.length).padStart(4)}  p50 ${percentile(sorted, 50).toFixed(0)} ms  p99 ${percentile(sorted, 99).toFixed(0)} ms`,
    );
  };
  for (const [size, xs] of [...byEvents].sort()) report(size, xs);
  report('all histories', all);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
