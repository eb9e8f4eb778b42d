/** Webhook subscriptions under `/api/webhooks` (an admin's): the events out, signed, their delivery log, dead letters. */
import { z } from 'zod';
import { EVENT_TYPES } from '../../db/stores/outbox-store';
import type { Delivery } from '../../db/stores/outbox-store';
import { decodeCursor, listOf, listQuery, pageOfAll, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { subscriptionInput, type Subscription } from './webhook-service';

const subscriptionSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    description: z.string().nullable(),
    maxAttempts: z.int(),
    active: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'WebhookSubscription' });

const deliverySchema = z
  .object({
    id: z.int(),
    state: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.int(),
    nextAttemptAt: z.iso.datetime(),
    lastStatus: z.int().nullable(),
    lastError: z.string().nullable(),
    deliveredAt: z.iso.datetime().nullable(),
    event: z.object({
      id: z.uuid().describe('the webhook-id'),
      type: z.string(),
      subject: z.string(),
      occurredAt: z.iso.datetime(),
      payload: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'WebhookDelivery' });

const subscriptionView = (s: Subscription) => ({ ...s, createdAt: s.createdAt.toISOString() });
const deliveryView = (d: Delivery) => ({
  id: d.id,
  state: d.state,
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt.toISOString(),
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
  event: {
    id: d.event.id,
    type: d.event.type,
    subject: d.event.subject,
    occurredAt: d.event.occurredAt.toISOString(),
    payload: d.event.payload,
  },
});
const idParams = z.strictObject({ id: z.uuid() });

export function webhookRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/webhooks/subscriptions',
      tag: 'integration',
      summary: 'Subscribe an endpoint to Ampoule’s events',
      description: `Each event of the types named (or \`*\`: all) is POSTed to \`url\` at least once, in the order the events happened, signed per the Standard Webhooks convention (\`webhook-id\`, the event's id to deduplicate on; \`webhook-timestamp\`; \`webhook-signature\`, HMAC-SHA256 with the secret). The secret is in this answer only. Retries back off exponentially; after \`maxAttempts\` failures a delivery is dead until sent again. Types: ${EVENT_TYPES.join(', ')}. Audited.`,
      access: 'webhooks.manage',
      reason: 'optional',
      body: subscriptionInput,
      responses: {
        201: {
          description: 'The subscription, with its signing secret (shown this once)',
          schema: subscriptionSchema.extend({ secret: z.string().describe('whsec_…: keep it; it is not shown again') }),
        },
      },
      location: (b: { id: string }) => `/webhooks/subscriptions/${b.id}`,
      handler: async ({ body, change }) => {
        const created = await s.webhooks.subscribe(change(), body);
        return { status: 201, body: { ...subscriptionView(created), secret: created.secret } };
      },
    }),
    route({
      method: 'get',
      path: '/webhooks/subscriptions',
      tag: 'integration',
      summary: 'List webhook subscriptions (without their secrets)',
      access: 'webhooks.manage',
      query: z.strictObject(listQuery()),
      responses: { 200: { description: 'The subscriptions', schema: listOf(subscriptionSchema) } },
      handler: async ({ query }) => ({ body: pageOfAll((await s.webhooks.list()).map(subscriptionView), query) }),
    }),
    route({
      method: 'get',
      path: '/webhooks/subscriptions/:id',
      tag: 'integration',
      summary: 'One webhook subscription (without its secret)',
      access: 'webhooks.manage',
      params: idParams,
      responses: { 200: { description: 'The subscription', schema: subscriptionSchema } },
      handler: async ({ params }) => ({ body: subscriptionView(await s.webhooks.get(params.id)) }),
    }),
    route({
      method: 'post',
      path: '/webhooks/subscriptions/:id/deactivate',
      tag: 'integration',
      summary: 'Deactivate a webhook subscription',
      description: 'No more deliveries are made to it; its log stays. Audited, with the reason.',
      access: 'webhooks.manage',
      reason: 'required',
      params: idParams,
      responses: { 200: { description: 'The subscription', schema: subscriptionSchema } },
      problems: ['invalid-transition'],
      handler: async ({ params, change }) => ({
        body: subscriptionView(await s.webhooks.deactivate(change(), params.id)),
      }),
    }),
    route({
      method: 'get',
      path: '/webhooks/subscriptions/:id/deliveries',
      tag: 'integration',
      summary: 'A subscription’s delivery log',
      description:
        'Newest first: each event, its state (pending, delivered, dead), attempts, the last answer or error.',
      access: 'webhooks.manage',
      params: idParams,
      query: z.strictObject({ state: z.enum(['pending', 'delivered', 'dead']).optional(), ...listQuery() }),
      responses: { 200: { description: 'The deliveries', schema: listOf(deliverySchema) } },
      handler: async ({ params, query }) => {
        const { cursor, ...q } = query;
        const before = decodeCursor(cursor, z.object({ id: z.int() }))?.id;
        const rows = await s.webhooks.deliveries(params.id, { state: q.state, limit: q.limit + 1, before });
        return { body: pageOfKeyset(rows.map(deliveryView), q.limit, (d) => ({ id: d.id })) };
      },
    }),
    route({
      method: 'post',
      path: '/webhooks/deliveries/:id/redeliver',
      tag: 'integration',
      summary: 'Send a dead delivery again',
      description: 'A dead letter back to pending, sent next for its subscription (before its later events). Audited.',
      access: 'webhooks.manage',
      reason: 'required',
      params: z.strictObject({ id: z.coerce.number().int().positive() }),
      responses: { 200: { description: 'The delivery, pending again', schema: deliverySchema } },
      problems: ['invalid-transition'],
      handler: async ({ params, change }) => ({
        body: deliveryView(await s.webhooks.redeliver(change(), params.id)),
      }),
    }),
  ];
}
