/** User administration (administrators only). Every change needs a reason and is audited. */
import { z } from 'zod';
import { ROLES } from '../../domain/identity';
import { toCsv } from '../http/csv';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import { ACCESS_REVIEW_COLUMNS } from './user-service';
import type { Services } from '../services';

export const userSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    fullName: z.string(),
    email: z.string().nullable(),
    roles: z.array(z.enum(ROLES)),
    active: z.boolean(),
    demo: z.boolean().describe('a demo user of the zero-setup mode'),
    locked: z.boolean(),
    lockedUntil: z.iso.datetime().nullable(),
    passwordChangedAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
    createdBy: z.uuid().nullable(),
    lastLoginAt: z.iso.datetime().nullable().describe('the last successful login (null: never)'),
    rowVersion: z.int().describe('how many times the user changed; the ETag is "v<rowVersion>"'),
  })
  .meta({ id: 'User' });

const idParams = z.strictObject({ id: z.uuid() });
const rolesField = z.array(z.enum(ROLES)).min(1).max(ROLES.length);
const fullName = z.string().trim().min(1).max(200);
const email = z.email().max(320).nullable();

/** A new user, as the API and the pages take one. */
export const newUserSchema = z.strictObject({
  username: z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9._-]{2,63}$/,
      'expected 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter',
    ),
  fullName,
  email: email.optional(),
  roles: rolesField,
  password: z.string().min(1).max(256),
});

/** A change of a user, as the API and the pages take one. */
export const userChangeSchema = z.strictObject({
  fullName: fullName.optional(),
  email: email.optional(),
  roles: rolesField.optional(),
  active: z.boolean().optional(),
  password: z.string().min(1).max(256).optional(),
  unlock: z.literal(true).optional(),
});

export function userRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/users',
      tag: 'users',
      summary: 'List users',
      access: 'users.read',
      responses: { 200: { description: 'All users, active or not', schema: listOf(userSchema) } },
      query: z.strictObject(listQuery()),
      handler: async ({ query }) => ({ body: pageOfAll(await s.users.list(), query) }),
    }),
    route({
      method: 'get',
      path: '/users/access-review',
      tag: 'users',
      summary: 'The access review',
      description:
        'Every user, active or not, with their roles, status (active, locked, deactivated), whether they are demo data and their last successful login: what the periodic review of who may do what checks (21 CFR 11.300(b), Annex 11 §12). `format=csv` (the default) downloads it for signing off; `format=json` returns the same lines.',
      access: 'users.access-review',
      query: z.strictObject({ format: z.enum(['csv', 'json']).default('csv') }),
      responses: {
        200: {
          description: 'One line per user, by username: text/csv, or JSON with `format=json`',
          schema: z.array(
            z.object({
              username: z.string(),
              fullName: z.string(),
              roles: z.string().describe('space-separated'),
              status: z.enum(['active', 'locked', 'deactivated']),
              demo: z.boolean(),
              lastLoginAt: z.iso.datetime().nullable(),
              passwordChangedAt: z.iso.datetime().nullable(),
              createdAt: z.iso.datetime(),
            }),
          ),
          alsoAs: ['text/csv'],
        },
      },
      handler: async ({ query }) => {
        const lines = await s.users.accessReview();
        if (query.format === 'json') return { body: lines };
        return {
          text: { contentType: 'text/csv; charset=utf-8', content: toCsv(ACCESS_REVIEW_COLUMNS, lines) },
          headers: { 'Content-Disposition': 'attachment; filename="access-review.csv"' },
        };
      },
    }),
    route({
      method: 'get',
      path: '/users/:id',
      tag: 'users',
      summary: 'One user',
      access: 'users.read',
      params: idParams,
      responses: {
        200: { description: 'The user; its `ETag` is what a change sends as `If-Match`', schema: userSchema },
      },
      versioned: {},
      handler: async ({ params }) => ({ body: await s.users.get(params.id) }),
    }),
    route({
      method: 'post',
      path: '/users',
      tag: 'users',
      summary: 'Create a user',
      description: 'Usernames are lower case and unique forever: a deactivated user keeps theirs.',
      access: 'users.write',
      reason: 'required',
      idempotent: true,
      body: newUserSchema,
      responses: { 201: { description: 'Created', schema: userSchema } },
      location: (u: { id: string }) => `/users/${u.id}`,
      handler: async ({ body, change }) => ({ status: 201, body: await s.users.create(change(), body) }),
    }),
    route({
      method: 'patch',
      path: '/users/:id',
      tag: 'users',
      summary: 'Change a user',
      description:
        'Roles, printed name, email, a new password (ends their sessions), `unlock: true`, or `active: false` (deactivates: their sessions end at once). With `If-Match` (the `ETag` read), refused (412) if the user changed since.',
      access: 'users.write',
      reason: 'required',
      params: idParams,
      body: userChangeSchema,
      responses: { 200: { description: 'The changed user, with its new `ETag`', schema: userSchema } },
      problems: ['precondition-failed', 'password-policy', 'conflict'],
      versioned: { lock: (p, trx) => s.users.lockedVersion(trx, p.id as string) },
      handler: async ({ params, body, change }) => ({ body: await s.users.update(change(), params.id, body) }),
    }),
  ];
}
