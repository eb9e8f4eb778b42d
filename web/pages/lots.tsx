/**
 * Lots: the list (by material and status, the status that counts — a lot past its expiry date is expired), the
 * receipt of a lot into Quarantine; one lot with its ledger and status history, the QA status changes its status
 * allows (release and reject signed, the others with a reason), and its genealogy both ways as a tree.
 */
import type { JSX } from 'preact';
import type { BackwardNode, ForwardNode, LotDetail, LotView } from '../../api/lots/lot-service';
import type { MaterialRecord } from '../../db/stores/master-data-store';
import { quantityText, utcText } from '../../domain/batch/record-text';
import { LOT_STATUSES, statusChange, type LotStatus } from '../../domain/materials/lots';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';
import { SignatureDialog } from '../signature-dialog';

const STATUS_WORDS: Record<LotStatus, string> = {
  quarantine: 'Quarantine',
  released: 'Released',
  rejected: 'Rejected',
  expired: 'Expired',
};

/** A lot's status in words, with a symbol for what may not be used (never colour alone). */
export function LotStatusText({ status }: { status: LotStatus }) {
  return (
    <span class={status === 'released' ? 'status' : 'status abnormal'}>
      {status !== 'released' && <span aria-hidden="true">⚠ </span>}
      {STATUS_WORDS[status]}
    </span>
  );
}

const lotPath = (number: string) => `/lots/${encodeURIComponent(number)}`;

export function lotsPage(
  ctx: PageContext,
  o: {
    lots: LotView[];
    materials: MaterialRecord[];
    filter: { material?: string; status?: string };
    mayReceive: boolean;
    problem?: string;
    entered?: Record<string, string>;
  },
): string {
  const e = o.entered ?? {};
  return page(
    'Lots',
    <section aria-labelledby="lots-title">
      <h1 id="lots-title">Lots</h1>
      {o.mayReceive && (
        <form method="post" action="/lots" class="entry" aria-labelledby="receive-title">
          <h2 id="receive-title">Receive a lot</h2>
          <p class="hint">It starts in Quarantine until QA releases it.</p>
          <Outcome problem={o.problem} />
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <p>
            <label for="receive-material">Material</label>
            <select id="receive-material" name="material" required>
              {o.materials.map((m) => (
                <option value={m.code} selected={e.material === m.code}>
                  {m.code} — {m.name} (in {m.baseUnit})
                </option>
              ))}
            </select>
          </p>
          <p>
            <label for="receive-quantity">Quantity</label>
            <input id="receive-quantity" name="quantity" required inputMode="decimal" value={e.quantity ?? ''} />
          </p>
          <p>
            <label for="receive-unit">Unit (UCUM, e.g. kg, g, L)</label>
            <input id="receive-unit" name="unit" required maxLength={64} value={e.unit ?? ''} />
          </p>
          <p>
            <label for="receive-supplier">Supplier</label>
            <input id="receive-supplier" name="supplier" required maxLength={200} value={e.supplier ?? ''} />
          </p>
          <p>
            <label for="receive-supplier-lot">Supplier’s lot</label>
            <input id="receive-supplier-lot" name="supplierLot" required maxLength={64} value={e.supplierLot ?? ''} />
          </p>
          <p>
            <label for="receive-expiry">Expiry date (empty: does not expire)</label>
            <input id="receive-expiry" name="expiryDate" type="date" value={e.expiryDate ?? ''} />
          </p>
          <p>
            <label for="receive-lot-number">Lot number (empty: assigned)</label>
            <input id="receive-lot-number" name="lotNumber" maxLength={64} value={e.lotNumber ?? ''} />
          </p>
          <p>
            <label for="receive-reason">Reason (optional)</label>
            <input id="receive-reason" name="reason" maxLength={2000} value={e.reason ?? ''} />
          </p>
          <button type="submit" class="primary">
            Receive into Quarantine
          </button>
        </form>
      )}
      <form method="get" action="/lots" class="entry filter">
        <h2>Find lots</h2>
        <p>
          <label for="filter-material">Material</label>
          <select id="filter-material" name="material">
            <option value="">any</option>
            {o.materials.map((m) => (
              <option value={m.code} selected={o.filter.material === m.code}>
                {m.code}
              </option>
            ))}
          </select>
        </p>
        <p>
          <label for="filter-status">Status</label>
          <select id="filter-status" name="status">
            <option value="">any</option>
            {LOT_STATUSES.map((s) => (
              <option value={s} selected={o.filter.status === s}>
                {STATUS_WORDS[s]}
              </option>
            ))}
          </select>
        </p>
        <button type="submit">Show</button>
      </form>
      {o.lots.length === 0 ? (
        <p class="empty">No lots.</p>
      ) : (
        <table class="queue">
          <caption>Lots in lot-number order</caption>
          <thead>
            <tr>
              <th scope="col">Lot</th>
              <th scope="col">Material</th>
              <th scope="col">Quantity</th>
              <th scope="col">Status</th>
              <th scope="col">Expiry</th>
            </tr>
          </thead>
          <tbody>
            {o.lots.map((l) => (
              <tr data-lot={l.lotNumber}>
                <td>
                  <a href={lotPath(l.lotNumber)}>{l.lotNumber}</a>
                </td>
                <td>{l.materialCode}</td>
                <td>{quantityText(l.quantity, l.unit)}</td>
                <td>
                  <LotStatusText status={l.effectiveStatus} />
                </td>
                <td>{l.expiryDate ?? 'does not expire'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>,
    ctx,
  );
}

export interface LotPageOptions {
  mayDispose: boolean;
  backward: BackwardNode;
  forward: ForwardNode;
  /** Batch numbers by batch id, for the genealogy. */
  batchNumbers: Map<string, string>;
  problem?: string;
  done?: string;
}

export function lotPage(ctx: PageContext, lot: LotDetail, o: LotPageOptions): string {
  const changes = LOT_STATUSES.flatMap((to) => {
    const c = statusChange(lot.status, to);
    return c.ok ? [{ to, signature: c.signature }] : [];
  });
  const batch = (id: string) => {
    const number = o.batchNumbers.get(id) ?? id;
    return <a href={`/batches/${encodeURIComponent(number)}`}>batch {number}</a>;
  };
  return page(
    `Lot ${lot.lotNumber}`,
    <article aria-labelledby="lot-title">
      <h1 id="lot-title">Lot {lot.lotNumber}</h1>
      <Outcome done={o.done} problem={o.problem} />
      <dl class="facts">
        <dt>Material</dt>
        <dd>{lot.materialCode}</dd>
        <dt>Quantity</dt>
        <dd>{quantityText(lot.quantity, lot.unit)}</dd>
        <dt>Status</dt>
        <dd>
          <LotStatusText status={lot.effectiveStatus} />
          {lot.effectiveStatus !== lot.status ? ` (recorded ${STATUS_WORDS[lot.status]}; past its expiry date)` : ''}
        </dd>
        <dt>Expiry date</dt>
        <dd>{lot.expiryDate ?? 'does not expire'}</dd>
        <dt>Origin</dt>
        <dd>
          {lot.producedByBatch
            ? batch(lot.producedByBatch)
            : `${lot.supplier ?? '—'}, supplier’s lot ${lot.supplierLot ?? '—'}, received ${lot.receivedDate ?? '—'}`}
        </dd>
      </dl>
      {o.mayDispose &&
        changes.map((c) => (
          <form method="post" action={`${lotPath(lot.lotNumber)}/status`} class="entry">
            <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
            <input type="hidden" name="status" value={c.to} />
            <h2>Make it {STATUS_WORDS[c.to]}</h2>
            <p>
              <label for={`status-${c.to}-reason`}>Reason</label>
              <input id={`status-${c.to}-reason`} name="reason" required maxLength={2000} />
            </p>
            {c.signature ? (
              <SignatureDialog
                id={`status-${c.to}-dialog`}
                actor={ctx.actor}
                what={`Lot ${lot.lotNumber} of ${lot.materialCode}, ${quantityText(lot.quantity, lot.unit)}, expiry ${lot.expiryDate ?? 'none'}: from ${STATUS_WORDS[lot.status]} to ${STATUS_WORDS[c.to]}.`}
                meaning={c.signature}
                opener={`${c.to === 'released' ? 'Release' : 'Reject'}…`}
              />
            ) : (
              <button type="submit">Make it {STATUS_WORDS[c.to]}</button>
            )}
          </form>
        ))}
      <h2>Genealogy</h2>
      <div class="genealogy">
        <section aria-labelledby="backward-title">
          <h3 id="backward-title">What went into it</h3>
          {o.backward.producedBy.length === 0 ? (
            <p class="empty">Received from its supplier: nothing went into it here.</p>
          ) : (
            <ul class="tree">
              <BackwardTree node={o.backward} batch={batch} />
            </ul>
          )}
        </section>
        <section aria-labelledby="forward-title">
          <h3 id="forward-title">Where it went</h3>
          {o.forward.consumedBy.length === 0 ? (
            <p class="empty">Not used by any batch.</p>
          ) : (
            <ul class="tree">
              <ForwardTree node={o.forward} batch={batch} />
            </ul>
          )}
        </section>
      </div>
      <h2>Status history</h2>
      <table class="queue">
        <thead>
          <tr>
            <th scope="col">When (UTC)</th>
            <th scope="col">Change</th>
            <th scope="col">By</th>
            <th scope="col">Reason</th>
            <th scope="col">Signature</th>
          </tr>
        </thead>
        <tbody>
          {lot.statusHistory.map((h) => (
            <tr>
              <td>{utcText(h.at)}</td>
              <td>
                {h.fromStatus ? `${STATUS_WORDS[h.fromStatus]} → ` : ''}
                {STATUS_WORDS[h.toStatus]}
              </td>
              <td>{h.userName}</td>
              <td>{h.reason}</td>
              <td>{h.signature ? `${h.signature.meaning} by ${h.signature.signedBy}` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Ledger</h2>
      <table class="queue">
        <thead>
          <tr>
            <th scope="col">When (UTC)</th>
            <th scope="col">Transaction</th>
            <th scope="col">Quantity</th>
            <th scope="col">By</th>
            <th scope="col">Batch, step or reason</th>
          </tr>
        </thead>
        <tbody>
          {lot.transactions.map((t) => (
            <tr>
              <td>{utcText(t.at)}</td>
              <td>{t.kind}</td>
              <td>
                {quantityText(t.quantity, lot.unit)}
                {t.enteredUnit !== lot.unit ? ` (entered ${quantityText(t.enteredQuantity, t.enteredUnit)})` : ''}
              </td>
              <td>{t.userName}</td>
              <td>
                {t.batchId ? batch(t.batchId) : null}
                {t.stepId ? ` · ${t.stepId}` : ''}
                {t.reason ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>,
    ctx,
  );
}

type BatchLink = (id: string) => JSX.Element;

function LotLine({ node, amount }: { node: BackwardNode | ForwardNode; amount?: string }) {
  return (
    <>
      {amount && `${amount} of `}
      <a href={lotPath(node.lotNumber)}>lot {node.lotNumber}</a> ({node.material}) —{' '}
      <LotStatusText status={node.effectiveStatus} />
      {node.repeated ? ' (its branches are shown above)' : ''}
    </>
  );
}

function BackwardTree({ node, batch, amount }: { node: BackwardNode; batch: BatchLink; amount?: string }) {
  return (
    <li data-lot={node.lotNumber}>
      <LotLine node={node} amount={amount} />
      {node.producedBy.length > 0 && (
        <ul>
          {node.producedBy.map((p) => (
            <li>
              made by {batch(p.batchId)} ({quantityText(p.produced.value, p.produced.unit)}), from:
              <ul>
                {p.inputs.map((i) => (
                  <BackwardTree node={i} batch={batch} amount={quantityText(i.consumed.value, i.consumed.unit)} />
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function ForwardTree({ node, batch, amount }: { node: ForwardNode; batch: BatchLink; amount?: string }) {
  return (
    <li data-lot={node.lotNumber}>
      <LotLine node={node} amount={amount} />
      {node.consumedBy.length > 0 && (
        <ul>
          {node.consumedBy.map((c) => (
            <li>
              {quantityText(c.consumed.value, c.consumed.unit)} used by {batch(c.batchId)}, which made:
              <ul>
                {c.outputs.map((x) => (
                  <ForwardTree node={x} batch={batch} amount={quantityText(x.produced.value, x.produced.unit)} />
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
