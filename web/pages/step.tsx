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
import type { DispensingView } from '../../api/batches/dispensing-service';
import type { ScaleView } from '../../api/scales/scale-service';
import type { ScaleReading } from '../../domain/weighing';

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
  /** A weighed step's dispensing: its window and the scale held for it. */
  dispensing?: DispensingView;
  /** The scales a dispensing may take (shown while none is held). */
  scales?: ScaleView[];
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
      {v.can === 'complete' && v.dispensing && <DispensingPanel ctx={ctx} v={v} d={v.dispensing} />}
      {v.can ? (
        <form method="post" action={action} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          {v.can === 'complete' && fields.map((f) => <Field field={f} v={v} />)}
          {v.can === 'complete' && step.kind === 'material' && !step.weighed && <LotScan step={step} v={v} />}
          {v.can === 'complete' && step.kind === 'material' && step.weighed && <DispenseScan step={step} v={v} />}
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
      <LotField v={v} />
      <p>
        <label for="lot-quantity">Quantity used ({unit})</label>
        <input id="lot-quantity" name="quantity" required inputMode="decimal" value={v.entered?.quantity ?? ''} />
      </p>
      <QuantityDeviation step={step} v={v} />
    </fieldset>
  );
}

/**
 * The scale side of a weighed step: take a scale (the finest usable one, or one chosen), then its live weight —
 * net, stable or in motion, against the step's window — and its Tare button. The weight is never typed here.
 */
function DispensingPanel({ ctx, v, d }: { ctx: PageContext; v: StepView; d: DispensingView }) {
  const path = `/batches/${encodeURIComponent(v.batch.number)}/steps/${encodeURIComponent(v.step.id)}`;
  const unit = unitText(d.target.unit);
  return (
    <section class="dispensing" aria-labelledby="dispensing-title">
      <h2 id="dispensing-title">
        Dispense {d.target.value} {unit} of {d.material}
      </h2>
      <p>
        Accepted {d.acceptance.low}–{d.acceptance.high} {unit}. The weight is taken from the scale, stable.
      </p>
      {d.scale ? (
        <>
          <p>
            Scale <strong>{d.scale.code}</strong> ({d.scale.name}), calibrated until {d.scale.calibrationDue}
            {d.scale.problem ? <span class="error"> — {d.scale.problem}</span> : ', checked today'}.
          </p>
          <div
            id="scale-live"
            class="scale-live"
            aria-live="polite"
            hx-get={`/scales/${encodeURIComponent(d.scale.code)}/live?batch=${encodeURIComponent(v.batch.number)}&step=${encodeURIComponent(v.step.id)}`}
            hx-trigger="load, every 500ms"
            hx-headers='{"X-Ampoule-Live": "1"}'
          >
            Reading the scale…
          </div>
          <button
            type="button"
            class="secondary"
            hx-post={`/scales/${encodeURIComponent(d.scale.code)}/tare?batch=${encodeURIComponent(v.batch.number)}&step=${encodeURIComponent(v.step.id)}`}
            hx-target="#scale-live"
          >
            Tare
          </button>
        </>
      ) : (
        <form method="post" action={`${path}/dispensing`}>
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="scale-choice">Scale</label>
            <select id="scale-choice" name="scale">
              <option value="">The finest usable scale</option>
              {(v.scales ?? []).map((sc) => (
                <option value={sc.code} disabled={!sc.usable}>
                  {sc.code} — {sc.name}
                  {sc.usable ? '' : ` (${sc.problem})`}
                </option>
              ))}
            </select>
          </p>
          <button type="submit">Take the scale</button>
        </form>
      )}
    </section>
  );
}

/** The scale's weight now, against the step's window: what the live panel shows (an htmx fragment). */
export function ScaleLive({
  reading,
  refusal,
  window,
  said,
}: {
  reading: ScaleReading | null;
  refusal: string | null;
  window: { target: number; low: number; high: number; unit: string } | null;
  said?: string;
}) {
  if (!reading)
    return (
      <p class="error" role="alert">
        <span aria-hidden="true">⚠ </span>
        {refusal}
      </p>
    );
  const unit = unitText(reading.unit);
  const place = !window
    ? ''
    : reading.net < window.low
      ? `below the window (${window.low}–${window.high} ${unit})`
      : reading.net > window.high
        ? `above the window (${window.low}–${window.high} ${unit})`
        : `within the window (${window.low}–${window.high} ${unit})`;
  return (
    <div class="scale-reading">
      <p class="weight">
        <span class="net">{reading.net}</span> {unit} net
      </p>
      <p class="stability">
        <span aria-hidden="true">{reading.stable ? '● ' : '○ '}</span>
        {reading.stable ? 'Stable' : 'In motion'}
        {place && ` · ${place}`}
      </p>
      {window && (
        <meter
          min={0}
          max={Number((window.high * 1.25).toPrecision(6))}
          low={window.low}
          high={window.high}
          optimum={window.target}
          value={Math.max(0, reading.net)}
          aria-label={`Net weight against the target ${window.target} ${unit}`}
        >
          {reading.net} {unit}
        </meter>
      )}
      <p class="hint">
        Gross {reading.gross} {unit}, tare {reading.tare} {unit} · {reading.quality} · {reading.status}
      </p>
      {said && <p role="status">{said}</p>}
      {refusal && reading.stable && (
        <p class="error">
          <span aria-hidden="true">⚠ </span>
          {refusal}
        </p>
      )}
    </div>
  );
}

/** What a weighed step's entry carries: the source lot and the container, scanned; the manual way where the scale is down. */
function DispenseScan({ step, v }: { step: Extract<PlanStep, { kind: 'material' }>; v: StepView }) {
  const manualAsked = !!v.entered?.['manual.quantity'];
  return (
    <fieldset class="lot">
      <legend>Source lot and container of {step.material}</legend>
      <LotField v={v} />
      <p>
        <label for="container-scan">Scan the container</label>
        <input id="container-scan" name="container" required autocomplete="off" value={v.entered?.container ?? ''} />
      </p>
      <QuantityDeviation step={step} v={v} />
      <details open={manualAsked}>
        <summary>The scale is down: weigh manually</summary>
        <p class="hint">A typed weight is marked manual in the record and waits for a second person's verification.</p>
        <p>
          <label for="manual-quantity">Weight (typed)</label>
          <input
            id="manual-quantity"
            name="manual.quantity"
            inputMode="decimal"
            value={v.entered?.['manual.quantity'] ?? ''}
          />
        </p>
        <p>
          <label for="manual-unit">Unit</label>
          <select id="manual-unit" name="manual.unit">
            {['kg', 'g', 'mg'].map((u) => (
              <option value={u} selected={(v.entered?.['manual.unit'] ?? step.quantity.unit) === u}>
                {u}
              </option>
            ))}
          </select>
        </p>
        <p>
          <label for="manual-reason">Why the scale could not be used</label>
          <textarea id="manual-reason" name="manual.reason" maxLength={2000}>
            {v.entered?.['manual.reason'] ?? ''}
          </textarea>
        </p>
      </details>
    </fieldset>
  );
}

/** The source lot, scanned (a GS1 label) or typed. */
function LotField({ v }: { v: StepView }) {
  return (
    <p>
      <label for="lot-scan">Scan the lot label (or type the lot number)</label>
      <input id="lot-scan" name="lot" required autocomplete="off" data-scan="gs1" value={v.entered?.lot ?? ''} />
    </p>
  );
}

/** A comment for a quantity outside the step's window, asked for once the validator says it is (or kept). */
function QuantityDeviation({ step, v }: { step: Extract<PlanStep, { kind: 'material' }>; v: StepView }) {
  const asked =
    v.entered?.['deviation.quantity'] !== undefined ||
    (v.problems ?? []).some((p) => p.includes(`of ${step.material} is outside`));
  if (!asked) return null;
  return (
    <p>
      <label for="lot-deviation">Deviation comment for the quantity</label>
      <textarea id="lot-deviation" name="deviation.quantity" maxLength={2000}>
        {v.entered?.['deviation.quantity'] ?? ''}
      </textarea>
    </p>
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
