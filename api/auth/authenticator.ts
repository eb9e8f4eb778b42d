/**
 * Checks a username and password, for a login or for an electronic signature, and keeps the score:
 * consecutive failures of either kind lock the account (21 CFR 11.300(d)), raise a security event,
 * and are audited as a change of the user. Failures are committed even though the request fails.
 */
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import type { UserWithHash } from '../../db/stores/user-store';
import { AuditTrail } from '../audit/audit-trail';
import { SYSTEM_ACTOR, type Station } from '../../db/change-context';
import { Problem } from '../http/problems';
import type { SecurityEventLog } from '../security/security-event-log';
import { verifyPassword } from './passwords';

export type AuthenticationPurpose = 'login' | 'signature';

export interface LockoutPolicy {
  failures: number;
  lockSeconds: number;
}

export class Authenticator {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly policy: LockoutPolicy,
    private readonly events: SecurityEventLog,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** The user, if `password` is theirs and the account is active and not locked; otherwise a Problem. */
  async authenticate(
    username: string,
    password: string,
    purpose: AuthenticationPurpose,
    station: Station,
  ): Promise<UserWithHash> {
    const failed =
      purpose === 'login'
        ? new Problem('invalid-credentials')
        : new Problem('signature-invalid', 'the password given with the signature is not correct');
    const user = await this.stores.users.forAuthentication(this.db, username);
    if (!user || !user.active) {
      await verifyPassword(undefined, password);
      await this.event(purpose === 'login' ? 'login_failed' : 'signature_failed', user ?? null, username, station, {
        cause: user ? 'deactivated user' : 'unknown user',
      });
      throw failed;
    }
    if (user.lockedNow && user.lockedUntil) {
      await this.event('login_refused_locked', user, username, station, {
        purpose,
        lockedUntil: user.lockedUntil.toISOString(),
      });
      throw lockedProblem(user.lockedUntil);
    }
    if (await verifyPassword(user.passwordHash, password)) {
      // Only a count to clear is cleared (most authentications have none). A failure counted by a concurrent
      // attempt after the read above stays counted: the safe side.
      if (user.failedAttempts > 0) await this.stores.users.recordSuccess(this.db, user.id);
      const { lockedNow: _, ...record } = user;
      return record;
    }
    const nowLockedUntil = await this.recordFailure(user, purpose, station);
    throw nowLockedUntil ? lockedProblem(nowLockedUntil) : failed;
  }

  /** Counts the failure; returns until when the account is now locked, if this failure locked it. */
  private async recordFailure(
    user: UserWithHash,
    purpose: AuthenticationPurpose,
    station: Station,
  ): Promise<Date | null> {
    return this.db.transaction(async (trx) => {
      const r = await this.stores.users.recordFailure(trx, user.id, this.policy.failures, this.policy.lockSeconds);
      await this.event(
        purpose === 'login' ? 'login_failed' : 'signature_failed',
        user,
        user.username,
        station,
        { cause: 'wrong password', failedAttempts: r.failedAttempts },
        trx,
      );
      if (r.lockedUntil) {
        await this.event(
          'account_locked',
          user,
          user.username,
          station,
          { failedAttempts: r.failedAttempts, lockedUntil: r.lockedUntil.toISOString() },
          trx,
        );
        await this.audit.record(
          { trx, actor: SYSTEM_ACTOR, station, reason: `${r.failedAttempts} consecutive failed logins or signings` },
          {
            action: 'lock',
            entityType: 'user',
            entityId: user.id,
            oldValue: { lockedUntil: null },
            newValue: { lockedUntil: r.lockedUntil.toISOString() },
          },
        );
      }
      return r.lockedUntil;
    });
  }

  private async event(
    kind: 'login_failed' | 'signature_failed' | 'account_locked' | 'login_refused_locked',
    user: UserWithHash | null,
    username: string,
    station: Station,
    detail: Record<string, unknown>,
    db: Knex | Knex.Transaction = this.db,
  ): Promise<void> {
    await this.events.raise(kind, { userId: user?.id ?? null, username, station, detail }, db);
  }
}

export function lockedProblem(lockedUntil: Date): Problem {
  return new Problem('account-locked', `the account is locked until ${lockedUntil.toISOString()}`, {
    lockedUntil: lockedUntil.toISOString(),
  });
}
