/** Batches: the list and the planner's launch; one batch's overview and its commands (Post/Redirect/Get). */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import type { BatchCommand } from '../../domain/batch/types';
import { CSRF_FIELD } from '../csrf';
import { batchPage, batchesPage } from '../pages/batches';
import { recordPage } from '../pages/record';
import type { Form, PageKit } from '../page-kit';

const COMMANDS: readonly string[] = ['hold', 'restart', 'stop', 'abort'];

export function batchRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const batchesView = async (req: Request, extra: { problem?: string; entered?: Record<string, string> } = {}) => {
    const rows = await Promise.all(
      (await s.batches.records.list({ limit: 50 })).map(async (batch) => ({
        batch,
        steps: await s.stores.batches.steps(s.db, batch.id),
      })),
    );
    const recipes = k.may(req, 'batches.launch')
      ? (await s.recipes.list())
          .filter((r) => r.effectiveVersion !== null)
          .map((r) => ({ code: r.code, name: r.name, version: r.effectiveVersion! }))
      : undefined;
    // The production orders released to the floor: what a planner launches next.
    const orders = k.may(req, 'batches.launch')
      ? (await s.orders.list({ state: 'released', limit: 200 })).map((o) => ({
          number: o.number,
          product: o.productCode,
          quantity: o.quantity,
          unit: o.unit,
          recipe: o.recipeCode,
          requestedStart: o.requestedStart,
        }))
      : undefined;
    return batchesPage(k.context(req), { rows, recipes, orders, ...extra });
  };
  router.get('/batches', k.requireLogin, k.requirePermission('batches.read'), async (req, res) =>
    k.html(res, await batchesView(req)),
  );
  router.post('/batches', k.requireLogin, k.requirePermission('batches.launch'), k.requireCsrf, async (req, res) => {
    const form = req.body as Form;
    try {
      const plannedStart = form.plannedStart ? new Date(`${form.plannedStart}Z`) : undefined;
      if (plannedStart && Number.isNaN(plannedStart.getTime()))
        throw new Problem('unprocessable', 'the planned start is not a date and time');
      const batch = await s.db.transaction((trx) =>
        s.batches.launch.launch(
          { trx, actor: req.actor!, station: stationOf(req), reason: k.reasonOf(form.reason) },
          form.order
            ? // A released production order: its recipe and quantity.
              { order: String(form.order), ...(plannedStart ? { plannedStart: plannedStart.toISOString() } : {}) }
            : {
                recipe: String(form.recipe ?? ''),
                batchSize: Number(String(form.batchSize ?? '').replace(',', '.')),
                ...(plannedStart ? { plannedStart: plannedStart.toISOString() } : {}),
              },
        ),
      );
      return res.redirect(303, `/batches/${encodeURIComponent(batch.number)}?launched=1`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      const { [CSRF_FIELD]: _csrf, ...entered } = form;
      return k.html(
        res,
        await batchesView(req, { problem: await k.refusal(req, err), entered: entered as Record<string, string> }),
        err.status,
      );
    }
  });

  const batchView = async (
    req: Request,
    extra: {
      problem?: string;
      done?: string;
      reportStep?: string;
      reported?: { title?: string; description?: string };
    } = {},
  ) => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const live = await s.batches.execution.live(batch);
    return batchPage(k.context(req), {
      batch,
      live,
      mayCommand: k.may(req, 'batches.command'),
      mayInvestigate: k.may(req, 'batches.investigate'),
      mayRaise: k.may(req, 'deviations.raise'),
      ...(typeof req.query.report === 'string' ? { reportStep: req.query.report } : {}),
      ...extra,
    });
  };
  router.get('/batches/:batch', k.requireLogin, k.requirePermission('batches.read'), async (req, res) => {
    const commanded = req.query.commanded;
    const done = req.query.launched
      ? 'Launched: its workflow runs.'
      : typeof commanded === 'string' && COMMANDS.includes(commanded)
        ? `${commanded.charAt(0).toUpperCase()}${commanded.slice(1)}: sent.`
        : undefined;
    return k.html(res, await batchView(req, done ? { done } : {}));
  });
  router.get('/batches/:batch/record', k.requireLogin, k.requirePermission('batches.read'), async (req, res) => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const record = await s.batches.records.ebr(batch.id);
    return k.html(res, recordPage(k.context(req), { batch, chain: record.chain, entries: record.entries }));
  });

  // An observation reported as a deviation, by the deviation service (its own transaction).
  router.post(
    '/batches/:batch/deviations',
    k.requireLogin,
    k.requirePermission('deviations.raise'),
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      try {
        const title = k.textOf(form, 'title', 'what was observed', 500);
        if (!title) throw new Problem('unprocessable', 'say what was observed');
        const description = k.textOf(form, 'description', 'the description');
        const step = form.step?.trim() || undefined;
        const d = await s.deviations.raise(
          { actor: req.actor!, station: stationOf(req), reason: null },
          {
            batch: String(req.params.batch),
            category: 'reported',
            title,
            ...(step ? { step } : {}),
            ...(description ? { description } : {}),
          },
        );
        return res.redirect(303, `/deviations/${encodeURIComponent(d.number)}?done=raised`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(
          res,
          await batchView(req, {
            problem: await k.refusal(req, err),
            reported: { title: form.title, description: form.description },
            ...(form.step ? { reportStep: form.step } : {}),
          }),
          err.status,
        );
      }
    },
  );
  router.post(
    '/batches/:batch/commands',
    k.requireLogin,
    k.requirePermission('batches.command'),
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      const command = String(form.command ?? '');
      try {
        if (!COMMANDS.includes(command)) throw new Problem('unprocessable', `no command ${command}`);
        const reason = k.reasonOf(form.reason);
        if (!reason) throw new Problem('reason-required', 'a batch command needs a reason');
        await s.batches.execution.command(req.actor!, String(req.params.batch), command as BatchCommand, reason);
        // Post/Redirect/Get: a reload does not send the command again.
        return res.redirect(303, `/batches/${encodeURIComponent(String(req.params.batch))}?commanded=${command}`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(res, await batchView(req, { problem: await k.refusal(req, err) }), err.status);
      }
    },
  );
}
