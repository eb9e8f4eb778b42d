/**
 * Why a lot counts as expired, in words an operator can act on. Kept apart from `lots.ts` (which converts
 * units) so that the batch workflow's validators can use it: pure, no imports.
 */

/**
 * The refusal for an expired lot, or undefined when it is not expired: past its expiry date (a lot may be
 * used up to and including that date), or marked expired by QA before it.
 */
export function expiryProblem(
  lot: { lotNumber: string; status: string; expiryDate: string | null },
  today: string,
): string | undefined {
  if (lot.expiryDate !== null && lot.expiryDate < today) return `lot ${lot.lotNumber} expired on ${lot.expiryDate}`;
  if (lot.status === 'expired')
    return `lot ${lot.lotNumber} was marked expired${lot.expiryDate ? ` (before its expiry date, ${lot.expiryDate})` : ''}`;
  return undefined;
}
