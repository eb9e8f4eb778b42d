/** Security events' SQL: logins, logouts, failed authentications, lockouts. Append-only. */
import type { Knex } from 'knex';

export const SECURITY_EVENT_KINDS = [
  'login',
  'logout',
  'login_failed',
  'signature_failed',
  'account_locked',
  'login_refused_locked',
  'session_ended',
  /** A signature that names another user than the session's. */
  'signature_wrong_user',
  /** An execution plan whose content no longer matches its approved hash, met at launch. */
  'plan_integrity_failed',
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEvent {
  id: number;
  at: Date;
  kind: SecurityEventKind;
  userId: string | null;
  username: string | null;
  clientAddress: string | null;
  detail: Record<string, unknown> | null;
}

export class SecurityEventStore {
  async append(db: Knex | Knex.Transaction, e: Omit<SecurityEvent, 'id' | 'at'>): Promise<void> {
    await db('security_events').insert({
      kind: e.kind,
      user_id: e.userId,
      username: e.username,
      client_address: e.clientAddress,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    });
  }

  async find(
    db: Knex,
    q: { kind?: string; username?: string; from?: Date; to?: Date; afterId?: number; limit: number },
  ): Promise<SecurityEvent[]> {
    const query = db('security_events').orderBy('id', 'asc').limit(q.limit);
    if (q.kind) query.where('kind', q.kind);
    if (q.username) query.where('username', q.username.toLowerCase());
    if (q.from) query.where('at', '>=', q.from);
    if (q.to) query.where('at', '<', q.to);
    if (q.afterId !== undefined) query.where('id', '>', q.afterId);
    return (await query).map((r) => ({
      id: r.id,
      at: r.at,
      kind: r.kind,
      userId: r.user_id,
      username: r.username,
      clientAddress: r.client_address,
      detail: r.detail,
    }));
  }
}
