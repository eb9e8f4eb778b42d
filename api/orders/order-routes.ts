/** Production orders under `/api/orders`: created, released to the floor, launched as a batch (`POST /api/batches`
 * with `order`), closed; cancelled while not launched. */
import { z } from 'zod';
import { ORDER_STATES } from '../../domain/orders/production-order';
import { decodeCursor, listOf, listQuery, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { orderView } from './order-service';

const orderParams = z.strictObject({ id: z.string().min(1).max(64).describe('order id or number') });
const quantity = z.object({ value: z.number(), unit: z.string().describe('UCUM') });

export const orderSchema = z
  .object({
    id: z.uuid(),
    number: z.string().describe('the ERP’s order number, or a planner’s'),
    source: z.enum(['api', 'b2mml']),
    product: z.string().describe('material code'),
    quantity,
    requestedStart: z.iso.datetime().nullable(),
    requestedEnd: z.iso.datetime().nullable(),
    recipe: z.string().nullable().describe('the recipe to make it by (a launch may name another)'),
    materials: z.array(z.object({ material: z.string(), quantity: z.number(), unit: z.string() })),
    state: z.enum(ORDER_STATES),
    batch: z.string().nullable().describe('the batch it was launched as'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    rowVersion: z.int(),
  })
  .meta({ id: 'ProductionOrder' });

const UCUM = z.string().min(1).max(64).describe('UCUM, e.g. kg, L');

export function orderRoutes(s: Services): RouteSpec[] {
  const one = { 200: { description: 'The order', schema: orderSchema } };
  const transition = (action: 'release' | 'unrelease' | 'cancel' | 'close', summary: string, description: string) =>
    route({
      method: 'post',
      path: `/orders/:id/${action}`,
      tag: 'orders',
      summary,
      description,
      access: 'orders.plan',
      reason: action === 'cancel' ? 'required' : 'optional',
      params: orderParams,
      responses: one,
      problems: ['invalid-transition'],
      handler: async ({ params, change }) => ({
        body: orderView(await s.orders.transition(change(), params.id, action)),
      }),
    });
  return [
    route({
      method: 'get',
      path: '/orders',
      tag: 'orders',
      summary: 'List production orders',
      description:
        'Newest first, a page at a time (`next` goes back as `cursor`); `state=released` is what may be launched.',
      access: 'orders.read',
      query: z.strictObject({ state: z.enum(ORDER_STATES).optional(), ...listQuery() }),
      responses: { 200: { description: 'Production orders', schema: listOf(orderSchema) } },
      handler: async ({ query }) => {
        const { cursor, ...q } = query;
        const after = decodeCursor(cursor, z.object({ id: z.uuid() }))?.id;
        const rows = await s.orders.list({ state: q.state, limit: q.limit + 1, after });
        return { body: pageOfKeyset(rows.map(orderView), q.limit, (o) => ({ id: o.id })) };
      },
    }),
    route({
      method: 'get',
      path: '/orders/:id',
      tag: 'orders',
      summary: 'One production order',
      access: 'orders.read',
      params: orderParams,
      responses: one,
      handler: async ({ params }) => ({ body: orderView(await s.orders.get(params.id)) }),
    }),
    route({
      method: 'post',
      path: '/orders',
      tag: 'orders',
      summary: 'Create a production order',
      description:
        'A product (a material), the quantity to make in a unit of its kind, the requested window and the materials it needs (each a material in a unit of its kind; an unknown unit, or one of another kind, is refused, never guessed). Created planned. Audited.',
      access: 'orders.plan',
      reason: 'optional',
      idempotent: true,
      body: z.strictObject({
        number: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/)
          .describe('the ERP’s order number, or a planner’s'),
        product: z.string().min(1).max(64).describe('material code'),
        quantity: z.number().positive(),
        unit: UCUM,
        requestedStart: z.iso.datetime({ offset: true }).optional(),
        requestedEnd: z.iso.datetime({ offset: true }).optional(),
        recipe: z.string().min(1).max(64).optional().describe('recipe code'),
        materials: z
          .array(z.strictObject({ material: z.string().min(1).max(64), quantity: z.number().positive(), unit: UCUM }))
          .max(200)
          .optional(),
      }),
      responses: { 201: { description: 'The order, planned', schema: orderSchema } },
      problems: ['code-taken', 'unprocessable'],
      location: (o: { number: string }) => `/orders/${encodeURIComponent(o.number)}`,
      handler: async ({ body, change }) => ({ status: 201, body: orderView(await s.orders.create(change(), body)) }),
    }),
    transition('release', 'Release a production order to the floor', 'Planned → released: offered for launch.'),
    transition('unrelease', 'Send a released order back to planned', 'Released → planned: it may be changed again.'),
    transition('cancel', 'Cancel a production order', 'Planned or released → cancelled, with a reason; final.'),
    transition(
      'close',
      'Close a launched production order',
      'Launched → closed, once its batch has ended (complete, stopped, aborted, or dispositioned); final.',
    ),
  ];
}
