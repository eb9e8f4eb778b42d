/**
 * Writes the audit trail: one entry per create, change or void, in the transaction of the change, with
 * who (id and printed name), what (entity, old and new values), why (reason) and from where.
 */
import type { AuditStore } from '../../db/stores/audit-store';
import type { ChangeContext } from '../../db/change-context';

export interface AuditedChange {
  action: string;
  entityType: string;
  entityId: string;
  oldValue?: unknown;
  newValue?: unknown;
}

export class AuditTrail {
  constructor(private readonly store: AuditStore) {}

  async record(ctx: ChangeContext, change: AuditedChange): Promise<void> {
    await this.store.append(ctx.trx, {
      userId: ctx.actor.userId,
      username: ctx.actor.username,
      userName: ctx.actor.fullName,
      action: change.action,
      entityType: change.entityType,
      entityId: change.entityId,
      oldValue: change.oldValue,
      newValue: change.newValue,
      reason: ctx.reason,
      clientAddress: ctx.station.clientAddress,
      requestId: ctx.station.requestId,
    });
  }
}

/**
 * The fields that differ between two versions of a record, as the old and new values an audit entry
 * keeps. Dates compare by instant; arrays and objects by their JSON.
 */
export function changedFields<T extends object>(
  before: T,
  after: T,
  fields: readonly (keyof T)[],
): { oldValue: Partial<T>; newValue: Partial<T> } | undefined {
  const oldValue: Partial<T> = {};
  const newValue: Partial<T> = {};
  for (const f of fields) {
    if (JSON.stringify(before[f]) !== JSON.stringify(after[f])) {
      oldValue[f] = before[f];
      newValue[f] = after[f];
    }
  }
  return Object.keys(newValue).length > 0 ? { oldValue, newValue } : undefined;
}
