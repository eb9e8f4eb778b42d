/** The OEE dashboard, from the same report as the API's; a stop given its reason through the same service. */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { oeePage, type OeeQuery } from '../pages/oee';
import type { Form, PageKit } from '../page-kit';

/** What a `datetime-local` field with seconds sends (UTC here). */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
const local = (ms: number) => new Date(ms).toISOString().slice(0, 19);

export function oeeRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const view = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const units = (await s.equipment.list()).map((u) => u.code);
    const asked = (name: string) => (typeof req.query[name] === 'string' ? req.query[name] : undefined);
    const now = Date.now();
    const query: OeeQuery = {
      unit: asked('unit') ?? units[0] ?? '',
      from: asked('from') ?? local(now - 86_400_000),
      to: asked('to') ?? local(now + 60_000),
      by: (['shift', 'day', 'batch', 'whole'] as const).find((b) => b === asked('by')) ?? 'whole',
    };
    const base = { query, units, mayQualify: k.may(req, 'oee.qualify'), ...extra };
    try {
      const time = (v: string, label: string) => {
        const at = LOCAL_TIME.test(v) ? new Date(`${v}Z`) : undefined;
        if (!at || Number.isNaN(at.getTime()))
          throw new Problem('unprocessable', `${label} is a date and time (YYYY-MM-DDTHH:MM:SS, UTC)`);
        return at;
      };
      const from = time(query.from, 'From');
      const to = time(query.to, 'To');
      if (!(to > from)) throw new Problem('unprocessable', '“To” must be after “From”');
      if (to.getTime() - from.getTime() > 366 * 86_400_000)
        throw new Problem('unprocessable', 'a window of at most 366 days');
      const report = await s.oee.report({ unit: query.unit, from, to, by: query.by });
      const losses = await s.oee.losses({ unit: query.unit, from, to });
      return oeePage(k.context(req), { ...base, report, lines: losses.lines, stops: losses.stops });
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return oeePage(k.context(req), { ...base, problem: err.detail ?? err.title });
    }
  };
  router.get('/oee', k.requireLogin, k.requirePermission('oee.read'), async (req, res) =>
    k.html(res, await view(req, req.query.done ? { done: 'The reason is recorded.' } : {})),
  );
  router.post('/oee/stops', k.requireLogin, k.requirePermission('oee.qualify'), k.requireCsrf, async (req, res) => {
    const form = req.body as Form;
    // Back to the dashboard as it was (only ever the dashboard: no redirect elsewhere).
    const back = form.back?.startsWith('/oee?') ? form.back : '/oee';
    try {
      const start = new Date(String(form.start ?? ''));
      if (Number.isNaN(start.getTime())) throw new Problem('unprocessable', 'which stop?');
      await s.oee.qualify(
        { actor: req.actor!, station: stationOf(req), reason: null },
        { unit: String(form.unit ?? ''), start, reason: String(form.stopReason ?? '') },
      );
      return res.redirect(303, `${back}&done=1`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(res, await view(req, { problem: await k.refusal(req, err) }), err.status);
    }
  });
}
