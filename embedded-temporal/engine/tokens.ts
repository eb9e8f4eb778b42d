/** Task tokens: opaque to workers, they name exactly one start of one task so stale ones are refused. */
import { invalidArgument } from '../errors';

export type TaskToken =
  /** A workflow task: run, scheduled event id, attempt and the stamp of this start. */
  | { t: 'w'; r: string; s: number; a: number; x: number }
  /** An activity attempt: run, scheduled event id, attempt. */
  | { t: 'a'; r: string; s: number; a: number }
  /** A legacy query task. */
  | { t: 'q'; id: string };

export function encodeToken(token: TaskToken): Uint8Array {
  return Buffer.from(JSON.stringify(token));
}

export function decodeToken(bytes: Uint8Array | null | undefined): TaskToken {
  if (!bytes || bytes.length === 0) throw invalidArgument('Task token not set on request.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalidArgument('Error deserializing task token.');
  }
  const t = parsed as Partial<Record<string, unknown>>;
  const isNum = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  if (t && t.t === 'w' && typeof t.r === 'string' && isNum(t.s) && isNum(t.a) && isNum(t.x)) return t as TaskToken;
  if (t && t.t === 'a' && typeof t.r === 'string' && isNum(t.s) && isNum(t.a)) return t as TaskToken;
  if (t && t.t === 'q' && typeof t.id === 'string') return t as TaskToken;
  throw invalidArgument('Error deserializing task token.');
}
