/**
 * Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200): the reusable part. A route declares what
 * its action needs ("meaning X by role Y"); before the change, `verify` re-authenticates the signer (the
 * session's own user, with their password); inside the change's transaction, `record` applies the
 * record's own segregation rules ("not by Z"), stores the signature bound to the SHA-256 of the content it
 * signs, audits it, and returns its manifestation.
 */
import type { Metrics } from '../../composition/metrics';
import { z } from 'zod';
import type { Stores } from '../../db/stores';
import type { SignatureRecord } from '../../db/stores/signature-store';
import { canonicalHash } from '../../domain/canonical-hash';
import { SIGNATURE_MEANINGS, type Role, type SignatureMeaning } from '../../domain/identity';
import { AuditTrail } from '../audit/audit-trail';
import type { Authenticator } from '../auth/authenticator';
import type { ChangeContext, Station, UserActor } from '../../db/change-context';
import { Problem } from '../http/problems';
import type { SecurityEventLog } from '../security/security-event-log';

/** What an action declares it needs: a signature with this meaning, by a holder of one of these roles. */
export interface SignatureRequirement {
  meaning: SignatureMeaning;
  roles: readonly Role[];
}

/** The `signature` member of a request body. */
export const signatureInputSchema = z
  .strictObject({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
    meaning: z.enum(SIGNATURE_MEANINGS),
    comment: z.string().max(2000).optional(),
  })
  .meta({
    id: 'SignatureInput',
    description: 'An electronic signature: the signer re-enters their username and password and states the meaning.',
  });

export type SignatureInput = z.infer<typeof signatureInputSchema>;

/** A signer whose password was checked, not yet bound to a record. */
export interface VerifiedSigner {
  userId: string;
  username: string;
  fullName: string;
  roles: Role[];
  meaning: SignatureMeaning;
  comment: string | null;
}

/** A record's own rule barring some users from signing it, e.g. "the author cannot approve". */
export interface ExcludedSigners {
  userIds: readonly (string | null)[];
  rule: string;
}

/** What every signed record shows of its signatures (21 CFR 11.50): printed name, UTC time, meaning. */
export interface SignatureManifestation {
  id: string;
  signedBy: string;
  username: string;
  meaning: SignatureMeaning;
  signedAt: string;
  comment: string | null;
  contentHash: string;
}

export const signatureManifestationSchema = z
  .object({
    id: z.uuid(),
    signedBy: z.string().describe('printed name of the signer'),
    username: z.string(),
    meaning: z.enum(SIGNATURE_MEANINGS),
    signedAt: z.iso.datetime().describe('UTC'),
    comment: z.string().nullable(),
    contentHash: z.string().describe('hex SHA-256 of the canonical JSON of the signed content'),
  })
  .meta({ id: 'SignatureManifestation' });

export class SignatureService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly stores: Stores,
    private readonly authenticator: Authenticator,
    private readonly events: SecurityEventLog,
    private readonly metrics?: Metrics,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /**
   * Re-authenticates the signer for `requirement`, before any change is made. A wrong password counts
   * towards the lockout; a session token alone never signs.
   */
  async verify(
    actor: UserActor,
    input: SignatureInput | undefined,
    requirement: SignatureRequirement,
    station: Station,
  ): Promise<VerifiedSigner> {
    if (!input)
      throw new Problem(
        'signature-required',
        `this action needs an electronic signature meaning "${requirement.meaning}"`,
        { meaning: requirement.meaning },
      );
    if (input.meaning !== requirement.meaning) {
      throw new Problem(
        'signature-meaning',
        `this action needs the meaning "${requirement.meaning}", not "${input.meaning}"`,
        { meaning: requirement.meaning },
      );
    }
    if (input.username.toLowerCase() !== actor.username) {
      // Someone signing in another's name: refused, and raised for whoever watches the security events.
      await this.events.raise('signature_wrong_user', {
        userId: actor.userId,
        username: actor.username,
        station,
        detail: { signatureNames: input.username.slice(0, 200), meaning: input.meaning },
      });
      throw new Problem(
        'signer-not-session-user',
        `the signature names ${input.username}, but ${actor.username} is logged in`,
      );
    }
    if (actor.roles.includes('admin'))
      throw new Problem('segregation-of-duties', 'administrators do not sign GMP records');
    if (!actor.roles.some((r) => requirement.roles.includes(r))) {
      throw new Problem(
        'signer-role',
        `a signature meaning "${requirement.meaning}" needs the role ${requirement.roles.join(' or ')}`,
      );
    }
    const user = await this.authenticator.authenticate(input.username, input.password, 'signature', station);
    this.metrics?.signatures.inc({ meaning: input.meaning });
    return {
      userId: user.id,
      username: user.username,
      fullName: user.fullName,
      roles: user.roles,
      meaning: input.meaning,
      comment: input.comment ?? null,
    };
  }

  /**
   * Binds a verified signature to a record, in the change's transaction: checks the record's exclusions,
   * stores the signature with the hash of `content`, and audits it.
   */
  async record(
    ctx: ChangeContext,
    signer: VerifiedSigner,
    subject: { entityType: string; entityId: string; content: unknown },
    excluded: readonly ExcludedSigners[] = [],
  ): Promise<SignatureManifestation> {
    for (const e of excluded) if (e.userIds.includes(signer.userId)) throw new Problem('segregation-of-duties', e.rule);
    const rec = await this.stores.signatures.insert(ctx.trx, {
      signerId: signer.userId,
      username: signer.username,
      printedName: signer.fullName,
      meaning: signer.meaning,
      comment: signer.comment,
      entityType: subject.entityType,
      entityId: subject.entityId,
      contentHash: canonicalHash(subject.content),
      clientAddress: ctx.station.clientAddress,
      requestId: ctx.station.requestId,
    });
    const manifestation = toManifestation(rec);
    await this.audit.record(ctx, {
      action: 'sign',
      entityType: subject.entityType,
      entityId: subject.entityId,
      newValue: { signature: manifestation },
    });
    return manifestation;
  }
}

export function toManifestation(s: SignatureRecord): SignatureManifestation {
  return {
    id: s.id,
    signedBy: s.printedName,
    username: s.username,
    meaning: s.meaning,
    signedAt: s.signedAt.toISOString(),
    comment: s.comment,
    contentHash: s.contentHash,
  };
}

/** Whether a signature still covers `content`: false once the record changed after signing. */
export function signatureCovers(s: { contentHash: string }, content: unknown): boolean {
  return s.contentHash === canonicalHash(content);
}
