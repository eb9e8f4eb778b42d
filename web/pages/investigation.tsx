/**
 * QA's investigation of a batch: the verdict (the history replayed against this Ampoule's workflow code, the
 * archive's hash, the record held against the history entry by entry), what must not be missed pinned on top —
 * failures, holds and stops, deviations, entries that do not match — then the history's timeline grouped by step
 * in the recipe's order, and the whole history one click away (readable, or as Temporal's tools read it).
 */
import type { DeviationView } from '../../api/deviations/deviation-service';
import type { replayVerdict } from '../../api/batches/investigation-service';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { StepCheck } from '../../domain/batch/cross-check';
import type { TimelineEvent } from '../../domain/batch/history-timeline';
import { utcText } from '../../domain/batch/record-text';
import { page, type PageContext } from '../layout';

export interface InvestigationView {
  batch: BatchRecord;
  verdict: ReturnType<typeof replayVerdict>;
  /** The timeline of each run, oldest first. */
  runs: { runNo: number; runId: string; events: TimelineEvent[]; routine: number }[];
  steps: StepCheck[];
  deviations: DeviationView[];
}

const VERDICT_WORDS: Record<string, string> = {
  match: 'matches',
  'missing-in-record': 'missing in the record',
  'extra-in-record': 'in the record, never written by the workflow',
  differs: 'differs from the history',
};

function Check({ ok, yes, no }: { ok: boolean | null; yes: string; no: string }) {
  if (ok === null) return <span>— not applicable (the history is read from Temporal: not archived yet)</span>;
  return ok ? <span>✓ {yes}</span> : <strong class="status abnormal">✗ {no}</strong>;
}

export function investigationPage(ctx: PageContext, v: InvestigationView): string {
  const { batch, verdict } = v;
  const number = encodeURIComponent(batch.number);
  const planned = new Set(batch.plan.steps.map((s) => s.id));
  // An event of a step the plan does not know (an older history's) goes with the batch as a whole.
  const all = v.runs.flatMap((r) =>
    r.events.map((e) => ({ ...e, stepId: e.stepId && planned.has(e.stepId) ? e.stepId : null, runNo: r.runNo })),
  );
  const pinned = all.filter((e) => e.pinned);
  const stepName = new Map(batch.plan.steps.map((s) => [s.id, `${s.number}. ${s.name}`]));
  const stepCheck = new Map(v.steps.map((s) => [s.stepId, s]));
  const groups: { id: string | null; title: string }[] = [
    { id: null, title: 'The batch as a whole' },
    ...batch.plan.steps.map((s) => ({ id: s.id, title: `${s.number}. ${s.name}` })),
  ];
  const multipleRuns = v.runs.length > 1;
  const eventLabel = (e: { eventId: number; runNo: number }) =>
    multipleRuns ? `run ${e.runNo}, event ${e.eventId}` : `event ${e.eventId}`;
  return page(
    `Investigation of ${batch.number}`,
    <article aria-labelledby="investigation-title">
      <h1 id="investigation-title">Investigation of batch {batch.number}</h1>
      <p>
        <a href={`/batches/${number}`}>The batch</a> · <a href={`/batches/${number}/review`}>Its review</a> ·{' '}
        <a href={`/api/batches/${number}/history?payloads=readable`}>The whole history (readable)</a> ·{' '}
        <a href={`/api/batches/${number}/history`}>The history for Temporal’s tools (JSON)</a>
      </p>
      <section aria-labelledby="verdict-title" class={verdict.verdict === 'pass' ? 'verdict' : 'verdict abnormal'}>
        <h2 id="verdict-title">
          Verdict: {verdict.verdict === 'pass' ? '✓ pass' : '✗ fail'}
          <span class="hint"> (judged now; this investigation is in the audit trail)</span>
        </h2>
        <ul>
          <li>
            <Check
              ok={verdict.deterministic}
              yes="The history replays against this Ampoule’s workflow code."
              no={`The workflow code does not reproduce the history${verdict.error ? `: ${verdict.error.message}` : ''}.`}
            />
          </li>
          <li>
            <Check
              ok={verdict.historyIntact}
              yes="The archived history still has the SHA-256 the record holds."
              no="The archived history no longer has the SHA-256 the record holds."
            />
          </li>
          <li>
            <Check
              ok={verdict.crossCheck.verdict === 'match'}
              yes={`The record matches the history entry for entry (${verdict.crossCheck.counts.match} entries).`}
              no={`The record does not match the history: ${Object.entries(verdict.crossCheck.counts)
                .filter(([k, n]) => k !== 'match' && n > 0)
                .map(([k, n]) => `${n} ${VERDICT_WORDS[k]}`)
                .join(', ')}.`}
            />
          </li>
        </ul>
        <p class="hint">
          {verdict.events} events in {verdict.runs.length} run{verdict.runs.length === 1 ? '' : 's'}, from the{' '}
          {verdict.source}; history SHA-256 <code>{verdict.historySha256}</code>; judged by the workflow code{' '}
          <code>{verdict.bundleSha256}</code> in {Math.round(verdict.durationMs)} ms.
        </p>
      </section>

      <section aria-labelledby="pinned-title">
        <h2 id="pinned-title">Not to be missed</h2>
        {pinned.length === 0 && v.deviations.length === 0 && verdict.crossCheck.mismatches.length === 0 ? (
          <p class="empty">No failure, hold, stop, deviation or mismatch.</p>
        ) : (
          <ul class="pinned">
            {pinned.map((e) => (
              <li data-pinned={e.pinned}>
                <span aria-hidden="true">⚠ </span>
                {e.pinned === 'failure' ? 'Failure' : e.pinned === 'hold' ? 'Hold or stop' : 'Command'} ·{' '}
                <a href={`#e${e.runNo}-${e.eventId}`}>{eventLabel(e)}</a>, {utcText(e.at)}
                {e.stepId ? ` · ${stepName.get(e.stepId) ?? e.stepId}` : ''}: {e.what}
              </li>
            ))}
            {v.deviations.map((d) => (
              <li data-pinned="deviation">
                <span aria-hidden="true">⚠ </span>
                Deviation <a href={`/deviations/${encodeURIComponent(d.number)}`}>{d.number}</a> ({d.state}): {d.title}
              </li>
            ))}
            {verdict.crossCheck.mismatches.map((m) => (
              <li data-pinned="mismatch">
                <span aria-hidden="true">✗ </span>
                Record entry {m.seq ?? '(none)'} ({m.kind}
                {m.stepId ? `, ${stepName.get(m.stepId) ?? m.stepId}` : ''}): {VERDICT_WORDS[m.verdict]}
                {m.fields ? ` — ${m.fields.join(', ')}` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">The history, step by step</h2>
        <p class="hint">
          {all.length} events told; {v.runs.reduce((n, r) => n + r.routine, 0)} routine ones (workflow tasks, the
          record’s writes as local activities, search attributes) are in the whole history.
        </p>
        {groups.map((g) => {
          const events = all.filter((e) => e.stepId === g.id);
          const check = stepCheck.get(g.id);
          if (events.length === 0 && !check) return null;
          return (
            <section class="timeline-step" data-timeline-step={g.id ?? 'batch'}>
              <h3>
                {g.title}
                {check && (
                  <span class="hint">
                    {' '}
                    — record{' '}
                    {check.verdict === 'match'
                      ? `✓ matches (${check.entries} entries)`
                      : `✗ ${check.mismatches} of ${check.entries} entries do not match`}
                  </span>
                )}
              </h3>
              <ol>
                {events.map((e) => (
                  <li id={`e${e.runNo}-${e.eventId}`}>
                    {e.pinned && <span aria-hidden="true">⚠ </span>}
                    <span class="hint">
                      {eventLabel(e)}, {utcText(e.at)}:
                    </span>{' '}
                    {e.what}
                  </li>
                ))}
              </ol>
            </section>
          );
        })}
      </section>
    </article>,
    ctx,
  );
}
