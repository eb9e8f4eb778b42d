/** Health, and the catalogue of problem types that every error's `type` points to. */
import { z } from 'zod';
import { PROBLEM_TYPES, notFound, problemTypeUri, type ProblemSlug } from '../http/problems';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';

const problemTypeSchema = z
  .object({ type: z.string(), status: z.int(), title: z.string(), when: z.string() })
  .meta({ id: 'ProblemType' });

function describe(slug: ProblemSlug) {
  const p = PROBLEM_TYPES[slug];
  return { type: problemTypeUri(slug), status: p.status, title: p.title, when: p.when };
}

export function systemRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/health',
      tag: 'system',
      summary: 'Health',
      description: 'Whether the API can reach its database. 503 if it cannot.',
      access: 'public',
      responses: {
        200: {
          description: 'Healthy',
          schema: z.object({ status: z.literal('ok'), database: z.string(), version: z.string() }),
        },
        503: { description: 'The database is unreachable' },
      },
      handler: async () => {
        try {
          await s.db.raw('select 1');
          return { body: { status: 'ok', database: s.database.kind, version: s.version } };
        } catch {
          return { status: 503, body: { status: 'unavailable', database: s.database.kind, version: s.version } };
        }
      },
    }),
    route({
      method: 'get',
      path: '/problems',
      tag: 'system',
      summary: 'Every problem type',
      access: 'public',
      responses: { 200: { description: 'The catalogue', schema: z.array(problemTypeSchema) } },
      handler: async () => ({ body: (Object.keys(PROBLEM_TYPES) as ProblemSlug[]).map(describe) }),
    }),
    route({
      method: 'get',
      path: '/problems/:slug',
      tag: 'system',
      summary: 'What a problem type means',
      access: 'public',
      params: z.strictObject({ slug: z.string().max(64) }),
      responses: { 200: { description: 'The problem type', schema: problemTypeSchema } },
      handler: async ({ params }) => {
        if (!Object.hasOwn(PROBLEM_TYPES, params.slug)) throw notFound(`problem type ${params.slug}`);
        return { body: describe(params.slug as ProblemSlug) };
      },
    }),
  ];
}
