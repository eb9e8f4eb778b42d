/**
 * Lots in the pages: the list and the receipt into Quarantine; one lot with its ledger, status history and
 * genealogy; QA's status changes (release and reject signed, as the API signs them) — through the lot service.
 */
import type { Request, Router } from 'express';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import type { BackwardNode, ForwardNode } from '../../api/lots/lot-service';
import { LOT_STATUSES } from '../../domain/materials/lots';
import { lotStatusSignature, receiveLotSchema } from '../../api/lots/lot-routes';
import { CSRF_FIELD } from '../csrf';
import { lotPage, lotsPage } from '../pages/lots';
import { schemaProblem, type Form, type PageKit } from '../page-kit';

/** Every batch a genealogy tree passes through. */
function batchIds(node: BackwardNode | ForwardNode, into = new Set<string>()): Set<string> {
  for (const p of 'producedBy' in node ? node.producedBy : []) {
    into.add(p.batchId);
    for (const i of p.inputs) batchIds(i, into);
  }
  for (const c of 'consumedBy' in node ? node.consumedBy : []) {
    into.add(c.batchId);
    for (const o of c.outputs) batchIds(o, into);
  }
  return into;
}

export function lotRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const listView = async (req: Request, extra: { problem?: string; entered?: Record<string, string> } = {}) => {
    const material = typeof req.query.material === 'string' && req.query.material ? req.query.material : undefined;
    const status = LOT_STATUSES.find((x) => x === req.query.status);
    return lotsPage(k.context(req), {
      lots: await s.lots.list({ material, status, limit: 500 }),
      materials: await s.masterData.materials(),
      filter: { material, status },
      mayReceive: k.may(req, 'lots.receive'),
      ...extra,
    });
  };
  router.get('/lots', k.requireLogin, k.requirePermission('lots.read'), async (req, res) =>
    k.html(res, await listView(req)),
  );
  router.post('/lots', k.requireLogin, k.requirePermission('lots.receive'), k.requireCsrf, async (req, res) => {
    const form = req.body as Form;
    try {
      // Read as the API reads a receipt (its schema), from the form's strings.
      if (!/^\s*\d+([.,]\d+)?\s*$/.test(form.quantity ?? ''))
        throw new Problem('unprocessable', 'the quantity is a positive number, such as 25 or 12.5');
      const lotNumber = form.lotNumber?.trim();
      const receipt = receiveLotSchema.safeParse({
        material: form.material ?? '',
        quantity: Number(String(form.quantity).trim().replace(',', '.')),
        unit: form.unit?.trim() ?? '',
        expiryDate: form.expiryDate?.trim() || null,
        supplier: form.supplier ?? '',
        supplierLot: form.supplierLot ?? '',
        ...(lotNumber ? { lotNumber } : {}),
      });
      if (!receipt.success) throw schemaProblem(receipt.error);
      const { quantity, unit, ...rest } = receipt.data;
      const lot = await s.db.transaction((trx) =>
        s.lots.receive(
          { trx, actor: req.actor!, station: stationOf(req), reason: k.reasonOf(form.reason) },
          { ...rest, quantity: { value: quantity, unit } },
        ),
      );
      return res.redirect(303, `/lots/${encodeURIComponent(lot.lotNumber)}?done=received`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      const { [CSRF_FIELD]: _csrf, ...entered } = form;
      return k.html(
        res,
        await listView(req, { problem: await k.refusal(req, err), entered: entered as Record<string, string> }),
        err.status,
      );
    }
  });

  const lotView = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const lot = await s.lots.get(String(req.params.lot));
    const backward = (await s.lots.genealogy(lot.id, 'backward')).root as BackwardNode;
    const forward = (await s.lots.genealogy(lot.id, 'forward')).root as ForwardNode;
    const ids = batchIds(forward, batchIds(backward));
    if (lot.producedByBatch) ids.add(lot.producedByBatch);
    for (const t of lot.transactions) if (t.batchId) ids.add(t.batchId);
    const batchNumbers = new Map<string, string>();
    for (const id of ids) batchNumbers.set(id, (await s.batches.records.get(id)).number);
    return lotPage(k.context(req), lot, {
      mayDispose: k.may(req, 'lots.disposition'),
      backward,
      forward,
      batchNumbers,
      ...extra,
    });
  };
  const DONE: Record<string, string> = {
    received: 'Received into Quarantine.',
    ...Object.fromEntries(LOT_STATUSES.map((x) => [x, `Now ${x}.`])),
  };
  router.get('/lots/:lot', k.requireLogin, k.requirePermission('lots.read'), async (req, res) => {
    const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
    return k.html(res, await lotView(req, done ? { done } : {}));
  });
  router.post(
    '/lots/:lot/status',
    k.requireLogin,
    k.requirePermission('lots.disposition'),
    k.signLimiter,
    k.requireCsrf,
    async (req, res) => {
      const form = req.body as Form;
      try {
        const to = LOT_STATUSES.find((x) => x === form.status);
        if (!to) throw new Problem('unprocessable', `no lot status ${String(form.status)}`);
        const reason = k.reasonOf(form.reason);
        if (!reason) throw new Problem('reason-required', 'a lot’s status changes with a reason');
        const station = stationOf(req);
        const requirement = lotStatusSignature(to);
        const signer = requirement
          ? await s.signatures.verify(req.actor!, k.signatureOf(req, form, requirement.meaning), requirement, station)
          : null;
        const lot = await s.db.transaction((trx) =>
          s.lots.changeStatus({ trx, actor: req.actor!, station, reason }, String(req.params.lot), to, signer),
        );
        return res.redirect(303, `/lots/${encodeURIComponent(lot.lotNumber)}?done=${to}`);
      } catch (err) {
        if (!(err instanceof Problem)) throw err;
        return k.html(res, await lotView(req, { problem: await k.refusal(req, err) }), err.status);
      }
    },
  );
}
