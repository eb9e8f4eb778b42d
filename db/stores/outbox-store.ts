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
  'phase.state',
  'sample.result',
  'batch.disposition',
  'material.consumed',
  'batch.produced',
  'lot.status',
  'deviation.opened',
  'deviation.closed',
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
   * Writes events in order and their deliveries, in the caller's transaction, in two statements whatever their
   * number (a batch-record write tells several: each phase started and completed, samples' results).
   */
  async emitMany(
    trx: Knex.Transaction,
    events: readonly { type: EventType; subject: string; payload: Record<string, unknown> }[],
  ): Promise<void> {
    if (events.length === 0) return;
    if (events.length === 1) return this.emit(trx, events[0].type, events[0].subject, events[0].payload);
    // A multi-row insert numbers its rows in the order given (one sequence, one statement).
    const rows: { seq: string; type: string }[] = await trx('outbox_events')
      .insert(events.map((e) => ({ type: e.type, subject: e.subject, payload: JSON.stringify(e.payload) })))
      .returning(['seq', 'type']);
    await trx.raw(
      `insert into webhook_deliveries (subscription_id, event_seq)
       select s.id, e.seq from unnest(?::bigint[], ?::text[]) as e (seq, type)
       join webhook_subscriptions s on s.active and (e.type = any(s.event_types) or '*' = any(s.event_types))
       order by e.seq`,
      [rows.map((r) => String(r.seq)), rows.map((r) => r.type)],
    );
  }

  /**
   * Claims the next delivery due of each subscription for `leaseMs` — its oldest pending one, so that a subscription
   * receives its events in order: the subscription's row is locked while claiming (another relay skips it), and the
   * claimed delivery is not due again until its lease ends, which holds the subscription's later ones back. Each
   * claim carries a token of its own: only its holder's outcome is recorded.
   */
  async claimDue(
    db: Knex,
    limit: number,
    leaseMs: number,
  ): Promise<(Delivery & { url: string; secret: string; leaseToken: string })[]> {
    return db.transaction(async (trx) => {
      const { rows } = await trx.raw(
        `select d.*, s.url, s.secret, e.id as event_id, e.type, e.subject, e.payload, e.occurred_at
         from webhook_subscriptions s
         cross join lateral (
           select * from webhook_deliveries d where d.subscription_id = s.id and d.state = 'pending'
           order by d.event_seq limit 1
         ) d
         join outbox_events e on e.seq = d.event_seq
         where s.active and d.next_attempt_at <= clock_timestamp()
         order by d.next_attempt_at
         limit ?
         for update of s skip locked`,
        [limit],
      );
      const claimed: (Delivery & { url: string; secret: string; leaseToken: string })[] = [];
      for (const r of rows as Record<string, unknown>[]) {
        const [lease] = await trx('webhook_deliveries')
          .where('id', r.id as number)
          .update({
            lease_token: trx.raw('gen_random_uuid()'),
            next_attempt_at: trx.raw('clock_timestamp() + make_interval(secs => ?)', [leaseMs / 1000]),
          })
          .returning('lease_token');
        claimed.push({
          ...toDelivery(r),
          url: r.url as string,
          secret: r.secret as string,
          leaseToken: lease.lease_token,
        });
      }
      return claimed;
    });
  }

  /**
   * The outcome of a claimed delivery's attempt, if the claim still holds (else dropped: the lease passed to another
   * relay, whose outcome counts); returns the delivery's state after it, or undefined when dropped.
   */
  async recordAttempt(
    db: Knex,
    d: { id: number; leaseToken: string },
    outcome: { status: number | null; error: string | null; durationMs: number; delivered: boolean; retryInMs: number },
  ): Promise<Delivery['state'] | undefined> {
    return db.transaction(async (trx) => {
      const [row] = await trx('webhook_deliveries')
        .where({ id: d.id, lease_token: d.leaseToken, state: 'pending' })
        .update({
          attempts: trx.raw('attempts + 1'),
          last_status: outcome.status,
          last_error: outcome.error,
          lease_token: null,
          state: outcome.delivered
            ? 'delivered'
            : trx.raw(
                `case when attempts + 1 >= (select max_attempts from webhook_subscriptions where id = subscription_id) then 'dead' else 'pending' end`,
              ),
          delivered_at: outcome.delivered ? trx.raw('clock_timestamp()') : null,
          next_attempt_at: trx.raw('clock_timestamp() + make_interval(secs => ?)', [outcome.retryInMs / 1000]),
        })
        .returning('state');
      if (!row) return undefined;
      await trx('webhook_attempts').insert({
        delivery_id: d.id,
        status: outcome.status,
        error: outcome.error,
        duration_ms: outcome.durationMs,
      });
      return row.state as Delivery['state'];
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

  /** How each subscription's deliveries stand: how many are pending, delivered, dead. */
  async deliveryCounts(db: Knex | Knex.Transaction): Promise<Map<string, Record<Delivery['state'], number>>> {
    const { rows } = await db.raw<{ rows: { subscription_id: string; state: Delivery['state']; n: string }[] }>(
      `select subscription_id, state, count(*) as n from webhook_deliveries group by subscription_id, state`,
    );
    const counts = new Map<string, Record<Delivery['state'], number>>();
    for (const r of rows) {
      const c = counts.get(r.subscription_id) ?? { pending: 0, delivered: 0, dead: 0 };
      c[r.state] = Number(r.n);
      counts.set(r.subscription_id, c);
    }
    return counts;
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
      .update({ state: 'pending', attempts: 0, lease_token: null, next_attempt_at: trx.raw('clock_timestamp()') });
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
