/** Who acts in Ampoule: the roles a user may hold, and the fixed meanings an electronic signature can carry. */

export const ROLES = ['admin', 'planner', 'operator', 'qa'] as const;
export type Role = (typeof ROLES)[number];

/** 21 CFR 11.50(a)(3): the meaning of a signature, from a fixed list. */
export const SIGNATURE_MEANINGS = [
  'authored',
  'reviewed',
  'approved',
  'performed',
  'verified',
  'released',
  'rejected',
] as const;
export type SignatureMeaning = (typeof SIGNATURE_MEANINGS)[number];

/** Whether `s` is a UUID (an id), not a name or number: the API accepts either where it names a thing. */
export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
