/**
 * Webhook subscriptions, an admin's: created with a signing secret shown once, deactivated with a reason; a
 * delivery log per subscription; a dead delivery sent again. Every change audited.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import { EVENT_TYPES, type Delivery } from '../../db/stores/outbox-store';
import { Problem, notFound } from '../http/problems';

export interface Subscription {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  maxAttempts: number;
  active: boolean;
  createdAt: Date;
}

const ENTITY = 'webhook-subscription';

/** What a subscription is made of, as the API and the page take it: an http(s) address with no credentials in it. */
export const subscriptionInput = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).refine((u) => !new URL(u).username && !new URL(u).password, {
    message: 'no credentials in the URL: it is kept in the audit trail and shown in the list',
  }),
  eventTypes: z.array(z.enum([...EVENT_TYPES, '*'])).min(1),
  description: z.string().trim().min(1).max(500).optional(),
  maxAttempts: z.int().min(1).max(50).optional(),
});

function toSubscription(r: Record<string, unknown>): Subscription {
  return {
    id: r.id as string,
    url: r.url as string,
    eventTypes: r.event_types as string[],
    description: (r.description as string | null) ?? null,
    maxAttempts: Number(r.max_attempts),
    active: r.active as boolean,
    createdAt: r.created_at as Date,
  };
}

export class WebhookService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** A new subscription and its signing secret (`whsec_` + base64 of 32 random bytes), returned this once. */
  async subscribe(
    ctx: ChangeContext,
    input: z.infer<typeof subscriptionInput>,
  ): Promise<Subscription & { secret: string }> {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const [row] = await ctx
      .trx('webhook_subscriptions')
      .insert({
        url: input.url,
        event_types: [...new Set(input.eventTypes)],
        secret,
        description: input.description ?? null,
        max_attempts: input.maxAttempts ?? 8,
        created_by: ctx.actor.userId,
      })
      .returning('*');
    const subscription = toSubscription(row);
    await this.audit.record(ctx, {
      action: 'webhook-subscribe',
      entityType: ENTITY,
      entityId: subscription.id,
      newValue: { url: subscription.url, eventTypes: subscription.eventTypes, maxAttempts: subscription.maxAttempts },
    });
    return { ...subscription, secret };
  }

  async list(): Promise<Subscription[]> {
    return (await this.db('webhook_subscriptions').orderBy('created_at')).map(toSubscription);
  }

  async get(id: string, db: Knex | Knex.Transaction = this.db): Promise<Subscription> {
    const row = await db('webhook_subscriptions').where('id', id).first();
    if (!row) throw notFound(`webhook subscription ${id}`);
    return toSubscription(row);
  }

  async deactivate(ctx: ChangeContext, id: string): Promise<Subscription> {
    const s = await this.get(id, ctx.trx);
    if (!s.active) throw new Problem('invalid-transition', `the subscription ${id} is inactive already`);
    await ctx.trx('webhook_subscriptions').where('id', id).update({ active: false });
    await this.audit.record(ctx, {
      action: 'webhook-deactivate',
      entityType: ENTITY,
      entityId: id,
      oldValue: { active: true },
      newValue: { active: false },
    });
    return this.get(id, ctx.trx);
  }

  async deliveries(id: string, q: { state?: Delivery['state']; limit: number; before?: number }): Promise<Delivery[]> {
    await this.get(id);
    return this.stores.outbox.deliveries(this.db, id, q);
  }

  /** A dead delivery, pending again: the relay sends it next for its subscription. */
  async redeliver(ctx: ChangeContext, deliveryId: number): Promise<Delivery> {
    const d = await this.stores.outbox.delivery(ctx.trx, deliveryId);
    if (!d) throw notFound(`webhook delivery ${deliveryId}`);
    if (d.state !== 'dead')
      throw new Problem('invalid-transition', `delivery ${deliveryId} is ${d.state}: only a dead one is sent again`);
    await this.stores.outbox.revive(ctx.trx, deliveryId);
    await this.audit.record(ctx, {
      action: 'webhook-redeliver',
      entityType: ENTITY,
      entityId: d.subscriptionId,
      newValue: { delivery: deliveryId, event: d.event.id, type: d.event.type },
    });
    return (await this.stores.outbox.delivery(ctx.trx, deliveryId))!;
  }
}
