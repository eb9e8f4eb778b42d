/**
 * Webhook subscriptions, an admin's: where Ampoule's events go (each subscription's address, the events it wants,
 * whether it is active and how its deliveries stand), a form for a new one — whose signing secret is shown on the
 * answer to that form and never again — deactivation with a reason; and one subscription's delivery log, newest
 * first, where a dead delivery is sent again with a reason.
 */
import type { Delivery } from '../../db/stores/outbox-store';
import { EVENT_TYPES } from '../../db/stores/outbox-store';
import type { Subscription } from '../../api/integration/webhook-service';
import { utcText } from '../../domain/batch/record-text';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

/** How a subscription's deliveries stand: how many are pending, delivered, dead. */
export type DeliveryCounts = Record<Delivery['state'], number>;

const STATE_WORDS: Record<Delivery['state'], string> = {
  pending: 'Pending',
  delivered: '✓ Delivered',
  dead: '⚠ Dead: retries used up',
};

function Reason({ id, label }: { id: string; label: string }) {
  return (
    <>
      <label for={id}>{label}</label>
      <input id={id} name="reason" maxLength={2000} required />
    </>
  );
}

export function webhooksPage(
  ctx: PageContext,
  o: {
    subscriptions: (Subscription & { counts: DeliveryCounts })[];
    /** The secret of the subscription just made: on this answer only. */
    created?: { id: string; url: string; secret: string };
    problem?: string;
    done?: string;
    entered?: { url?: string; description?: string; maxAttempts?: string; eventTypes?: string[] };
  },
): string {
  const checked = new Set(o.entered?.eventTypes ?? []);
  return page(
    'Webhooks',
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhook subscriptions</h1>
      <Outcome done={o.done} problem={o.problem} />
      {o.created && (
        <section class="secret" aria-labelledby="secret-title" data-secret-for={o.created.id}>
          <h2 id="secret-title">Signing secret of the subscription to {o.created.url}</h2>
          <p>
            Give it to the receiver now: it checks each delivery's <code>webhook-signature</code> with it. Ampoule shows
            it this once.
          </p>
          <p>
            <code class="secret-value">{o.created.secret}</code>
          </p>
        </section>
      )}
      {o.subscriptions.length === 0 ? (
        <p class="empty">No subscriptions: no event leaves Ampoule.</p>
      ) : (
        <table class="queue">
          <caption>Oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Events</th>
              <th scope="col">Deliveries</th>
              <th scope="col">State</th>
              <th scope="col">Next</th>
            </tr>
          </thead>
          <tbody>
            {o.subscriptions.map((s) => (
              <tr data-subscription={s.id}>
                <td>
                  <a href={`/webhooks/${s.id}`}>{s.url}</a>
                  {s.description ? ` — ${s.description}` : ''}
                </td>
                <td>{s.eventTypes.includes('*') ? 'all' : s.eventTypes.join(', ')}</td>
                <td>
                  {s.counts.delivered} delivered, {s.counts.pending} pending
                  {s.counts.dead > 0 ? `, ⚠ ${s.counts.dead} dead` : ''} · after {s.maxAttempts} attempts dead
                </td>
                <td>{s.active ? 'Active' : 'Inactive'}</td>
                <td>
                  {s.active && (
                    <form method="post" action={`/webhooks/${s.id}/deactivate`} class="inline">
                      <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
                      <Reason id={`reason-${s.id}`} label="Reason" />
                      <button type="submit">Deactivate</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form method="post" action="/webhooks" class="entry" aria-labelledby="new-subscription-title">
        <h2 id="new-subscription-title">New subscription</h2>
        <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
        <p>
          <label for="webhook-url">Address (http or https, no user or password in it)</label>
          <input id="webhook-url" name="url" type="url" required value={o.entered?.url ?? ''} />
        </p>
        <fieldset>
          <legend>Events</legend>
          {['*', ...EVENT_TYPES].map((t) => (
            <label class="choice">
              <input type="checkbox" name="eventTypes" value={t} checked={checked.has(t)} />{' '}
              {t === '*' ? 'all events, present and future' : t}
            </label>
          ))}
        </fieldset>
        <p>
          <label for="webhook-description">Description (optional)</label>
          <input id="webhook-description" name="description" maxLength={500} value={o.entered?.description ?? ''} />
        </p>
        <p>
          <label for="webhook-attempts">Attempts before a delivery is dead (1–50, 8 if empty)</label>
          <input id="webhook-attempts" name="maxAttempts" inputMode="numeric" value={o.entered?.maxAttempts ?? ''} />
        </p>
        <p>
          <label for="webhook-reason">Reason (optional)</label>
          <input id="webhook-reason" name="reason" maxLength={2000} />
        </p>
        <button type="submit" class="primary">
          Subscribe
        </button>
      </form>
    </section>,
    ctx,
  );
}

export function deliveriesPage(
  ctx: PageContext,
  o: { subscription: Subscription; deliveries: Delivery[]; problem?: string; done?: string },
): string {
  const s = o.subscription;
  return page(
    `Deliveries to ${s.url}`,
    <section aria-labelledby="deliveries-title">
      <p>
        <a href="/webhooks">← Webhook subscriptions</a>
      </p>
      <h1 id="deliveries-title">Deliveries to {s.url}</h1>
      <Outcome done={o.done} problem={o.problem} />
      <p>
        {s.active ? 'Active' : 'Inactive'}; events: {s.eventTypes.includes('*') ? 'all' : s.eventTypes.join(', ')}; a
        delivery is dead after {s.maxAttempts} failed attempts, and the subscription's later events go on.
      </p>
      {o.deliveries.length === 0 ? (
        <p class="empty">No deliveries yet.</p>
      ) : (
        <table class="queue">
          <caption>Newest first (the latest {o.deliveries.length})</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Happened</th>
              <th scope="col">State</th>
              <th scope="col">Attempts · last answer</th>
              <th scope="col">Next</th>
            </tr>
          </thead>
          <tbody>
            {o.deliveries.map((d) => (
              <tr data-delivery={String(d.id)} class={d.state === 'dead' ? 'abnormal' : undefined}>
                <td>
                  {d.event.type} · {d.event.subject}
                  <br />
                  <code>{d.event.id}</code>
                </td>
                <td>{utcText(d.event.occurredAt)}</td>
                <td>
                  {STATE_WORDS[d.state]}
                  {d.deliveredAt ? ` ${utcText(d.deliveredAt)}` : ''}
                </td>
                <td>
                  {d.attempts}
                  {d.lastStatus !== null ? ` · HTTP ${d.lastStatus}` : ''}
                  {d.lastError ? ` · ${d.lastError}` : ''}
                </td>
                <td>
                  {d.state === 'dead' && (
                    <form method="post" action={`/webhooks/deliveries/${d.id}/redeliver`} class="inline">
                      <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
                      <input type="hidden" name="subscription" value={s.id} />
                      <Reason id={`reason-${d.id}`} label="Reason" />
                      <button type="submit">Send again</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>,
    ctx,
  );
}
