/**
 * Recipes: the list (each recipe's versions and which is effective) with the import of a recipe file; one version
 * — its procedure tree (unit procedure → operation → phase, with what each phase does and its limits), its
 * signatures and whether they still cover it, and the lifecycle steps its status allows now for the user's roles
 * (submit, approve and reject signed; make effective, retire and a new version with a reason); and the diff
 * between two versions, as a reviewer reads it.
 */
import type { RecipeView, VersionView } from '../../api/recipes/recipe-service';
import { limitsText, quantityText, unitText, utcText } from '../../domain/batch/record-text';
import type { RecipeDefinition, Phase, DataField, NumericParameter } from '../../domain/recipe/definition';
import type { RecipeChange } from '../../domain/recipe/diff';
import { transition, type RecipeStatus } from '../../domain/recipe/lifecycle';
import { RECIPE_STEPS, type RecipeStep } from '../../api/recipes/recipe-routes';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';
import { SignatureDialog } from '../signature-dialog';

const STATUS_WORDS: Record<RecipeStatus, string> = {
  draft: 'Draft',
  'in-review': 'In review',
  approved: 'Approved',
  effective: 'Effective',
  superseded: 'Superseded',
  retired: 'Retired',
};

const recipePath = (code: string) => `/recipes/${encodeURIComponent(code)}`;
const versionPath = (code: string, v: number) => `${recipePath(code)}/versions/${v}`;

export function recipesPage(
  ctx: PageContext,
  o: { recipes: RecipeView[]; mayAuthor: boolean; problem?: string; entered?: { file?: string; reason?: string } },
): string {
  return page(
    'Recipes',
    <section aria-labelledby="recipes-title">
      <h1 id="recipes-title">Recipes</h1>
      <table class="queue">
        <caption>Master recipes and their versions</caption>
        <thead>
          <tr>
            <th scope="col">Recipe</th>
            <th scope="col">Name</th>
            <th scope="col">Effective version</th>
            <th scope="col">Versions</th>
          </tr>
        </thead>
        <tbody>
          {o.recipes.map((r) => (
            <tr data-recipe={r.code}>
              <td>
                <a href={recipePath(r.code)}>{r.code}</a>
              </td>
              <td>{r.name}</td>
              <td>{r.effectiveVersion === null ? 'none: no batch launches' : `v${r.effectiveVersion}`}</td>
              <td>{r.versions.map((v) => `v${v.version} ${STATUS_WORDS[v.status]}`).join(' · ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {o.mayAuthor && (
        <form method="post" action="/recipes/import" class="entry" aria-labelledby="import-title">
          <h2 id="import-title">Import a recipe file</h2>
          <p class="hint">
            A file of a new code creates the recipe; a file of a known code becomes a new Draft version of it.
          </p>
          <Outcome problem={o.problem} />
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="import-pick">Recipe file (JSON) to read</label>
            <input id="import-pick" type="file" accept=".json,application/json" data-fills="import-file" />
          </p>
          <p>
            <label for="import-file">Its content (or paste it here)</label>
            <textarea id="import-file" name="file" required rows={8}>
              {o.entered?.file ?? ''}
            </textarea>
          </p>
          <p>
            <label for="import-reason">Reason</label>
            <input id="import-reason" name="reason" required maxLength={2000} value={o.entered?.reason ?? ''} />
          </p>
          <button type="submit" class="primary">
            Import
          </button>
        </form>
      )}
    </section>,
    ctx,
  );
}

export function recipePage(ctx: PageContext, o: { recipe: RecipeView; mayAuthor: boolean; problem?: string }): string {
  const r = o.recipe;
  const latest = r.versions.at(-1);
  const hasOpen = r.versions.some((v) => v.status === 'draft' || v.status === 'in-review');
  return page(
    r.code,
    <article aria-labelledby="recipe-title">
      <h1 id="recipe-title">
        Recipe {r.code}: {r.name}
      </h1>
      <Outcome problem={o.problem} />
      <table class="queue">
        <caption>Versions</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Created (UTC)</th>
            <th scope="col">Approved (UTC)</th>
            <th scope="col">Effective (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {r.versions.map((v) => (
            <tr data-version={v.version}>
              <td>
                <a href={versionPath(r.code, v.version)}>v{v.version}</a>
              </td>
              <td>{STATUS_WORDS[v.status]}</td>
              <td>{utcText(v.createdAt)}</td>
              <td>{utcText(v.approvedAt)}</td>
              <td>{utcText(v.effectiveAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {r.versions.length > 1 && <DiffPicker code={r.code} versions={r.versions.map((v) => v.version)} />}
      {o.mayAuthor && latest && !hasOpen && (
        <form method="post" action={`${recipePath(r.code)}/versions`} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <h2>Start a new version</h2>
          <p class="hint">
            A Draft copied from v{latest.version}. To change the recipe, import its changed file instead: it becomes the
            new Draft.
          </p>
          <p>
            <label for="new-version-reason">Reason</label>
            <input id="new-version-reason" name="reason" required maxLength={2000} />
          </p>
          <button type="submit">Start a new version</button>
        </form>
      )}
    </article>,
    ctx,
  );
}

function DiffPicker({ code, versions, from, to }: { code: string; versions: number[]; from?: number; to?: number }) {
  const older = from ?? versions.at(-2)!;
  const newer = to ?? versions.at(-1)!;
  return (
    <form method="get" action={`${recipePath(code)}/diff`} class="entry">
      <h2>Compare versions</h2>
      <p>
        <label for="diff-from">From</label>
        <select id="diff-from" name="from">
          {versions.map((v) => (
            <option value={String(v)} selected={v === older}>
              v{v}
            </option>
          ))}
        </select>
      </p>
      <p>
        <label for="diff-to">To</label>
        <select id="diff-to" name="to">
          {versions.map((v) => (
            <option value={String(v)} selected={v === newer}>
              v{v}
            </option>
          ))}
        </select>
      </p>
      <button type="submit">Show what changed</button>
    </form>
  );
}

/** The lifecycle steps, in the order the page offers them (who may, the reason and the signature: `RECIPE_STEPS`). */
const STEP_LABELS: Record<RecipeStep, string> = {
  submit: 'Submit for review',
  approve: 'Approve',
  reject: 'Reject',
  'make-effective': 'Make effective',
  retire: 'Retire',
};

export interface VersionPageOptions {
  /** The steps the user's roles allow (the version's status decides which of them are offered). */
  allowed: RecipeStep[];
  problem?: string;
  done?: string;
}

export function versionPage(ctx: PageContext, v: VersionView, o: VersionPageOptions): string {
  const code = v.recipe.code;
  const d = v.definition as RecipeDefinition;
  const base = versionPath(code, v.version);
  const actions = (Object.keys(STEP_LABELS) as RecipeStep[])
    .filter((step) => o.allowed.includes(step) && transition(v.status, step).ok)
    .map((step) => {
      const rule: { reason: string; signature?: { meaning: string } } = RECIPE_STEPS[step];
      return { action: step, label: STEP_LABELS[step], reason: rule.reason, meaning: rule.signature?.meaning };
    });
  return page(
    `${code} v${v.version}`,
    <article aria-labelledby="version-title">
      <h1 id="version-title">
        {code} version {v.version}: {STATUS_WORDS[v.status]}
      </h1>
      <Outcome done={o.done} problem={o.problem} />
      <dl class="facts">
        <dt>Recipe</dt>
        <dd>
          <a href={recipePath(code)}>{v.recipe.name}</a>
        </dd>
        <dt>Product</dt>
        <dd>
          {d.product.name} ({d.product.code})
        </dd>
        <dt>Batch size</dt>
        <dd>
          {quantityText(d.batchSize.nominal, d.batchSize.unit)} nominal ({d.batchSize.min}–{d.batchSize.max}
          {unitText(d.batchSize.unit) ? ` ${unitText(d.batchSize.unit)}` : ''})
        </dd>
        {d.yield && (
          <>
            <dt>Yield</dt>
            <dd>
              {limitsText(d.yield.limits.low, d.yield.limits.high)} % of theoretical, measured at{' '}
              {d.yield.measuredBy.step}
            </dd>
          </>
        )}
        <dt>Execution plan</dt>
        <dd>{v.planHash ? <code>{v.planHash}</code> : 'compiled at approval'}</dd>
        <dt>Signatures</dt>
        <dd>
          {v.signatures.length === 0 ? (
            'none yet'
          ) : (
            <ul>
              {v.signatures.map((sig) => (
                <li>
                  {sig.meaning} by {sig.signedBy} ({sig.username}), {utcText(sig.signedAt)}
                  {sig.covers ? '' : ' — ⚠ no longer covers this version as it is now'}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
      <p>
        <a href={`/api/recipes/${encodeURIComponent(code)}/versions/${v.version}/export`}>Export as a recipe file</a>
      </p>
      {actions.map((a) => (
        <form method="post" action={`${base}/${a.action}`} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <input type="hidden" name="rowVersion" value={String(v.rowVersion)} />
          <h2>{a.label}</h2>
          <p>
            <label for={`${a.action}-reason`}>Reason{a.reason === 'optional' ? ' (optional)' : ''}</label>
            <input id={`${a.action}-reason`} name="reason" required={a.reason === 'required'} maxLength={2000} />
          </p>
          {a.meaning ? (
            <SignatureDialog
              id={`${a.action}-dialog`}
              actor={ctx.actor}
              what={`Recipe ${code} version ${v.version} as it stands: its definition${a.action === 'approve' ? ' and the execution plan it compiles into' : ''}.`}
              meaning={a.meaning}
              opener={`${a.label}…`}
            />
          ) : (
            <button type="submit" class="primary">
              {a.label}
            </button>
          )}
        </form>
      ))}
      {d.description && <p>{d.description}</p>}
      <h2>Procedure</h2>
      <ol class="tree">
        {d.procedure.unitProcedures.map((up) => (
          <li data-unit-procedure={up.id}>
            <strong>{up.name}</strong>{' '}
            <span class="hint">
              (unit procedure on a {up.equipmentClass}
              {up.start === 'with-previous' ? ', alongside the one before' : ''})
            </span>
            <ol>
              {up.operations.map((op) => (
                <li>
                  {op.name} <span class="hint">(operation)</span>
                  <ol>
                    {op.phases.map((ph) => (
                      <li data-phase={ph.id}>
                        {ph.name} <span class="hint">({PHASE_KIND[ph.kind]})</span>
                        <PhaseDetail phase={ph} />
                      </li>
                    ))}
                  </ol>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
    </article>,
    ctx,
  );
}

const PHASE_KIND: Record<Phase['kind'], string> = {
  equipment: 'equipment phase',
  instruction: 'instruction',
  material: 'material addition',
  hold: 'hold',
  sample: 'sample',
  approval: 'approval',
};

const parameterText = (p: NumericParameter | Extract<DataField, { type: 'number' }>) => {
  const label = 'name' in p ? p.name : p.label;
  const limits = limitsText(p.low, p.high);
  const target = p.target !== undefined ? ` ${quantityText(p.target, p.unit)}` : '';
  const unit = unitText(p.unit);
  return `${label}${target}${limits ? ` (limits ${limits}${unit ? ` ${unit}` : ''})` : ''}`;
};
const fieldText = (f: DataField) =>
  f.type === 'number'
    ? parameterText(f)
    : f.type === 'choice'
      ? `${f.label} (one of ${f.options.join(', ')})`
      : f.type === 'passFail'
        ? `${f.label} (pass or fail)`
        : `${f.label} (text)`;

function PhaseDetail({ phase: ph }: { phase: Phase }) {
  const signed = [ph.signatures.performed && 'signed', ph.signatures.verified && 'verified by a second person']
    .filter(Boolean)
    .join(', ');
  const lines: string[] = [];
  switch (ph.kind) {
    case 'equipment':
      lines.push(`${ph.phase}${ph.setpoints.length ? `: ${ph.setpoints.map(parameterText).join('; ')}` : ''}`);
      if (ph.reports.length) lines.push(`reports ${ph.reports.map(parameterText).join('; ')}`);
      break;
    case 'instruction':
      lines.push(ph.text);
      if (ph.fields.length) lines.push(`records ${ph.fields.map(fieldText).join('; ')}`);
      break;
    case 'material':
      lines.push(
        `${quantityText(ph.quantity.value, ph.quantity.unit)} of ${ph.material} ± ${ph.tolerancePercent} %${ph.weighed ? ', weighed' : ''}${ph.scaling === 'fixed' ? ', not scaled' : ''}`,
      );
      break;
    case 'hold':
      lines.push(`for ${quantityText(ph.duration.value, ph.duration.unit)}`);
      break;
    case 'sample':
      lines.push(`${ph.sampleType ?? 'sample'}: ${ph.results.map(fieldText).join('; ')}`);
      break;
    case 'approval':
      lines.push(`${ph.text} (meaning ${ph.meaning})`);
      break;
  }
  if (signed) lines.push(signed);
  return <p class="hint">{lines.join(' · ')}</p>;
}

export function diffPage(
  ctx: PageContext,
  o: { recipe: RecipeView; from: number; to: number; changes: RecipeChange[] },
): string {
  const code = o.recipe.code;
  const show = (x: unknown) => (x === undefined ? '—' : typeof x === 'string' ? x : JSON.stringify(x));
  return page(
    `${code}: v${o.from} → v${o.to}`,
    <article aria-labelledby="diff-title">
      <h1 id="diff-title">
        {code}: what changed from v{o.from} to v{o.to}
      </h1>
      <p>
        <a href={recipePath(code)}>Back to the recipe</a>
      </p>
      <DiffPicker code={code} versions={o.recipe.versions.map((v) => v.version)} from={o.from} to={o.to} />
      {o.changes.length === 0 ? (
        <p class="empty">No difference.</p>
      ) : (
        <table class="queue">
          <caption>
            {o.changes.length} change{o.changes.length === 1 ? '' : 's'}, in the order of the recipe
          </caption>
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Where</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {o.changes.map((c) => (
              <tr data-change={c.path}>
                <td>{c.kind}</td>
                <td>{c.where}</td>
                <td>{show(c.before)}</td>
                <td>{show(c.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>,
    ctx,
  );
}
