/**
 * One list shape for every collection: `{items, next}`, `next` an opaque cursor to send back as `cursor` for the
 * following page (null on the last), `limit` at most 1,000. Behind the cursor: a keyset where the collection grows
 * without bound (audit trail, security events, batches, lots), a position in the (bounded) whole elsewhere —
 * clients cannot tell, and need not.
 */
import { z } from 'zod';
import { validationFailed } from './problems';

export const MAX_LIMIT = 1000;

/** The query members every list takes. */
export function listQuery(defaultLimit = 100) {
  return {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_LIMIT)
      .default(defaultLimit)
      .describe(`how many items at most (1–${MAX_LIMIT})`),
    cursor: z.string().max(500).optional().describe('the `next` of the page before'),
  };
}

/** The answer's schema: the items and the next page's cursor. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next: z.string().nullable().describe('send as `cursor` for the next page; null on the last'),
  });
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a cursor holds, checked against `shape`; a cursor that is not one of ours is a 400 on `cursor`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, shape: S): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const result = shape.safeParse(parsed);
  if (!result.success)
    throw validationFailed([
      { in: 'query', pointer: '/cursor', message: 'not a cursor of this list: send back the `next` it gave' },
    ]);
  return result.data;
}

/** A page of a bounded collection held whole: the cursor is a position in it. */
export function pageOfAll<T>(all: readonly T[], q: { limit: number; cursor?: string }): Page<T> {
  const from = decodeCursor(q.cursor, z.object({ at: z.int().min(0) }))?.at ?? 0;
  const items = all.slice(from, from + q.limit);
  return { items, next: from + q.limit < all.length ? encodeCursor({ at: from + q.limit }) : null };
}

/**
 * A page of a keyset query that fetched up to `limit + 1` rows: the extra one says there is more, and the last
 * item kept gives the next cursor's position.
 */
export function pageOfKeyset<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (last: T) => Record<string, string | number>,
): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? encodeCursor(positionOf(items[items.length - 1])) : null };
}
