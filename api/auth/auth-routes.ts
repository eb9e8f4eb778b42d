/** Login, logout, and the caller's own profile and password. */
import { z } from 'zod';
import type { Services } from '../services';
import { route, type RouteSpec } from '../http/route';
import { PERMISSIONS, rolesGrant, type Permission } from './permissions';
import { SESSION_COOKIE } from './session-middleware';
import { ROLES } from '../../domain/identity';

const meSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    fullName: z.string(),
    roles: z.array(z.enum(ROLES)),
    permissions: z.array(z.string()),
    sessionId: z.uuid(),
  })
  .meta({ id: 'Me' });

function me(actor: {
  userId: string;
  username: string;
  fullName: string;
  roles: (typeof ROLES)[number][];
  sessionId: string;
}) {
  return {
    id: actor.userId,
    username: actor.username,
    fullName: actor.fullName,
    roles: actor.roles,
    permissions: (Object.keys(PERMISSIONS) as Permission[]).filter((p) => rolesGrant(actor.roles, p)),
    sessionId: actor.sessionId,
  };
}

export function authRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/auth/login',
      tag: 'auth',
      summary: 'Log in',
      description:
        'Starts a server-side session. The answer sets an HttpOnly, SameSite=Strict cookie and returns the same token for `Authorization: Bearer`. Consecutive failures lock the account.',
      access: 'public',
      rateLimit: 'login',
      transaction: false,
      body: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
      responses: {
        200: {
          description: 'Logged in',
          schema: z.object({
            token: z.string(),
            expiresAt: z.iso.datetime(),
            idleTimeoutSeconds: z.int(),
            user: meSchema,
          }),
        },
      },
      handler: async ({ body, station, res }) => {
        const session = await s.sessions.login(body.username, body.password, station);
        res.cookie(SESSION_COOKIE, session.token, {
          httpOnly: true,
          sameSite: 'strict',
          secure: s.config.mode === 'production',
          path: '/',
          maxAge: s.sessions.policy.absoluteSeconds * 1000,
        });
        return {
          body: {
            token: session.token,
            expiresAt: session.expiresAt.toISOString(),
            idleTimeoutSeconds: s.sessions.policy.idleSeconds,
            user: me(session.actor),
          },
          headers: { 'Cache-Control': 'no-store' },
        };
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      tag: 'auth',
      summary: 'Log out',
      description: 'Ends the session at once; its token no longer works.',
      access: 'authenticated',
      transaction: false,
      responses: { 204: { description: 'Logged out' } },
      handler: async ({ actor, station, res }) => {
        await s.sessions.logout(actor!, station);
        res.clearCookie(SESSION_COOKIE, { path: '/' });
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/me',
      tag: 'auth',
      summary: 'Who am I',
      access: 'authenticated',
      responses: { 200: { description: 'The session user, with roles and permissions', schema: meSchema } },
      handler: async ({ actor }) => ({ body: me(actor!) }),
    }),
    route({
      method: 'post',
      path: '/me/password',
      tag: 'auth',
      summary: 'Change my password',
      description:
        'Proves the current password (a failure counts towards the lockout); other sessions of the user end.',
      access: 'authenticated',
      rateLimit: 'login',
      transaction: false,
      body: z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: z.string().min(1).max(256) }),
      responses: { 204: { description: 'Changed' } },
      handler: async ({ actor, station, body }) => {
        await s.users.changeOwnPassword(actor!, station, body.currentPassword, body.newPassword);
        return { status: 204 };
      },
    }),
  ];
}
