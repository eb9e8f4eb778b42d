/**
 * Canonical JSON (RFC 8785: sorted keys, ECMAScript number and string forms, no whitespace) and its
 * SHA-256: what a signature or a compiled plan is bound to. The same value gives the same hash on any
 * machine, whatever the key order of the object it came from.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The RFC 8785 text of `value`; refuses what JSON cannot represent (undefined at the top, NaN, Infinity). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonical JSON needs a JSON value');
  return text;
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Hex SHA-256 of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
