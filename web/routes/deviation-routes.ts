/** Deviations through their life, by the same service as the API's. */
import type { Request, Router } from 'express';
import type { Permission } from '../../api/auth/permissions';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { SEVERITIES } from '../../domain/batch/deviations';
import { errorPage } from '../layout';
import { deviationPage, deviationsPage } from '../pages/deviations';
import type { Form, PageKit } from '../page-kit';

const DEVIATION_DONE: Record<string, string> = {
  raised: 'Reported: the deviation is Open, for QA to take up.',
  investigate: 'Taken up: under investigation.',
  submit: 'Submitted for approval.',
  return: 'Returned to the investigation.',
  close: 'Closed and signed.',
};

export function deviationRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  router.get('/deviations', k.requireLogin, k.requirePermission('deviations.read'), async (req, res) =>
    k.html(res, deviationsPage(k.context(req), await s.deviations.list({ limit: 500 }))),
  );
  const deviationView = async (req: Request, extra: { problem?: string; done?: string } = {}) =>
    deviationPage(k.context(req), await s.deviations.get(String(req.params.id)), {
      mayInvestigate: k.may(req, 'deviations.investigate'),
      mayApprove: k.may(req, 'deviations.approve'),
      ...extra,
    });
  router.get('/deviations/:id', k.requireLogin, k.requirePermission('deviations.read'), async (req, res) => {
    const done = typeof req.query.done === 'string' ? DEVIATION_DONE[req.query.done] : undefined;
    return k.html(res, await deviationView(req, done ? { done } : {}));
  });
  router.post('/deviations/:id/:action', k.requireLogin, k.signLimiter, k.requireCsrf, async (req, res, next) => {
    const action = String(req.params.action);
    if (!Object.hasOwn(DEVIATION_DONE, action) || action === 'raised') return next();
    const needs: Permission =
      action === 'return' || action === 'close' ? 'deviations.approve' : 'deviations.investigate';
    if (!k.may(req, needs)) return k.html(res, errorPage(`None of your roles may do this (${needs}).`), 403);
    const form = req.body as Form;
    try {
      const station = stationOf(req);
      const reason = k.reasonOf(form.reason);
      const severity = SEVERITIES.find((x) => x === form.severity);
      const signer =
        action === 'close'
          ? await s.signatures.verify(
              req.actor!,
              k.signatureOf(req, form, 'approved'),
              { meaning: 'approved', roles: ['qa'] },
              station,
            )
          : undefined;
      if (action === 'return' && !reason) throw new Problem('reason-required', 'returning a deviation needs a reason');
      const d = await s.db.transaction(async (trx) => {
        const ctx = { trx, actor: req.actor!, station, reason };
        const id = String(req.params.id);
        if (action === 'close') return s.deviations.close(ctx, signer!, id);
        if (action === 'return') return s.deviations.move(ctx, id, 'return');
        const findings = {
          ...(severity ? { severity } : {}),
          ...(action === 'submit'
            ? {
                rootCause: k.textOf(form, 'rootCause', 'the root cause'),
                correctiveAction: k.textOf(form, 'correctiveAction', 'the corrective action'),
                preventiveAction: k.textOf(form, 'preventiveAction', 'the preventive action'),
              }
            : {}),
        };
        return s.deviations.move(ctx, id, action as 'investigate' | 'submit', findings);
      });
      return res.redirect(303, `/deviations/${encodeURIComponent(d.number)}?done=${action}`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(res, await deviationView(req, { problem: await k.refusal(req, err) }), err.status);
    }
  });
}
