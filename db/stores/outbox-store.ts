/**
 * The transactional outbox's SQL: an event written in the transaction of its change and, in the same statement's
 * transaction, fanned out to every active subscription that wants its type; the deliveries the relay works off.
 */
import type { Knex } from 'knex';

/** The events Ampoule emits, and what each tells (README: Integration, with the SAP PP-PI categories). */
export const EVENT_TYPES = [
  'order.created',
  'order.released',
  'order.unreleased',
  'order.launched',
  'order.closed',
  'order.cancelled',
  'batch.status',
  'batch.disposition',
  'material.consumed',
  'batch.produced',
  'lot.status',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface OutboxEvent {
  seq: number;
  id: string;
  type: EventType;
  subject: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
}

export interface Delivery {
  id: number;
  subscriptionId: string;
  event: OutboxEvent;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  nextAttemptAt: Date;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

export class OutboxStore {
  /** Writes an event and its deliveries, in the caller's transaction (the change's). */
  async emit(trx: Knex.Transaction, type: EventType, subject: string, payload: Record<string, unknown>): Promise<void> {
    const [row] = await trx('outbox_events')
      .insert({ type, subject, payload: JSON.stringify(payload) })
      .returning('seq');
    await trx.raw(
      `insert into webhook_deliveries (subscription_id, event_seq)
       select id, ? from webhook_subscriptions where active and (? = any(event_types) or '*' = any(event_types))`,
      [row.seq, type],
    );
  }

  /**
   * The next delivery due of each subscription — its oldest pending one, so that a subscription receives its
   * events in the order they happened — locked for the caller (another relay skips it).
   */
  async due(
    trx: Knex.Transaction,
    limit: number,
  ): Promise<(Delivery & { url: string; secret: string; maxAttempts: number })[]> {
    const { rows } = await trx.raw(
      `select d.*, s.url, s.secret, s.max_attempts, e.id as event_id, e.type, e.subject, e.payload, e.occurred_at
       from webhook_subscriptions s
       cross join lateral (
         select * from webhook_deliveries d where d.subscription_id = s.id and d.state = 'pending'
         order by d.event_seq limit 1
       ) d
       join outbox_events e on e.seq = d.event_seq
       where s.active and d.next_attempt_at <= clock_timestamp()
       order by d.next_attempt_at
       limit ?
       for update of d skip locked`,
      [limit],
    );
    return rows.map((r: Record<string, unknown>) => ({
      ...toDelivery(r),
      url: r.url as string,
      secret: r.secret as string,
      maxAttempts: Number(r.max_attempts),
    }));
  }

  async recordAttempt(
    trx: Knex.Transaction,
    d: Pick<Delivery, 'id' | 'attempts'>,
    outcome: {
      status: number | null;
      error: string | null;
      durationMs: number;
      delivered: boolean;
      dead: boolean;
      retryInMs: number;
    },
  ): Promise<void> {
    await trx('webhook_attempts').insert({
      delivery_id: d.id,
      status: outcome.status,
      error: outcome.error,
      duration_ms: outcome.durationMs,
    });
    await trx('webhook_deliveries')
      .where('id', d.id)
      .update({
        attempts: d.attempts + 1,
        last_status: outcome.status,
        last_error: outcome.error,
        state: outcome.delivered ? 'delivered' : outcome.dead ? 'dead' : 'pending',
        delivered_at: outcome.delivered ? trx.raw('clock_timestamp()') : null,
        next_attempt_at: trx.raw(`clock_timestamp() + make_interval(secs => ?)`, [outcome.retryInMs / 1000]),
      });
  }

  /** A subscription's deliveries, newest first. */
  async deliveries(
    db: Knex | Knex.Transaction,
    subscriptionId: string,
    q: { state?: Delivery['state']; limit: number; before?: number },
  ): Promise<Delivery[]> {
    const query = db('webhook_deliveries as d')
      .join('outbox_events as e', 'e.seq', 'd.event_seq')
      .where('d.subscription_id', subscriptionId)
      .select('d.*', 'e.id as event_id', 'e.type', 'e.subject', 'e.payload', 'e.occurred_at')
      .orderBy('d.id', 'desc')
      .limit(q.limit);
    if (q.state) query.where('d.state', q.state);
    if (q.before) query.where('d.id', '<', q.before);
    return (await query).map(toDelivery);
  }

  async delivery(db: Knex | Knex.Transaction, id: number): Promise<Delivery | undefined> {
    const row = await db('webhook_deliveries as d')
      .join('outbox_events as e', 'e.seq', 'd.event_seq')
      .where('d.id', id)
      .select('d.*', 'e.id as event_id', 'e.type', 'e.subject', 'e.payload', 'e.occurred_at')
      .first();
    return row ? toDelivery(row) : undefined;
  }

  /** A dead delivery, pending again from now (its attempts counted afresh). */
  async revive(trx: Knex.Transaction, id: number): Promise<void> {
    await trx('webhook_deliveries')
      .where({ id, state: 'dead' })
      .update({ state: 'pending', attempts: 0, next_attempt_at: trx.raw('clock_timestamp()') });
  }
}

function toDelivery(r: Record<string, unknown>): Delivery {
  return {
    id: Number(r.id),
    subscriptionId: r.subscription_id as string,
    event: {
      seq: Number(r.event_seq),
      id: r.event_id as string,
      type: r.type as EventType,
      subject: r.subject as string,
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
      occurredAt: r.occurred_at as Date,
    },
    state: r.state as Delivery['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at as Date,
    lastStatus: (r.last_status as number | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    deliveredAt: (r.delivered_at as Date | null) ?? null,
  };
}
