/**
 * Production orders: what is asked to be made — from the ERP or a planner — each with its state and, for a planner,
 * the steps its state allows now (release to the floor, back to planned, cancel with a reason, close once its batch
 * has ended); and a planner's form for a new order. Launching a released order is the batches page's.
 */
import type { OrderRecord } from '../../db/stores/order-store';
import { quantityText, utcText } from '../../domain/batch/record-text';
import { ORDER_TRANSITIONS, type OrderAction } from '../../domain/orders/production-order';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

const STATE_WORDS: Record<string, string> = {
  planned: 'Planned',
  released: 'Released to the floor',
  launched: 'Launched',
  closed: 'Closed',
  cancelled: 'Cancelled',
};

const ACTION_WORDS: Record<Exclude<OrderAction, 'launch'>, string> = {
  release: 'Release',
  unrelease: 'Back to planned',
  cancel: 'Cancel',
  close: 'Close',
};

/** One of the order's next steps: a form with its reason (required to cancel). */
function OrderAction({ ctx, o, action }: { ctx: PageContext; o: OrderRecord; action: Exclude<OrderAction, 'launch'> }) {
  const id = `reason-${o.number}-${action}`;
  return (
    <form method="post" action={`/orders/${encodeURIComponent(o.number)}/${action}`} class="inline">
      <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
      <label for={id}>Reason{action === 'cancel' ? '' : ' (optional)'}</label>
      <input id={id} name="reason" maxLength={2000} required={action === 'cancel'} />
      <button type="submit">
        {ACTION_WORDS[action]} {o.number}
      </button>
    </form>
  );
}

export function ordersPage(
  ctx: PageContext,
  o: { orders: OrderRecord[]; mayPlan: boolean; problem?: string; done?: string; entered?: Record<string, string> },
): string {
  return page(
    'Production orders',
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">Production orders</h1>
      <Outcome done={o.done} problem={o.problem} />
      {o.orders.length === 0 ? (
        <p class="empty">No production orders.</p>
      ) : (
        <table class="queue">
          <caption>Newest first</caption>
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Product · quantity</th>
              <th scope="col">Requested</th>
              <th scope="col">State</th>
              <th scope="col">Batch</th>
              {o.mayPlan && <th scope="col">Next</th>}
            </tr>
          </thead>
          <tbody>
            {o.orders.map((r) => (
              <tr data-order={r.number}>
                <td>
                  {r.number}
                  {r.source === 'b2mml' ? ' (from the ERP)' : ''}
                </td>
                <td>
                  {r.productCode} · {quantityText(r.quantity, r.unit)}
                  {r.recipeCode ? ` by ${r.recipeCode}` : ''}
                </td>
                <td>
                  {utcText(r.requestedStart)} – {utcText(r.requestedEnd)}
                </td>
                <td>{r.state === 'cancelled' ? `⚠ ${STATE_WORDS[r.state]}` : STATE_WORDS[r.state]}</td>
                <td>
                  {r.batchNumber ? <a href={`/batches/${encodeURIComponent(r.batchNumber)}`}>{r.batchNumber}</a> : '—'}
                </td>
                {o.mayPlan && (
                  <td>
                    {(Object.keys(ACTION_WORDS) as Exclude<OrderAction, 'launch'>[])
                      .filter((a) => (ORDER_TRANSITIONS[a].from as readonly string[]).includes(r.state))
                      .map((a) => (
                        <OrderAction ctx={ctx} o={r} action={a} />
                      ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {o.mayPlan && (
        <form method="post" action="/orders" class="entry" aria-labelledby="new-order-title">
          <h2 id="new-order-title">New production order</h2>
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          {(
            [
              ['number', 'Order number', true],
              ['product', 'Product (material code)', true],
              ['quantity', 'Quantity', true],
              ['unit', 'Unit (UCUM, e.g. L or kg)', true],
              ['recipe', 'Recipe (code, optional)', false],
            ] as const
          ).map(([name, label, required]) => (
            <p>
              <label for={`order-${name}`}>{label}</label>
              <input
                id={`order-${name}`}
                name={name}
                required={required}
                value={o.entered?.[name] ?? ''}
                {...(name === 'quantity' ? { inputMode: 'decimal' } : {})}
              />
            </p>
          ))}
          <p>
            <label for="order-reason">Reason (optional)</label>
            <input id="order-reason" name="reason" maxLength={2000} value={o.entered?.reason ?? ''} />
          </p>
          <button type="submit" class="primary">
            Create the order
          </button>
        </form>
      )}
    </section>,
    ctx,
  );
}
