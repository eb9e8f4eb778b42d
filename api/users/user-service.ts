/**
 * User administration: create, change roles and details, reset a password, unlock, deactivate. Every
 * change is audited with its reason; deactivation ends the user's sessions in the same transaction.
 */
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import type { UserRecord } from '../../db/stores/user-store';
import type { Role } from '../../domain/identity';
import { AuditTrail, changedFields } from '../audit/audit-trail';
import type { Authenticator } from '../auth/authenticator';
import { assertPasswordPolicy, hashPassword } from '../auth/passwords';
import type { ChangeContext, Station, UserActor } from '../../db/change-context';
import { Problem, notFound, validationFailed } from '../http/problems';

export interface CreateUser {
  username: string;
  fullName: string;
  email?: string | null;
  roles: Role[];
  password: string;
  demo?: boolean;
}

export interface UpdateUser {
  fullName?: string;
  email?: string | null;
  roles?: Role[];
  active?: boolean;
  /** A new password set by an administrator (the user's sessions end). */
  password?: string;
  /** Lifts a lockout. */
  unlock?: true;
}

/** What the API shows of a user: never the hash. */
export type PublicUser = Omit<UserRecord, 'failedAttempts'> & { locked: boolean; lastLoginAt: Date | null };

/** One line of the access review (21 CFR 11.300(b), Annex 11 §12): who may do what, and whether they still use it. */
export interface AccessReviewLine {
  username: string;
  fullName: string;
  roles: string;
  status: 'active' | 'locked' | 'deactivated';
  demo: boolean;
  lastLoginAt: Date | null;
  passwordChangedAt: Date;
  createdAt: Date;
}

export const ACCESS_REVIEW_COLUMNS = [
  'username',
  'fullName',
  'roles',
  'status',
  'demo',
  'lastLoginAt',
  'passwordChangedAt',
  'createdAt',
] as const;

const AUDITED_FIELDS = ['fullName', 'email', 'roles', 'active'] as const;

export class UserService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly authenticator: Authenticator,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  async list(): Promise<PublicUser[]> {
    const logins = await this.stores.users.lastLogins(this.db);
    return (await this.stores.users.list(this.db)).map((u) => publicUser(u, logins.get(u.id)));
  }

  async get(id: string): Promise<PublicUser> {
    const u = await this.stores.users.byId(this.db, id);
    if (!u) throw notFound(`user ${id}`);
    return publicUser(u, (await this.stores.users.lastLogins(this.db, [u.id])).get(u.id));
  }

  /** The user's row version, the row locked for a change: what an If-Match is checked against. */
  async lockedVersion(trx: Knex.Transaction, id: string): Promise<number | undefined> {
    return (await this.stores.users.byId(trx, id, true))?.rowVersion;
  }

  /** Every user, active or not, with their roles, status and last login: for the periodic access review. */
  async accessReview(): Promise<AccessReviewLine[]> {
    return (await this.list()).map((u) => ({
      username: u.username,
      fullName: u.fullName,
      roles: u.roles.join(' '),
      status: !u.active ? 'deactivated' : u.locked ? 'locked' : 'active',
      demo: u.demo,
      lastLoginAt: u.lastLoginAt,
      passwordChangedAt: u.passwordChangedAt,
      createdAt: u.createdAt,
    }));
  }

  async create(ctx: ChangeContext, input: CreateUser): Promise<PublicUser> {
    const username = input.username.toLowerCase();
    assertPasswordPolicy(input.password, username);
    if (await this.stores.users.byUsername(ctx.trx, username)) {
      throw new Problem(
        'username-taken',
        `the username ${username} is taken (usernames are never reused, even after deactivation)`,
      );
    }
    const user = await this.stores.users.create(ctx.trx, {
      username,
      fullName: input.fullName,
      email: input.email ?? null,
      roles: dedupe(input.roles),
      passwordHash: await hashPassword(input.password),
      demo: input.demo ?? false,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: 'user',
      entityId: user.id,
      newValue: {
        username: user.username,
        fullName: user.fullName,
        email: user.email,
        roles: user.roles,
        active: user.active,
        demo: user.demo,
      },
    });
    return publicUser(user, undefined);
  }

  async update(ctx: ChangeContext, id: string, input: UpdateUser): Promise<PublicUser> {
    if (Object.values(input).every((v) => v === undefined))
      throw validationFailed([{ in: 'body', pointer: '', message: 'nothing to change' }]);
    const before = await this.stores.users.byId(ctx.trx, id, true);
    if (!before) throw notFound(`user ${id}`);
    if (ctx.actor.userId === id && (input.active === false || (input.roles && !input.roles.includes('admin')))) {
      throw new Problem('conflict', 'administrators cannot deactivate themselves or remove their own admin role');
    }
    if (input.password !== undefined) assertPasswordPolicy(input.password, before.username);
    const after = await this.stores.users.update(ctx.trx, id, {
      fullName: input.fullName,
      email: input.email,
      roles: input.roles && dedupe(input.roles),
      active: input.active,
      passwordHash: input.password === undefined ? undefined : await hashPassword(input.password),
      lockedUntil: input.unlock ? null : undefined,
    });
    const diff = changedFields(before, after, AUDITED_FIELDS);
    if (diff)
      await this.audit.record(ctx, {
        action: input.active === false && before.active ? 'deactivate' : 'update',
        entityType: 'user',
        entityId: id,
        ...diff,
      });
    if (input.password !== undefined) {
      await this.audit.record(ctx, {
        action: 'reset-password',
        entityType: 'user',
        entityId: id,
        newValue: { passwordChangedAt: after.passwordChangedAt.toISOString() },
      });
      await this.stores.sessions.endAllOf(ctx.trx, id, 'password reset');
    }
    if (input.unlock && before.lockedUntil) {
      await this.audit.record(ctx, {
        action: 'unlock',
        entityType: 'user',
        entityId: id,
        oldValue: { lockedUntil: before.lockedUntil.toISOString() },
        newValue: { lockedUntil: null },
      });
    }
    if (input.active === false && before.active) await this.stores.sessions.endAllOf(ctx.trx, id, 'deactivated');
    return publicUser(after, (await this.stores.users.lastLogins(ctx.trx, [id])).get(id));
  }

  /**
   * A user changes their own password, proving the current one first (a wrong one counts towards the
   * lockout, like a failed login). Their other sessions end.
   */
  async changeOwnPassword(actor: UserActor, station: Station, current: string, next: string): Promise<void> {
    await this.authenticator.authenticate(actor.username, current, 'login', station);
    assertPasswordPolicy(next, actor.username);
    if (current === next) throw new Problem('password-policy', 'the new password must differ from the current one');
    const passwordHash = await hashPassword(next);
    await this.db.transaction(async (trx) => {
      const after = await this.stores.users.update(trx, actor.userId, { passwordHash });
      await this.audit.record(
        { trx, actor, station, reason: 'password changed by the user' },
        {
          action: 'change-password',
          entityType: 'user',
          entityId: actor.userId,
          newValue: { passwordChangedAt: after.passwordChangedAt.toISOString() },
        },
      );
      await this.stores.sessions.endAllOf(trx, actor.userId, 'password changed', actor.sessionId);
    });
  }
}

export function publicUser(u: UserRecord, lastLoginAt: Date | undefined): PublicUser {
  return {
    id: u.id,
    username: u.username,
    fullName: u.fullName,
    email: u.email,
    roles: u.roles,
    active: u.active,
    demo: u.demo,
    lockedUntil: u.lockedUntil,
    locked: u.lockedUntil !== null && u.lockedUntil.getTime() > Date.now(),
    passwordChangedAt: u.passwordChangedAt,
    createdAt: u.createdAt,
    createdBy: u.createdBy,
    lastLoginAt: lastLoginAt ?? null,
    rowVersion: u.rowVersion,
  };
}

function dedupe<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
