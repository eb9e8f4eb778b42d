/**
 * The rules an operator's entry must meet, checked at once by the workflow's update validators (and by
 * the API before it sends anything): the right step, a signer with the right role, every required value
 * of the right type and within its validation range, usable lots in the right amount. A value inside
 * its validation range but outside its limits is accepted as a deviation, which needs a comment.
 * Pure and deterministic: workflow code runs it.
 */
import { expiryProblem } from '../materials/expiry';
import type { PlanField, PlanStep } from '../recipe/plan';
import type { Deviation, LotUse, Signer, StepCompletion, StepStatus, StepVerification } from './types';

/** Whether a value lies outside its limits (a limit not given is no limit on that side). */
export function outsideLimits(value: number, limits: { low?: number; high?: number }): boolean {
  return (limits.low !== undefined && value < limits.low) || (limits.high !== undefined && value > limits.high);
}

export interface CompletionVerdict {
  /** Why the step takes no entry now (it is not awaiting input): a conflict with its state, not a wrong value. */
  notAwaited?: string;
  problems: string[];
  deviations: Deviation[];
}

/** When the step became ready for input and when its entry is made (ms since the epoch): the window a late entry must lie in. */
export interface EntryWindow {
  readyAt: number;
  now: number;
}

/** The signature meaning a step's completion carries. */
export function completionMeaning(step: PlanStep): Signer['meaning'] {
  return step.kind === 'approval' ? step.meaning : 'performed';
}

/** Whether `signer` may perform `step`. */
function roleProblems(step: PlanStep, signer: Signer, roles: readonly string[], what: string): string[] {
  if (signer.roles.includes('admin')) return ['administrators do not perform or sign GMP steps'];
  if (!signer.roles.some((r) => roles.includes(r))) return [`${what} ${step.id} needs the role ${roles.join(' or ')}`];
  return [];
}

/**
 * Checks an operator's completion of `step` (whose status is `status`). With `window`, a late entry must say
 * it was performed between the moment the step became ready and now: neither backdated before the step could
 * be done, nor in the future.
 */
export function checkCompletion(
  step: PlanStep,
  status: StepStatus,
  c: StepCompletion,
  today: string,
  window?: EntryWindow,
): CompletionVerdict {
  const problems: string[] = [];
  const deviations: Deviation[] = [];
  if (status !== 'awaiting-input')
    return { notAwaited: `step ${step.id} is ${status}, not awaiting input`, problems, deviations };
  problems.push(...roleProblems(step, c.signer, step.performedBy, 'performing'));
  const meaning = completionMeaning(step);
  if (c.signer.meaning !== meaning)
    problems.push(`completing step ${step.id} is signed "${meaning}", not "${c.signer.meaning}"`);

  const fields: PlanField[] = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  for (const key of Object.keys(c.values))
    if (!fields.some((f) => f.id === key)) problems.push(`step ${step.id} has no field "${key}"`);
  for (const f of fields) {
    const v = c.values[f.id];
    if (v === undefined) {
      if (f.required) problems.push(`"${f.label}" (${f.id}) is required`);
      continue;
    }
    problems.push(...fieldProblems(f, v));
    if (f.type === 'number' && typeof v === 'number' && Number.isFinite(v)) {
      if (outsideLimits(v, f)) {
        const comment = c.deviationComments?.[f.id]?.trim() || null;
        if (!comment)
          problems.push(
            `"${f.label}" ${v} ${f.unit} is outside its limits ${f.low ?? '−∞'}–${f.high ?? '∞'}: a deviation needs a comment`,
          );
        deviations.push({
          stepId: step.id,
          field: f.id,
          value: v,
          unit: f.unit,
          low: f.low,
          high: f.high,
          comment,
          source: 'operator',
        });
      }
    }
  }
  if (c.lateEntry) {
    if (!c.lateEntry.reason?.trim()) problems.push('a late entry needs a reason');
    const performedAt = Date.parse(c.lateEntry.performedAt ?? '');
    if (!/^\d{4}-\d\d-\d\dT/.test(c.lateEntry.performedAt ?? '') || Number.isNaN(performedAt))
      problems.push('a late entry needs the time the step was performed (ISO 8601)');
    else if (window && (performedAt < window.readyAt || performedAt > window.now)) {
      problems.push(
        `a late entry must lie between the moment step ${step.id} became ready (${new Date(window.readyAt).toISOString()}) and now (${new Date(window.now).toISOString()}): ${c.lateEntry.performedAt} does not`,
      );
    }
  }
  problems.push(...weighingProblems(step, c));
  if (step.kind === 'material') {
    const verdict = lotsVerdict(step, c.lots ?? [], today, c.deviationComments?.quantity);
    problems.push(...verdict.problems);
    deviations.push(...verdict.deviations);
  } else if (c.lots && c.lots.length > 0) {
    problems.push(`step ${step.id} uses no material`);
  }
  for (const key of Object.keys(c.deviationComments ?? {})) {
    if (!deviations.some((d) => d.field === key)) problems.push(`"${key}" has a deviation comment but no deviation`);
  }
  return { problems, deviations };
}

function fieldProblems(f: PlanField, v: unknown): string[] {
  switch (f.type) {
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return [`"${f.label}" must be a number`];
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max))
        return [`"${f.label}" ${v} ${f.unit} is outside the plausible range ${f.min ?? '−∞'}–${f.max ?? '∞'}`];
      return [];
    }
    case 'text':
      if (typeof v !== 'string') return [`"${f.label}" must be text`];
      if (f.required && v.trim() === '') return [`"${f.label}" is required`];
      return v.length > f.maxLength ? [`"${f.label}" may have at most ${f.maxLength} characters`] : [];
    case 'choice':
      return typeof v === 'string' && f.options.includes(v)
        ? []
        : [`"${f.label}" must be one of ${f.options.join(', ')}`];
    case 'passFail':
      return typeof v === 'boolean' ? [] : [`"${f.label}" must be true (pass) or false (fail)`];
  }
}

/**
 * A weighed material step takes its weight from a weighing — the scale's, or a manual one with a reason — from one
 * lot into one container; a step that is not weighed takes none.
 */
function weighingProblems(step: PlanStep, c: StepCompletion): string[] {
  const w = c.weighing;
  if (step.kind !== 'material' || !step.weighed)
    return w ? [`step ${step.id} is not weighed: it takes no weighing`] : [];
  if (!w)
    return [
      `step ${step.id} is weighed: its quantity comes from a scale (or, where the scale is down, a manual weighing with a reason)`,
    ];
  const problems: string[] = [];
  if (!w.container?.trim()) problems.push('a weighing names the container dispensed into');
  if (w.source === 'manual' && !w.reason?.trim()) problems.push('a manual weighing needs a reason');
  if ((c.lots ?? []).length !== 1) problems.push('a weighing dispenses from one lot');
  else if (c.lots![0].quantity !== w.inStepUnit)
    problems.push(
      `the quantity taken from lot ${c.lots![0].lotNumber} is the weighing's ${w.inStepUnit}, not ${c.lots![0].quantity}`,
    );
  return problems;
}

/** Lots for a material step: each usable, and together the quantity within its acceptance range (else a deviation). */
function lotsVerdict(
  step: Extract<PlanStep, { kind: 'material' }>,
  lots: LotUse[],
  today: string,
  comment: string | undefined,
): CompletionVerdict {
  const problems: string[] = [];
  const deviations: Deviation[] = [];
  if (lots.length === 0) return { problems: [`step ${step.id} needs the lot(s) of ${step.material} used`], deviations };
  const seen = new Set<string>();
  for (const l of lots) {
    if (seen.has(l.lotId)) problems.push(`lot ${l.lotNumber} is listed twice`);
    seen.add(l.lotId);
    if (l.material !== step.material) problems.push(`lot ${l.lotNumber} is ${l.material}, not ${step.material}`);
    const expired = expiryProblem(l, today);
    if (expired) problems.push(expired);
    else if (l.status !== 'released') problems.push(`lot ${l.lotNumber} is ${l.status}, not released`);
    if (!(l.quantity > 0) || !Number.isFinite(l.quantity))
      problems.push(`the quantity taken from lot ${l.lotNumber} must be more than 0`);
    else if (l.quantity > l.available + 1e-9)
      problems.push(`lot ${l.lotNumber} holds ${l.available} ${step.quantity.unit}, less than ${l.quantity}`);
  }
  const total = Number(lots.reduce((s, l) => s + l.quantity, 0).toPrecision(12));
  if (total < step.acceptance.low || total > step.acceptance.high) {
    const note = comment?.trim() || null;
    if (!note)
      problems.push(
        `${total} ${step.quantity.unit} of ${step.material} is outside ${step.acceptance.low}–${step.acceptance.high} ${step.quantity.unit}: a deviation needs a comment`,
      );
    deviations.push({
      stepId: step.id,
      field: 'quantity',
      value: total,
      unit: step.quantity.unit,
      low: step.acceptance.low,
      high: step.acceptance.high,
      comment: note,
      source: 'operator',
    });
  }
  return { problems, deviations };
}

/** A second person's check: the step awaits it, the verifier has the role, and did not perform the step. */
export function checkVerification(
  step: PlanStep,
  status: StepStatus,
  performedBy: string | undefined,
  v: StepVerification,
): { notAwaited?: string; problems: string[] } {
  if (status !== 'awaiting-verification')
    return { notAwaited: `step ${step.id} is ${status}, not awaiting verification`, problems: [] };
  const problems = roleProblems(step, v.signer, step.signatures.verifiedBy, 'verifying');
  if (v.signer.meaning !== 'verified') problems.push(`a verification is signed "verified", not "${v.signer.meaning}"`);
  if (performedBy && v.signer.userId === performedBy)
    problems.push(`the person who performed step ${step.id} cannot verify it`);
  return { problems };
}

/** Equipment reports outside the limits the recipe gives them: deviations for QA's review. */
export function reportDeviations(
  step: Extract<PlanStep, { kind: 'equipment' }>,
  reports: { id: string; value: number | null }[],
): Deviation[] {
  const out: Deviation[] = [];
  for (const r of reports) {
    const expected = step.reports.find((x) => x.id === r.id);
    if (!expected || r.value === null) continue;
    if (outsideLimits(r.value, expected)) {
      out.push({
        stepId: step.id,
        field: r.id,
        value: r.value,
        unit: expected.unit,
        low: expected.low,
        high: expected.high,
        comment: null,
        source: 'equipment',
      });
    }
  }
  return out;
}
