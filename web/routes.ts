/**
 * The web pages, served by the API's process at `/`: server-rendered HTML (Preact templates, type-checked TSX),
 * htmx for fragment updates and one small script, no build step. Pages call the same services as the API, so
 * the rules (permissions, signatures, the workflow's validators) live in one place. The same session cookie as
 * the API (HttpOnly, SameSite=Strict); every state-changing request carries a CSRF token; nothing is cached
 * (a shared station's Back button shows nothing of the previous user).
 */
import path from 'node:path';
import { parse as parseCookie } from 'cookie';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import rateLimit from 'express-rate-limit';
import { render } from 'preact-render-to-string';
import { SESSION_COOKIE, tokenOf } from '../api/auth/session-middleware';
import { Problem } from '../api/http/problems';
import { stationOf } from '../api/http/station';
import type { Services } from '../api/services';
import { CSRF_FIELD, CSRF_HEADER, LOGIN_CSRF_COOKIE, csrfTokenFor, newLoginCsrfToken, sameToken } from './csrf';
import { errorPage, type PageContext } from './layout';
import { loginPage } from './pages/login';
import { WorkQueueItems, workQueuePage } from './pages/work-queue';
import { stepPage, type StepView } from './pages/step';
import { batchPage, batchesPage } from './pages/batches';
import { reviewPage, type ReviewView } from './pages/review';
import { deviationPage, deviationsPage } from './pages/deviations';
import { SEVERITIES } from '../domain/batch/deviations';
import { disposeBatch, mismatchDetail } from '../api/batches/disposition-flow';
import { replayVerdict } from '../api/batches/investigation-service';
import { rolesGrant, type Permission } from '../api/auth/permissions';
import type { BatchCommand } from '../domain/batch/types';
import { completionFromForm } from './step-form';
import { completionMeaning } from '../domain/batch/completion';
import type { SignatureInput } from '../api/signatures/signature-service';
import { liveEvents } from './live-events';

const STATION_COOKIE = 'ampoule_station';
const STATIC_DIR = path.join(__dirname, 'static');
const HTMX = require.resolve('htmx.org/dist/htmx.min.js');

export function webRouter(s: Services): Router {
  const router = express.Router();
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: s.config.mode === 'production',
    path: '/',
  };

  router.get('/static/htmx.min.js', (_req, res) => res.sendFile(HTMX, { maxAge: '1h' }));
  router.use('/static', express.static(STATIC_DIR, { maxAge: '1h', index: false }));
  // As large as a step's entry can be (up to 50 fields of 5,000 characters, their deviation comments, the lot).
  router.use(express.urlencoded({ extended: false, limit: s.config.http.bodyLimit, parameterLimit: 200 }));
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

  const cookies = (req: Request) => (req.headers.cookie ? parseCookie(req.headers.cookie) : {});
  const context = (req: Request): PageContext => ({
    actor: req.actor!,
    station: cookies(req)[STATION_COOKIE] || stationOf(req).clientAddress || 'unknown',
    csrf: csrfTokenFor(tokenOf(req)!),
    idleSeconds: s.sessions.policy.idleSeconds,
    path: req.path,
  });
  const html = (res: Response, body: string, status = 200) => res.status(status).type('html').send(body);
  /** A refusal shown on the page, its security event (a tampered plan, a signature in another's name) raised as the API raises it. */
  const refusal = async (req: Request, err: Problem): Promise<string> => {
    if (err.securityEvent)
      await s.securityEvents
        .raise(err.securityEvent.kind, {
          userId: req.actor?.userId ?? null,
          username: req.actor?.username ?? null,
          station: stationOf(req),
          detail: err.securityEvent.detail,
        })
        .catch((eventErr: unknown) => req.log?.error({ err: eventErr }, 'a security event could not be written'));
    return err.detail ?? err.title;
  };
  /** What a page form says of a signature, checked as the API's schema checks it (an empty password never counts against the lockout). */
  const signatureOf = (req: Request, form: Record<string, string | undefined>, meaning: SignatureInput['meaning']) => {
    const password = String(form.password ?? '');
    const comment = form.signatureComment?.trim();
    if (password.length === 0 || password.length > 256)
      throw new Problem('signature-required', 'the signature needs your password (at most 256 characters)');
    if (comment && comment.length > 500)
      throw new Problem('unprocessable', 'a signature’s comment has at most 500 characters');
    return { username: req.actor!.username, password, meaning, ...(comment ? { comment } : {}) };
  };
  /** A reason as the API takes it: trimmed, at most 2,000 characters. */
  const reasonOf = (raw: string | undefined): string | null => {
    const reason = raw?.trim() || null;
    if (reason && reason.length > 2000) throw new Problem('unprocessable', 'a reason has at most 2,000 characters');
    return reason;
  };

  /** Pages need a session: a page request goes to the login, an htmx request is told to. */
  const requireLogin = (req: Request, res: Response, next: NextFunction) => {
    if (req.actor) return next();
    if (req.get('HX-Request')) return res.status(401).set('HX-Redirect', '/login').end();
    return res.redirect(303, '/login');
  };
  /** A state-changing request must carry the token of the page it came from. */
  const requireCsrf = (req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    const given = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD] ?? req.get(CSRF_HEADER);
    if (token && sameToken(given, csrfTokenFor(token))) return next();
    return html(
      res,
      errorPage('This form has expired or did not come from Ampoule: reload the page and try again.'),
      403,
    );
  };

  router.get('/', (req, res) => res.redirect(303, req.actor ? '/work-queue' : '/login'));

  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: s.config.rateLimits.loginPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) =>
      html(res, loginPage({ ...loginForm(req, res), error: 'Too many login attempts: wait a minute.' }), 429),
  });
  const loginForm = (req: Request, res: Response) => {
    const csrf = newLoginCsrfToken();
    res.cookie(LOGIN_CSRF_COOKIE, csrf, { ...cookieOptions, path: '/login', maxAge: 3_600_000 });
    return { csrf, station: cookies(req)[STATION_COOKIE] ?? '' };
  };
  router.get('/login', (req, res) => {
    if (req.actor) return res.redirect(303, '/work-queue');
    const notice =
      req.query.ended === 'idle'
        ? 'You were logged out after a time without activity.'
        : req.query.ended === 'logout'
          ? 'You are logged out.'
          : undefined;
    return html(res, loginPage({ ...loginForm(req, res), notice }));
  });
  router.post('/login', loginLimiter, async (req, res, next) => {
    const form = req.body as Record<string, string | undefined>;
    const username = String(form.username ?? '').trim();
    const station = String(form.station ?? '')
      .trim()
      .slice(0, 64);
    const expected = cookies(req)[LOGIN_CSRF_COOKIE];
    if (!expected || !sameToken(form[CSRF_FIELD], expected))
      return html(
        res,
        loginPage({ ...loginForm(req, res), username, error: 'The login form expired: try again.' }),
        403,
      );
    try {
      const session = await s.sessions.login(username, String(form.password ?? ''), stationOf(req));
      res.cookie(SESSION_COOKIE, session.token, { ...cookieOptions, maxAge: s.sessions.policy.absoluteSeconds * 1000 });
      res.cookie(STATION_COOKIE, station || 'unnamed', { ...cookieOptions, maxAge: 365 * 86_400_000 });
      res.clearCookie(LOGIN_CSRF_COOKIE, { ...cookieOptions, path: '/login' });
      return res.redirect(303, '/work-queue');
    } catch (err) {
      if (!(err instanceof Problem)) return next(err);
      return html(res, loginPage({ ...loginForm(req, res), username, error: err.detail ?? err.title }), err.status);
    }
  });
  router.post('/logout', requireLogin, requireCsrf, async (req, res) => {
    await s.sessions.logout(req.actor!, stationOf(req));
    res.clearCookie(SESSION_COOKIE, cookieOptions);
    const idle = (req.body as Record<string, unknown> | undefined)?.ended === 'idle';
    return res.redirect(303, idle ? '/login?ended=idle' : '/login?ended=logout');
  });
  /** "Stay logged in": a request is activity. */
  router.post('/session/activity', requireLogin, requireCsrf, (_req, res) => res.status(204).end());

  router.get('/work-queue', requireLogin, async (req, res) =>
    html(res, workQueuePage(context(req), await s.batches.execution.workQueue(req.actor!))),
  );
  router.get('/work-queue/items', requireLogin, async (req, res) =>
    html(res, render(WorkQueueItems({ items: await s.batches.execution.workQueue(req.actor!) }))),
  );
  router.get('/events', requireLogin, liveEvents(s));

  // Signing from a page is limited per user as through the API (a wrong password also counts towards the lockout).
  const signLimiter = rateLimit({
    windowMs: 60_000,
    limit: s.config.rateLimits.signPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => req.actor?.userId ?? 'anonymous',
    handler: (_req, res) => html(res, errorPage('Too many signatures in a minute: wait a moment and try again.'), 429),
  });

  /** A page only for the roles holding `permission` (the navigation offers it to no one else). */
  const requirePermission = (permission: Permission) => (req: Request, res: Response, next: NextFunction) =>
    rolesGrant(req.actor!.roles, permission)
      ? next()
      : html(res, errorPage(`None of your roles may do this (${permission}).`), 403);

  // Batches: the list and the planner's launch; one batch's overview and its commands.
  const batchesView = async (req: Request, extra: { problem?: string; entered?: Record<string, string> } = {}) => {
    const rows = await Promise.all(
      (await s.batches.records.list({ limit: 50 })).map(async (batch) => ({
        batch,
        steps: await s.stores.batches.steps(s.db, batch.id),
      })),
    );
    const recipes = rolesGrant(req.actor!.roles, 'batches.launch')
      ? (await s.recipes.list())
          .filter((r) => r.effectiveVersion !== null)
          .map((r) => ({ code: r.code, name: r.name, version: r.effectiveVersion! }))
      : undefined;
    return batchesPage(context(req), { rows, recipes, ...extra });
  };
  router.get('/batches', requireLogin, requirePermission('batches.read'), async (req, res) =>
    html(res, await batchesView(req)),
  );
  router.post('/batches', requireLogin, requirePermission('batches.launch'), requireCsrf, async (req, res) => {
    const form = req.body as Record<string, string | undefined>;
    try {
      const plannedStart = form.plannedStart ? new Date(`${form.plannedStart}Z`) : undefined;
      if (plannedStart && Number.isNaN(plannedStart.getTime()))
        throw new Problem('unprocessable', 'the planned start is not a date and time');
      const batch = await s.db.transaction((trx) =>
        s.batches.launch.launch(
          { trx, actor: req.actor!, station: stationOf(req), reason: reasonOf(form.reason) },
          {
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
      return html(
        res,
        await batchesView(req, { problem: await refusal(req, err), entered: entered as Record<string, string> }),
        err.status,
      );
    }
  });
  const batchView = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const live = await s.batches.execution.live(batch);
    return batchPage(context(req), {
      batch,
      live,
      mayCommand: rolesGrant(req.actor!.roles, 'batches.command'),
      ...extra,
    });
  };
  router.get('/batches/:batch', requireLogin, requirePermission('batches.read'), async (req, res) =>
    html(
      res,
      await batchView(
        req,
        req.query.launched
          ? { done: 'Launched: its workflow runs.' }
          : typeof req.query.commanded === 'string' &&
              ['hold', 'restart', 'stop', 'abort'].includes(req.query.commanded)
            ? { done: `${req.query.commanded.charAt(0).toUpperCase()}${req.query.commanded.slice(1)}: sent.` }
            : {},
      ),
    ),
  );
  router.post(
    '/batches/:batch/commands',
    requireLogin,
    requirePermission('batches.command'),
    requireCsrf,
    async (req, res) => {
      const form = req.body as Record<string, string | undefined>;
      const command = String(form.command ?? '');
      try {
        if (!['hold', 'restart', 'stop', 'abort'].includes(command))
          throw new Problem('unprocessable', `no command ${command}`);
        const reason = reasonOf(form.reason);
        if (!reason) throw new Problem('reason-required', 'a batch command needs a reason');
        await s.batches.execution.command(req.actor!, String(req.params.batch), command as BatchCommand, reason);
        // Post/Redirect/Get: a reload does not send the command again.
        return res.redirect(303, `/batches/${encodeURIComponent(String(req.params.batch))}?commanded=${command}`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return html(res, await batchView(req, { problem: await refusal(req, err) }), err.status);
      }
    },
  );

  // QA's review by exception and the disposition, through the same flow as the API's.
  const reviewView = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const qa = rolesGrant(req.actor!.roles, 'batches.investigate');
    let investigation: ReviewView['investigation'];
    if (qa)
      try {
        const v = replayVerdict(await s.batches.investigations.investigate(batch));
        investigation = {
          verdict: v.verdict,
          text:
            v.verdict === 'pass'
              ? `the archived history replays against this Ampoule’s workflow code, and the record matches it entry for entry (${v.crossCheck.counts.match} entries).`
              : mismatchDetail(v),
        };
      } catch (err) {
        // As the API's review does: the page still shows what there is (the failure is logged).
        if (!(err instanceof Problem)) req.log?.error({ err }, 'the investigation of a batch for its review failed');
        investigation = {
          unavailable: err instanceof Problem ? (err.detail ?? err.title) : 'the investigation failed (see the log)',
        };
      }
    return reviewPage(context(req), {
      report: await s.batches.records.reviewReport(batch.number),
      status: batch.status,
      deviations: await s.deviations.list({ batch: batch.id, limit: 1000 }),
      investigation,
      signatures: await s.batches.records.dispositionSignatures(batch),
      mayDispose: rolesGrant(req.actor!.roles, 'batches.disposition'),
      ...extra,
    });
  };
  router.get('/batches/:batch/review', requireLogin, requirePermission('batches.read'), async (req, res) => {
    const batch = req.query.disposed ? await s.batches.records.get(String(req.params.batch)) : undefined;
    return html(res, await reviewView(req, batch ? { done: `Batch ${batch.number} is ${batch.status}.` } : {}));
  });
  router.post('/batches/:batch/:action', requireLogin, signLimiter, requireCsrf, async (req, res, next) => {
    const action = req.params.action;
    if (action !== 'review' && action !== 'release' && action !== 'reject') return next();
    if (!rolesGrant(req.actor!.roles, 'batches.disposition'))
      return html(res, errorPage('None of your roles may do this (batches.disposition).'), 403);
    const form = req.body as Record<string, string | undefined>;
    const meaning = ({ review: 'reviewed', release: 'released', reject: 'rejected' } as const)[action];
    try {
      if (action === 'review' && form.auditTrailReviewed !== 'yes')
        throw new Problem('unprocessable', 'a review affirms that the batch’s audit trail was reviewed');
      const reason = reasonOf(form.reason);
      if (action === 'reject' && !reason) throw new Problem('reason-required', 'a rejection needs a reason');
      const station = stationOf(req);
      const signer = await s.signatures.verify(
        req.actor!,
        signatureOf(req, form, meaning),
        { meaning, roles: ['qa'] },
        station,
      );
      const { batch, anchor } = await disposeBatch(
        s,
        { actor: req.actor!, station, reason },
        signer,
        String(req.params.batch),
        action,
      );
      await anchor?.().catch((err: unknown) => req.log?.error({ err }, 'anchoring a final batch record failed'));
      // Post/Redirect/Get: a reload does not sign again.
      return res.redirect(303, `/batches/${encodeURIComponent(batch.number)}/review?disposed=1`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return html(res, await reviewView(req, { problem: await refusal(req, err) }), err.status);
    }
  });

  // Deviations through their life, by the same service as the API's.
  const DEVIATION_DONE: Record<string, string> = {
    investigate: 'Taken up: under investigation.',
    submit: 'Submitted for approval.',
    return: 'Returned to the investigation.',
    close: 'Closed and signed.',
  };
  router.get('/deviations', requireLogin, requirePermission('deviations.read'), async (req, res) =>
    html(res, deviationsPage(context(req), await s.deviations.list({ limit: 500 }))),
  );
  const deviationView = async (req: Request, extra: { problem?: string; done?: string } = {}) =>
    deviationPage(context(req), await s.deviations.get(String(req.params.id)), {
      mayInvestigate: rolesGrant(req.actor!.roles, 'deviations.investigate'),
      mayApprove: rolesGrant(req.actor!.roles, 'deviations.approve'),
      ...extra,
    });
  router.get('/deviations/:id', requireLogin, requirePermission('deviations.read'), async (req, res) => {
    const done = typeof req.query.done === 'string' ? DEVIATION_DONE[req.query.done] : undefined;
    return html(res, await deviationView(req, done ? { done } : {}));
  });
  router.post('/deviations/:id/:action', requireLogin, signLimiter, requireCsrf, async (req, res, next) => {
    const action = String(req.params.action);
    if (!Object.hasOwn(DEVIATION_DONE, action)) return next();
    const needs: Permission =
      action === 'return' || action === 'close' ? 'deviations.approve' : 'deviations.investigate';
    if (!rolesGrant(req.actor!.roles, needs))
      return html(res, errorPage(`None of your roles may do this (${needs}).`), 403);
    const form = req.body as Record<string, string | undefined>;
    const text = (name: string) => {
      const value = form[name]?.trim();
      if (value && value.length > 5000) throw new Problem('unprocessable', `${name} has at most 5,000 characters`);
      return value || undefined;
    };
    try {
      const station = stationOf(req);
      const reason = reasonOf(form.reason);
      const severity = SEVERITIES.find((x) => x === form.severity);
      const signer =
        action === 'close'
          ? await s.signatures.verify(
              req.actor!,
              signatureOf(req, form, 'approved'),
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
                rootCause: text('rootCause'),
                correctiveAction: text('correctiveAction'),
                preventiveAction: text('preventiveAction'),
              }
            : {}),
        };
        return s.deviations.move(ctx, id, action as 'investigate' | 'submit', findings);
      });
      return res.redirect(303, `/deviations/${encodeURIComponent(d.number)}?done=${action}`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return html(res, await deviationView(req, { problem: await refusal(req, err) }), err.status);
    }
  });

  // A step: its page, its completion and its verification, through the same service as the API.
  const stepView = async (req: Request, extra: Partial<StepView> = {}): Promise<StepView> => {
    const batch = await s.batches.records.get(String(req.params.batch));
    const step = batch.plan.steps.find((x) => x.id === req.params.step);
    if (!step) throw new Problem('not-found', `batch ${batch.number} has no step ${String(req.params.step)}`);
    const live = (await s.batches.execution.live(batch)).steps.find((x) => x.id === step.id);
    const actor = req.actor!;
    const executes = rolesGrant(actor.roles, 'batches.execute');
    const mayPerform = executes && actor.roles.some((r) => (step.performedBy as string[]).includes(r));
    const mayVerify = executes && actor.roles.some((r) => (step.signatures.verifiedBy as string[]).includes(r));
    const can =
      batch.status === 'running' && live?.status === 'awaiting-input' && mayPerform
        ? 'complete'
        : live?.status === 'awaiting-verification' && mayVerify && live.performedBy !== actor.userId
          ? 'verify'
          : null;
    return { batch, step, live, can, meaning: can === 'verify' ? 'verified' : completionMeaning(step), ...extra };
  };
  const stepPath = (v: StepView) =>
    `/batches/${encodeURIComponent(v.batch.number)}/steps/${encodeURIComponent(v.step.id)}`;
  router.get('/batches/:batch/steps/:step', requireLogin, requirePermission('batches.read'), async (req, res) => {
    const v = await stepView(req, req.query.recorded ? { done: 'Recorded and signed.' } : {});
    return html(res, stepPage(context(req), v));
  });
  router.post(
    '/batches/:batch/steps/:step/:action',
    requireLogin,
    requirePermission('batches.execute'),
    signLimiter,
    requireCsrf,
    async (req, res, next) => {
      const form = req.body as Record<string, string | undefined>;
      const action = req.params.action;
      if (action !== 'complete' && action !== 'verify') return next();
      const v = await stepView(req);
      const meaning = action === 'verify' ? 'verified' : completionMeaning(v.step);
      try {
        const signature = signatureOf(req, form, meaning);
        if (action === 'verify')
          await s.batches.execution.verify(req.actor!, stationOf(req), v.batch.number, v.step.id, signature);
        else
          await s.batches.execution.complete(req.actor!, stationOf(req), v.batch.number, v.step.id, {
            ...completionFromForm(v.step, form),
            signature,
          });
        return res.redirect(303, `${stepPath(v)}?recorded=1`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        const problems = Array.isArray(err.extensions.problems)
          ? (err.extensions.problems as string[])
          : [await refusal(req, err)];
        const { password: _password, [CSRF_FIELD]: _csrf, ...entered } = form;
        return html(
          res,
          stepPage(context(req), { ...(await stepView(req)), entered: entered as Record<string, string>, problems }),
          err.status,
        );
      }
    },
  );

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof Problem) return html(res, errorPage(err.detail ?? err.title), err.status);
    if ((err as { type?: string }).type === 'entity.too.large')
      return html(res, errorPage('What was sent is larger than Ampoule takes: shorten the comments.'), 413);
    req.log?.error({ err }, 'a page failed');
    return html(res, errorPage('Something went wrong on our side; the error is logged. Try again.'), 500);
  });
  return router;
}
