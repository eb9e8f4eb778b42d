/** Who is acting, from where, and in which transaction: what every audited change carries. */
import type { Knex } from 'knex';
import type { Role } from '../domain/identity';

/** A logged-in user, resolved from the session on each request. */
export interface UserActor {
  kind: 'user';
  userId: string;
  username: string;
  fullName: string;
  roles: Role[];
  sessionId: string;
}

/** Ampoule itself: bootstrap, demo data, automatic lockouts. */
export interface SystemActor {
  kind: 'system';
  userId: null;
  username: null;
  fullName: 'system';
}

export const SYSTEM_ACTOR: SystemActor = { kind: 'system', userId: null, username: null, fullName: 'system' };

export type Actor = UserActor | SystemActor;

/** The client a request came from (the "station" of the audit trail). */
export interface Station {
  clientAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export const NO_STATION: Station = { clientAddress: null, userAgent: null, requestId: null };

/** A change in progress: the transaction it runs in, who makes it, from where, and why. */
export interface ChangeContext {
  trx: Knex.Transaction;
  actor: Actor;
  station: Station;
  reason: string | null;
}
