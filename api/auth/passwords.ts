/**
 * Password hashing with argon2id at the OWASP-recommended parameters (m = 19 MiB, t = 2, p = 1), and the
 * password policy. Hashes are PHC strings, so stronger parameters later still verify old hashes.
 */
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { Problem } from '../http/problems';
import { ConcurrencyLimit } from './concurrency-limit';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Hashes computed at once: all cores but one. Each takes 19 MiB and a core for some 30 ms; a burst of sign-ins
 * or signatures (a shift starting, operators signing steps of many batches) queues here instead of taking
 * every core from the batches running on the same machine, and a flood of attempts cannot exhaust memory.
 */
export const hashing = new ConcurrencyLimit(Math.max(1, availableParallelism() - 1));

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => argon2.hash(password, OPTIONS));
}

/** A hash of nothing anyone knows: verified against when the username is unknown, so both take as long. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (hash === undefined) {
    dummyHash ??= hashPassword(`no such user ${Math.random()}`);
    const dummy = await dummyHash;
    await hashing.run(() => argon2.verify(dummy, password));
    return false;
  }
  try {
    return await hashing.run(() => argon2.verify(hash, password));
  } catch {
    return false; // a malformed stored hash never authenticates
  }
}

/** Refuses a password that breaks the policy (422 password-policy). */
export function assertPasswordPolicy(password: string, username: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new Problem('password-policy', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new Problem('password-policy', `a password may have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (password.toLowerCase().includes(username.toLowerCase()))
    throw new Problem('password-policy', 'a password may not contain the username');
}
