/**
 * The OpenAPI 3.1 document, generated from the declared routes and their zod schemas (OpenAPI 3.1
 * schemas are JSON Schema 2020-12, which zod emits directly). Served at /api/openapi.json.
 */
import { z } from 'zod';
import { PERMISSIONS } from '../auth/permissions';
import { effectiveBodySchema } from './mount';
import { PROBLEM_TYPES, type ProblemSlug } from './problems';
import type { RouteSpec } from './route';

type JsonSchema = Record<string, unknown>;

const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details. `type` is stable; GET it for what it means.',
  properties: {
    type: { type: 'string', enum: Object.keys(PROBLEM_TYPES).map((s) => `/api/problems/${s}`) },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { in: { type: 'string' }, pointer: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
  required: ['type', 'title', 'status'],
};

export function buildOpenApi(routes: RouteSpec[], info: { version: string }): JsonSchema {
  const components: Record<string, JsonSchema> = { Problem: problemSchema };
  const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    // Named schemas (`.meta({ id })`) become shared components.
    const rewrite = (v: JsonSchema) =>
      JSON.parse(JSON.stringify(v).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
    for (const [id, def] of Object.entries(defs)) components[id] = rewrite(def);
    return rewrite(json);
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = `/api${spec.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', spec.params],
      ['query', spec.query],
    ] as const) {
      if (!schema) continue;
      const json = toSchema(schema, 'input');
      const required = new Set((json.required as string[] | undefined) ?? []);
      for (const [name, prop] of Object.entries((json.properties ?? {}) as Record<string, JsonSchema>)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          schema: prop,
          ...(prop.description ? { description: prop.description } : {}),
        });
      }
    }
    if (spec.idempotent) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', maxLength: 200 },
        description: 'Repeat a create safely: the same key and request replay the first answer.',
      });
    }
    const body = effectiveBodySchema(spec, true);
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      const headers = successHeaders(spec, Number(status));
      responses[status] = {
        description: r.description,
        ...(r.schema || r.contentType
          ? {
              content: {
                [r.contentType ?? 'application/json']: {
                  schema: r.schema ? toSchema(r.schema, 'output') : { type: 'string', format: 'binary' },
                },
                ...Object.fromEntries((r.alsoAs ?? []).map((type) => [type, { schema: { type: 'string' } }])),
              },
            }
          : {}),
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
      };
    }
    const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
    for (const [status, slugs] of declaredProblems(spec)) {
      const described = slugs.map((slug) => `\`${slug}\`: ${PROBLEM_TYPES[slug].when}`).join('\n\n');
      responses[status] ??= { description: described, content: problem };
    }
    for (const status of problemStatuses(spec)) {
      responses[status] ??= { description: 'A problem: see its type', content: problem };
    }
    if (spec.signature || spec.rateLimit)
      responses[429] = {
        description: `\`rate-limited\`: ${PROBLEM_TYPES['rate-limited'].when}`,
        content: problem,
        headers: RATE_LIMIT_HEADERS,
      };
    if (responses[412]) (responses[412] as Record<string, unknown>).headers = { ETag: ETAG_HEADER };
    const access =
      spec.access === 'public'
        ? 'Public.'
        : spec.access === 'authenticated'
          ? 'Any logged-in user.'
          : `Permission \`${spec.access}\` (roles: ${PERMISSIONS[spec.access].join(', ')}).`;
    const signature = !spec.signature
      ? ''
      : 'when' in spec.signature
        ? ` ${spec.signature.describe}`
        : ` Needs an electronic signature meaning **${spec.signature.meaning}** by ${spec.signature.roles.join(' or ')}.`;
    const reason = spec.reason === 'required' ? ' A GMP change: `reason` is required.' : '';
    paths[path] ??= {};
    paths[path][spec.method] = {
      operationId: `${spec.method}${spec.path.replace(/[/:-]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: spec.summary,
      description: `${spec.description ? `${spec.description}\n\n` : ''}${access}${signature}${reason}`,
      tags: [spec.tag],
      'x-access': spec.access,
      ...(spec.access === 'public' ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(spec.xmlBody
        ? {
            requestBody: {
              required: true,
              description: spec.xmlBody.description,
              content: { 'application/xml': { schema: { type: 'string' } } },
            },
          }
        : body
          ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(body, 'input') } } } }
          : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Ampoule API',
      version: info.version,
      description:
        'Manufacturing execution for pharmaceutical batch manufacturing. Authenticate with `POST /api/auth/login`: browsers get an HttpOnly session cookie, API clients send the returned token as `Authorization: Bearer`. Errors are RFC 9457 problem+json. Requests that need an electronic signature carry `signature: {username, password, meaning, comment?}`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { sessionCookie: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token from POST /api/auth/login.' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'ampoule_session' },
      },
    },
  };
}

/** The problems a route declares, grouped by their status. */
function declaredProblems(spec: RouteSpec): Map<number, ProblemSlug[]> {
  const byStatus = new Map<number, ProblemSlug[]>();
  // A versioned resource's changes honour If-Match: a stale one is 412.
  const slugs: ProblemSlug[] = [
    ...(spec.problems ?? []),
    ...(spec.versioned?.lock && !spec.problems?.includes('precondition-failed')
      ? (['precondition-failed'] as const)
      : []),
  ];
  for (const slug of slugs) {
    const status = PROBLEM_TYPES[slug].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), slug]);
  }
  return byStatus;
}

function problemStatuses(spec: RouteSpec): number[] {
  const s = new Set<number>();
  if (spec.params || spec.query || spec.body || spec.method !== 'get') s.add(400);
  if (spec.access !== 'public') s.add(401);
  if (spec.access !== 'public' && spec.access !== 'authenticated') s.add(403);
  if (spec.params) s.add(404);
  if (spec.reason === 'required' || spec.signature) s.add(422);
  if (spec.signature) s.add(423);
  return [...s];
}

const ETAG_HEADER = {
  description: 'The resource’s row version as a strong ETag: send it back as `If-Match` with a change',
  schema: { type: 'string' },
};

const RATE_LIMIT_HEADERS = {
  'Retry-After': { description: 'Seconds until a retry may succeed', schema: { type: 'integer' } },
  RateLimit: { description: 'The remaining quota and its reset (IETF draft 8)', schema: { type: 'string' } },
  'RateLimit-Policy': { description: 'The quota and its window (IETF draft 8)', schema: { type: 'string' } },
};

/** The headers a success answer carries: Location of a create, ETag of a versioned resource, a replay's mark. */
function successHeaders(spec: RouteSpec, status: number): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  if (status === 201 && spec.location)
    headers.Location = { description: 'Where the created resource is read', schema: { type: 'string' } };
  if (spec.versioned && status < 300) headers.ETag = ETAG_HEADER;
  if (spec.idempotent && status < 300)
    headers['Idempotent-Replayed'] = {
      description: '`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`',
      schema: { type: 'string', enum: ['true'] },
    };
  return headers;
}
