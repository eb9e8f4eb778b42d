/**
 * The outbox's relay: delivers each subscription's events, in the order they happened, at least once, signed per
 * the Standard Webhooks convention (`webhook-id` — the event's id, what receivers deduplicate on —
 * `webhook-timestamp`, `webhook-signature`; the `standardwebhooks` package). A delivery is claimed for a lease in a
 * short transaction with its subscription locked (no transaction is held over HTTP), so that relays in several API
 * processes never send a subscription's events at once or out of order, and one that dies mid-delivery leaves it to
 * be sent again when the lease ends; a late outcome from a lease that passed on is dropped. A failure is tried again
 * with exponential backoff; after the subscription's maximum of attempts the delivery is dead (a dead letter) and
 * the subscription's later events go on — until an admin sends it again.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { Stores } from '../../db/stores';
import type { Delivery } from '../../db/stores/outbox-store';
import { causesOf } from '../http/errors';

export interface RelayOptions {
  /** How often the relay looks for due deliveries. */
  pollMs: number;
  /** How long a receiver has to answer. */
  timeoutMs: number;
  /** The first retry's wait; each next one doubles, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RELAY: RelayOptions = {
  pollMs: 1_000,
  timeoutMs: 10_000,
  backoffMs: 2_000,
  maxBackoffMs: 600_000,
};

/** The body a receiver gets: Standard Webhooks' `{type, timestamp, data}`. */
export function webhookBody(event: Delivery['event']): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
}

export class WebhookRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly log: Logger,
    private readonly options: RelayOptions = DEFAULT_RELAY,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.deliverDue()
        .catch((err) => this.log.error({ err }, 'delivering webhooks failed; trying again'))
        .finally(() => (this.running = undefined));
    }, this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Delivers what is due now, until nothing is. */
  async deliverDue(): Promise<void> {
    for (;;) {
      // Claimed for a lease: another relay skips them, and if this one dies they are due again after it.
      const due = await this.stores.outbox.claimDue(this.db, 16, this.options.timeoutMs * 2);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.deliver(d)));
    }
  }

  private async deliver(d: Delivery & { url: string; secret: string; leaseToken: string }): Promise<void> {
    const body = webhookBody(d.event);
    const at = new Date();
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'webhook-id': d.event.id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(d.secret).sign(d.event.id, at, body),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'manual',
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (status < 200 || status > 299) error = `answered ${status}`;
    } catch (err) {
      // fetch's own message is "fetch failed": the reason is in its causes.
      error = causesOf(err).join(': ').slice(0, 1000);
    }
    const delivered = error === null;
    const retryInMs = Math.min(this.options.backoffMs * 2 ** d.attempts, this.options.maxBackoffMs);
    const state = await this.stores.outbox.recordAttempt(this.db, d, {
      status,
      error,
      durationMs: Math.round(performance.now() - started),
      delivered,
      retryInMs: delivered ? 0 : retryInMs,
    });
    if (state === 'dead')
      this.log.warn(
        { subscription: d.subscriptionId, event: d.event.id, type: d.event.type, attempts: d.attempts + 1, error },
        'a webhook delivery is dead after its last attempt: POST /api/webhooks/deliveries/:id/redeliver sends it again',
      );
  }
}
