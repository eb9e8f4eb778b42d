/**
 * Deviations: the list (what is not closed first), and one deviation through its life — what raised it and where,
 * its severity and findings, and the step its state allows now for the user's roles: take it up (with a severity),
 * record findings, submit for approval, return (with a reason) or close, signed.
 */
import type { DeviationView } from '../../api/deviations/deviation-service';
import { utcText } from '../../domain/batch/record-text';
import { SEVERITIES } from '../../domain/batch/deviations';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';
import { SignatureDialog } from '../signature-dialog';

const STATE_WORDS: Record<string, string> = {
  open: 'Open',
  'under-investigation': 'Under investigation',
  'pending-approval': 'Pending approval',
  closed: 'Closed',
};

/** Deviations in a table, each linked to its page, its state in words (a symbol where it is not closed). */
export function DeviationTable({ deviations, caption }: { deviations: DeviationView[]; caption: string }) {
  return (
    <table class="queue">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Deviation</th>
          <th scope="col">What was found</th>
          <th scope="col">Severity</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {deviations.map((d) => (
          <tr data-deviation={d.number}>
            <td>
              <a href={`/deviations/${encodeURIComponent(d.number)}`}>{d.number}</a>
            </td>
            <td>{d.title}</td>
            <td>{d.severity ?? 'not classified'}</td>
            <td>{d.state === 'closed' ? 'Closed' : `⚠ ${STATE_WORDS[d.state]}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function deviationsPage(ctx: PageContext, deviations: DeviationView[]): string {
  const sorted = [...deviations].sort((a, b) => Number(a.state === 'closed') - Number(b.state === 'closed'));
  return page(
    'Deviations',
    <section aria-labelledby="deviations-title">
      <h1 id="deviations-title">Deviations</h1>
      {sorted.length === 0 ? (
        <p class="empty">No deviations.</p>
      ) : (
        <DeviationTable deviations={sorted} caption="Not closed first" />
      )}
    </section>,
    ctx,
  );
}

export function deviationPage(
  ctx: PageContext,
  d: DeviationView,
  o: { mayInvestigate: boolean; mayApprove: boolean; problem?: string; done?: string },
): string {
  const base = `/deviations/${encodeURIComponent(d.number)}`;
  const editable = d.state === 'open' || d.state === 'under-investigation';
  return page(
    d.number,
    <article aria-labelledby="deviation-title">
      <h1 id="deviation-title">Deviation {d.number}</h1>
      <Outcome done={o.done} problem={o.problem} />
      <dl class="facts">
        <dt>State</dt>
        <dd>{STATE_WORDS[d.state]}</dd>
        <dt>What was found</dt>
        <dd>{d.title}</dd>
        <dt>Batch and step</dt>
        <dd>
          <a href={`/batches/${encodeURIComponent(d.batchNumber)}`}>{d.batchNumber}</a>
          {d.stepId ? ` · ${d.stepId}` : ''}
          {d.unitCode ? ` · on ${d.unitCode}` : ''}
          {d.lots.length > 0 ? ` · lots ${d.lots.map((l) => l.lotNumber).join(', ')}` : ''}
        </dd>
        <dt>Raised</dt>
        <dd>
          {utcText(d.raisedAt)} ({d.category === 'limit-excursion' ? 'by the batch record' : d.category})
          {d.eventId !== null ? ` · history event ${d.eventId}` : ''}
        </dd>
        <dt>Description</dt>
        <dd>{d.description ?? '—'}</dd>
        <dt>Severity</dt>
        <dd>{d.severity ?? 'not classified'}</dd>
        <dt>Root cause</dt>
        <dd>{d.rootCause ?? '—'}</dd>
        <dt>Corrective action</dt>
        <dd>{d.correctiveAction ?? '—'}</dd>
        <dt>Preventive action</dt>
        <dd>{d.preventiveAction ?? '—'}</dd>
        {d.closeSignature && (
          <>
            <dt>Closed</dt>
            <dd>
              signed by {d.closeSignature.signedBy} ({d.closeSignature.username}), meaning {d.closeSignature.meaning},{' '}
              {utcText(d.closeSignature.signedAt)}
            </dd>
          </>
        )}
      </dl>
      {o.mayInvestigate && editable && (
        <form method="post" action={`${base}/${d.state === 'open' ? 'investigate' : 'submit'}`} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <h2>{d.state === 'open' ? 'Take it up' : 'Findings, then submit for approval'}</h2>
          <p>
            <label for="severity">Severity</label>
            <select id="severity" name="severity" required>
              <option value="">Choose…</option>
              {SEVERITIES.map((s) => (
                <option value={s} selected={d.severity === s}>
                  {s}
                </option>
              ))}
            </select>
          </p>
          {d.state === 'under-investigation' &&
            (
              [
                ['rootCause', 'Root cause', d.rootCause],
                ['correctiveAction', 'Corrective action', d.correctiveAction],
                ['preventiveAction', 'Preventive action', d.preventiveAction],
              ] as const
            ).map(([name, label, value]) => (
              <p>
                <label for={name}>{label}</label>
                <textarea id={name} name={name} required maxLength={5000}>
                  {value ?? ''}
                </textarea>
              </p>
            ))}
          <button type="submit" class="primary">
            {d.state === 'open' ? 'Take it up' : 'Submit for approval'}
          </button>
        </form>
      )}
      {o.mayApprove && d.state === 'pending-approval' && (
        <>
          <form method="post" action={`${base}/close`} class="entry">
            <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
            <h2>Close</h2>
            <SignatureDialog
              id="close-dialog"
              actor={ctx.actor}
              what={`The closing of deviation ${d.number}: its findings and what raised it, as they stand.`}
              meaning="approved"
              opener="Sign the close…"
            />
          </form>
          <form method="post" action={`${base}/return`} class="entry">
            <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
            <h2>Return to the investigation</h2>
            <p>
              <label for="return-reason">Reason</label>
              <input id="return-reason" name="reason" required maxLength={2000} />
            </p>
            <button type="submit">Return</button>
          </form>
        </>
      )}
    </article>,
    ctx,
  );
}
