/** Security events: logins, logouts, failed authentications, lockouts, signatures in another's name, tampered plans. */
import { z } from 'zod';
import { SECURITY_EVENT_KINDS } from '../../db/stores/security-event-store';
import { decodeCursor, listOf, listQuery, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';

export function securityRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/security-events',
      tag: 'audit',
      summary: 'Search security events',
      access: 'security-events.read',
      query: z.strictObject({
        kind: z.enum(SECURITY_EVENT_KINDS).optional(),
        username: z.string().max(64).optional(),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        ...listQuery(),
      }),
      responses: {
        200: {
          description: 'Matching events, oldest first',
          schema: listOf(
            z.object({
              id: z.int(),
              at: z.iso.datetime(),
              kind: z.string(),
              userId: z.uuid().nullable(),
              username: z.string().nullable(),
              clientAddress: z.string().nullable(),
              detail: z.unknown(),
            }),
          ),
        },
      },
      handler: async ({ query }) => {
        const events = await s.stores.securityEvents.find(s.db, {
          kind: query.kind,
          username: query.username,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
          afterId: decodeCursor(query.cursor, z.object({ id: z.int() }))?.id,
          limit: query.limit + 1,
        });
        return { body: pageOfKeyset(events, query.limit, (e) => ({ id: e.id })) };
      },
    }),
  ];
}
