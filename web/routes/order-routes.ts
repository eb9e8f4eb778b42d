/** Production orders, by the same service as the API's (Post/Redirect/Get). */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { CSRF_FIELD } from '../csrf';
import { ordersPage } from '../pages/orders';
import type { Form, PageKit } from '../page-kit';

const DONE: Record<string, string> = {
  created: 'Created: the order is planned.',
  release: 'Released to the floor: the batches page offers it for launch.',
  unrelease: 'Back to planned.',
  cancel: 'Cancelled.',
  close: 'Closed.',
};

export function orderRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const view = async (
    req: Request,
    extra: { problem?: string; done?: string; entered?: Record<string, string> } = {},
  ) =>
    ordersPage(k.context(req), {
      orders: await s.orders.list({ limit: 500 }),
      mayPlan: k.may(req, 'orders.plan'),
      ...extra,
    });
  router.get('/orders', k.requireLogin, k.requirePermission('orders.read'), async (req, res) => {
    const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
    return k.html(res, await view(req, done ? { done } : {}));
  });
  const refused = async (req: Request, res: Parameters<PageKit['html']>[0], err: unknown, form?: Form) => {
    if (!(err instanceof Problem)) throw err;
    const { [CSRF_FIELD]: _csrf, ...entered } = form ?? {};
    return k.html(
      res,
      await view(req, { problem: await k.refusal(req, err), entered: entered as Record<string, string> }),
      err.status,
    );
  };
  router.post('/orders', k.requireLogin, k.requirePermission('orders.plan'), k.requireCsrf, async (req, res) => {
    const form = req.body as Form;
    try {
      const quantity = Number(String(form.quantity ?? '').replace(',', '.'));
      if (!(quantity > 0)) throw new Problem('unprocessable', 'the quantity must be a number more than 0');
      await s.db.transaction((trx) =>
        s.orders.create(
          { trx, actor: req.actor!, station: stationOf(req), reason: k.reasonOf(form.reason) },
          {
            number: String(form.number ?? '').trim(),
            product: String(form.product ?? '').trim(),
            quantity,
            unit: String(form.unit ?? '').trim(),
            ...(form.recipe ? { recipe: String(form.recipe).trim() } : {}),
          },
        ),
      );
      return res.redirect(303, '/orders?done=created');
    } catch (err) {
      return refused(req, res, err, form);
    }
  });
  router.post(
    '/orders/:id/:action',
    k.requireLogin,
    k.requirePermission('orders.plan'),
    k.requireCsrf,
    async (req, res, next) => {
      const action = String(req.params.action);
      if (!['release', 'unrelease', 'cancel', 'close'].includes(action)) return next();
      const form = req.body as Form;
      try {
        const reason = k.reasonOf(form.reason);
        if (action === 'cancel' && !reason) throw new Problem('reason-required', 'cancelling an order needs a reason');
        await s.db.transaction((trx) =>
          s.orders.transition(
            { trx, actor: req.actor!, station: stationOf(req), reason },
            String(req.params.id),
            action as 'release' | 'unrelease' | 'cancel' | 'close',
          ),
        );
        return res.redirect(303, `/orders?done=${action}`);
      } catch (err) {
        return refused(req, res, err);
      }
    },
  );
}
