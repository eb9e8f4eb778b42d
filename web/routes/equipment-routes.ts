/** Equipment in the pages: the units, one unit's state history, and its status set with a reason (the equipment service's rules). */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { equipmentPage, unitPage } from '../pages/equipment';
import type { Form, PageKit } from '../page-kit';

export function equipmentRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const read = k.requirePermission('equipment.read');
  router.get('/equipment', k.requireLogin, read, async (req, res) => {
    const units = await Promise.all(
      (await s.equipment.list()).map(async (unit) => ({
        unit,
        phases: await s.stores.equipment.latestPhaseStates(s.db, unit.code),
      })),
    );
    return k.html(res, equipmentPage(k.context(req), units));
  });
  const unitView = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const state = await s.equipment.state(String(req.params.unit), { limit: 200 });
    return unitPage(k.context(req), {
      ...state,
      maySetStatus: k.may(req, 'equipment.status'),
      ...extra,
    });
  };
  router.get('/equipment/:unit', k.requireLogin, read, async (req, res) =>
    k.html(res, await unitView(req, req.query.done ? { done: 'Set.' } : {})),
  );
  router.post(
    '/equipment/:unit/status',
    k.requireLogin,
    k.requirePermission('equipment.status'),
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      try {
        const reason = k.reasonOf(form.reason);
        if (!reason) throw new Problem('reason-required', 'a unit’s status changes with a reason');
        const status = (['available', 'maintenance'] as const).find((x) => x === form.status);
        const cleanliness = (['clean', 'dirty'] as const).find((x) => x === form.cleanliness);
        if (!status && !cleanliness) throw new Problem('unprocessable', 'choose a status or a cleanliness to set');
        const code = String(req.params.unit);
        await s.db.transaction(async (trx) => {
          // What the page showed is what is changed (the API's If-Match).
          const current = await s.equipment.lockedVersion(trx, code);
          if (current === undefined) throw new Problem('not-found', `no unit ${code}`);
          if (String(current) !== form.rowVersion)
            throw new Problem('precondition-failed', 'the unit changed since this page showed it: look at it again');
          return s.equipment.setStatus({ trx, actor: req.actor!, station: stationOf(req), reason }, code, {
            ...(status ? { status } : {}),
            ...(cleanliness ? { cleanliness } : {}),
            // Freeing a unit from its batch is asked for in so many words; the service says who may.
            ...(form.force === 'yes' ? { force: true as const } : {}),
          });
        });
        return res.redirect(303, `/equipment/${encodeURIComponent(code)}?done=1`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(res, await unitView(req, { problem: await k.refusal(req, err) }), err.status);
      }
    },
  );
}
