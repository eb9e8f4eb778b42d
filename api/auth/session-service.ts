/**
 * Login sessions kept on the server. A login returns a random token, sent back either as the HttpOnly
 * cookie (browsers) or as `Authorization: Bearer` (API clients); the database keeps only its SHA-256.
 * A session ends at logout, after the idle or absolute timeout, or at once when its user is deactivated.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import { sha256Hex } from '../../domain/canonical-hash';
import type { UserActor, Station } from '../../db/change-context';
import type { Authenticator } from './authenticator';

export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

export interface NewSession {
  token: string;
  actor: UserActor;
  /** When the absolute timeout ends the session, by the database clock. */
  expiresAt: Date;
}

export class SessionService {
  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly authenticator: Authenticator,
    readonly policy: SessionPolicy,
  ) {}

  async login(username: string, password: string, station: Station): Promise<NewSession> {
    const user = await this.authenticator.authenticate(username, password, 'login', station);
    const token = randomBytes(32).toString('base64url');
    const session = await this.db.transaction(async (trx) => {
      const s = await this.stores.sessions.create(trx, {
        tokenHash: sha256Hex(token),
        userId: user.id,
        clientAddress: station.clientAddress,
        userAgent: station.userAgent,
      });
      await this.stores.securityEvents.append(trx, {
        kind: 'login',
        userId: user.id,
        username: user.username,
        clientAddress: station.clientAddress,
        detail: { sessionId: s.id },
      });
      return s;
    });
    return {
      token,
      actor: {
        kind: 'user',
        userId: user.id,
        username: user.username,
        fullName: user.fullName,
        roles: user.roles,
        sessionId: session.id,
      },
      expiresAt: new Date(session.createdAt.getTime() + this.policy.absoluteSeconds * 1000),
    };
  }

  /**
   * The actor of a live session, or undefined. `activity: false` checks without counting as the user's activity
   * (a page's live updates must not keep an abandoned session from its idle timeout).
   */
  async resolve(token: string, o: { activity?: boolean } = {}): Promise<UserActor | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const s = await this.stores.sessions.touch(
      this.db,
      sha256Hex(token),
      this.policy.idleSeconds,
      this.policy.absoluteSeconds,
      o.activity ?? true,
    );
    return (
      s && {
        kind: 'user',
        userId: s.userId,
        username: s.username,
        fullName: s.fullName,
        roles: s.roles,
        sessionId: s.sessionId,
      }
    );
  }

  async logout(actor: UserActor, station: Station): Promise<void> {
    await this.db.transaction(async (trx) => {
      await this.stores.sessions.end(trx, actor.sessionId, 'logout');
      await this.stores.securityEvents.append(trx, {
        kind: 'logout',
        userId: actor.userId,
        username: actor.username,
        clientAddress: station.clientAddress,
        detail: { sessionId: actor.sessionId },
      });
    });
  }
}
