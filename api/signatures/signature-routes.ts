/** The signatures on a record, with their manifestations. */
import { z } from 'zod';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { signatureManifestationSchema, toManifestation } from './signature-service';

export function signatureRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/signatures',
      tag: 'signatures',
      summary: 'Signatures on a record',
      access: 'signatures.read',
      query: z.strictObject({
        entityType: z.string().min(1).max(64),
        entityId: z.string().min(1).max(200),
        ...listQuery(),
      }),
      responses: { 200: { description: 'Oldest first', schema: listOf(signatureManifestationSchema) } },
      handler: async ({ query }) => ({
        body: pageOfAll(
          (await s.stores.signatures.forEntity(s.db, query.entityType, query.entityId)).map(toManifestation),
          query,
        ),
      }),
    }),
  ];
}
