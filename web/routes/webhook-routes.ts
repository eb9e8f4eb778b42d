/** Webhook subscriptions and their delivery logs, by the same service as the API's (an admin's). */
import type { Request, Response, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { subscriptionInput } from '../../api/integration/webhook-service';
import type { ChangeContext } from '../../db/change-context';
import { deliveriesPage, webhooksPage } from '../pages/webhooks';
import { schemaProblem, type Form, type PageKit } from '../page-kit';

const DONE: Record<string, string> = {
  deactivated: 'Deactivated: no more deliveries are made to it; its log stays.',
  redelivered: 'Pending again: the relay sends it next, before the subscription’s later events.',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function webhookRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const admin = [k.requireLogin, k.requirePermission('webhooks.manage')];
  const listView = async (req: Request, extra: Omit<Parameters<typeof webhooksPage>[1], 'subscriptions'> = {}) => {
    const counts = await s.stores.outbox.deliveryCounts(s.db);
    return webhooksPage(k.context(req), {
      subscriptions: (await s.webhooks.list()).map((sub) => ({
        ...sub,
        counts: counts.get(sub.id) ?? { pending: 0, delivered: 0, dead: 0 },
      })),
      ...extra,
    });
  };
  const changeIn = (trx: ChangeContext['trx'], req: Request, reason: string | null): ChangeContext => ({
    trx,
    actor: req.actor!,
    station: stationOf(req),
    reason,
  });
  /** A refusal shown on the page `render` makes of it; anything but a Problem goes on to the error handler. */
  const refused = async (req: Request, res: Response, err: unknown, render: (problem: string) => Promise<string>) => {
    if (!(err instanceof Problem)) throw err;
    return k.html(res, await render(await k.refusal(req, err)), err.status);
  };

  router.get('/webhooks', ...admin, async (req, res) => {
    const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
    return k.html(res, await listView(req, done ? { done } : {}));
  });

  // Not redirected: the answer carries the signing secret, shown this once (a URL or a session would keep it).
  router.post('/webhooks', ...admin, k.requireCsrf, async (req, res) => {
    const form = req.body as Form & { eventTypes?: string | string[] };
    const eventTypes = form.eventTypes === undefined ? [] : [form.eventTypes].flat().map(String);
    const entered = {
      url: String(form.url ?? '').trim(),
      description: String(form.description ?? '').trim(),
      maxAttempts: String(form.maxAttempts ?? '').trim(),
      eventTypes,
    };
    try {
      const input = subscriptionInput.safeParse({
        url: entered.url,
        eventTypes,
        ...(entered.description ? { description: entered.description } : {}),
        ...(entered.maxAttempts ? { maxAttempts: Number(entered.maxAttempts) } : {}),
      });
      if (!input.success) throw schemaProblem(input.error);
      const created = await s.db.transaction((trx) =>
        s.webhooks.subscribe(changeIn(trx, req, k.reasonOf(form.reason)), input.data),
      );
      return k.html(
        res,
        await listView(req, {
          done: 'Subscribed: its events are delivered from now on.',
          created: { id: created.id, url: created.url, secret: created.secret },
        }),
        201,
      );
    } catch (err) {
      return refused(req, res, err, (problem) => listView(req, { problem, entered }));
    }
  });

  router.post('/webhooks/:id/deactivate', ...admin, k.requireCsrf, async (req, res, next) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) return next();
    const form = req.body as Form;
    try {
      const reason = k.reasonOf(form.reason);
      if (!reason) throw new Problem('reason-required', 'deactivating a subscription needs a reason');
      await s.db.transaction((trx) => s.webhooks.deactivate(changeIn(trx, req, reason), id));
      return res.redirect(303, '/webhooks?done=deactivated');
    } catch (err) {
      return refused(req, res, err, (problem) => listView(req, { problem }));
    }
  });

  const logView = async (req: Request, id: string, extra: { problem?: string; done?: string } = {}) =>
    deliveriesPage(k.context(req), {
      subscription: await s.webhooks.get(id),
      deliveries: await s.webhooks.deliveries(id, { limit: 200 }),
      ...extra,
    });
  router.get('/webhooks/:id', ...admin, async (req, res, next) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) return next();
    const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
    return k.html(res, await logView(req, id, done ? { done } : {}));
  });

  router.post('/webhooks/deliveries/:id/redeliver', ...admin, k.requireCsrf, async (req, res, next) => {
    const id = Number(req.params.id);
    const form = req.body as Form;
    const subscription = String(form.subscription ?? '');
    if (!Number.isInteger(id) || id <= 0 || !UUID.test(subscription)) return next();
    try {
      const reason = k.reasonOf(form.reason);
      if (!reason) throw new Problem('reason-required', 'sending a delivery again needs a reason');
      const d = await s.db.transaction((trx) => s.webhooks.redeliver(changeIn(trx, req, reason), id));
      return res.redirect(303, `/webhooks/${d.subscriptionId}?done=redelivered`);
    } catch (err) {
      return refused(req, res, err, (problem) => logView(req, subscription, { problem }));
    }
  });
}
