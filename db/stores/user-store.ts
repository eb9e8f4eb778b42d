/** Users' SQL. Users are never deleted (the table refuses it), so usernames stay unique forever. */
import type { Knex } from 'knex';
import type { Role } from '../../domain/identity';

export interface UserRecord {
  id: string;
  username: string;
  fullName: string;
  email: string | null;
  roles: Role[];
  active: boolean;
  demo: boolean;
  failedAttempts: number;
  lockedUntil: Date | null;
  passwordChangedAt: Date;
  createdAt: Date;
  createdBy: string | null;
  /** How many times the user changed (failed attempts aside): the user's ETag. */
  rowVersion: number;
}

export interface UserWithHash extends UserRecord {
  passwordHash: string;
}

export interface NewUser {
  username: string;
  fullName: string;
  email?: string | null;
  roles: Role[];
  passwordHash: string;
  demo?: boolean;
  createdBy: string | null;
}

/** Fields an administrator may change. */
export interface UserChanges {
  fullName?: string;
  email?: string | null;
  roles?: Role[];
  active?: boolean;
  passwordHash?: string;
  lockedUntil?: null;
}

const COLUMNS = {
  fullName: 'full_name',
  email: 'email',
  roles: 'roles',
  active: 'active',
  passwordHash: 'password_hash',
  lockedUntil: 'locked_until',
} as const;

export class UserStore {
  async create(trx: Knex | Knex.Transaction, u: NewUser): Promise<UserRecord> {
    const [row] = await trx('users')
      .insert({
        username: u.username,
        full_name: u.fullName,
        email: u.email ?? null,
        roles: u.roles,
        password_hash: u.passwordHash,
        demo: u.demo ?? false,
        created_by: u.createdBy,
      })
      .returning('*');
    return toUser(row);
  }

  async byId(db: Knex | Knex.Transaction, id: string, forUpdate = false): Promise<UserWithHash | undefined> {
    const q = db('users').where('id', id).first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toUserWithHash(row) : undefined;
  }

  async byUsername(db: Knex | Knex.Transaction, username: string): Promise<UserWithHash | undefined> {
    const row = await db('users').where('username', username.toLowerCase()).first();
    return row ? toUserWithHash(row) : undefined;
  }

  /** When each user last logged in successfully (their newest `login` security event); users who never did are absent. */
  async lastLogins(db: Knex | Knex.Transaction, userIds?: string[]): Promise<Map<string, Date>> {
    const q = db('security_events')
      .where('kind', 'login')
      .whereNotNull('user_id')
      .select('user_id')
      .max({ last: 'at' })
      .groupBy('user_id');
    if (userIds) q.whereIn('user_id', userIds);
    const rows = (await q) as unknown as { user_id: string; last: Date }[];
    return new Map(rows.map((r) => [r.user_id, r.last]));
  }

  async list(db: Knex): Promise<UserRecord[]> {
    return (await db('users').orderBy('username')).map(toUser);
  }

  async update(trx: Knex.Transaction, id: string, changes: UserChanges): Promise<UserRecord> {
    const values: Record<string, unknown> = {};
    for (const [key, column] of Object.entries(COLUMNS)) {
      const v = changes[key as keyof UserChanges];
      if (v !== undefined) values[column] = v;
    }
    if (changes.passwordHash !== undefined) values.password_changed_at = trx.fn.now();
    if (changes.lockedUntil === null) values.failed_attempts = 0;
    const [row] = await trx('users').where('id', id).update(values).returning('*');
    return toUser(row);
  }

  /**
   * Counts one failed authentication, atomically, and locks the account when the count reaches
   * `failures` (each failure past it locks it again). Returns the count and, if it locked, until when. Runs in its own statement so that a rolled-back request still counts.
   */
  async recordFailure(
    db: Knex,
    id: string,
    failures: number,
    lockSeconds: number,
  ): Promise<{ failedAttempts: number; lockedUntil: Date | null }> {
    const { rows } = await db.raw(
      `update users set
         failed_attempts = failed_attempts + 1,
         locked_until = case when failed_attempts + 1 >= ? then now() + make_interval(secs => ?) else locked_until end
       where id = ?
       returning failed_attempts, locked_until, failed_attempts >= ? as locked`,
      [failures, lockSeconds, id, failures],
    );
    return { failedAttempts: rows[0].failed_attempts, lockedUntil: rows[0].locked ? rows[0].locked_until : null };
  }

  async recordSuccess(db: Knex, id: string): Promise<void> {
    await db('users').where('id', id).andWhere('failed_attempts', '>', 0).update({ failed_attempts: 0 });
  }

  /** The user with their hash, and whether the account is locked now by the database clock: one round trip per sign-in or signature. */
  async forAuthentication(db: Knex, username: string): Promise<(UserWithHash & { lockedNow: boolean }) | undefined> {
    const row = await db('users')
      .where('username', username.toLowerCase())
      .first('*', db.raw('coalesce(locked_until > now(), false) as locked_now'));
    return row ? { ...toUserWithHash(row), lockedNow: row.locked_now as boolean } : undefined;
  }

  async countActiveDemoUsers(db: Knex): Promise<number> {
    const row = await db('users').where({ demo: true, active: true }).count<{ count: number }[]>('* as count').first();
    return Number(row?.count ?? 0);
  }
}

function toUser(r: Record<string, unknown>): UserRecord {
  return {
    id: r.id as string,
    username: r.username as string,
    fullName: r.full_name as string,
    email: (r.email as string | null) ?? null,
    roles: r.roles as Role[],
    active: r.active as boolean,
    demo: r.demo as boolean,
    failedAttempts: r.failed_attempts as number,
    lockedUntil: (r.locked_until as Date | null) ?? null,
    passwordChangedAt: r.password_changed_at as Date,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
    rowVersion: r.row_version as number,
  };
}

function toUserWithHash(r: Record<string, unknown>): UserWithHash {
  return { ...toUser(r), passwordHash: r.password_hash as string };
}
