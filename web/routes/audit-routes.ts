/** The audit trail's search in the pages, by the same store query as the API's. */
import type { Router } from 'express';
import { Problem } from '../../api/http/problems';
import { auditPage, PAGE_SIZES, type AuditSearch } from '../pages/audit';
import type { PageKit } from '../page-kit';

/** What a `datetime-local` field sends (UTC here): `YYYY-MM-DDTHH:MM`, seconds optional. */
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function auditRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  router.get('/audit', k.requireLogin, k.requirePermission('audit.read'), async (req, res) => {
    const q = (name: string) => {
      const v = req.query[name];
      return typeof v === 'string' && v.trim() ? v.trim() : undefined;
    };
    const search: AuditSearch = {
      entity: q('entity'),
      entityId: q('entityId'),
      user: q('user'),
      action: q('action'),
      from: q('from'),
      to: q('to'),
      limit: PAGE_SIZES.find((n) => n === q('limit')),
    };
    const limit = Number(search.limit ?? '100');
    const time = (v: string | undefined, label: string) => {
      if (!v) return undefined;
      const at = LOCAL_TIME.test(v) ? new Date(`${v}Z`) : undefined;
      if (!at || Number.isNaN(at.getTime()))
        throw new Problem('unprocessable', `${label} is a date and time (YYYY-MM-DDTHH:MM, UTC)`);
      return at;
    };
    try {
      // As the API bounds them.
      for (const [name, value] of Object.entries(search))
        if (value && value.length > (name === 'entityId' ? 200 : 64))
          throw new Problem('unprocessable', `${name} is too long`);
      const after = q('after');
      if (after !== undefined && !/^\d{1,15}$/.test(after))
        throw new Problem('unprocessable', 'after is an entry number');
      const from = time(search.from, 'From');
      const to = time(search.to, 'To');
      await s.auditSealer.sealNow();
      const entries = await s.stores.audit.find(s.db, {
        entityType: search.entity,
        entityId: search.entityId,
        user: search.user,
        action: search.action,
        from,
        to,
        afterSeq: after === undefined ? undefined : Number(after),
        limit,
      });
      const last = entries.at(-1);
      const next = entries.length === limit && last?.seq != null ? last.seq : null;
      return k.html(res, auditPage(k.context(req), { search, entries, next }));
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(
        res,
        auditPage(k.context(req), { search, entries: [], next: null, problem: err.detail ?? err.title }),
        err.status,
      );
    }
  });
}
