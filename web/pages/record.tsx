/**
 * The batch record as a page: its integrity (the hash chain and its anchors), then every step in the recipe's
 * order with what the record holds of it — the same words and tables as the PDF a reviewer signs
 * (`domain/batch/record-blocks.ts`), values outside their limits marked in words — and the batch's own events.
 */
import type { SignatureManifestation } from '../../api/signatures/signature-service';
import type { BatchRecord } from '../../db/stores/batch-store';
import { stepDescription, stepEntryBlocks, type RecordBlock, type RecordEntry } from '../../domain/batch/record-blocks';
import { batchEventText, quantityText, utcText } from '../../domain/batch/record-text';
import { page, type PageContext } from '../layout';

export interface RecordView {
  batch: BatchRecord;
  chain: { ok: boolean; entries?: number; firstBreak?: unknown };
  entries: (RecordEntry<SignatureManifestation> & { hash: string })[];
}

function Block({ b }: { b: RecordBlock<SignatureManifestation> }) {
  if (b.kind === 'line')
    return b.alarm ? (
      <p class="status abnormal">
        <span aria-hidden="true">⚠ </span>
        {b.text}
      </p>
    ) : (
      <p>{b.text}</p>
    );
  if (b.kind === 'signature')
    return (
      <p class="signature">
        {b.label} — signed by {b.signature.signedBy} ({b.signature.username}), meaning: {b.signature.meaning},{' '}
        {utcText(b.signature.signedAt)}
        {b.signature.comment ? `. Comment: ${b.signature.comment}` : ''}
      </p>
    );
  return (
    <table class="queue record">
      <thead>
        <tr>
          {b.headers.map((h) => (
            <th scope="col">{h || 'Note'}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {b.rows.map((r, i) => (
          <tr class={b.outside[i] ? 'abnormal' : undefined}>
            {r.map((c, j) => (
              <td>
                {b.outside[i] && j === r.length - 1 && <span aria-hidden="true">⚠ </span>}
                {c}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function recordPage(ctx: PageContext, v: RecordView): string {
  const { batch } = v;
  const number = encodeURIComponent(batch.number);
  const events = v.entries.filter((e) => e.stepId === null);
  return page(
    `Record of ${batch.number}`,
    <article aria-labelledby="record-title">
      <h1 id="record-title">Batch record {batch.number}</h1>
      <p>
        <a href={`/api/batches/${number}/ebr.pdf`}>The record as a PDF</a> ·{' '}
        <a href={`/batches/${number}`}>The batch</a> · <a href={`/batches/${number}/review`}>Its review</a>
      </p>
      <dl class="facts">
        <dt>Product</dt>
        <dd>
          {batch.plan.product.name} ({batch.productCode})
        </dd>
        <dt>Recipe</dt>
        <dd>
          {batch.recipeCode} version {batch.recipeVersion}
        </dd>
        <dt>Size</dt>
        <dd>{quantityText(batch.batchSize, batch.batchUnit)}</dd>
        <dt>Status</dt>
        <dd>{batch.status}</dd>
        <dt>Integrity</dt>
        <dd>
          {v.chain.ok ? (
            `✓ the hash chain of ${v.entries.length} entries is whole and matches its anchors`
          ) : (
            <strong class="status abnormal">✗ the hash chain is broken or does not match its anchors</strong>
          )}
        </dd>
      </dl>
      <h2>Steps</h2>
      {batch.plan.steps.map((step) => {
        const mine = v.entries.filter((e) => e.stepId === step.id);
        return (
          <section class="record-step" data-record-step={step.id} aria-labelledby={`record-${step.id}`}>
            <h3 id={`record-${step.id}`}>
              {step.number}. {step.name}
            </h3>
            <p class="hint">{stepDescription(step, batch.units[step.unitProcedureId]?.code)}</p>
            {mine.length === 0 ? (
              <p class="hint">Not started.</p>
            ) : (
              mine.flatMap((e) => stepEntryBlocks(step, e, batch.units)).map((b) => <Block b={b} />)
            )}
          </section>
        );
      })}
      <h2>Batch events</h2>
      <table class="queue">
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Event</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr>
              <td>{utcText(e.occurredAt)}</td>
              <td>{batchEventText(e.kind, e.data as Record<string, unknown>)}</td>
              <td>{e.userName ?? 'Ampoule'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>,
    ctx,
  );
}
