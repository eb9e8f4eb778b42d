/** Every migration, oldest first. Append only: a migration that has run anywhere is never edited. */
import * as identitySignaturesAudit from './20261126230000_identity_signatures_audit';

export const MIGRATIONS = [identitySignaturesAudit];
