/**
 * Password hashing with argon2id at the OWASP-recommended parameters (m = 19 MiB, t = 2, p = 1), and the
 * password policy. Hashes are PHC strings, so stronger parameters later still verify old hashes.
 */
import argon2 from 'argon2';
import { Problem } from '../http/problems';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

/** A hash of nothing anyone knows: verified against when the username is unknown, so both take as long. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (hash === undefined) {
    dummyHash ??= hashPassword(`no such user ${Math.random()}`);
    await argon2.verify(await dummyHash, password);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // a malformed stored hash never authenticates
  }
}

/** Refuses a password that breaks the policy (422 password-policy). */
export function assertPasswordPolicy(password: string, username: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new Problem('password-policy', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new Problem('password-policy', `a password may have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (password.toLowerCase().includes(username.toLowerCase())) throw new Problem('password-policy', 'a password may not contain the username');
}
