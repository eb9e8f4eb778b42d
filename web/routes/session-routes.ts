/** Logging in (the username may come from a badge scan; the station names the terminal), out, and "Stay logged in". */
import type { Request, Response, Router } from 'express';
import rateLimit from 'express-rate-limit';
import { SESSION_COOKIE } from '../../api/auth/session-middleware';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { CSRF_FIELD, LOGIN_CSRF_COOKIE, newLoginCsrfToken, sameToken } from '../csrf';
import { loginPage } from '../pages/login';
import { STATION_COOKIE, type Form, type PageKit } from '../page-kit';

export function sessionRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  router.get('/', (req, res) => res.redirect(303, req.actor ? '/work-queue' : '/login'));

  const loginForm = (req: Request, res: Response) => {
    const csrf = newLoginCsrfToken();
    res.cookie(LOGIN_CSRF_COOKIE, csrf, { ...k.cookieOptions, path: '/login', maxAge: 3_600_000 });
    return { csrf, station: k.cookies(req)[STATION_COOKIE] ?? '' };
  };
  // The pages' own limiter, counted apart from the API's login (a terminal's failed logins do not block the API's).
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: s.config.rateLimits.loginPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) =>
      k.html(res, loginPage({ ...loginForm(req, res), error: 'Too many login attempts: wait a minute.' }), 429),
  });
  router.get('/login', (req, res) => {
    if (req.actor) return res.redirect(303, '/work-queue');
    const notice =
      req.query.ended === 'idle'
        ? 'You were logged out after a time without activity.'
        : req.query.ended === 'logout'
          ? 'You are logged out.'
          : undefined;
    return k.html(res, loginPage({ ...loginForm(req, res), notice }));
  });
  router.post('/login', loginLimiter, async (req, res, next) => {
    const form = req.body as Form;
    const username = String(form.username ?? '').trim();
    const station = String(form.station ?? '')
      .trim()
      .slice(0, 64);
    const expected = k.cookies(req)[LOGIN_CSRF_COOKIE];
    if (!expected || !sameToken(form[CSRF_FIELD], expected))
      return k.html(
        res,
        loginPage({ ...loginForm(req, res), username, error: 'The login form expired: try again.' }),
        403,
      );
    try {
      const session = await s.sessions.login(username, String(form.password ?? ''), stationOf(req));
      res.cookie(SESSION_COOKIE, session.token, {
        ...k.cookieOptions,
        maxAge: s.sessions.policy.absoluteSeconds * 1000,
      });
      res.cookie(STATION_COOKIE, station || 'unnamed', { ...k.cookieOptions, maxAge: 365 * 86_400_000 });
      res.clearCookie(LOGIN_CSRF_COOKIE, { ...k.cookieOptions, path: '/login' });
      return res.redirect(303, '/work-queue');
    } catch (err) {
      if (!(err instanceof Problem)) return next(err);
      return k.html(res, loginPage({ ...loginForm(req, res), username, error: err.detail ?? err.title }), err.status);
    }
  });
  router.post('/logout', k.requireLogin, k.requireCsrf, async (req, res) => {
    await s.sessions.logout(req.actor!, stationOf(req));
    res.clearCookie(SESSION_COOKIE, k.cookieOptions);
    const idle = (req.body as Form | undefined)?.ended === 'idle';
    return res.redirect(303, idle ? '/login?ended=idle' : '/login?ended=logout');
  });
  /** "Stay logged in": a request is activity. */
  router.post('/session/activity', k.requireLogin, k.requireCsrf, (_req, res) => res.status(204).end());
}
