/** The operator's work: the live work queue, and a step — its page, its completion and its verification. */
import type { Request, Response, Router } from 'express';
import { render } from 'preact-render-to-string';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { completionMeaning } from '../../domain/batch/completion';
import { CSRF_FIELD } from '../csrf';
import { liveEvents } from '../live-events';
import { ScaleLive, stepPage, type StepView } from '../pages/step';
import type { ScaleReading } from '../../domain/weighing';
import { WorkQueueItems, filterWork, workQueuePage, type WorkQueueFilter } from '../pages/work-queue';
import type { Form, PageKit } from '../page-kit';
import { completionFromForm } from '../step-form';

/** The unit a station's terminal shows the work of. */
const UNIT_COOKIE = 'ampoule_station_unit';

export function workRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  /** The filter asked for; a station's unit, once chosen, is remembered on the terminal. */
  const filterOf = (req: Request, res?: Response): WorkQueueFilter => {
    const asked = typeof req.query.unit === 'string' ? req.query.unit.slice(0, 64) : undefined;
    if (asked !== undefined && res) res.cookie(UNIT_COOKIE, asked, { ...k.cookieOptions, maxAge: 365 * 86_400_000 });
    const unit = asked ?? k.cookies(req)[UNIT_COOKIE];
    const awaiting =
      req.query.awaiting === 'input' || req.query.awaiting === 'verification' ? req.query.awaiting : undefined;
    return { ...(unit ? { unit } : {}), ...(awaiting ? { awaiting } : {}) };
  };
  router.get('/work-queue', k.requireLogin, async (req, res) => {
    const units = (await s.equipment.list()).map((u) => u.code);
    const asked = filterOf(req, res);
    // A unit no longer registered (a terminal's old choice) shows every unit, as the page says.
    const { unit, ...rest } = asked;
    const filter: WorkQueueFilter = unit && units.includes(unit) ? asked : rest;
    const items = filterWork(await s.batches.execution.workQueue(req.actor!), filter);
    return k.html(res, workQueuePage(k.context(req), items, filter, units));
  });
  router.get('/work-queue/items', k.requireLogin, async (req, res) =>
    k.html(
      res,
      render(WorkQueueItems({ items: filterWork(await s.batches.execution.workQueue(req.actor!), filterOf(req)) })),
    ),
  );
  router.get('/events', k.requireLogin, liveEvents(s));

  const stepView = async (req: Request, extra: Partial<StepView> = {}): Promise<StepView> => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const step = batch.plan.steps.find((x) => x.id === req.params.step);
    if (!step) throw new Problem('not-found', `batch ${batch.number} has no step ${String(req.params.step)}`);
    const live = (await s.batches.execution.live(batch)).steps.find((x) => x.id === step.id);
    const actor = req.actor!;
    const executes = k.may(req, 'batches.execute');
    const mayPerform = executes && actor.roles.some((r) => (step.performedBy as string[]).includes(r));
    const mayVerify = executes && actor.roles.some((r) => (step.signatures.verifiedBy as string[]).includes(r));
    const can =
      batch.status === 'running' && live?.status === 'awaiting-input' && mayPerform
        ? 'complete'
        : live?.status === 'awaiting-verification' && mayVerify && live.performedBy !== actor.userId
          ? 'verify'
          : null;
    const weighed = step.kind === 'material' && step.weighed && can === 'complete';
    const dispensing = weighed ? await s.batches.dispensing.view(batch, step.id) : undefined;
    return {
      batch,
      step,
      live,
      can,
      meaning: can === 'verify' ? 'verified' : completionMeaning(step),
      mayRaise: k.may(req, 'deviations.raise'),
      dispensing,
      scales: dispensing && !dispensing.scale ? await s.scales.list() : undefined,
      ...extra,
    };
  };
  const stepPath = (v: StepView) =>
    `/batches/${encodeURIComponent(v.batch.number)}/steps/${encodeURIComponent(v.step.id)}`;
  router.get('/batches/:batch/steps/:step', k.requireLogin, k.requirePermission('batches.read'), async (req, res) => {
    const v = await stepView(req, req.query.recorded ? { done: 'Recorded and signed.' } : {});
    return k.html(res, stepPage(k.context(req), v));
  });
  // Dispensing: take a scale for the step; its live weight and its tare, as fragments the step page polls and posts.
  router.post(
    '/batches/:batch/steps/:step/dispensing',
    k.requireLogin,
    k.requirePermission('batches.execute'),
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      try {
        const began = await s.db.transaction(async (trx) => {
          const batch = await s.batches.dispensing.batch(trx, String(req.params.batch));
          const ctx = { trx, actor: req.actor!, station: stationOf(req), reason: null };
          return s.batches.dispensing.begin(ctx, batch, String(req.params.step), form.scale || undefined);
        });
        await s.batches.dispensing.showOnTerminals(began);
        const v = await stepView(req);
        return res.redirect(303, stepPath(v));
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(
          res,
          stepPage(k.context(req), { ...(await stepView(req)), problems: [await k.refusal(req, err)] }),
          err.status,
        );
      }
    },
  );
  const liveWindow = async (req: Request) => {
    if (typeof req.query.batch !== 'string' || typeof req.query.step !== 'string') return null;
    const batch = await s.batches.records.get(req.query.batch);
    return (await s.batches.dispensing.view(batch, req.query.step)).onScale;
  };
  const scaleFragment = async (
    req: Request,
    res: Response,
    read: () => Promise<{ reading: ScaleReading; refusal: string | null }>,
    said?: string,
  ) => {
    try {
      const { reading, refusal } = await read();
      return k.html(res, render(ScaleLive({ reading, refusal, window: await liveWindow(req), said })));
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(res, render(ScaleLive({ reading: null, refusal: err.detail ?? err.title, window: null })));
    }
  };
  router.get('/scales/:code/live', k.requireLogin, k.requirePermission('equipment.read'), (req, res) =>
    scaleFragment(req, res, () => s.scales.reading(String(req.params.code))),
  );
  router.post('/scales/:code/tare', k.requireLogin, k.requirePermission('scales.operate'), k.requireCsrf, (req, res) =>
    scaleFragment(req, res, () => s.batches.dispensing.tare(String(req.params.code), req.actor!.userId), 'Tared.'),
  );
  router.post(
    '/batches/:batch/steps/:step/:action',
    k.requireLogin,
    k.requirePermission('batches.execute'),
    k.signLimiter,
    k.requireCsrf,
    async (req, res, next) => {
      const form = req.body as Form;
      const action = req.params.action;
      if (action !== 'complete' && action !== 'verify') return next();
      const v = await stepView(req);
      const meaning = action === 'verify' ? 'verified' : completionMeaning(v.step);
      try {
        const signature = k.signatureOf(req, form, meaning);
        if (action === 'verify')
          await s.batches.execution.verify(req.actor!, stationOf(req), v.batch.number, v.step.id, signature);
        else
          await s.batches.execution.complete(req.actor!, stationOf(req), v.batch.number, v.step.id, {
            ...completionFromForm(v.step, form),
            signature,
          });
        // Post/Redirect/Get: a reload does not sign again.
        return res.redirect(303, `${stepPath(v)}?recorded=1`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        const problems = Array.isArray(err.extensions.problems)
          ? (err.extensions.problems as string[])
          : [await k.refusal(req, err)];
        const { password: _password, [CSRF_FIELD]: _csrf, ...entered } = form;
        return k.html(
          res,
          stepPage(k.context(req), { ...(await stepView(req)), entered: entered as Record<string, string>, problems }),
          err.status,
        );
      }
    },
  );
}
