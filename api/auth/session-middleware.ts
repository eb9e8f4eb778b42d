/**
 * Finds the caller's session: `Authorization: Bearer <token>` (API clients) or the `ampoule_session`
 * cookie (browsers). A missing, ended or expired session leaves the request anonymous; each route then
 * decides whether that is enough (only public ones accept it).
 */
import { parse as parseCookie } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import type { SessionService } from './session-service';

export const SESSION_COOKIE = 'ampoule_session';

export function tokenOf(req: Request): string | undefined {
  const auth = req.get('Authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const cookies = req.headers.cookie ? parseCookie(req.headers.cookie) : {};
  return cookies[SESSION_COOKIE];
}

export function resolveSession(sessions: SessionService) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const token = tokenOf(req);
    if (!token) return next();
    sessions.resolve(token).then(
      (actor) => {
        if (actor) req.actor = actor;
        next();
      },
      (err) => next(err),
    );
  };
}
