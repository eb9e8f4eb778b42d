/**
 * The web pages, served by the API's process at `/`: server-rendered HTML (Preact templates, type-checked TSX),
 * htmx for fragment updates and one small script, no build step. Pages call the same services as the API, so
 * the rules (permissions, signatures, the workflow's validators) live in one place. The same session cookie as
 * the API (HttpOnly, SameSite=Strict); every state-changing request carries a CSRF token; nothing is cached
 * (a shared station's Back button shows nothing of the previous user). Each area's routes are in `routes/`.
 */
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { tokenOf } from '../api/auth/session-middleware';
import { Problem } from '../api/http/problems';
import type { Services } from '../api/services';
import { errorPage } from './layout';
import { pageKit } from './page-kit';
import { batchRoutes } from './routes/batch-routes';
import { deviationRoutes } from './routes/deviation-routes';
import { orderRoutes } from './routes/order-routes';
import { webhookRoutes } from './routes/webhook-routes';
import { recipeRoutes } from './routes/recipe-routes';
import { lotRoutes } from './routes/lot-routes';
import { auditRoutes } from './routes/audit-routes';
import { equipmentRoutes } from './routes/equipment-routes';
import { adminRoutes } from './routes/admin-routes';
import { oeeRoutes } from './routes/oee-routes';
import { reviewRoutes } from './routes/review-routes';
import { sessionRoutes } from './routes/session-routes';
import { workRoutes } from './routes/work-routes';

const STATIC_DIR = path.join(__dirname, 'static');
/** The form fields that may come more than once: a user's roles, a webhook subscription's event types. */
const REPEATABLE = new Set(['roles', 'eventTypes']);
const HTMX = require.resolve('htmx.org/dist/htmx.min.js');

/** `signLimiter`: the API's, so that signing counts the same per user through the pages and the API together. */
export function webRouter(s: Services, shared: { signLimiter: RequestHandler }): Router {
  const router = express.Router();
  router.get('/static/htmx.min.js', (_req, res) => res.sendFile(HTMX, { maxAge: '1h' }));
  router.use('/static', express.static(STATIC_DIR, { maxAge: '1h', index: false }));
  // As large as a step's entry can be (up to 50 fields of 5,000 characters, their deviation comments, the lot).
  router.use(express.urlencoded({ extended: false, limit: s.config.http.bodyLimit, parameterLimit: 200 }));
  // A form's field comes once (the pages' forms read strings), but for the checkboxes of REPEATABLE.
  router.use((req, res, next) => {
    const body = req.body as Record<string, unknown> | undefined;
    const repeated = Object.entries(body ?? {}).find(([k, v]) => Array.isArray(v) && !REPEATABLE.has(k));
    if (!repeated) return next();
    return res
      .status(422)
      .type('html')
      .send(errorPage(`The form sent its field “${repeated[0]}” more than once.`));
  });
  // The session, as the API finds it.
  router.use((req, _res, next) => {
    const token = tokenOf(req);
    if (!token) return next();
    // The live stream and the refreshes it triggers are the page's, not the user's, activity.
    const live = req.path === '/events' || !!req.get('X-Ampoule-Live');
    s.sessions.resolve(token, { activity: !live }).then((actor) => {
      if (actor) req.actor = actor;
      next();
    }, next);
  });
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  const kit = pageKit(s, shared.signLimiter);
  sessionRoutes(router, kit);
  workRoutes(router, kit);
  batchRoutes(router, kit);
  reviewRoutes(router, kit);
  deviationRoutes(router, kit);
  orderRoutes(router, kit);
  webhookRoutes(router, kit);
  recipeRoutes(router, kit);
  lotRoutes(router, kit);
  equipmentRoutes(router, kit);
  oeeRoutes(router, kit);
  auditRoutes(router, kit);
  adminRoutes(router, kit);

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof Problem) return kit.html(res, errorPage(err.detail ?? err.title), err.status);
    if ((err as { type?: string }).type === 'entity.too.large')
      return kit.html(res, errorPage('What was sent is larger than Ampoule takes: shorten the comments.'), 413);
    req.log?.error({ err }, 'a page failed');
    return kit.html(res, errorPage('Something went wrong on our side; the error is logged. Try again.'), 500);
  });
  return router;
}
