/**
 * Lots: their statuses, which changes need which signature, and whether a lot may be used for a material
 * step. Pure functions: the database and the batch workflow both ask them.
 */
import type { SignatureMeaning } from '../identity';
import { convert } from '../units';
import { expiryProblem } from './expiry';

export const LOT_STATUSES = ['quarantine', 'released', 'rejected', 'expired'] as const;
export type LotStatus = (typeof LOT_STATUSES)[number];

/** Which status changes are allowed, and the signature each needs (none: a reason is enough). */
const CHANGES: Record<LotStatus, Partial<Record<LotStatus, SignatureMeaning | null>>> = {
  quarantine: { released: 'released', rejected: 'rejected', expired: null },
  released: { quarantine: null, rejected: 'rejected', expired: null },
  expired: { rejected: 'rejected' },
  rejected: {},
};

/** The signature meaning a status change needs (null: a reason is enough), or why it is not allowed. */
export function statusChange(
  from: LotStatus,
  to: LotStatus,
): { ok: true; signature: SignatureMeaning | null } | { ok: false; reason: string } {
  const meaning = CHANGES[from][to];
  if (meaning === undefined) {
    const allowed = Object.keys(CHANGES[from]);
    return {
      ok: false,
      reason: `a ${from} lot cannot become ${to}${allowed.length ? ` (only ${allowed.join(' or ')})` : ': rejected is final'}`,
    };
  }
  return { ok: true, signature: meaning };
}

/** The meaning a signature on a change to `to` carries, whatever the lot's status (for the route's declaration). */
export function signatureFor(to: LotStatus): SignatureMeaning | null {
  return to === 'released' ? 'released' : to === 'rejected' ? 'rejected' : null;
}

export interface LotFacts {
  lotNumber: string;
  materialCode: string;
  status: LotStatus;
  /** ISO date (YYYY-MM-DD), or null for a material that does not expire. */
  expiryDate: string | null;
  quantity: number;
  unit: string;
}

/** Expired by date, whatever the recorded status says: a lot may be used up to and including its expiry date. */
export function isExpired(lot: Pick<LotFacts, 'expiryDate'>, today: string): boolean {
  return lot.expiryDate !== null && lot.expiryDate < today;
}

/** The status that counts: `expired` once past the expiry date (unless already rejected). */
export function effectiveStatus(lot: Pick<LotFacts, 'status' | 'expiryDate'>, today: string): LotStatus {
  return lot.status !== 'rejected' && isExpired(lot, today) ? 'expired' : lot.status;
}

/**
 * Why a lot cannot supply `quantity` to a material step, or an empty list: the right material,
 * released, not expired, and enough of it, in a unit convertible to the lot's.
 */
export function lotProblems(
  lot: LotFacts,
  need: { material: string; quantity: { value: number; unit: string } },
  today: string,
): string[] {
  const problems: string[] = [];
  if (lot.materialCode !== need.material)
    problems.push(`lot ${lot.lotNumber} is ${lot.materialCode}, not ${need.material}`);
  const status = effectiveStatus(lot, today);
  const expired = expiryProblem(lot, today);
  if (expired) problems.push(expired);
  else if (status !== 'released') problems.push(`lot ${lot.lotNumber} is ${status}, not released`);
  const wanted = convert(need.quantity.value, need.quantity.unit, lot.unit);
  if (wanted === undefined) problems.push(`${need.quantity.unit} cannot be converted to the lot's unit ${lot.unit}`);
  else if (wanted > lot.quantity + 1e-9)
    problems.push(
      `lot ${lot.lotNumber} holds ${lot.quantity} ${lot.unit}, less than the ${roundQuantity(wanted)} ${lot.unit} needed`,
    );
  return problems;
}

/** Twelve significant digits: quantities converted between units without binary noise. */
export function roundQuantity(x: number): number {
  return Number(x.toPrecision(12));
}
