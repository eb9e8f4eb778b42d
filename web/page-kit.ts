/**
 * What every page route uses: the page context (who, where, the CSRF token), the guards (a session, a
 * permission, a CSRF token, the signing rate), and reading a form's reason and signature as the API's schemas
 * read them — so each area's routes hold only what is theirs.
 */
import { parse as parseCookie } from 'cookie';
import type { z } from 'zod';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { tokenOf } from '../api/auth/session-middleware';
import { rolesGrant, type Permission } from '../api/auth/permissions';
import { Problem } from '../api/http/problems';
import { stationOf } from '../api/http/station';
import type { Services } from '../api/services';
import type { SignatureInput } from '../api/signatures/signature-service';
import { CSRF_FIELD, CSRF_HEADER, csrfTokenFor, sameToken } from './csrf';
import { errorPage, type PageContext } from './layout';

/** The station a terminal named at login (kept a year on that terminal). */
export const STATION_COOKIE = 'ampoule_station';

/** A page form, as express's urlencoded parser gives it. */
export type Form = Record<string, string | undefined>;

export interface PageKit {
  s: Services;
  cookieOptions: { httpOnly: true; sameSite: 'strict'; secure: boolean; path: string };
  cookies(req: Request): Record<string, string | undefined>;
  context(req: Request): PageContext;
  html(res: Response, body: string, status?: number): void;
  /** A refusal shown on the page, its security event raised as the API raises it. */
  refusal(req: Request, err: Problem): Promise<string>;
  signatureOf(req: Request, form: Form, meaning: SignatureInput['meaning']): SignatureInput;
  reasonOf(raw: string | undefined): string | null;
  /** A form's text field: trimmed, empty as undefined, at most `max` characters. */
  textOf(form: Form, name: string, label: string, max?: number): string | undefined;
  requireLogin: RequestHandler;
  requireCsrf: RequestHandler;
  requirePermission(permission: Permission): RequestHandler;
  /** Signing from a page counts with signing through the API, per user (the API's limiter). */
  signLimiter: RequestHandler;
  may(req: Request, permission: Permission): boolean;
}

/** A schema's refusal in words: each field and what is wrong with it. */
export function schemaProblem(error: z.ZodError): Problem {
  return new Problem(
    'unprocessable',
    error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join(' · '),
  );
}

export function pageKit(s: Services, signLimiter: RequestHandler): PageKit {
  const cookies = (req: Request) => (req.headers.cookie ? parseCookie(req.headers.cookie) : {});
  const html = (res: Response, body: string, status = 200) => void res.status(status).type('html').send(body);
  return {
    s,
    cookieOptions: { httpOnly: true, sameSite: 'strict', secure: s.config.mode === 'production', path: '/' },
    cookies,
    context: (req) => ({
      actor: req.actor!,
      station: cookies(req)[STATION_COOKIE] || stationOf(req).clientAddress || 'unknown',
      csrf: csrfTokenFor(tokenOf(req)!),
      idleSeconds: s.sessions.policy.idleSeconds,
      path: req.path,
    }),
    html,
    async refusal(req, err) {
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
    },
    // Checked as the API's schema checks it: an empty password never counts against the lockout.
    signatureOf(req, form, meaning) {
      const password = String(form.password ?? '');
      const comment = form.signatureComment?.trim();
      if (password.length === 0 || password.length > 256)
        throw new Problem('signature-required', 'the signature needs your password (at most 256 characters)');
      if (comment && comment.length > 500)
        throw new Problem('unprocessable', 'a signature’s comment has at most 500 characters');
      return { username: req.actor!.username, password, meaning, ...(comment ? { comment } : {}) };
    },
    reasonOf(raw) {
      const reason = raw?.trim() || null;
      if (reason && reason.length > 2000) throw new Problem('unprocessable', 'a reason has at most 2,000 characters');
      return reason;
    },
    textOf(form, name, label, max = 5000) {
      const value = form[name]?.trim();
      if (value && value.length > max)
        throw new Problem('unprocessable', `${label} has at most ${max.toLocaleString('en')} characters`);
      return value || undefined;
    },
    // A page request goes to the login, an htmx request is told to.
    requireLogin(req: Request, res: Response, next: NextFunction) {
      if (req.actor) return next();
      if (req.get('HX-Request')) return res.status(401).set('HX-Redirect', '/login').end();
      return res.redirect(303, '/login');
    },
    // A state-changing request must carry the token of the page it came from.
    requireCsrf(req: Request, res: Response, next: NextFunction) {
      const token = tokenOf(req);
      const given = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD] ?? req.get(CSRF_HEADER);
      if (token && sameToken(given, csrfTokenFor(token))) return next();
      return html(
        res,
        errorPage('This form has expired or did not come from Ampoule: reload the page and try again.'),
        403,
      );
    },
    // The navigation offers a page to no one else.
    requirePermission: (permission) => (req, res, next) =>
      rolesGrant(req.actor!.roles, permission)
        ? next()
        : html(res, errorPage(`None of your roles may do this (${permission}).`), 403),
    signLimiter,
    may: (req, permission) => rolesGrant(req.actor!.roles, permission),
  };
}
