/**
 * QA's review by exception of a batch: what to look at (deviations with their state, failed steps, commands,
 * comments, late entries, interrupted phases, the yield, the record's integrity), the investigation's verdicts
 * (the archived history replayed and the record held against it), the batch record as QA signs it (its PDF), and
 * the disposition the batch's status allows now — review, release or reject — each signed in its dialog.
 */
import type { BatchRecordService } from '../../api/batches/record-service';
import { DISPOSITIONS, type Disposition } from '../../api/batches/disposition-service';
import type { DeviationView } from '../../api/deviations/deviation-service';
import type { SignatureManifestation } from '../../api/signatures/signature-service';
import { utcText } from '../../domain/batch/record-text';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';
import { DeviationTable } from './deviations';
import { SignatureDialog } from '../signature-dialog';

type Report = Awaited<ReturnType<BatchRecordService['reviewReport']>>;

export interface ReviewView {
  report: Report;
  status: string;
  deviations: DeviationView[];
  /** For QA: the investigation's verdict, or why there is none. */
  investigation?: { verdict: 'pass' | 'fail'; text: string } | { unavailable: string };
  signatures: SignatureManifestation[];
  mayDispose: boolean;
  problem?: string;
  done?: string;
}

/** Which dispositions a batch's status allows now: the table the disposition itself enforces. */
function dispositionsNow(status: string): Disposition[] {
  return (Object.keys(DISPOSITIONS) as Disposition[]).filter((d) =>
    (DISPOSITIONS[d].from as readonly string[]).includes(status),
  );
}

const MEANING = { review: 'reviewed', release: 'released', reject: 'rejected' } as const;

export function reviewPage(ctx: PageContext, v: ReviewView): string {
  const { report: r } = v;
  const number = r.batch.number;
  const base = `/batches/${encodeURIComponent(number)}`;
  const actions = v.mayDispose ? dispositionsNow(v.status) : [];
  const exceptions: [string, number][] = [
    ['Deviations', v.deviations.length],
    ['Failed steps', r.failedSteps.length],
    ['Batch commands', r.commands.length],
    ['Comments', r.comments.length],
    ['Late entries', r.lateEntries.length],
    ['Interrupted equipment phases', r.interruptedPhases.length],
  ];
  return page(
    `Review ${number}`,
    <article aria-labelledby="review-title">
      <h1 id="review-title">Review of batch {number}</h1>
      <p>
        Status: <strong>{v.status}</strong> · <a href={`${base}/record`}>The batch record</a> ·{' '}
        <a href={`/api/batches/${encodeURIComponent(number)}/ebr.pdf`}>The batch record (PDF)</a> ·{' '}
        <a href={base}>The batch</a>
        {v.investigation && (
          <>
            {' · '}
            <a href={`${base}/investigation`}>The investigation: its timeline by step</a>
          </>
        )}
      </p>
      <Outcome done={v.done} problem={v.problem} />
      <h2>Integrity and investigation</h2>
      <ul>
        <li>
          {r.chain.ok
            ? 'The record’s hash chain is whole.'
            : '⚠ The record’s hash chain is NOT whole or no longer matches its anchors.'}
        </li>
        {v.investigation &&
          ('unavailable' in v.investigation ? (
            <li>⚠ Investigation not available: {v.investigation.unavailable}</li>
          ) : (
            <li>
              {v.investigation.verdict === 'pass' ? 'Investigation passed: ' : '⚠ Investigation FAILED: '}
              {v.investigation.text}
            </li>
          ))}
      </ul>
      <h2>Exceptions</h2>
      <table class="queue">
        <caption class="visually-hidden">How many of each exception</caption>
        <tbody>
          {exceptions.map(([what, n]) => (
            <tr>
              <th scope="row">{what}</th>
              <td>
                {n === 0 ? 'none' : `${n}${n > 0 && what !== 'Batch commands' && what !== 'Comments' ? ' ⚠' : ''}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {v.deviations.length > 0 && (
        <DeviationTable deviations={v.deviations} caption="Deviations (a release waits until each is closed)" />
      )}
      {v.signatures.length > 0 && (
        <>
          <h2>QA’s signatures</h2>
          <ul>
            {v.signatures.map((s) => (
              <li>
                {s.meaning}: {s.signedBy} ({s.username}), {utcText(s.signedAt)}
                {s.comment ? ` — ${s.comment}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
      {actions.map((a) => (
        <form method="post" action={`${base}/${a}`} class="entry disposition">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <h2>{a === 'review' ? 'Review' : a === 'release' ? 'Release' : 'Reject'}</h2>
          {a === 'review' && (
            <label class="choice">
              <input type="checkbox" name="auditTrailReviewed" value="yes" required /> I reviewed the batch’s audit
              trail
            </label>
          )}
          {a === 'reject' && (
            <p>
              <label for="reject-reason">Reason for the rejection</label>
              <input id="reject-reason" name="reason" required maxLength={2000} />
            </p>
          )}
          <SignatureDialog
            id={`${a}-dialog`}
            actor={ctx.actor}
            what={`The ${a === 'review' ? 'review' : a === 'release' ? 'release' : 'rejection'} of batch ${number}, with the record as it stands${a === 'review' ? ' and its audit trail reviewed' : ''}.`}
            meaning={MEANING[a]}
            opener={a === 'review' ? 'Sign the review…' : a === 'release' ? 'Sign the release…' : 'Sign the rejection…'}
          />
        </form>
      ))}
    </article>,
    ctx,
  );
}
