/**
 * User administration in the pages: the users, a new user, and one user's roles, lock, password and activity —
 * read with the API's schemas, changed through the user service (audited, with a reason), refused if the user
 * changed since the page showed them (the API's If-Match).
 */
import type { Request, Router } from 'express';
import { z } from 'zod';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { newUserSchema, userChangeSchema } from '../../api/users/user-routes';
import { CSRF_FIELD } from '../csrf';
import { userPage, usersPage } from '../pages/admin';
import { schemaProblem, type PageKit } from '../page-kit';

type Body = Record<string, string | string[] | undefined>;

/** The form's roles: one checkbox gives a string, several an array. */
const rolesOf = (body: Body) => (body.roles === undefined ? [] : ([] as string[]).concat(body.roles));

/** What each form changes. */
const CHANGES: Record<string, { change: (body: Body) => unknown; done: string }> = {
  roles: { change: (b) => ({ roles: rolesOf(b) }), done: 'Roles set.' },
  unlock: { change: () => ({ unlock: true }), done: 'Unlocked.' },
  password: { change: (b) => ({ password: b.password ?? '' }), done: 'Password set: their sessions ended.' },
  deactivate: { change: () => ({ active: false }), done: 'Deactivated: their sessions ended.' },
  reactivate: { change: () => ({ active: true }), done: 'Reactivated.' },
};

export function adminRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const write = k.requirePermission('users.write');
  const listView = async (req: Request, extra: { problem?: string; entered?: Body } = {}) =>
    usersPage(k.context(req), {
      users: await s.users.list(),
      ...extra,
      entered: extra.entered as Record<string, string | string[]> | undefined,
    });
  router.get('/admin/users', k.requireLogin, k.requirePermission('users.read'), async (req, res) =>
    k.html(res, await listView(req)),
  );
  router.post('/admin/users', k.requireLogin, write, k.requireCsrf, async (req, res) => {
    const body = req.body as Body;
    try {
      const reason = k.reasonOf(typeof body.reason === 'string' ? body.reason : undefined);
      if (!reason) throw new Problem('reason-required', 'a new user needs a reason');
      const email = typeof body.email === 'string' && body.email.trim() ? body.email.trim() : undefined;
      const input = newUserSchema.safeParse({
        username: body.username,
        fullName: body.fullName,
        ...(email ? { email } : {}),
        roles: rolesOf(body),
        password: body.password,
      });
      if (!input.success) throw schemaProblem(input.error);
      const user = await s.db.transaction((trx) =>
        s.users.create({ trx, actor: req.actor!, station: stationOf(req), reason }, input.data),
      );
      return res.redirect(303, `/admin/users/${encodeURIComponent(user.id)}?done=created`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      const { [CSRF_FIELD]: _csrf, password: _password, ...entered } = body;
      return k.html(res, await listView(req, { problem: await k.refusal(req, err), entered }), err.status);
    }
  });

  const userView = async (req: Request, extra: { problem?: string; done?: string } = {}) =>
    userPage(k.context(req), await s.users.get(String(req.params.id)), extra);
  const uuid = (req: Request) => {
    if (!z.uuid().safeParse(req.params.id).success) throw new Problem('not-found', 'no such user');
    return String(req.params.id);
  };
  router.get('/admin/users/:id', k.requireLogin, k.requirePermission('users.read'), async (req, res) => {
    uuid(req);
    const done = req.query.done === 'created' ? 'Created.' : CHANGES[String(req.query.done)]?.done;
    return k.html(res, await userView(req, done ? { done } : {}));
  });
  router.post('/admin/users/:id/:change', k.requireLogin, write, k.requireCsrf, async (req, res, next) => {
    const what = String(req.params.change);
    if (!Object.hasOwn(CHANGES, what)) return next();
    const body = req.body as Body;
    try {
      const id = uuid(req);
      const reason = k.reasonOf(typeof body.reason === 'string' ? body.reason : undefined);
      if (!reason) throw new Problem('reason-required', 'a change of a user needs a reason');
      const input = userChangeSchema.safeParse(CHANGES[what].change(body));
      if (!input.success) throw schemaProblem(input.error);
      await s.db.transaction(async (trx) => {
        const current = await s.users.lockedVersion(trx, id);
        if (current === undefined) throw new Problem('not-found', 'no such user');
        if (String(current) !== body.rowVersion)
          throw new Problem('precondition-failed', 'the user changed since this page showed them: look again');
        return s.users.update({ trx, actor: req.actor!, station: stationOf(req), reason }, id, input.data);
      });
      return res.redirect(303, `/admin/users/${encodeURIComponent(id)}?done=${what}`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(res, await userView(req, { problem: await k.refusal(req, err) }), err.status);
    }
  });
}
