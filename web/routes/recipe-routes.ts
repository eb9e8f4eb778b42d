/**
 * Recipes in the pages: the list and the import of a recipe file, one recipe's versions, one version with its
 * lifecycle steps (signed as the API signs them; a step is refused if the version changed since the page showed
 * it, as the API's If-Match refuses it), and the diff between two versions — all through the recipe service.
 */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { RECIPE_STEPS, recipeFileSchema, type RecipeStep } from '../../api/recipes/recipe-routes';
import { errorPage } from '../layout';
import { diffPage, recipePage, recipesPage, versionPage } from '../pages/recipes';
import type { Form, PageKit } from '../page-kit';

/** What the page says once a lifecycle step is done (who may take it, its reason and signature: `RECIPE_STEPS`). */
const STEP_DONE: Record<RecipeStep, string> = {
  submit: 'Submitted for review, signed.',
  approve: 'Approved and signed: its execution plan is compiled.',
  reject: 'Rejected, signed: a Draft again.',
  'make-effective': 'Effective: batches launch from it now.',
  retire: 'Retired: it never launches again.',
};
const isStep = (x: string): x is RecipeStep => Object.hasOwn(RECIPE_STEPS, x);

/** A problem in words; a recipe's rule breaks each with where in the recipe. */
function problemText(err: Problem): string | undefined {
  const list = err.extensions.problems;
  if (!Array.isArray(list)) return undefined;
  return list.map((p: { path?: string; message?: string }) => `${p.path ?? ''}: ${p.message ?? ''}`).join(' · ');
}

export function recipeRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const read = k.requirePermission('recipes.read');
  const code = (req: Request) => String(req.params.code);
  const versionNumber = (req: Request) => {
    const v = Number(req.params.v);
    // As the API's path schema bounds it.
    if (!Number.isInteger(v) || v < 1 || v > 1_000_000)
      throw new Problem('not-found', `no version ${String(req.params.v)}`);
    return v;
  };

  const listView = async (req: Request, extra: { problem?: string; entered?: { file?: string; reason?: string } }) =>
    recipesPage(k.context(req), { recipes: await s.recipes.list(), mayAuthor: k.may(req, 'recipes.author'), ...extra });
  router.get('/recipes', k.requireLogin, read, async (req, res) => k.html(res, await listView(req, {})));
  router.post(
    '/recipes/import',
    k.requireLogin,
    k.requirePermission('recipes.author'),
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      try {
        const reason = k.reasonOf(form.reason);
        if (!reason) throw new Problem('reason-required', 'importing a recipe needs a reason');
        let json: unknown;
        try {
          json = JSON.parse(String(form.file ?? ''));
        } catch (err) {
          throw new Problem('unprocessable', `the recipe file is not JSON (${(err as Error).message})`);
        }
        const file = recipeFileSchema.safeParse(json);
        if (!file.success)
          throw new Problem(
            'unprocessable',
            `the recipe file is not one Ampoule exports: ${file.error.issues.map((i) => `/${i.path.join('/')}: ${i.message}`).join(' · ')}`,
          );
        const v = await s.db.transaction((trx) =>
          s.recipes.importFile({ trx, actor: req.actor!, station: stationOf(req), reason }, file.data),
        );
        return res.redirect(303, `/recipes/${encodeURIComponent(v.recipe.code)}/versions/${v.version}?done=import`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        const problem = problemText(err) ?? (await k.refusal(req, err));
        return k.html(
          res,
          await listView(req, { problem, entered: { file: form.file, reason: form.reason } }),
          err.status,
        );
      }
    },
  );

  const recipeView = async (req: Request, extra: { problem?: string } = {}) =>
    recipePage(k.context(req), {
      recipe: await s.recipes.get(code(req)),
      mayAuthor: k.may(req, 'recipes.author'),
      ...extra,
    });
  router.get('/recipes/:code', k.requireLogin, read, async (req, res) => k.html(res, await recipeView(req)));
  router.post(
    '/recipes/:code/versions',
    k.requireLogin,
    k.requirePermission('recipes.author'),
    k.requireCsrf,
    async (req, res) => {
      try {
        const reason = k.reasonOf((req.body as Form).reason);
        if (!reason) throw new Problem('reason-required', 'a new version needs a reason');
        const v = await s.db.transaction((trx) =>
          s.recipes.newVersion({ trx, actor: req.actor!, station: stationOf(req), reason }, code(req)),
        );
        return res.redirect(303, `/recipes/${encodeURIComponent(v.recipe.code)}/versions/${v.version}?done=new`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(res, await recipeView(req, { problem: await k.refusal(req, err) }), err.status);
      }
    },
  );

  const DONE: Record<string, string> = {
    import: 'Imported as a Draft.',
    new: 'A new Draft, copied from the latest version.',
    ...STEP_DONE,
  };
  const versionView = async (req: Request, extra: { problem?: string; done?: string } = {}) =>
    versionPage(k.context(req), await s.recipes.getVersion(code(req), versionNumber(req)), {
      allowed: (Object.keys(RECIPE_STEPS) as RecipeStep[]).filter((step) => k.may(req, RECIPE_STEPS[step].access)),
      ...extra,
    });
  router.get('/recipes/:code/versions/:v', k.requireLogin, read, async (req, res) => {
    const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
    return k.html(res, await versionView(req, done ? { done } : {}));
  });
  router.post(
    '/recipes/:code/versions/:v/:step',
    k.requireLogin,
    k.signLimiter,
    k.requireCsrf,
    async (req, res, next) => {
      const name = String(req.params.step);
      if (!isStep(name)) return next();
      const step: (typeof RECIPE_STEPS)[RecipeStep] = RECIPE_STEPS[name];
      if (!k.may(req, step.access))
        return k.html(res, errorPage(`None of your roles may do this (${step.access}).`), 403);
      const form = req.body as Form;
      try {
        const v = versionNumber(req);
        const reason = k.reasonOf(form.reason);
        if (step.reason === 'required' && !reason) throw new Problem('reason-required', 'this step needs a reason');
        const station = stationOf(req);
        const signature = 'signature' in step ? step.signature : undefined;
        const signer = signature
          ? await s.signatures.verify(req.actor!, k.signatureOf(req, form, signature.meaning), signature, station)
          : undefined;
        await s.db.transaction(async (trx) => {
          // What the page showed is what is acted on (the API's If-Match): a version changed since is refused.
          const current = await s.recipes.lockedVersion(trx, code(req), v);
          if (current === undefined) throw new Problem('not-found', `${code(req)} has no version ${v}`);
          if (String(current) !== form.rowVersion)
            throw new Problem(
              'precondition-failed',
              'the version changed since this page showed it: look at it again before you act',
            );
          const ctx = { trx, actor: req.actor!, station, reason };
          switch (name) {
            case 'submit':
              return s.recipes.submit(ctx, signer!, code(req), v);
            case 'approve':
              return s.recipes.approve(ctx, signer!, code(req), v);
            case 'reject':
              return s.recipes.reject(ctx, signer!, code(req), v);
            case 'make-effective':
              return s.recipes.makeEffective(ctx, code(req), v);
            default:
              return s.recipes.retire(ctx, code(req), v);
          }
        });
        // Post/Redirect/Get: a reload does not sign again.
        return res.redirect(303, `/recipes/${encodeURIComponent(code(req))}/versions/${v}?done=${name}`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        const problem = problemText(err) ?? (await k.refusal(req, err));
        return k.html(res, await versionView(req, { problem }), err.status);
      }
    },
  );

  router.get('/recipes/:code/diff', k.requireLogin, read, async (req, res) => {
    const recipe = await s.recipes.get(code(req));
    const from = Number(req.query.from);
    const to = Number(req.query.to);
    const known = new Set(recipe.versions.map((x) => x.version));
    if (!known.has(from) || !known.has(to)) throw new Problem('unprocessable', 'choose two of its versions to compare');
    const diff = await s.recipes.diff(code(req), from, to);
    return k.html(res, diffPage(k.context(req), { recipe, ...diff }));
  });
}
