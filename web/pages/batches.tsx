/**
 * Batches: the planner's launch (an effective recipe, a size, a planned start) and the list with status and
 * progress; and one batch's overview — unit procedure → operation → phase with each step's state (an equipment
 * phase's ISA-88 state as its controller reports it), and only the commands the batch takes now (Hold, Restart,
 * Stop, Abort), each with the reason it needs.
 */
import type { BatchRecord, BatchStepRecord } from '../../db/stores/batch-store';
import { afterCommand, type PhaseState } from '../../domain/isa88';
import type { BatchCommand, LiveState } from '../../domain/batch/types';
import { quantityText, utcText } from '../../domain/batch/record-text';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

export interface BatchRow {
  batch: BatchRecord;
  steps: BatchStepRecord[];
}

const STATUS_WORDS: Record<string, string> = {
  created: 'Created',
  running: 'Running',
  held: 'Held',
  complete: 'Complete',
  stopped: 'Stopped',
  aborted: 'Aborted',
  reviewed: 'Reviewed',
  released: 'Released',
  rejected: 'Rejected',
  pending: 'Not ready yet',
  active: 'Active',
  'awaiting-input': 'Waiting for an entry',
  'awaiting-verification': 'Waiting for verification',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A status in words, with a symbol for the abnormal ones (never colour alone). */
function Status({ status }: { status: string }) {
  const abnormal = ['held', 'stopped', 'aborted', 'rejected', 'failed'].includes(status);
  return (
    <span class={abnormal ? 'status abnormal' : 'status'}>
      {abnormal && <span aria-hidden="true">⚠ </span>}
      {STATUS_WORDS[status] ?? status}
    </span>
  );
}

export function batchesPage(
  ctx: PageContext,
  o: {
    rows: BatchRow[];
    recipes?: { code: string; name: string; version: number }[];
    /** Production orders released to the floor (for a planner). */
    orders?: {
      number: string;
      product: string;
      quantity: number;
      unit: string;
      recipe: string | null;
      requestedStart: Date | null;
    }[];
    problem?: string;
    entered?: Record<string, string>;
  },
): string {
  return page(
    'Batches',
    <section aria-labelledby="batches-title">
      <h1 id="batches-title">Batches</h1>
      {o.orders && o.orders.length > 0 && (
        <form method="post" action="/batches" class="entry launch" aria-labelledby="order-launch-title">
          <h2 id="order-launch-title">Launch a released production order</h2>
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="launch-order">Order (its recipe and quantity)</label>
            <select id="launch-order" name="order" required>
              {o.orders.map((r) => (
                <option value={r.number} selected={o.entered?.order === r.number}>
                  {r.number} — {quantityText(r.quantity, r.unit)} {r.product}
                  {r.recipe ? ` by ${r.recipe}` : ''}
                  {r.requestedStart ? `, from ${utcText(r.requestedStart)}` : ''}
                </option>
              ))}
            </select>
          </p>
          <p>
            <label for="order-launch-reason">Reason (optional)</label>
            <input id="order-launch-reason" name="reason" maxLength={2000} />
          </p>
          <button type="submit" class="primary">
            Launch the order
          </button>
        </form>
      )}
      {o.recipes && (
        <form method="post" action="/batches" class="entry launch" aria-labelledby="launch-title">
          <h2 id="launch-title">Launch a batch</h2>
          <Outcome problem={o.problem} />
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="launch-recipe">Recipe (effective version)</label>
            <select id="launch-recipe" name="recipe" required>
              {o.recipes.map((r) => (
                <option value={r.code} selected={o.entered?.recipe === r.code}>
                  {r.code} v{r.version} — {r.name}
                </option>
              ))}
            </select>
          </p>
          <p>
            <label for="launch-size">Batch size (in the recipe’s unit)</label>
            <input id="launch-size" name="batchSize" required inputMode="decimal" value={o.entered?.batchSize ?? ''} />
          </p>
          <p>
            <label for="launch-start">Planned start (UTC, optional)</label>
            <input id="launch-start" name="plannedStart" type="datetime-local" value={o.entered?.plannedStart ?? ''} />
          </p>
          <p>
            <label for="launch-reason">Reason (optional)</label>
            <input id="launch-reason" name="reason" maxLength={2000} value={o.entered?.reason ?? ''} />
          </p>
          <button type="submit" class="primary">
            Launch
          </button>
        </form>
      )}
      <table class="queue">
        <caption>Latest batches first</caption>
        <thead>
          <tr>
            <th scope="col">Batch</th>
            <th scope="col">Product · recipe</th>
            <th scope="col">Size</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Started (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {o.rows.map(({ batch: b, steps }) => (
            <tr data-batch={b.number}>
              <td>
                <a href={`/batches/${encodeURIComponent(b.number)}`}>{b.number}</a>
              </td>
              <td>
                {b.productCode} · {b.recipeCode} v{b.recipeVersion}
              </td>
              <td>{quantityText(b.batchSize, b.batchUnit)}</td>
              <td>
                <Status status={b.status} />
              </td>
              <td>
                {steps.filter((s) => s.status === 'done').length} of {steps.length} steps done
              </td>
              <td>{utcText(b.startedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>,
    ctx,
  );
}

/** What a batch makes and from which recipe version: the facts every batch and step page starts with. */
export function ProductAndRecipe({ batch }: { batch: BatchRecord }) {
  return (
    <>
      <div>
        <dt>Product</dt>
        <dd>
          {batch.plan.product.name} ({batch.productCode})
        </dd>
      </div>
      <div>
        <dt>Recipe</dt>
        <dd>
          {batch.recipeCode} version {batch.recipeVersion}
        </dd>
      </div>
    </>
  );
}

/** The commands the batch takes in its state now (the ISA-88 table the workflow checks them against). */
export function commandsNow(status: string): BatchCommand[] {
  const from: PhaseState | undefined = status === 'running' ? 'running' : status === 'held' ? 'held' : undefined;
  if (!from) return [];
  return (['hold', 'restart', 'stop', 'abort'] as const).filter((c) => afterCommand(from, c) !== undefined);
}

export function batchPage(
  ctx: PageContext,
  o: {
    batch: BatchRecord;
    live: LiveState;
    mayCommand: boolean;
    mayInvestigate: boolean;
    mayRaise: boolean;
    /** The step an observation is reported on (the step page's link), preselected. */
    reportStep?: string;
    /** What was typed into a report that was refused. */
    reported?: { title?: string; description?: string };
    problem?: string;
    done?: string;
  },
): string {
  const { batch, live } = o;
  const stepOf = new Map(batch.plan.steps.map((s) => [s.id, s]));
  const liveOf = new Map(live.steps.map((s) => [s.id, s]));
  const commands = o.mayCommand ? commandsNow(live.status) : [];
  // A phase its controller held (a fault) while the batch runs: nothing moves until someone clears it.
  const faulted =
    live.status === 'running'
      ? live.steps.filter((s) => s.status === 'active' && s.equipment?.state === 'held').map((s) => s.equipment!)
      : [];
  return page(
    `Batch ${batch.number}`,
    <article aria-labelledby="batch-title">
      <h1 id="batch-title">Batch {batch.number}</h1>
      <dl class="step-id">
        <ProductAndRecipe batch={batch} />
        <div>
          <dt>Size</dt>
          <dd>{quantityText(batch.batchSize, batch.batchUnit)}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <Status status={live.status} />
          </dd>
        </div>
      </dl>
      <p>
        <a href={`/batches/${encodeURIComponent(batch.number)}/record`}>The batch record</a> ·{' '}
        <a href={`/batches/${encodeURIComponent(batch.number)}/review`}>Review by exception, the record and its PDF</a>
        {o.mayInvestigate && (
          <>
            {' · '}
            <a href={`/batches/${encodeURIComponent(batch.number)}/investigation`}>
              Investigation: the history, replayed
            </a>
          </>
        )}
      </p>
      <Outcome done={o.done} problem={o.problem} />
      {live.steps
        .filter((st) => st.equipmentProblem)
        .map((st) => (
          <p class="error" role="alert">
            ⚠ Step {st.number}, {st.name}: its equipment cannot be reached (attempt {st.equipmentProblem!.attempt}) —{' '}
            {st.equipmentProblem!.message}
          </p>
        ))}
      {faulted.map((e) => (
        <p class="error" role="alert">
          ⚠ {e.phase} on {e.unit} is held by its controller (since {e.since}): check the unit, then hold the batch and
          restart it.
        </p>
      ))}
      {commands.length > 0 && (
        <form method="post" action={`/batches/${encodeURIComponent(batch.number)}/commands`} class="entry commands">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="command-reason">Reason for the command</label>
            <input id="command-reason" name="reason" required maxLength={2000} />
          </p>
          <p class="actions">
            {commands.map((c) => (
              <button type="submit" name="command" value={c}>
                {c.charAt(0).toUpperCase() + c.slice(1)}
              </button>
            ))}
          </p>
        </form>
      )}
      {o.mayRaise && (
        <form
          method="post"
          action={`/batches/${encodeURIComponent(batch.number)}/deviations`}
          class="entry"
          id="report"
          aria-labelledby="report-title"
        >
          <h2 id="report-title">Report an observation (a deviation)</h2>
          <p class="hint">What the record cannot see: it is raised Open, for QA to take up.</p>
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="report-step">Where</label>
            <select id="report-step" name="step">
              <option value="">the batch as a whole</option>
              {batch.plan.steps.map((s) => (
                <option value={s.id} selected={o.reportStep === s.id}>
                  {s.number}. {s.name}
                </option>
              ))}
            </select>
          </p>
          <p>
            <label for="report-title-field">What was observed</label>
            <input id="report-title-field" name="title" required maxLength={500} value={o.reported?.title ?? ''} />
          </p>
          <p>
            <label for="report-description">Description (optional)</label>
            <textarea id="report-description" name="description" maxLength={5000}>
              {o.reported?.description ?? ''}
            </textarea>
          </p>
          <button type="submit">Report</button>
        </form>
      )}
      <h2>Procedure</h2>
      <ol class="tree">
        {batch.plan.stages.flatMap((stage) =>
          stage.unitProcedures.map((up) => {
            const operations = new Map<string, { name: string; steps: string[] }>();
            for (const id of up.steps) {
              const op = stepOf.get(id)!.operation;
              if (!operations.has(op.id)) operations.set(op.id, { name: op.name, steps: [] });
              operations.get(op.id)!.steps.push(id);
            }
            return (
              <li>
                <strong>{up.name}</strong>{' '}
                <span class="hint">(unit procedure on {batch.units[up.id]?.code ?? '—'})</span>
                <ol>
                  {[...operations.values()].map((op) => (
                    <li>
                      {op.name} <span class="hint">(operation)</span>
                      <ol>
                        {op.steps.map((id) => {
                          const s = stepOf.get(id)!;
                          const l = liveOf.get(id);
                          return (
                            <li data-step={id}>
                              <a href={`/batches/${encodeURIComponent(batch.number)}/steps/${encodeURIComponent(id)}`}>
                                {s.number}. {s.name}
                              </a>{' '}
                              — <Status status={l?.status ?? 'pending'} />
                              {l?.equipment && (
                                <span>
                                  {' '}
                                  · {l.equipment.phase} on {l.equipment.unit}: {l.equipment.state}
                                </span>
                              )}
                            </li>
                          );
                        })}
                      </ol>
                    </li>
                  ))}
                </ol>
              </li>
            );
          }),
        )}
      </ol>
    </article>,
    ctx,
  );
}
