/**
 * Cross-site request forgery defence for the pages, on top of the SameSite=Strict session cookie: every form and
 * every htmx request that changes something carries a token the page was rendered with, which only someone who
 * holds the session can compute — the SHA-256 of the session token under a purpose label (no secret to keep, no
 * state: it lives and dies with the session). Before there is a session (the login form), a random token in a
 * cookie of its own, repeated in the form (double submit).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The form field and the header (htmx sets it from the page's `csrf-token` meta) a token may come in. */
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';
export const LOGIN_CSRF_COOKIE = 'ampoule_login_csrf';

export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`ampoule-csrf:${sessionToken}`).digest('base64url');
}

export function newLoginCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

export function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
