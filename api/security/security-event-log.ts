/**
 * Raises security events (21 CFR 11.300(d), Annex 11 §12): stored append-only for QA and administrators
 * (`GET /api/security-events`) and logged. An event is written on its own connection unless a transaction
 * is given: the request that raised it usually fails and rolls back, and the event must stay.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Station } from '../../db/change-context';
import type { SecurityEventKind, SecurityEventStore } from '../../db/stores/security-event-store';

export interface RaisedEvent {
  userId?: string | null;
  username?: string | null;
  station: Station;
  detail: Record<string, unknown>;
}

/** Kinds that say someone may be trying what they should not: logged as warnings, not as information. */
const ALARMING: readonly SecurityEventKind[] = ['account_locked', 'signature_wrong_user', 'plan_integrity_failed'];

export class SecurityEventLog {
  constructor(
    private readonly db: Knex,
    private readonly store: SecurityEventStore,
    private readonly log: Logger,
  ) {}

  async raise(kind: SecurityEventKind, e: RaisedEvent, db: Knex | Knex.Transaction = this.db): Promise<void> {
    const username = e.username ? e.username.toLowerCase().slice(0, 200) : null;
    await this.store.append(db, {
      kind,
      userId: e.userId ?? null,
      username,
      clientAddress: e.station.clientAddress,
      detail: e.detail,
    });
    const fields = {
      securityEvent: kind,
      username,
      clientAddress: e.station.clientAddress,
      requestId: e.station.requestId,
      ...e.detail,
    };
    if (ALARMING.includes(kind)) this.log.warn(fields, 'security event');
    else this.log.info(fields, 'security event');
  }
}
