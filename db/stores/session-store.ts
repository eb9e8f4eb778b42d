/**
 * Server-side sessions' SQL. The client holds a random token; only its SHA-256 is stored. Expiry is
 * judged by the database clock, the one clock Ampoule keeps time by.
 */
import type { Knex } from 'knex';
import type { Role } from '../../domain/identity';

export interface SessionUser {
  sessionId: string;
  userId: string;
  username: string;
  fullName: string;
  roles: Role[];
  createdAt: Date;
}

export class SessionStore {
  async create(
    db: Knex,
    s: { tokenHash: string; userId: string; clientAddress: string | null; userAgent: string | null },
  ): Promise<{ id: string; createdAt: Date }> {
    const [row] = await db('sessions')
      .insert({ token_hash: s.tokenHash, user_id: s.userId, client_address: s.clientAddress, user_agent: s.userAgent })
      .returning(['id', 'created_at']);
    return { id: row.id, createdAt: row.created_at };
  }

  /**
   * The live session for a token hash, touched (last seen now, to within 15 seconds), with its user;
   * undefined if there is none, it ended, it passed a timeout, or its user was deactivated. A timed-out
   * session is ended here.
   */
  async touch(
    db: Knex,
    tokenHash: string,
    idleSeconds: number,
    absoluteSeconds: number,
    /** Whether this counts as the user's activity (a live page's background check does not). */
    activity = true,
  ): Promise<SessionUser | undefined> {
    const { rows } = await db.raw(
      `select s.id, s.created_at, s.last_seen_at < now() - interval '15 seconds' as stale, u.id as user_id, u.username, u.full_name, u.roles
       from sessions s join users u on u.id = s.user_id
       where s.token_hash = ? and s.ended_at is null and u.active
         and s.last_seen_at > now() - make_interval(secs => ?)
         and s.created_at > now() - make_interval(secs => ?)`,
      [tokenHash, idleSeconds, absoluteSeconds],
    );
    if (rows.length === 0) {
      await db.raw(
        `update sessions set ended_at = now(), end_reason = case
           when created_at <= now() - make_interval(secs => ?) then 'absolute timeout'
           when last_seen_at <= now() - make_interval(secs => ?) then 'idle timeout'
           else 'deactivated' end
         where token_hash = ? and ended_at is null`,
        [absoluteSeconds, idleSeconds, tokenHash],
      );
      return undefined;
    }
    const r = rows[0];
    // Last seen is written at most every 15 seconds: a request is a read, not a write, most of the time.
    if (activity && r.stale) await db('sessions').where('id', r.id).update({ last_seen_at: db.fn.now() });
    return {
      sessionId: r.id,
      userId: r.user_id,
      username: r.username,
      fullName: r.full_name,
      roles: r.roles,
      createdAt: r.created_at,
    };
  }

  async end(db: Knex | Knex.Transaction, sessionId: string, reason: string): Promise<void> {
    await db('sessions')
      .where('id', sessionId)
      .whereNull('ended_at')
      .update({ ended_at: db.fn.now(), end_reason: reason });
  }

  /** Ends every open session of a user (deactivation, password reset), but `exceptSessionId`; returns how many. */
  async endAllOf(
    db: Knex | Knex.Transaction,
    userId: string,
    reason: string,
    exceptSessionId?: string,
  ): Promise<number> {
    const q = db('sessions').where('user_id', userId).whereNull('ended_at');
    if (exceptSessionId) q.whereNot('id', exceptSessionId);
    return q.update({ ended_at: db.fn.now(), end_reason: reason });
  }
}
