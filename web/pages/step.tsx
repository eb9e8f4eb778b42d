/**
 * A step of a batch, as the operator at the line works it: what batch, product, recipe version and step this is
 * (on every step page), the instruction, the typed fields with their units and limits, the lot scan of a material
 * step, an equipment phase's state; and, when the step awaits the user, the entry form whose "Sign…" button opens
 * the signature dialog — what is signed, the meaning, the printed name, the password again, a comment. What the
 * workflow's validators say of an entry is shown next to the field it is about (the messages name the field).
 */
import type { BatchRecord } from '../../db/stores/batch-store';
import type { LiveStep } from '../../domain/batch/types';
import { limitsText, unitText } from '../../domain/batch/record-text';
import type { PlanField, PlanStep } from '../../domain/recipe/plan';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';
import { ProductAndRecipe } from './batches';
import { SignatureDialog } from '../signature-dialog';

export interface StepView {
  batch: BatchRecord;
  step: PlanStep;
  live: LiveStep | undefined;
  /** What the user may do now. */
  can: 'complete' | 'verify' | null;
  /** The meaning the signature of this action carries. */
  meaning: string;
  /** Whether the user may report an observation (raise a deviation). */
  mayRaise: boolean;
  /** What the user entered, when the page comes back with problems. */
  entered?: Record<string, string>;
  problems?: string[];
  /** Said when the entry was recorded. */
  done?: string;
}

const STATUS_WORDS: Record<string, string> = {
  pending: 'Not ready yet',
  active: 'Running',
  'awaiting-input': 'Waiting for an entry',
  'awaiting-verification': 'Waiting for verification',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function stepPage(ctx: PageContext, v: StepView): string {
  const { batch, step } = v;
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  const general = (v.problems ?? []).filter((p) => !fields.some((f) => mentions(p, f)));
  const action = `/batches/${encodeURIComponent(batch.number)}/steps/${encodeURIComponent(step.id)}/${v.can ?? 'complete'}`;
  return page(
    `${batch.number} · step ${step.number}`,
    <article aria-labelledby="step-title">
      <dl class="step-id">
        <div>
          <dt>Batch</dt>
          <dd>{batch.number}</dd>
        </div>
        <ProductAndRecipe batch={batch} />
      </dl>
      <h1 id="step-title">
        Step {step.number}: {step.name}
      </h1>
      <p class="status-text">
        Status: <strong>{STATUS_WORDS[v.live?.status ?? 'pending'] ?? v.live?.status}</strong>
        {v.live?.equipment && (
          <span>
            {' '}
            — {v.live.equipment.unit} {v.live.equipment.phase}: {v.live.equipment.state}
          </span>
        )}
      </p>
      <Outcome done={v.done} />
      <p>
        <a href={`/batches/${encodeURIComponent(batch.number)}?report=${encodeURIComponent(step.id)}#report`}>
          Report an observation on this step
        </a>
      </p>
      {general.length > 0 && (
        <div class="error" role="alert" id="step-problems">
          <p>
            <span aria-hidden="true">⚠ </span>Not recorded:
          </p>
          <ul>
            {general.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {step.kind === 'instruction' && <p class="instruction">{step.text}</p>}
      {step.kind === 'approval' && <p class="instruction">{step.text}</p>}
      {step.instructions && <p class="instruction">{step.instructions}</p>}
      {v.can ? (
        <form method="post" action={action} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          {v.can === 'complete' && fields.map((f) => <Field field={f} v={v} />)}
          {v.can === 'complete' && step.kind === 'material' && <LotScan step={step} v={v} />}
          {v.can === 'complete' && (
            <p>
              <label for="comment">Comment (optional)</label>
              <textarea id="comment" name="comment" maxLength={2000}>
                {v.entered?.comment ?? ''}
              </textarea>
            </p>
          )}
          <StepSignature ctx={ctx} v={v} />
        </form>
      ) : (
        <p class="hint">
          {v.live?.awaiting
            ? `This step waits for ${v.live.awaiting.what === 'input' ? 'an entry' : 'a verification'} by ${v.live.awaiting.roles.join(' or ')}${v.live.awaiting.notBy ? ', not by whoever performed it' : ''}.`
            : 'Nothing to do here now.'}{' '}
          <a href="/work-queue">Back to the work queue</a>
        </p>
      )}
    </article>,
    ctx,
  );
}

/** Whether a validator message is about this field: the messages start with the field's label in quotes. */
function mentions(problem: string, f: PlanField): boolean {
  return problem.startsWith(`"${f.label}"`);
}

function Field({ field: f, v }: { field: PlanField; v: StepView }) {
  const id = `field-${f.id}`;
  const problems = (v.problems ?? []).filter((p) => mentions(p, f));
  const errorId = problems.length > 0 ? `${id}-problems` : undefined;
  const entered = v.entered?.[`value.${f.id}`] ?? '';
  // Asked for when the validator says so (not required by the browser: a corrected value needs none).
  const deviationAsked =
    problems.some((p) => p.includes('a deviation needs a comment')) || !!v.entered?.[`deviation.${f.id}`];
  return (
    <div class="field">
      {f.type === 'passFail' ? (
        <fieldset aria-describedby={errorId}>
          <legend>{f.label}</legend>
          <label class="choice">
            <input
              type="radio"
              name={`value.${f.id}`}
              value="pass"
              checked={entered === 'pass'}
              required={f.required}
            />{' '}
            Pass
          </label>
          <label class="choice">
            <input type="radio" name={`value.${f.id}`} value="fail" checked={entered === 'fail'} /> Fail
          </label>
        </fieldset>
      ) : (
        <>
          <label for={id}>
            {f.label}
            {f.type === 'number' && unitText(f.unit) && <span class="unit"> ({unitText(f.unit)})</span>}
          </label>
          {f.type === 'number' && (
            <span class="limits" id={`${id}-limits`}>
              {limitsText(f.low, f.high) ? `Limits ${limitsText(f.low, f.high)}` : 'No limits'}
              {f.target !== undefined ? ` · target ${f.target}` : ''}
            </span>
          )}
          {f.type === 'choice' ? (
            <select id={id} name={`value.${f.id}`} required={f.required} aria-describedby={errorId}>
              <option value="">Choose…</option>
              {f.options.map((o) => (
                <option value={o} selected={entered === o}>
                  {o}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={id}
              name={`value.${f.id}`}
              value={entered}
              required={f.required}
              inputMode={f.type === 'number' ? 'decimal' : undefined}
              maxLength={f.type === 'text' ? f.maxLength : undefined}
              aria-invalid={problems.length > 0 ? 'true' : undefined}
              aria-describedby={
                [f.type === 'number' ? `${id}-limits` : '', errorId ?? ''].filter(Boolean).join(' ') || undefined
              }
            />
          )}
        </>
      )}
      {problems.length > 0 && (
        <ul class="error" id={errorId}>
          {problems.map((p) => (
            <li>
              <span aria-hidden="true">⚠ </span>
              {p}
            </li>
          ))}
        </ul>
      )}
      {f.type === 'number' && deviationAsked && (
        <p>
          <label for={`${id}-deviation`}>Deviation comment for {f.label}</label>
          <textarea id={`${id}-deviation`} name={`deviation.${f.id}`} maxLength={2000}>
            {v.entered?.[`deviation.${f.id}`] ?? ''}
          </textarea>
        </p>
      )}
    </div>
  );
}

function LotScan({ step, v }: { step: Extract<PlanStep, { kind: 'material' }>; v: StepView }) {
  const unit = unitText(step.quantity.unit);
  return (
    <fieldset class="lot">
      <legend>
        Lot of {step.material}: {step.quantity.value} {unit} (accepted {step.acceptance.low}–{step.acceptance.high}{' '}
        {unit})
      </legend>
      <p>
        <label for="lot-scan">Scan the lot label (or type the lot number)</label>
        <input id="lot-scan" name="lot" required autocomplete="off" data-scan="gs1" value={v.entered?.lot ?? ''} />
      </p>
      <p>
        <label for="lot-quantity">Quantity used ({unit})</label>
        <input id="lot-quantity" name="quantity" required inputMode="decimal" value={v.entered?.quantity ?? ''} />
      </p>
      {v.entered?.['deviation.quantity'] !== undefined ||
      (v.problems ?? []).some((p) => p.includes(`of ${step.material} is outside`)) ? (
        <p>
          <label for="lot-deviation">Deviation comment for the quantity</label>
          <textarea id="lot-deviation" name="deviation.quantity" maxLength={2000}>
            {v.entered?.['deviation.quantity'] ?? ''}
          </textarea>
        </p>
      ) : null}
    </fieldset>
  );
}

function StepSignature({ ctx, v }: { ctx: PageContext; v: StepView }) {
  const what =
    v.can === 'verify'
      ? `The verification of step ${v.step.number} (${v.step.name}) of batch ${v.batch.number}: you confirm it was done as recorded.`
      : `Your entry for step ${v.step.number} (${v.step.name}) of batch ${v.batch.number}, as filled in above.`;
  return (
    <SignatureDialog
      id="signature-dialog"
      actor={ctx.actor}
      what={what}
      meaning={v.meaning}
      opener={v.can === 'verify' ? 'Verify and sign…' : 'Sign and record…'}
    />
  );
}
