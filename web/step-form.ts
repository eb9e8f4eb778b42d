/**
 * A step's entry as a form sends it, made into the completion the API takes: values by the field's type, the
 * lot as scanned (a GS1 label's lot number, or a lot number typed), deviation comments, the comment. No rule is
 * checked here but that a scanned label is readable: the workflow's validators (through the execution service)
 * judge the entry.
 */
import type { CompletionBody } from '../api/batches/execution-service';
import { Problem } from '../api/http/problems';
import type { PlanStep } from '../domain/recipe/plan';
import { parseGs1 } from './gs1';

type Form = Record<string, string | undefined>;

/**
 * A scan is read as GS1 when it says so: parentheses, a symbology identifier, a group separator, or a GTIN followed by
 * another AI (a typed lot number that merely starts with digits is taken as typed).
 */
function looksLikeGs1(scan: string): boolean {
  return /^[(\]]/.test(scan) || scan.includes('\u001d') || /^01\d{14}(10|17|21)/.test(scan);
}

/** The lot number a scan names (a label's AI 10), or the text as typed; with why a GS1 scan could not be read. */
export function lotOfScan(scan: string): { lot: string } | { error: string } {
  const s = scan.trim();
  if (!looksLikeGs1(s)) return { lot: s };
  const parsed = parseGs1(s);
  return 'error' in parsed
    ? { error: `the scan is not a lot label Ampoule reads: ${parsed.error}` }
    : { lot: parsed.lot! };
}

export function completionFromForm(step: PlanStep, form: Form): Omit<CompletionBody, 'signature'> {
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  const values: CompletionBody['values'] = {};
  for (const f of fields) {
    const raw = form[`value.${f.id}`]?.trim();
    if (raw === undefined || raw === '') continue;
    // A decimal as people type it (a comma or a point); anything else goes as typed, for the validator to refuse.
    if (f.type === 'number') values[f.id] = /^[+-]?\d+([.,]\d+)?$/.test(raw) ? Number(raw.replace(',', '.')) : raw;
    else if (f.type === 'passFail') values[f.id] = raw === 'pass';
    else values[f.id] = raw;
  }
  const deviationComments: Record<string, string> = {};
  for (const [key, value] of Object.entries(form))
    if (key.startsWith('deviation.') && value?.trim()) deviationComments[key.slice('deviation.'.length)] = value.trim();
  const body: Omit<CompletionBody, 'signature'> = { values };
  if (Object.keys(deviationComments).length > 0) body.deviationComments = deviationComments;
  if (form.comment?.trim()) body.comment = form.comment.trim();
  if (step.kind === 'material' && step.weighed && form.lot?.trim()) {
    // The weight is the scale's: the form names the lot and the container, or types a weight where the scale is down.
    const scanned = lotOfScan(form.lot);
    if ('error' in scanned) throw new Problem('step-refused', scanned.error);
    body.lots = [{ lot: scanned.lot }];
    if (form.container?.trim()) body.container = form.container.trim();
    const typed = String(form['manual.quantity'] ?? '').trim();
    if (typed) {
      if (!/^\d+([.,]\d+)?$/.test(typed))
        throw new Problem('step-refused', `the weight must be a number, not "${typed}"`);
      body.manualWeighing = {
        quantity: Number(typed.replace(',', '.')),
        unit: form['manual.unit'] ?? step.quantity.unit,
        reason: String(form['manual.reason'] ?? '').trim(),
      };
      if (!body.manualWeighing.reason) throw new Problem('step-refused', 'a manual weighing needs a reason');
    }
  } else if (step.kind === 'material' && form.lot?.trim()) {
    const scanned = lotOfScan(form.lot);
    if ('error' in scanned) throw new Problem('step-refused', scanned.error);
    const quantity = String(form.quantity ?? '').trim();
    if (!/^[+-]?\d+([.,]\d+)?$/.test(quantity))
      throw new Problem('step-refused', `the quantity used must be a number, not "${quantity}"`);
    body.lots = [{ lot: scanned.lot, quantity: Number(quantity.replace(',', '.')) }];
  }
  return body;
}
